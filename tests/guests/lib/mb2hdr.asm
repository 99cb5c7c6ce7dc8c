; Multiboot2 header (Multiboot2 specification 1.0, 3.1), linked only into
; the X.mb2 variant of a guest: its presence is what makes GRUB (and
; turtle) enter the image at its 32-bit e_entry (_start32, lib/entry.asm).
; The header must lie 8-aligned in the first 32 KiB of the file; guest.ld
; puts the .multiboot2 section first.

MB2_HEADER_MAGIC        equ 0xe85250d6
MB2_ARCH_I386           equ 0           ; 32-bit protected-mode entry
MB2_TAG_END             equ 0
MB2_TAG_INFO_REQUEST    equ 1
MB2_TAG_FLAG_OPTIONAL   equ 1
MB2_INFO_CMDLINE        equ 1
MB2_INFO_MMAP           equ 6

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

    ; Ask for the command line and the memory map. Optional: a guest with
    ; neither still runs and reports what it misses.
align 8
    dw MB2_TAG_INFO_REQUEST
    dw MB2_TAG_FLAG_OPTIONAL
    dd 16
    dd MB2_INFO_CMDLINE
    dd MB2_INFO_MMAP

align 8
    dw MB2_TAG_END
    dw 0
    dd 8
mb2_header_end:
