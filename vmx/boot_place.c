/*
 * Boot-information placement and the memory map (vmx/boot_place.h has the
 * rules and why). Pure; host tested.
 */
#include "vmx/boot_place.h"

static void take(struct boot_placement *p, u64 start, u64 end)
{
    if (p->n_busy < BOOT_PLACE_MAX && start < end)
        p->busy[p->n_busy++] = (struct boot_range){ ALIGN_DOWN(start, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE) };
}

/* The highest page-aligned [start, start + size) in [lo, hi) that meets no
 * taken range; 0 if none. Each step moves the candidate's end below the
 * taken range it met, so the search ends. */
static u64 top_down(const struct boot_placement *p, u64 lo, u64 hi, u64 size)
{
    u64 end = ALIGN_DOWN(hi, PAGE_SIZE);
    for (;;) {
        if (end < lo || end - lo < size)
            return 0;
        u64 start = end - size;
        u32 i = 0;
        while (i < p->n_busy && (p->busy[i].end <= start || p->busy[i].start >= end))
            i++;
        if (i == p->n_busy)
            return start;
        end = p->busy[i].start;
    }
}

void boot_place_init(struct boot_placement *p, u64 mem_size, const struct image_info *img)
{
    *p = (struct boot_placement){ .mem_size = mem_size };
    take(p, 0, PAGE_SIZE);
    take(p, BOOT_LOW_RAM_END, BOOT_HIGH_RAM);
    u64 lo = ~0ULL;
    for (u32 i = 0; i < img->n_segments; i++)
        lo = MIN(lo, img->segments[i].addr);
    if (img->n_segments)
        take(p, lo, img->load_end);
}

u64 boot_place(struct boot_placement *p, u64 size, bool reserved)
{
    size = ALIGN_UP(size ? size : 1, PAGE_SIZE);
    if (p->n_busy == BOOT_PLACE_MAX || (reserved && p->n_reserved == BOOT_RESERVED_MAX))
        return 0;
    u64 at = top_down(p, PAGE_SIZE, BOOT_LOW_RAM_END, size);
    if (!at)
        at = top_down(p, BOOT_HIGH_RAM, MIN(p->mem_size, 1ULL << 32), size);
    if (!at)
        return 0;
    take(p, at, at + size);
    if (reserved)
        p->reserved[p->n_reserved++] = (struct boot_range){ at, at + size };
    return at;
}

/* Appends [a, b) of RAM to r, with the reserved ranges inside it split out. */
static u32 carve(const struct boot_placement *p, u64 a, u64 b, struct mem_region *r, u32 n)
{
    u64 cur = a;
    while (cur < b) {
        u64 rs = b, re = b;                 /* the lowest reserved range that ends above cur */
        for (u32 i = 0; i < p->n_reserved; i++) {
            u64 s = MAX(p->reserved[i].start, cur);
            if (p->reserved[i].end > cur && s < b && s < rs) {
                rs = s;
                re = MIN(p->reserved[i].end, b);
            }
        }
        if (rs > cur)
            r[n++] = (struct mem_region){ cur, rs - cur, MB2_MEMORY_AVAILABLE };
        if (rs == b)
            break;
        if (n && r[n - 1].type == MB2_MEMORY_RESERVED && r[n - 1].base + r[n - 1].length == rs)
            r[n - 1].length += re - rs;
        else
            r[n++] = (struct mem_region){ rs, re - rs, MB2_MEMORY_RESERVED };
        cur = re;
    }
    return n;
}

u32 boot_place_mmap(const struct boot_placement *p, struct mem_region *r)
{
    u32 n = carve(p, 0, BOOT_LOW_RAM_END, r, 0);
    r[n++] = (struct mem_region){ BOOT_BIOS_AREA, BOOT_HIGH_RAM - BOOT_BIOS_AREA, MB2_MEMORY_RESERVED };
    return carve(p, BOOT_HIGH_RAM, p->mem_size, r, n);
}

u32 boot_mmap_avail_kib(const struct mem_region *r, u32 n, u64 base)
{
    for (u32 i = 0; i < n; i++)
        if (r[i].base == base)
            return r[i].type == MB2_MEMORY_AVAILABLE ? (u32)(r[i].length >> 10) : 0;
    return 0;
}
