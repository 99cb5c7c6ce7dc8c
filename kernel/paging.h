/*
 * The kernel's own page tables (4-level, SDM Vol. 3 4.5). The boot tables
 * (boot/entry.asm) stay in use; this API edits them. Page-table pages come
 * from the physical allocator and are reached through the direct map.
 */
#ifndef TURTLE_PAGING_H
#define TURTLE_PAGING_H

#include "kernel/types.h"

#define PTE_P           BIT(0)          /* present */
#define PTE_W           BIT(1)          /* writable */
#define PTE_U           BIT(2)          /* user */
#define PTE_PWT         BIT(3)
#define PTE_PCD         BIT(4)          /* cache disable */
#define PTE_A           BIT(5)
#define PTE_D           BIT(6)
#define PTE_PS          BIT(7)          /* large page (PDE/PDPTE) */
#define PTE_G           BIT(8)
#define PTE_NX          BIT(63)         /* no-execute (needs EFER.NXE) */
#define PTE_ADDR_MASK   0x000ffffffffff000ULL

/* Flags a caller may pass to the map functions. */
#define PAGING_MAP_FLAGS (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

void paging_init(bool nx);
/* Map one 4 KiB / 2 MiB page at va (aligned) to pa with flags from
 * PAGING_MAP_FLAGS. Returns 0, or -1 if va is already mapped (at any size),
 * misaligned, or a table page cannot be allocated. */
int map_page(u64 va, u64 pa, u64 flags);
int map_large_page(u64 va, u64 pa, u64 flags);
/* Unmaps the page of that size at va; -1 if no such mapping. */
int unmap_page(u64 va);
int unmap_large_page(u64 va);
/* Physical address va translates to, or ~0 if unmapped. */
u64 paging_translate(u64 va);
/* Maps, writes, translates and unmaps a scratch page; true if all held. */
bool paging_self_check(void);

#endif
