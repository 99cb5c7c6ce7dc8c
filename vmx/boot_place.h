/*
 * Where the L1 loader puts what it hands a guest besides its image: the boot
 * information, an ELF64 guest's page tables and GDT, and the modules; and the
 * memory map that reports them. Pure (host tested: tests/unit/test_boot_place.c).
 *
 * Multiboot 0.6.96 (3.1.3, 3.3) and Multiboot2 1.0 (3.6) let the loader put
 * the boot information and the modules anywhere outside the kernel's image
 * and bss, and make the kernel responsible for not overwriting them before
 * it has read them. GRUB puts them right after the image (docs/guests.md has
 * the measurement), where a kernel that treats the RAM after its _end as
 * free (a bump allocator) overwrites them. turtle keeps that RAM free:
 *   - low memory first, top-down from the end of conventional memory
 *     (0x9fc00, where a BIOS puts its EBDA), above the first page (real-mode
 *     IVT and BDA); never at or above 0x9fc00 (the BIOS area from 0xe0000
 *     holds the ACPI tables);
 *   - what does not fit there goes top-down from the end of RAM, away from
 *     the image;
 *   - never in the span from the lowest to the highest byte the image's
 *     segments (sections and bss) cover, nor over anything placed before.
 *
 * The memory map reports the boot information and the page tables and GDT
 * as reserved (they stay in use: CR3 and GDTR point there). Modules stay in
 * available RAM, as GRUB reports them: the module tags give their
 * addresses, the specs make keeping them the kernel's job, and a kernel can
 * reclaim their memory once it is done with them. mem_lower and mem_upper
 * count available RAM up to the first reserved byte, as with an EBDA.
 */
#ifndef TURTLE_BOOT_PLACE_H
#define TURTLE_BOOT_PLACE_H

#include "kernel/image.h"
#include "kernel/multiboot2.h"
#include "kernel/types.h"

#define BOOT_LOW_RAM_END        0x9fc00     /* conventional memory the map reports */
#define BOOT_BIOS_AREA          0xe0000     /* reserved to 1 MiB: ACPI tables, RSDP */
#define BOOT_HIGH_RAM           0x100000
#define BOOT_RESERVED_MAX       2           /* boot information, ELF64 page tables */
#define BOOT_PLACE_MAX          (4 + BOOT_RESERVED_MAX + 8)    /* fixed, reserved, modules */
#define BOOT_MMAP_MAX           (3 + 2 * BOOT_RESERVED_MAX)

struct boot_range {
    u64 start, end;                 /* page-aligned, end exclusive */
};

struct boot_placement {
    u64 mem_size;
    u32 n_busy;
    struct boot_range busy[BOOT_PLACE_MAX];
    u32 n_reserved;
    struct boot_range reserved[BOOT_RESERVED_MAX];
};

/* Starts a placement in RAM [0, mem_size) for the image img: the first page,
 * 0x9fc00-1 MiB and the image's span are taken. */
void boot_place_init(struct boot_placement *p, u64 mem_size, const struct image_info *img);

/* Places size bytes (whole pages, at least one) by the rules above and takes
 * them; reserved says the memory map reports them as reserved. Returns the
 * guest-physical address, or 0 if they fit nowhere (0 is never a place). */
u64 boot_place(struct boot_placement *p, u64 size, bool reserved);

/* The guest's memory map into r (BOOT_MMAP_MAX entries), in address order:
 * RAM below 0x9fc00 and from 1 MiB, available except the reserved
 * placements (adjacent ones merged), and 0xe0000-1 MiB reserved. Returns
 * the number of entries. */
u32 boot_place_mmap(const struct boot_placement *p, struct mem_region *r);

/* KiB of available RAM in the map's entry that starts at base, 0 if none. */
u32 boot_mmap_avail_kib(const struct mem_region *r, u32 n, u64 base);

#endif
