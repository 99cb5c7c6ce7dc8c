/*
 * EPT paging structures (SDM Vol. 3 29.3.2): 4 levels, write-back leaves.
 * Used for EPT01 (L1-physical → host-physical) and, by nested/, for EPT02.
 */
#ifndef TURTLE_EPT_H
#define TURTLE_EPT_H

#include "kernel/types.h"

struct vm_pages;

#define EPT_LEVELS          4
#define EPT_ENTRIES         512
#define EPT_ADDR_MASK       0x000ffffffffff000ULL

/* Every function taking a pool allocates and frees paging-structure pages
 * in that VM pool (vmx/vm_pages.h; EPT02), or with the global allocator
 * when it is NULL (EPT01). One EPT always uses the same one. */

/* A new empty root (PML4) page, or 0 if out of memory. */
u64 ept_alloc_root(struct vm_pages *pool);
/* Maps one page (level 1: 4 KiB, level 2: 2 MiB) with the given RWX bits,
 * write-back. Returns false if out of memory or something is mapped there.
 * Adds the paging-structure pages it allocated to *tables (if not NULL). */
bool ept_map(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, int level, u64 rwx, u64 *tables);
/* The leaf entry for gpa (with its level), or 0 if not present. */
u64 ept_lookup(u64 root, u64 gpa, int *level);
/* Frees the paging-structure pages (not the memory they map). */
void ept_free(struct vm_pages *pool, u64 root);
/* EPTP for a root: WB paging structures, 4-level walk (SDM 25.6.11). */
u64 ept_make_eptp(u64 root);
/* Sets (or replaces) the 4 KiB leaf for gpa. False if out of memory or a
 * large page covers gpa. Counts new paging-structure pages as ept_map. */
bool ept_set_4k(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, u64 rwx, u64 *tables);
/* Sets (or replaces) the 2 MiB leaf for gpa (2 MiB aligned). False if out
 * of memory or 4 KiB pages are mapped below it. */
bool ept_set_2m(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, u64 rwx, u64 *tables);
/* Makes pages[0..3] a root (pages[0]) that maps like root except the
 * 4 KiB page at gpa, which it leaves not present: pages[0..3] take the
 * place of root's tables on the path to gpa (PML4, PDPT, PD, PT), copied
 * but for that one entry each; every other table is root's own, shared.
 * False if a large page of root covers gpa. */
bool ept_clone_hiding(u64 root, u64 gpa, const u64 pages[EPT_LEVELS]);
#endif
