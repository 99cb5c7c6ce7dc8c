/*
 * Physical memory for the kernel: one allocator over usable RAM, and the
 * direct map through which turtle reads and writes any physical page.
 */
#ifndef TURTLE_MM_H
#define TURTLE_MM_H

#include "kernel/multiboot2.h"
#include "kernel/types.h"

/* The boot page tables map physical 0..4 GiB at virtual 0..4 GiB (boot/entry.asm).
 * RAM above that is left out of the allocator. */
#define DIRECT_MAP_LIMIT    ((u64)4 << 30)
#define LOW_MEMORY_END      ((u64)1 << 20)    /* first MiB: BIOS, never allocated */

static inline void *phys_to_virt(u64 pa) { return (void *)(uintptr_t)pa; }
static inline u64 virt_to_phys_direct(const void *va) { return (u64)(uintptr_t)va; }

/* Builds the allocator from the memory map, reserving the first MiB, the
 * kernel image, the boot information at mbi_phys and every module. Prints a
 * summary. Panics only if no usable RAM is left (nothing to run on). */
void mm_init(const struct boot_info *bi, u64 mbi_phys);

/* Zeroed pages, or 0 when out of memory (callers decide what that means). */
u64 alloc_pages(u64 npages, u64 align);
static inline u64 alloc_page(void) { return alloc_pages(1, PAGE_SIZE); }
void free_pages(u64 pa, u64 npages);
u64 mm_free_pages(void);

/* Allocates, checks and frees a few blocks; returns true if every check
 * held. Printed at boot as the allocator self-check. */
bool mm_self_check(void);

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
