/*
 * mb1: the multiboot1 boot protocol (docs/guests.md), in 32-bit protected
 * mode like a classic multiboot kernel: built -m32 with lib/entry_mb1.asm.
 * Checks EAX = 0x2badb002, the information flags (mem, cmdline, mmap), the
 * command line contains "mb1-hello", paging off and protection on at
 * entry, a 32-bit code segment, and at least 1.5 MiB available in the map;
 * the information, its command line and its memory map outside the image
 * and bss; under turtle (boot loader name "turtle") the information in a
 * reserved range of the map (docs/guests.md, "Where the boot information
 * goes").
 */
#include "lib/mb1.h"

#define MB1_MMAP_AVAILABLE  1
#define MB1_MMAP_RESERVED   2
#define MB1_IMAGE_START     0x100000

extern char __mb1_end[];                /* lib/mb1.ld: end of the image and bss */

static bool outside_image(u32 start, u32 end)
{
    return end <= MB1_IMAGE_START || start >= (u32)(uintptr_t)__mb1_end;
}

/* The type of the memory-map entry that holds all of [start, end), or 0. */
static u32 mmap_type_of(const struct mb1_info *mi, u64 start, u64 end)
{
    for (u32 off = 0; off + sizeof(struct mb1_mmap_entry) <= mi->mmap_length;) {
        const struct mb1_mmap_entry *e = (const void *)(uintptr_t)(mi->mmap_addr + off);
        if (e->size < sizeof(*e) - sizeof(e->size))
            break;
        if (start >= e->base && end <= e->base + e->length)
            return e->type;
        off += e->size + sizeof(e->size);
    }
    return 0;
}

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
    report(outside_image(info, info + sizeof(*mi)) &&
           (!(mi->flags & MB1_INFO_CMDLINE) || outside_image(mi->cmdline, mi->cmdline + strlen(cmdline) + 1)) &&
           (!(mi->flags & MB1_INFO_MMAP) || outside_image(mi->mmap_addr, mi->mmap_addr + mi->mmap_length)),
           "mb1 information, command line and memory map outside the image and bss");
    if ((mi->flags & MB1_INFO_LOADER_NAME) && (mi->flags & MB1_INFO_MMAP) &&
        strcmp((const char *)(uintptr_t)mi->boot_loader_name, "turtle") == 0)
        report(mmap_type_of(mi, info, info + sizeof(*mi)) == MB1_MMAP_RESERVED &&
               mmap_type_of(mi, mi->mmap_addr, mi->mmap_addr + mi->mmap_length) == MB1_MMAP_RESERVED,
               "turtle mb1 information in a reserved range of the memory map");
    guest_exit(report_summary() ? 1 : 0);
}
