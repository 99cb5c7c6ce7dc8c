; Multiboot2 header (Multiboot2 specification 1.0, section 3.1). GRUB finds it in
; the first 32 KiB of the image; with an ELF image no address tag is needed.
; turtle asks for nothing special: it runs on the 32-bit protected-mode entry
; that GRUB provides on BIOS and on UEFI (boot services already exited).

MB2_HEADER_MAGIC        equ 0xe85250d6  ; header magic
MB2_ARCH_I386           equ 0           ; architecture: i386 protected mode
MB2_TAG_END             equ 0           ; terminating tag
MB2_TAG_INFO_REQUEST    equ 1           ; information request tag
MB2_INFO_MMAP           equ 6           ; memory map

section .multiboot2
align 8
mb2_header:
    dd MB2_HEADER_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

    ; Information request: the memory map is required. GRUB hands over the
    ; command line, modules and ACPI RSDP tags unasked, whenever it has them.
align 8
    dw MB2_TAG_INFO_REQUEST
    dw 0                                ; flags: required
    dd 12
    dd MB2_INFO_MMAP

align 8
    dw MB2_TAG_END
    dw 0
    dd 8
mb2_header_end:
