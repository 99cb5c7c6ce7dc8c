/*
 * The multiboot1 guest's view (Multiboot 0.6.96, section 3.3): the
 * information structure, and the machine state lib/entry_mb1.asm saw at
 * entry before it loaded its own GDT. 32-bit (-m32) only.
 */
#ifndef GUEST_MB1_H
#define GUEST_MB1_H

#include "lib/guest.h"

#define MB1_BOOTLOADER_MAGIC    0x2badb002

#define MB1_INFO_MEM            BIT(0)      /* mem_lower, mem_upper */
#define MB1_INFO_CMDLINE        BIT(2)
#define MB1_INFO_MODS           BIT(3)
#define MB1_INFO_MMAP           BIT(6)
#define MB1_INFO_LOADER_NAME    BIT(9)

struct mb1_info {
    u32 flags;
    u32 mem_lower, mem_upper;               /* KiB */
    u32 boot_device;
    u32 cmdline;
    u32 mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    u32 drives_length, drives_addr;
    u32 config_table;
    u32 boot_loader_name;
} __packed;

/* "size" does not count itself: the next entry is at entry + size + 4. */
struct mb1_mmap_entry {
    u32 size;
    u64 base, length;
    u32 type;                               /* 1 = available */
} __packed;

_Static_assert(__builtin_offsetof(struct mb1_info, mmap_length) == 44, "multiboot1 info mmap");
_Static_assert(__builtin_offsetof(struct mb1_info, boot_loader_name) == 64, "multiboot1 info name");
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "multiboot1 mmap entry");

/* Saved by lib/entry_mb1.asm before it changed anything. */
extern u32 mb1_entry_cr0, mb1_entry_eflags, mb1_entry_cs;
/* How far ESP moved for a PUSH EAX at entry: 4 in 32-bit code (D = 1),
 * 2 with a 16-bit default operand size, 8 if it were 64-bit code. */
extern u32 mb1_entry_push_width;

/* Defined by the guest (tests/guests/mb1.c), called with COM1 ready. */
__noreturn void mb1_main(u32 magic, u32 info);

#endif
