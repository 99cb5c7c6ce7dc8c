/*
 * bootinfo: where the loader put the boot information and the modules
 * (docs/guests.md, "Where the boot information goes"), and whether they
 * survive a kernel that uses its own memory.
 *
 * Booted with modules whose command line is "bootinfo-module size=N seed=S":
 * the module's byte i must be pattern(S, i) and it must be N bytes long
 * (tests/cases.py writes them). Tests without a prefix hold under any
 * multiboot2 loader (Multiboot2 1.0, 3.6: the information and the modules
 * lie outside the kernel's image, and nothing the kernel does with its own
 * image and bss may touch them). Tests named "turtle ..." check turtle's
 * stronger promises: the information (and, through the 64-bit entry, the
 * page tables and GDT) in a reserved range of the memory map, the modules
 * in available RAM, mem_lower/mem_upper ending at the first reserved byte,
 * and the RAM right after the image free for the kernel to use.
 *   options: modules=N  (how many modules to expect; default 2)
 */
#include "lib/guest.h"

#define MB2_TAG_BASIC_MEMINFO   4
#define MMAP_AVAILABLE          1
#define MMAP_RESERVED           2
#define PAGE_MASK_4K            0x000ffffffffff000ULL
#define SCRATCH_BYTES           (192 * 1024)
#define AFTER_IMAGE_BYTES       (256 * 1024)

/* Most of this guest's bss: zeroed again below, as a kernel clears its bss. */
static u8 scratch[SCRATCH_BYTES] __attribute__((aligned(4096)));

static u8 pattern(u32 seed, u64 i)
{
    return (u8)((i * 131 + seed * 29 + (i >> 9)) ^ (seed >> 3));
}

