#!/bin/sh
# fetch.sh OUTDIR
# Downloads Debian's cloud kernel and busybox-static from Debian's archive
# with `apt-get download` and unpacks them with `dpkg-deb -x` into OUTDIR.
# Nothing is installed on this machine. Leaves:
#   OUTDIR/vmlinuz                 the bzImage
#   OUTDIR/modules/*.ko            irqbypass, kvm, kvm-intel (as shipped, signed)
#   OUTDIR/busybox                 the static busybox
#   OUTDIR/VERSION                 the kernel's package and version
# A download that fails (no network, no archive, stale package lists) is an
# error with a message, never a silent skip.
set -eu
out=$1
KERNEL_META=linux-image-cloud-amd64
mkdir -p "$out/debs"
out=$(cd "$out" && pwd)

fail() {
    echo "fetch: error: $*" >&2
    echo "fetch: the linux test image needs Debian's archive (apt-get download);" \
         "check the network and run 'apt-get update'" >&2
    exit 1
}

# The meta package names the versioned image package it depends on.
image=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
[ -n "$image" ] || fail "apt-cache knows no $KERNEL_META (package lists missing?)"

cd "$out/debs"
for pkg in "$image" busybox-static; do
    if ! ls "$pkg"_*.deb >/dev/null 2>&1; then
        echo "fetch: downloading $pkg"
        apt-get download "$pkg" >/dev/null 2>apt.err || fail "apt-get download $pkg failed: $(tail -n 1 apt.err)"
    fi
done

rm -rf "$out/kernel-root" "$out/busybox-root" "$out/modules"
dpkg-deb -x "$(ls "$image"_*.deb | head -n 1)" "$out/kernel-root"
dpkg-deb -x "$(ls busybox-static_*.deb | head -n 1)" "$out/busybox-root"

vmlinuz=$(ls "$out"/kernel-root/boot/vmlinuz-* | head -n 1)
[ -f "$vmlinuz" ] || fail "$image has no /boot/vmlinuz-*"
cp "$vmlinuz" "$out/vmlinuz"
mkdir -p "$out/modules"
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko; do
    f=$(ls "$out"/kernel-root/lib/modules/*/kernel/$m 2>/dev/null | head -n 1)
    [ -n "$f" ] || fail "$image has no $m"
    cp "$f" "$out/modules/"
done
cp "$out/busybox-root/bin/busybox" "$out/busybox"
echo "$image $(basename "$vmlinuz" | sed 's/^vmlinuz-//')" > "$out/VERSION"
echo "fetch: $(cat "$out/VERSION"), busybox-static: ok"
