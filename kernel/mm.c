/*
 * The kernel's physical allocator: one struct pmm over the direct-mapped
 * RAM below 4 GiB, its bitmaps placed in RAM found free in the memory map,
 * with turtle's own memory taken out before anything is handed out.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "kernel/printf.h"

extern char __kernel_start_phys[], __kernel_end_phys[];

/* Everything never handed out: the first MiB, the image, the boot
 * information, each module, each memory-map entry that is not RAM. */
#define MAX_BUSY            (3 + MB2_MAX_MODULES + MB2_MAX_MMAP)

static struct pmm pmm;
static struct pmm_span ram[MB2_MAX_MMAP], busy[MAX_BUSY];
static u32 n_ram, n_busy;

static void add_busy(u64 start, u64 end)
{
    if (start < end && n_busy < MAX_BUSY)
        busy[n_busy++] = (struct pmm_span){ start, end };
}

/* Fills ram[] (usable entries, clipped to the direct map) and busy[];
 * returns the bytes of usable RAM above 4 GiB that are left out. */
static u64 read_memory_map(const struct boot_info *bi, u64 mbi_phys)
{
    u64 above_limit = 0;

    n_ram = n_busy = 0;
    add_busy(0, LOW_MEMORY_END);
    add_busy((u64)__kernel_start_phys, (u64)__kernel_end_phys);
    add_busy(mbi_phys, mbi_phys + bi->info_size);
    for (u32 i = 0; i < bi->n_modules; i++)
        add_busy(bi->modules[i].start, bi->modules[i].end);
    for (u32 i = 0; i < bi->n_mmap; i++) {
        const struct mem_region *m = &bi->mmap[i];
        u64 start = m->base, end = m->base + m->length;
        if (m->length == 0)
            continue;
        if (end < start)
            end = ~0ULL;                /* a bogus length: up to the top */
        if (m->type != MB2_MEMORY_AVAILABLE) {
            add_busy(start, end);       /* wins over an overlapping usable entry */
            continue;
        }
        if (end > DIRECT_MAP_LIMIT) {
            above_limit += end - MAX(start, DIRECT_MAP_LIMIT);
            end = DIRECT_MAP_LIMIT;
        }
        if (start < end)
            ram[n_ram++] = (struct pmm_span){ start, end };
    }
    return above_limit;
}

void mm_init(const struct boot_info *bi, u64 mbi_phys)
{
    u64 above_limit = read_memory_map(bi, mbi_phys), top = 0;

    for (u32 i = 0; i < n_ram; i++)
        top = MAX(top, ram[i].end);
    u64 npages = top / PAGE_SIZE;
    u64 bytes = ALIGN_UP(pmm_storage_bytes(npages), PAGE_SIZE);
    u64 at = pmm_find_room(ram, n_ram, busy, n_busy, LOW_MEMORY_END, DIRECT_MAP_LIMIT, bytes);
    if (!at)
        panic("mm: no room for the allocator's bitmaps (%lu KiB)", bytes >> 10);

    pmm_init(&pmm, phys_to_virt(at), npages);
    for (u32 i = 0; i < n_ram; i++)
        pmm_add(&pmm, ram[i].start, ram[i].end);
    u64 total_usable = pmm.free_pages * PAGE_SIZE;
    for (u32 i = 0; i < n_busy; i++)
        pmm_reserve(&pmm, busy[i].start, busy[i].end);
    pmm_reserve(&pmm, at, at + bytes);

    kprintf("turtle: memory: %u regions, %lu MiB usable, %lu MiB free, kernel %lx-%lx, "
            "bitmaps %lu KiB at %lx\n",
            bi->n_mmap, total_usable >> 20, (pmm.free_pages * PAGE_SIZE) >> 20,
            (u64)__kernel_start_phys, (u64)__kernel_end_phys, bytes >> 10, at);
    if (above_limit)
        kprintf("turtle: memory: %lu MiB above 4 GiB left unused\n", above_limit >> 20);
    if (pmm.free_pages == 0)
        panic("mm: no usable RAM after reserving turtle itself");
}

u64 alloc_pages(u64 npages, u64 align)
{
    u64 pa = pmm_alloc(&pmm, npages, align);
    if (pa)
        memset(phys_to_virt(pa), 0, npages * PAGE_SIZE);
    return pa;
}

void free_pages(u64 pa, u64 npages)
{
    enum pmm_free_result r = pmm_free(&pmm, pa, npages);
    if (r != PMM_FREE_OK)
        panic("mm: bad free of %lu pages at %lx: %s", npages, pa, pmm_free_result_name(r));
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
    u64 kernel = ALIGN_DOWN((u64)__kernel_start_phys, PAGE_SIZE);
    bool ok = a && b && c;

    ok = ok && IS_ALIGNED(b, LARGE_PAGE_SIZE) && a >= LOW_MEMORY_END;
    /* Nothing handed out may overlap turtle's image. */
    ok = ok && (b + LARGE_PAGE_SIZE <= (u64)__kernel_start_phys || b >= (u64)__kernel_end_phys);
    ok = ok && (a + PAGE_SIZE <= (u64)__kernel_start_phys || a >= (u64)__kernel_end_phys);
    ok = ok && pmm.free_pages == before - 516;
    ok = ok && pmm_all_allocated(&pmm, b, b + LARGE_PAGE_SIZE) && !pmm_any_free(&pmm, a, a + 1);
    /* Bad frees are recognised without changing anything. */
    ok = ok && pmm_free(&pmm, kernel, 1) == PMM_FREE_NOT_ALLOCATED;
    ok = ok && pmm_free(&pmm, a + 1, 1) == PMM_FREE_UNALIGNED;
    if (a) free_pages(a, 1);
    ok = ok && (!a || pmm_free(&pmm, a, 1) == PMM_FREE_DOUBLE);
    if (b) free_pages(b, 512);
    if (c) free_pages(c, 3);
    return ok && pmm.free_pages == before && pmm_count_free(&pmm) == before;
}
