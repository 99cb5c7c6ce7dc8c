/*
 * Host micro-benchmark of the physical page allocator (kernel/pmm.c):
 * alloc/free patterns over 4 GiB of RAM (the first MiB and a 1 MiB "image"
 * reserved), each in its own function so callgrind gives its instruction
 * count. Not part of `make unit`; run it with tests/unit/bench_pmm.sh,
 * which prints instructions per operation.
 *
 * Built with -DBENCH_RANGE_LIST against the free-range list that the
 * bitmap replaced (kernel/pmm.c and kernel/pmm.h of commit 6b0ea41), it
 * measures that one instead; the patterns it cannot survive are skipped.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/pmm.h"

#define MiB         (1ULL << 20)
#define GiB         (1ULL << 30)
#define PG          PAGE_SIZE
#define TOTAL       (4 * GiB)

static u64 ops;                         /* allocs + frees of the current pattern */

#ifdef BENCH_RANGE_LIST
static struct pmm_ranges P;

static void setup(void)
{
    pmm_ranges_init(&P);
    pmm_ranges_add(&P, 0, TOTAL);
    pmm_ranges_reserve(&P, 0, MiB);
    pmm_ranges_reserve(&P, MiB, 2 * MiB);
}
static u64 A(u64 n, u64 align) { ops++; return pmm_ranges_alloc(&P, n, align); }
static void F(u64 pa, u64 n)
{
    ops++;
    if (!pmm_ranges_free(&P, pa, n)) {
        printf("bench: free of %llu pages at %#llx failed\n", (unsigned long long)n,
               (unsigned long long)pa);
        exit(2);
    }
}
#define SCALE_PATTERNS 0
#else
static struct pmm P;

static void setup(void)
{
    void *storage = malloc(pmm_storage_bytes(TOTAL / PG));
    if (!storage)
        exit(2);
    pmm_init(&P, storage, TOTAL / PG);
    pmm_add(&P, 0, TOTAL);
    pmm_reserve(&P, 0, MiB);
    pmm_reserve(&P, MiB, 2 * MiB);
}
static u64 A(u64 n, u64 align) { ops++; return pmm_alloc(&P, n, align); }
static void F(u64 pa, u64 n)
{
    ops++;
    enum pmm_free_result r = pmm_free(&P, pa, n);
    if (r != PMM_FREE_OK) {
        printf("bench: free: %s\n", pmm_free_result_name(r));
        exit(2);
    }
}
#define SCALE_PATTERNS 1
#endif

static u64 pages[2][20000];

#define RUN(pattern) do { ops = 0; pattern(); printf("ops %s %llu\n", #pattern, \
                                                      (unsigned long long)ops); } while (0)

static u64 need(u64 pa)
{
    if (!pa) {
        printf("bench: out of memory\n");
        exit(2);
    }
    return pa;
}

/* 1000 single pages taken and returned in reverse, 10 times: 10000 pairs. */
__attribute__((noinline)) static void pattern_single_lifo(void)
{
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < 1000; i++)
            pages[0][i] = need(A(1, PG));
        for (int i = 999; i >= 0; i--)
            F(pages[0][i], 1);
    }
}

/* 16 guest-RAM frames (512 pages, 2 MiB aligned) behind a few single
 * pages, taken and returned, 10 times: 160 pairs. */
__attribute__((noinline)) static void pattern_2m_frames(void)
{
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < 16; i++)
            pages[0][i] = need(A(512, 2 * MiB));
        for (int i = 0; i < 16; i++)
            F(pages[0][i], 512);
    }
}

/* Two owners take n single pages in turn, one returns its pages, takes
 * them again, then both return all: 4n pairs. */
static void interleave(u64 n)
{
    for (u64 i = 0; i < n; i++) {
        pages[0][i] = need(A(1, PG));
        pages[1][i] = need(A(1, PG));
    }
    for (u64 i = 0; i < n; i++)
        F(pages[0][i], 1);
    for (u64 i = 0; i < n; i++)
        pages[0][i] = need(A(1, PG));
    for (u64 i = 0; i < n; i++) {
        F(pages[0][i], 1);
        F(pages[1][i], 1);
    }
}

/* 60 per owner: the range list still copes (fewer than 128 ranges). */
__attribute__((noinline)) static void pattern_interleave_60(void)
{
    for (int r = 0; r < 10; r++)
        interleave(60);
}

__attribute__((noinline)) static void pattern_interleave_20000(void)
{
    interleave(20000);
}

/* 30000 random steps of mixed sizes and alignments (about half allocs). */
__attribute__((noinline)) static void pattern_random(void)
{
    static const u64 sizes[] = { 1, 1, 1, 1, 2, 3, 8, 16, 64, 512 };
    static const u64 aligns[] = { PG, PG, PG, 8 * PG, 64 * PG, 2 * MiB };
    static u64 live_pa[30000], live_n[30000];
    u64 nlive = 0, x = 88172645463325252ULL;

    for (int step = 0; step < 30000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (nlive && (x & 1)) {
            u64 i = (x >> 8) % nlive;
            F(live_pa[i], live_n[i]);
            live_pa[i] = live_pa[--nlive];
            live_n[i] = live_n[nlive];
        } else {
            u64 n = sizes[(x >> 8) % 10], a = aligns[(x >> 16) % 6];
            live_pa[nlive] = need(A(n, a));
            live_n[nlive++] = n;
        }
    }
    while (nlive--)
        F(live_pa[nlive], live_n[nlive]);
}

int main(void)
{
    setup();
    RUN(pattern_single_lifo);
    RUN(pattern_2m_frames);
    RUN(pattern_interleave_60);
    if (SCALE_PATTERNS) {
        RUN(pattern_interleave_20000);
        RUN(pattern_random);
    }
    printf("bench: done\n");
    return 0;
}
