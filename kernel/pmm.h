/*
 * Physical page allocator: a sorted list of free ranges, carved from the
 * usable RAM of the memory map minus everything turtle must never hand out
 * (the first MiB, its own image, the boot information, the modules).
 *
 * The logic (struct pmm_ranges and the pmm_ranges_* functions) is pure and
 * unit tested on the host; kernel/mm.c wraps one global instance.
 */
#ifndef TURTLE_PMM_H
#define TURTLE_PMM_H

#include "kernel/types.h"

#define PMM_MAX_RANGES      128

struct pmm_range {
    u64 start;                  /* page aligned, inclusive */
    u64 end;                    /* page aligned, exclusive */
};

struct pmm_ranges {
    u32 n;
    struct pmm_range r[PMM_MAX_RANGES];  /* sorted, disjoint, non-adjacent */
    u64 free_pages;
};

void pmm_ranges_init(struct pmm_ranges *p);
/* Adds [start, end) shrunk to whole pages. False if the table is full. */
bool pmm_ranges_add(struct pmm_ranges *p, u64 start, u64 end);
/* Removes [start, end) grown to whole pages from the free ranges. False if
 * the table is full (a split needed a slot). */
bool pmm_ranges_reserve(struct pmm_ranges *p, u64 start, u64 end);
/* First fit: npages contiguous pages aligned to align (a power of two, at
 * least PAGE_SIZE). Returns the physical address, or 0 when none is free
 * (0 is never free: the first MiB is always reserved). */
u64 pmm_ranges_alloc(struct pmm_ranges *p, u64 npages, u64 align);
/* Returns pages to the free list. False on a double free or a full table. */
bool pmm_ranges_free(struct pmm_ranges *p, u64 addr, u64 npages);
/* True if any byte of [start, end) is free. */
bool pmm_ranges_overlaps(const struct pmm_ranges *p, u64 start, u64 end);

#endif
