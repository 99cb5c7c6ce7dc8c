/*
 * mb1: the multiboot1 boot protocol (docs/guests.md), in 32-bit protected
 * mode like a classic multiboot kernel: built -m32 with lib/entry_mb1.asm.
 * Checks EAX = 0x2badb002, the information flags (mem, cmdline, mmap), the
 * command line contains "mb1-hello", paging off and protection on at
 * entry, a 32-bit code segment, and at least 1.5 MiB available in the map.
 */
#include "lib/mb1.h"

#define MB1_MMAP_AVAILABLE  1

static u64 mmap_available(const struct mb1_info *mi)
{
    u64 sum = 0;
    u32 off = 0;

    while (off + sizeof(u32) <= mi->mmap_length) {
        const struct mb1_mmap_entry *e = (const void *)(uintptr_t)(mi->mmap_addr + off);
        if (e->size < sizeof(*e) - sizeof(e->size))
            break;                                  /* malformed: stop */
        printf("mb1: mmap %#010llx-%#010llx type %u\n", (unsigned long long)e->base,
               (unsigned long long)(e->base + e->length), e->type);
        if (e->type == MB1_MMAP_AVAILABLE)
            sum += e->length;
        off += e->size + sizeof(e->size);
    }
    return sum;
}

__noreturn void mb1_main(u32 magic, u32 info)
{
    const struct mb1_info *mi = (const void *)(uintptr_t)info;
    u32 want = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MMAP;

    printf("mb1: entered with EAX %#x, EBX %#x, CS %#x, CR0 %#x, EFLAGS %#x, push width %u\n", magic,
           info, mb1_entry_cs, mb1_entry_cr0, mb1_entry_eflags, mb1_entry_push_width);
    report((mb1_entry_cr0 & X86_CR0_PE) && !(mb1_entry_cr0 & X86_CR0_PG), "mb1 CR0.PE set, CR0.PG clear at entry");
    report(!(mb1_entry_eflags & (X86_RFLAGS_IF | X86_RFLAGS_VM)), "mb1 EFLAGS.IF and EFLAGS.VM clear at entry");
    report(mb1_entry_push_width == 4, "mb1 CS is a 32-bit code segment");
    if (!report(magic == MB1_BOOTLOADER_MAGIC, "mb1 EAX magic 0x2badb002"))
        guest_exit(report_summary() ? 1 : 0);       /* EBX means nothing then */

    printf("mb1: info flags %#x\n", mi->flags);
    report((mi->flags & want) == want, "mb1 info flags has mem, cmdline and mmap");
    const char *cmdline = (mi->flags & MB1_INFO_CMDLINE) ? (const char *)(uintptr_t)mi->cmdline : "";
    printf("mb1: command line '%s'\n", cmdline);
    if (mi->flags & MB1_INFO_LOADER_NAME)
        printf("mb1: boot loader '%s'\n", (const char *)(uintptr_t)mi->boot_loader_name);
    report(strstr(cmdline, "mb1-hello") != NULL, "mb1 command line contains mb1-hello");
    if (mi->flags & MB1_INFO_MEM)
        printf("mb1: mem_lower %u KiB, mem_upper %u KiB\n", mi->mem_lower, mi->mem_upper);
    report((mi->flags & MB1_INFO_MEM) && mi->mem_lower <= 640 && mi->mem_upper >= 1024,
           "mb1 mem_lower <= 640 KiB, mem_upper >= 1 MiB");
    u64 avail = (mi->flags & MB1_INFO_MMAP) ? mmap_available(mi) : 0;
    /* The smallest guest (mem=2M) has 639 KiB + 1 MiB available. */
    report(avail >= (3u << 19), "mb1 memory map has at least 1.5 MiB available");
    guest_exit(report_summary() ? 1 : 0);
}
