/*
 * A VM's page pool: the pages it may need once it runs (EPT02 paging
 * structures today), taken from the global allocator when the VM is
 * created and handed out from a free list threaded through the pages
 * themselves. Allocating and freeing never touch the global allocator, so
 * what one VM does at run time cannot make another VM's allocation fail,
 * and whatever a VM does its pool cannot grow (docs/architecture.md,
 * Memory).
 */
#ifndef TURTLE_VM_PAGES_H
#define TURTLE_VM_PAGES_H

#include "kernel/types.h"

struct vm_pages {
    u64 free_head;              /* host-physical of the first free page, 0: none */
    u64 n_free;
    u64 n_total;                /* reserved from the global allocator */
    u64 low_water;              /* fewest pages ever free (how close the VM came) */
};

/* Takes npages pages (one at a time: any fragmentation will do) from the
 * global allocator into an empty pool. False, with nothing kept, if they
 * are not all there. */
bool vm_pages_reserve(struct vm_pages *p, u64 npages);
/* A zeroed page of the pool, or 0 when the pool is empty (the caller's
 * bound on what it holds has failed, or it must start over). */
u64 vm_pages_alloc(struct vm_pages *p);
/* Returns a page vm_pages_alloc() gave. */
void vm_pages_free(struct vm_pages *p, u64 pa);
/* Gives every page back to the global allocator and empties the pool.
 * Returns how many pages were still handed out (0 unless its user leaked
 * them; those stay with it). */
u64 vm_pages_release(struct vm_pages *p);

#endif
