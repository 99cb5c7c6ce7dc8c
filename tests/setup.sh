#!/bin/sh
# Installs the Debian packages turtle's build and tests need, when missing.
# As root it runs apt-get; otherwise it prints the command and stops.
set -eu
PKGS="make gcc clang libclang-rt-14-dev nasm binutils python3 grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools \
bochs bochsbios vgabios qemu-system-x86 ovmf libcmocka-dev acpica-tools libc6-dev linux-libc-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: missing packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root:  apt-get update && apt-get install -y$missing"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
