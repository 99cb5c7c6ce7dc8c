/*
 * The kernel's physical allocator: one struct pmm_ranges filled from the
 * multiboot2 memory map, with turtle's own memory taken out before anything
 * is handed out.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "kernel/printf.h"

extern char __kernel_start_phys[], __kernel_end_phys[];

static struct pmm_ranges pmm;
static u64 total_usable;

static void reserve(u64 start, u64 end, const char *what)
{
    if (!pmm_ranges_reserve(&pmm, start, end))
        panic("mm: range table full reserving %s", what);
}

void mm_init(const struct boot_info *bi, u64 mbi_phys)
{
    u64 above_limit = 0;

    pmm_ranges_init(&pmm);
    for (u32 i = 0; i < bi->n_mmap; i++) {
        const struct mem_region *m = &bi->mmap[i];
        if (m->type != MB2_MEMORY_AVAILABLE || m->length == 0)
            continue;
        u64 start = m->base, end = m->base + m->length;
        if (end > DIRECT_MAP_LIMIT) {
            above_limit += end - MAX(start, DIRECT_MAP_LIMIT);
            end = DIRECT_MAP_LIMIT;
        }
        if (start < end && !pmm_ranges_add(&pmm, start, end))
            panic("mm: range table full adding the memory map");
    }
    total_usable = pmm.free_pages * PAGE_SIZE;

    reserve(0, LOW_MEMORY_END, "the first MiB");
    reserve((u64)__kernel_start_phys, (u64)__kernel_end_phys, "the kernel image");
    reserve(mbi_phys, mbi_phys + bi->info_size, "the boot information");
    for (u32 i = 0; i < bi->n_modules; i++)
        reserve(bi->modules[i].start, bi->modules[i].end, "a module");

    kprintf("turtle: memory: %u regions, %lu MiB usable, %lu MiB free, kernel %lx-%lx\n",
            bi->n_mmap, total_usable >> 20, (pmm.free_pages * PAGE_SIZE) >> 20,
            (u64)__kernel_start_phys, (u64)__kernel_end_phys);
    if (above_limit)
        kprintf("turtle: memory: %lu MiB above 4 GiB left unused\n", above_limit >> 20);
    if (pmm.free_pages == 0)
        panic("mm: no usable RAM after reserving turtle itself");
}

u64 alloc_pages(u64 npages, u64 align)
{
    u64 pa = pmm_ranges_alloc(&pmm, npages, align);
    if (pa)
        memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);
    return pa;
}

void free_pages(u64 pa, u64 npages)
{
    if (!pmm_ranges_free(&pmm, pa, npages))
        panic("mm: bad free of %lu pages at %lx", npages, pa);
}

u64 mm_free_pages(void)
{
    return pmm.free_pages;
}

bool mm_self_check(void)
{
    u64 before = pmm.free_pages;
    u64 a = alloc_pages(1, PAGE_SIZE);
    u64 b = alloc_pages(512, LARGE_PAGE_SIZE);
    u64 c = alloc_pages(3, PAGE_SIZE);
    bool ok = a && b && c;

    ok = ok && IS_ALIGNED(b, LARGE_PAGE_SIZE) && a >= LOW_MEMORY_END;
    /* Nothing handed out may overlap turtle's image. */
    ok = ok && (b + LARGE_PAGE_SIZE <= (u64)__kernel_start_phys || b >= (u64)__kernel_end_phys);
    ok = ok && (a + PAGE_SIZE <= (u64)__kernel_start_phys || a >= (u64)__kernel_end_phys);
    ok = ok && pmm.free_pages == before - 516;
    ok = ok && !pmm_ranges_overlaps(&pmm, a, a + PAGE_SIZE);
    if (a) free_pages(a, 1);
    if (b) free_pages(b, 512);
    if (c) free_pages(c, 3);
    return ok && pmm.free_pages == before;
}
