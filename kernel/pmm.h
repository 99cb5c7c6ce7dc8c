/*
 * Physical page allocator: two bitmaps over the direct-mapped RAM, one bit
 * per 4 KiB page, plus a summary bitmap that says which words of the free
 * map hold a free page.
 *
 *   free map       bit set: the page is free
 *   allocated map  bit set: the page was handed out and not yet returned
 *   neither        the page is not RAM the allocator manages (a hole, the
 *                  first MiB, turtle's image, boot information, modules,
 *                  the bitmaps themselves)
 *
 * The bookkeeping is fixed when the allocator is built, so returning pages
 * never needs memory and never fails for a valid free, however fragmented
 * memory is. The allocated map makes every bad free exact: a double free, a
 * free of pages never handed out or outside the map are all recognised.
 *
 * The logic (struct pmm and the pmm_* functions) is pure and unit tested on
 * the host; kernel/mm.c wraps one global instance whose storage it takes
 * from RAM at boot.
 */
#ifndef TURTLE_PMM_H
#define TURTLE_PMM_H

#include "kernel/types.h"

#define PMM_WORD_BITS       64

struct pmm {
    u64 *free_map;              /* bit n: page n is free */
    u64 *alloc_map;             /* bit n: page n is allocated */
    u64 *summary;               /* bit w: free_map[w] != 0 */
    u64 npages;                 /* pages covered: physical [0, npages * PAGE_SIZE) */
    u64 nwords;                 /* words in free_map and in alloc_map */
    u64 free_pages;             /* set bits in free_map */
    u64 hint;                   /* free_map[w] == 0 for every w < hint */
};

/* Why pmm_free refused a free (each is a bug of the caller). */
enum pmm_free_result {
    PMM_FREE_OK = 0,
    PMM_FREE_UNALIGNED,         /* address not page aligned, or zero pages */
    PMM_FREE_OUTSIDE,           /* range leaves the pages the map covers */
    PMM_FREE_DOUBLE,            /* some page is already free */
    PMM_FREE_NOT_ALLOCATED,     /* some page was never handed out (not managed RAM) */
};

struct pmm_span {
    u64 start;                  /* inclusive */
    u64 end;                    /* exclusive */
};

/* Bytes of storage pmm_init needs to cover npages pages (a multiple of 8). */
u64 pmm_storage_bytes(u64 npages);
/* Covers physical [0, npages * PAGE_SIZE) with storage of at least
 * pmm_storage_bytes(npages) bytes, 8-byte aligned. Every page starts
 * unmanaged (neither free nor allocated). */
void pmm_init(struct pmm *p, void *storage, u64 npages);
/* Building only (before the first allocation): makes [start, end), shrunk to
 * whole pages and clipped to the map, free. Overlapping calls are harmless.
 * Page 0 never becomes free, so 0 can mean "no memory". */
void pmm_add(struct pmm *p, u64 start, u64 end);
/* Building only: makes [start, end), grown to whole pages and clipped to
 * the map, unmanaged: never handed out, never accepted back. */
void pmm_reserve(struct pmm *p, u64 start, u64 end);
/* First fit: npages contiguous free pages whose address is a multiple of
 * align (a power of two, at least PAGE_SIZE). Marks them allocated and
 * returns the physical address, or 0 when no such run is free or the
 * arguments are invalid. Contents are left as they are. */
u64 pmm_alloc(struct pmm *p, u64 npages, u64 align);
/* Returns npages pages at addr, every one of which must be allocated (any
 * part of an allocation may be returned on its own). On anything else the
 * maps are left unchanged and the reason is returned. */
enum pmm_free_result pmm_free(struct pmm *p, u64 addr, u64 npages);
/* True if any page of [start, end) (grown to whole pages) is free. */
bool pmm_any_free(const struct pmm *p, u64 start, u64 end);
/* True if every page of [start, end) (grown to whole pages) is allocated. */
bool pmm_all_allocated(const struct pmm *p, u64 start, u64 end);
/* Counts the set bits of the free map (for checks; free_pages is the
 * maintained count). */
u64 pmm_count_free(const struct pmm *p);
/* A short name for a free result, for panic messages. */
const char *pmm_free_result_name(enum pmm_free_result r);

/* Where to put the allocator's own storage before it exists: the lowest
 * page-aligned address a >= floor with [a, a + bytes) inside one span of
 * ram, below limit, and overlapping no span of busy. 0 if there is none. */
u64 pmm_find_room(const struct pmm_span *ram, u32 nram, const struct pmm_span *busy,
                  u32 nbusy, u64 floor, u64 limit, u64 bytes);

#endif
