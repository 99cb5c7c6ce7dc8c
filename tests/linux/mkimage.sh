#!/bin/sh
# mkimage.sh OUT.cpio LINUX_DIR VMM TURTLE GUEST_DIR
# The initramfs of turtle's Linux test image: busybox, the three KVM modules
# of the fetched kernel (signatures cut off), /init, the vmm, /bin/tsc, turtle and the
# test guests it runs (debug information stripped to keep the archive small).
# With LINUX_SNAPSHOT=DIR in the environment (a KVM directory, turtle-snap
# export-kvm's output) the image also carries it as /snapshot, for /init's
# `restore` run.
set -eu
out=$1; linux=$2; vmm=$3; turtle=$4; guests=$5
here=$(dirname "$0")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for g in hello cpuid_msr vmx_suite vmx_bench vmx_snap; do
    objcopy --strip-debug "$guests/$g.elf" "$stage/$g.elf"
done
objcopy --strip-debug "$turtle" "$stage/turtle.elf"
strip -o "$stage/vmm" "$vmm"
strip -o "$stage/tsc" "$linux/tsc"
set -- init="$here/init" bin/busybox="$linux/busybox" bin/vmm="$stage/vmm" bin/tsc="$stage/tsc" \
    dev=@dir dev/console=@console proc=@dir sys=@dir tmp=@dir \
    lib/modules/irqbypass.ko="$linux/modules/irqbypass.ko" \
    lib/modules/kvm.ko="$linux/modules/kvm.ko" \
    lib/modules/kvm-intel.ko="$linux/modules/kvm-intel.ko" \
    guests/turtle.elf="$stage/turtle.elf"
for g in hello cpuid_msr vmx_suite vmx_bench vmx_snap; do
    set -- "$@" "guests/$g.elf=$stage/$g.elf"
done
if [ -n "${LINUX_SNAPSHOT:-}" ]; then
    set -- "$@" snapshot=@dir
    for f in "$LINUX_SNAPSHOT"/*; do
        set -- "$@" "snapshot/$(basename "$f")=$f"
    done
fi
python3 "$here/mkinitramfs.py" "$out" "$@"
