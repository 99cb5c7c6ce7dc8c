/*
 * elf64: the plain-ELF64 boot protocol (docs/guests.md "How a guest is
 * entered"). Built only as the X.elf64 variant (no multiboot header), so
 * GRUB cannot boot it: turtle only. Checks the state turtle handed over,
 * as lib/entry.asm recorded it before changing anything: 64-bit mode with
 * paging (EFER.LMA, CR0.PG, CR4.PAE), RSI = 0x36d76289, and RDI pointing
 * to a well-formed multiboot2 information whose command line contains
 * "elf64-hello".
 */
#include "lib/guest.h"

void guest_main(const struct boot_params *bp)
{
    printf("elf64: entered at the 64-bit entry point, boot information at %#lx\n",
           (unsigned long)bp->info);
    report(bp->entry == GUEST_ENTRY_ELF64, "elf64 entered through the ELF64 entry point");
    report(bp->entry_efer & EFER_LMA, "elf64 EFER.LMA set at entry");
    report((bp->entry_cr0 & (X86_CR0_PE | X86_CR0_PG)) == (X86_CR0_PE | X86_CR0_PG),
           "elf64 CR0.PE and CR0.PG set at entry");
    report(bp->entry_cr4 & X86_CR4_PAE, "elf64 CR4.PAE set at entry");
    report(!(bp->entry_rflags & X86_RFLAGS_IF), "elf64 RFLAGS.IF clear at entry");
    report(bp->magic == MB2_BOOTLOADER_MAGIC, "elf64 RSI = 0x36d76289");
    report(bp->info_error == NULL, "elf64 RDI points to a valid multiboot2 information");
    report(strstr(bp->cmdline, "elf64-hello") != NULL, "elf64 command line contains elf64-hello");
    report(strcmp(bp->loader_name, "turtle") == 0, "elf64 boot loader name is turtle");
    report(bp->mem_available >= (3u << 19) && bp->info + bp->info_size <= bp->mem_top,
           "elf64 memory map covers the boot information");
    printf("elf64: command line '%s', %lu KiB available\n", bp->cmdline,
           (unsigned long)(bp->mem_available >> 10));
    guest_exit(report_summary() ? 1 : 0);
}