/* FNV-1a over [p, p + n): a fingerprint to compare before and after. */
static u64 fingerprint(const void *p, u64 n)
{
    const u8 *b = p;
    u64 h = 0xcbf29ce484222325ULL;
    for (u64 i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static bool outside_image(u64 start, u64 end)
{
    return end <= GUEST_IMAGE_START || start >= (u64)(uintptr_t)__guest_end;
}

/* The type of the memory-map region holding all of [start, end), or 0. */
static u32 region_type(const struct boot_params *bp, u64 start, u64 end)
{
    for (u32 i = 0; i < bp->n_regions; i++) {
        const struct guest_region *r = &bp->regions[i];
        if (start >= r->base && end <= r->base + r->length)
            return r->type;
    }
    return 0;
}

/* Lowest base of a region of type type at or above from, else ~0. */
static u64 first_region_at(const struct boot_params *bp, u32 type, u64 from)
{
    u64 best = ~0ULL;
    for (u32 i = 0; i < bp->n_regions; i++)
        if (bp->regions[i].type == type && bp->regions[i].base >= from && bp->regions[i].base < best)
            best = bp->regions[i].base;
    return best;
}

static bool module_intact(const struct guest_module *m)
{
    u64 size = 0, seed = 0;
    if (!cmdline_u64(m->cmdline, "size", &size) || !cmdline_u64(m->cmdline, "seed", &seed))
        return false;
    if (m->end - m->start != size)
        return false;
    const u8 *b = (const u8 *)(uintptr_t)m->start;
    for (u64 i = 0; i < size; i++)
        if (b[i] != pattern((u32)seed, i))
            return false;
    return true;
}

/* The basic memory information tag: mem_lower, mem_upper in KiB. */
static bool basic_meminfo(const struct boot_params *bp, u32 *lower, u32 *upper)
{
    const u8 *p = (const u8 *)(uintptr_t)bp->info;
    for (u32 off = 8; off + 8 <= bp->info_size;) {
        const u32 *t = (const u32 *)(p + off);
        if (t[0] == MB2_TAG_BASIC_MEMINFO && t[1] >= 16) {
            *lower = t[2];
            *upper = t[3];
            return true;
        }
        if (t[0] == 0 || t[1] < 8)
            return false;
        off += (t[1] + 7) & ~7u;
    }
    return false;
}

/* prefix: "" or "turtle " (a test only turtle promises). */
static void check_all_intact(const struct boot_params *bp, u64 info_print, const char *prefix,
                             const char *after)
{
    report(fingerprint((const void *)(uintptr_t)bp->info, bp->info_size) == info_print,
           "%sboot information intact after %s", prefix, after);
    bool ok = bp->n_modules > 0;
    for (u32 i = 0; i < bp->n_modules; i++)
        ok &= module_intact(&bp->modules[i]);
    report(ok, "%smodules intact after %s", prefix, after);
}

/* One page of the loader's page tables: outside the image, reserved. */
static bool table_page_ok(const struct boot_params *bp, u64 page)
{
    printf("bootinfo: 64-bit entry table page %#lx\n", (unsigned long)page);
    return outside_image(page, page + 4096) && region_type(bp, page, page + 4096) == MMAP_RESERVED;
}

void guest_main(const struct boot_params *bp)
{
    u64 want = 2;
    u64 info_end = bp->info + bp->info_size;
    bool turtle = on_turtle();

    cmdline_u64(bp->cmdline, "modules", &want);
    printf("bootinfo: image %#x-%#lx, information %#lx-%#lx, loader '%s'\n", GUEST_IMAGE_START,
           (unsigned long)(uintptr_t)__guest_end, (unsigned long)bp->info, (unsigned long)info_end,
           bp->loader_name);
    for (u32 i = 0; i < bp->n_regions; i++)
        printf("bootinfo: mmap %#010lx-%#010lx type %u\n", (unsigned long)bp->regions[i].base,
               (unsigned long)(bp->regions[i].base + bp->regions[i].length), bp->regions[i].type);
    if (!report(bp->info_error == NULL, "boot information parses"))
        return;
    report(outside_image(bp->info, info_end), "boot information outside the image and bss");
    report(bp->n_modules == want, "%lu modules present", (unsigned long)want);
    bool outside = true, intact = true;
    for (u32 i = 0; i < bp->n_modules; i++) {
        const struct guest_module *m = &bp->modules[i];
        printf("bootinfo: module %u %#lx-%#lx '%s'\n", i, (unsigned long)m->start, (unsigned long)m->end,
               m->cmdline);
        outside &= outside_image(m->start, m->end);
        intact &= module_intact(m);
        for (u32 j = 0; j < i; j++)
            outside &= m->end <= bp->modules[j].start || m->start >= bp->modules[j].end;
        outside &= m->end <= bp->info || m->start >= info_end;
    }
    report(bp->n_modules && outside, "modules outside the image, bss, each other and the information");
    report(bp->n_modules && intact, "module contents intact at entry");

    /* What a kernel does first: clear its bss. */
    u64 info_print = fingerprint((const void *)(uintptr_t)bp->info, bp->info_size);
    memset(scratch, 0, sizeof(scratch));
    check_all_intact(bp, info_print, "", "zeroing the bss");

    if (!turtle)
        return;
    report(region_type(bp, bp->info, info_end) == MMAP_RESERVED,
           "turtle boot information in a reserved range of the memory map");
    bool available = true;
    for (u32 i = 0; i < bp->n_modules; i++)
        available &= region_type(bp, bp->modules[i].start, bp->modules[i].end) == MMAP_AVAILABLE;
    report(bp->n_modules && available, "turtle modules in available RAM (as GRUB reports them)");
    u32 lower = 0, upper = 0;
    bool have = basic_meminfo(bp, &lower, &upper);
    report(have && (u64)lower << 10 <= first_region_at(bp, MMAP_RESERVED, 0) &&
           ((u64)upper << 10) + 0x100000 <= first_region_at(bp, MMAP_RESERVED, 0x100000) &&
           region_type(bp, 0, (u64)lower << 10) == MMAP_AVAILABLE,
           "turtle basic meminfo ends at the first reserved byte (lower %u KiB, upper %u KiB)", lower,
           upper);
    if (bp->entry == GUEST_ENTRY_ELF64) {
        /* PML4, the PDPT of its entry 0, the PD of that one's entry 0. */
        u64 pml4 = bp->entry_cr3 & PAGE_MASK_4K, gdt = bp->entry_gdt_base;
        u64 pdpt = *(const u64 *)(uintptr_t)pml4 & PAGE_MASK_4K;
        u64 pd = *(const u64 *)(uintptr_t)pdpt & PAGE_MASK_4K;
        printf("bootinfo: 64-bit entry GDT base %#lx\n", (unsigned long)gdt);
        report(table_page_ok(bp, pml4) && table_page_ok(bp, pdpt) && table_page_ok(bp, pd) &&
               outside_image(gdt, gdt + 24) && region_type(bp, gdt, gdt + 24) == MMAP_RESERVED,
               "turtle 64-bit entry page tables and GDT outside the image, in reserved RAM");
    }
    /* A kernel may take the RAM after its end as free (a bump allocator
     * from _end): it is available in the map, and turtle put nothing there. */
    u64 after = (u64)(uintptr_t)__guest_end;
    report(region_type(bp, after, after + AFTER_IMAGE_BYTES) == MMAP_AVAILABLE,
           "turtle RAM after the image is available");
    memset((void *)(uintptr_t)after, 0xa5, AFTER_IMAGE_BYTES);
    check_all_intact(bp, info_print, "turtle ", "using the RAM after the image");
}
