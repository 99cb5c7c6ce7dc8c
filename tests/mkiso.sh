#!/bin/sh
# mkiso.sh OUT.iso TURTLE.elf "TURTLE CMDLINE" [MODULE_FILE "MODULE CMDLINE"]...
# Builds a small BIOS+UEFI bootable GRUB ISO that loads turtle by multiboot2
# with one module2 line per module. Only the GRUB modules needed are installed.
# MKISO_PROTOCOL=multiboot boots the kernel by multiboot1 instead
# (multiboot/module lines), for the 32-bit test guest on bare hardware.
# MKISO_PROTOCOL=linux boots KERNEL as a Linux bzImage (GRUB's linux line,
# with the command line) and the module files as its initrd, in order on
# one initrd line, which GRUB concatenates (the modules' command lines are
# not used): the Linux test image, docs/linux.md; a second cpio archive
# adds files to the first.
set -eu
out=$1; kernel=$2; cmdline=$3; shift 3
case "${MKISO_PROTOCOL:-multiboot2}" in
    multiboot2) boot_cmd=multiboot2; module_cmd=module2 ;;
    multiboot)  boot_cmd=multiboot; module_cmd=module ;;
    linux)      boot_cmd=linux; module_cmd=initrd ;;
    *) echo "mkiso: MKISO_PROTOCOL must be multiboot2, multiboot or linux" >&2; exit 1 ;;
esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/boot/grub" "$stage/mods"
cp "$kernel" "$stage/boot/turtle.elf"
{
    echo "set timeout=0"
    echo "set default=0"
    echo "menuentry turtle {"
    echo "  $boot_cmd /boot/turtle.elf $cmdline"
    i=0
    initrd=""
    while [ $# -ge 2 ]; do
        if [ -e "$1" ]; then
            cp "$1" "$stage/mods/m$i"
        fi
        # A module that does not exist is still listed: GRUB reports it and
        # boots on, and turtle reports it missing by name.
        if [ "$module_cmd" = initrd ]; then
            initrd="$initrd /mods/m$i"
        else
            echo "  $module_cmd /mods/m$i $2"
        fi
        i=$((i + 1)); shift 2
    done
    if [ -n "$initrd" ]; then
        echo "  initrd$initrd"
    fi
    echo "  boot"
    echo "}"
} > "$stage/boot/grub/grub.cfg"
grub-mkrescue -o "$out" \
    --install-modules="$boot_cmd normal iso9660 configfile" \
    --locales= --fonts= --themes= "$stage" >/dev/null 2>&1 || {
    echo "mkiso: grub-mkrescue failed" >&2
    grub-mkrescue -o "$out" "$stage" >&2
    exit 1
}
