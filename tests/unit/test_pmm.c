/*
 * Host unit test of the free-range list behind the physical page allocator,
 * kernel/pmm.c: adding (overlapping) memory-map ranges, reserving, first-fit
 * aligned allocation, freeing with neighbour merging, double-free and
 * argument checks, a full table, and a fixed-seed random sequence checked
 * page by page against a simple model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/pmm.h"

#define KiB         (1ULL << 10)
#define MiB         (1ULL << 20)
#define GiB         (1ULL << 30)
#define PG          PAGE_SIZE

/* The list's own invariants: sorted, disjoint, non-adjacent, page aligned,
 * non-empty ranges whose pages add up to free_pages. */
static void check_invariants(const struct pmm_ranges *p)
{
	u64 pages = 0;

	assert_true(p->n <= PMM_MAX_RANGES);
	for (u32 i = 0; i < p->n; i++) {
		assert_true(IS_ALIGNED(p->r[i].start, PG));
		assert_true(IS_ALIGNED(p->r[i].end, PG));
		assert_true(p->r[i].start < p->r[i].end);
		if (i)
			assert_true(p->r[i - 1].end < p->r[i].start);
		pages += (p->r[i].end - p->r[i].start) / PG;
	}
	assert_int_equal(pages, p->free_pages);
}

/* Expects exactly the given ranges (start, end pairs). */
static void expect_ranges(const struct pmm_ranges *p, u32 n, ...)
{
	va_list ap;

	check_invariants(p);
	if (p->n != n) {
		for (u32 i = 0; i < p->n; i++)
			fprintf(stderr, "  [%#llx, %#llx)\n", (unsigned long long)p->r[i].start,
				(unsigned long long)p->r[i].end);
		fail_msg("%u ranges, want %u", p->n, n);
	}
	va_start(ap, n);
	for (u32 i = 0; i < n; i++) {
		u64 start = va_arg(ap, u64), end = va_arg(ap, u64);
		assert_int_equal(p->r[i].start, start);
		assert_int_equal(p->r[i].end, end);
	}
	va_end(ap);
}

static void test_empty(void **state)
{
	struct pmm_ranges p;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	pmm_ranges_init(&p);
	expect_ranges(&p, 0);
	assert_int_equal(p.free_pages, 0);
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), 0);
	assert_false(pmm_ranges_overlaps(&p, 0, ~0ULL));
	assert_true(pmm_ranges_reserve(&p, 0, 16 * MiB));
	expect_ranges(&p, 0);
}

static void test_add(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	/* Shrunk to whole pages. */
	assert_true(pmm_ranges_add(&p, 0x1234, 0x5678));
	expect_ranges(&p, 1, 0x2000ULL, 0x5000ULL);
	assert_int_equal(p.free_pages, 3);
	/* Less than a page, or empty, or backwards: nothing. */
	assert_true(pmm_ranges_add(&p, 0x10001, 0x10fff));
	assert_true(pmm_ranges_add(&p, 0x20000, 0x20000));
	assert_true(pmm_ranges_add(&p, 0x30000, 0x20000));
	expect_ranges(&p, 1, 0x2000ULL, 0x5000ULL);
	/* Disjoint ranges stay sorted whatever the order they come in. */
	assert_true(pmm_ranges_add(&p, 0x100000, 0x200000));
	assert_true(pmm_ranges_add(&p, 0x40000, 0x50000));
	expect_ranges(&p, 3, 0x2000ULL, 0x5000ULL, 0x40000ULL, 0x50000ULL,
		      0x100000ULL, 0x200000ULL);
	assert_int_equal(p.free_pages, 3 + 16 + 256);
	/* Adjacent ranges merge, on either side and on both. */
	assert_true(pmm_ranges_add(&p, 0x50000, 0x60000));
	assert_true(pmm_ranges_add(&p, 0x30000, 0x40000));
	expect_ranges(&p, 3, 0x2000ULL, 0x5000ULL, 0x30000ULL, 0x60000ULL,
		      0x100000ULL, 0x200000ULL);
	assert_true(pmm_ranges_add(&p, 0x5000, 0x30000));
	expect_ranges(&p, 2, 0x2000ULL, 0x60000ULL, 0x100000ULL, 0x200000ULL);
	assert_int_equal(p.free_pages, 0x5e + 256);
}

static void test_add_overlapping(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 4 * MiB));
	assert_true(pmm_ranges_add(&p, 2 * MiB, 6 * MiB));        /* overlaps the end */
	expect_ranges(&p, 1, 1 * MiB, 6 * MiB);
	assert_true(pmm_ranges_add(&p, 512 * KiB, 2 * MiB));      /* overlaps the start */
	expect_ranges(&p, 1, 512 * KiB, 6 * MiB);
	assert_true(pmm_ranges_add(&p, 3 * MiB, 5 * MiB));        /* inside */
	assert_true(pmm_ranges_add(&p, 512 * KiB, 6 * MiB));      /* identical */
	expect_ranges(&p, 1, 512 * KiB, 6 * MiB);
	assert_int_equal(p.free_pages, (6 * MiB - 512 * KiB) / PG);
	/* One range covering several, and the gaps between them. */
	assert_true(pmm_ranges_add(&p, 8 * MiB, 9 * MiB));
	assert_true(pmm_ranges_add(&p, 10 * MiB, 11 * MiB));
	assert_true(pmm_ranges_add(&p, 4 * MiB, 12 * MiB));
	expect_ranges(&p, 1, 512 * KiB, 12 * MiB);
	assert_int_equal(p.free_pages, (12 * MiB - 512 * KiB) / PG);
	/* Unaligned overlap. */
	assert_true(pmm_ranges_add(&p, 12 * MiB - 100, 12 * MiB + 5000));
	expect_ranges(&p, 1, 512 * KiB, 12 * MiB + PG);
}

static void test_reserve(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 0, 16 * MiB));
	/* The middle: a split. Grown to whole pages. */
	assert_true(pmm_ranges_reserve(&p, 4 * MiB + 1, 5 * MiB - 1));
	expect_ranges(&p, 2, 0ULL, 4 * MiB, 5 * MiB, 16 * MiB);
	/* The start, the end, and a whole range. */
	assert_true(pmm_ranges_reserve(&p, 0, 1 * MiB));
	assert_true(pmm_ranges_reserve(&p, 15 * MiB, 16 * MiB + 123));
	expect_ranges(&p, 2, 1 * MiB, 4 * MiB, 5 * MiB, 15 * MiB);
	assert_true(pmm_ranges_reserve(&p, 1 * MiB, 4 * MiB));
	expect_ranges(&p, 1, 5 * MiB, 15 * MiB);
	/* A single byte takes its whole page. */
	assert_true(pmm_ranges_reserve(&p, 6 * MiB + 7, 6 * MiB + 8));
	expect_ranges(&p, 2, 5 * MiB, 6 * MiB, 6 * MiB + PG, 15 * MiB);
	/* Across several ranges at once, and twice (a no-op). */
	assert_true(pmm_ranges_add(&p, 20 * MiB, 21 * MiB));
	assert_true(pmm_ranges_reserve(&p, 5 * MiB + PG, 20 * MiB + PG));
	expect_ranges(&p, 2, 5 * MiB, 5 * MiB + PG, 20 * MiB + PG, 21 * MiB);
	assert_true(pmm_ranges_reserve(&p, 5 * MiB + PG, 20 * MiB + PG));
	expect_ranges(&p, 2, 5 * MiB, 5 * MiB + PG, 20 * MiB + PG, 21 * MiB);
	/* Empty and backwards reservations touch nothing. */
	assert_true(pmm_ranges_reserve(&p, 5 * MiB, 5 * MiB));
	assert_true(pmm_ranges_reserve(&p, 21 * MiB, 5 * MiB));
	expect_ranges(&p, 2, 5 * MiB, 5 * MiB + PG, 20 * MiB + PG, 21 * MiB);
	/* Everything. */
	assert_true(pmm_ranges_reserve(&p, 0, 1ULL << 52));
	expect_ranges(&p, 0);
	assert_int_equal(p.free_pages, 0);
}

/* Ranges near the top of the 64-bit space: rounding must not wrap. */
static void test_top_of_address_space(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	/* No whole page fits above the last page boundary. */
	assert_true(pmm_ranges_add(&p, ~0ULL - 100, ~0ULL));
	assert_true(pmm_ranges_add(&p, ~0ULL - PG + 2, ~0ULL));
	expect_ranges(&p, 0);
	/* The highest representable page range. */
	assert_true(pmm_ranges_add(&p, ~0ULL - 3 * PG + 1, ~0ULL));
	expect_ranges(&p, 1, ~0ULL - 3 * PG + 1, ~0ULL - PG + 1);
	/* Reserving up to 2^64 - 1 removes it all. */
	assert_true(pmm_ranges_add(&p, 1 * MiB, 2 * MiB));
	assert_true(pmm_ranges_reserve(&p, 1 * MiB + 512 * KiB, ~0ULL));
	expect_ranges(&p, 1, 1 * MiB, 1 * MiB + 512 * KiB);
	assert_int_equal(p.free_pages, 128);
	assert_true(pmm_ranges_reserve(&p, 0, ~0ULL));
	expect_ranges(&p, 0);
	/* Allocation with a huge alignment must not wrap either. */
	assert_true(pmm_ranges_add(&p, ~0ULL - 16 * PG + 1, ~0ULL));
	assert_int_equal(pmm_ranges_alloc(&p, 1, 1ULL << 63), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 1, 2 * MiB), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), ~0ULL - 16 * PG + 1);
	assert_false(pmm_ranges_free(&p, ~0ULL - PG + 1, 1));     /* would end at 2^64 */
}

static void test_first_mib(void **state)
{
	struct pmm_ranges p;
	u64 a, count = 0;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 0, 0x9fc00));
	assert_true(pmm_ranges_add(&p, 1 * MiB, 8 * MiB));
	assert_true(pmm_ranges_reserve(&p, 0, 1 * MiB));
	expect_ranges(&p, 1, 1 * MiB, 8 * MiB);
	assert_false(pmm_ranges_overlaps(&p, 0, 1 * MiB));
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), 1 * MiB);
	while ((a = pmm_ranges_alloc(&p, 1, PG)) != 0) {
		assert_true(a >= 1 * MiB && a < 8 * MiB);
		count++;
	}
	assert_int_equal(count, 7 * MiB / PG - 1);
	assert_int_equal(p.free_pages, 0);
}

static void test_alloc_alignment(void **state)
{
	struct pmm_ranges p;
	u64 a;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB + PG, 16 * MiB));
	/* One 2 MiB-aligned page: the lowest aligned address, leaving the pages
	 * on both sides free. */
	assert_int_equal(pmm_ranges_alloc(&p, 1, 2 * MiB), 2 * MiB);
	expect_ranges(&p, 2, 1 * MiB + PG, 2 * MiB, 2 * MiB + PG, 16 * MiB);
	/* A whole 2 MiB page cannot start at 2 MiB any more. */
	a = pmm_ranges_alloc(&p, 512, 2 * MiB);
	assert_int_equal(a, 4 * MiB);
	expect_ranges(&p, 3, 1 * MiB + PG, 2 * MiB, 2 * MiB + PG, 4 * MiB,
		      6 * MiB, 16 * MiB);
	/* Small alignments take the first range that fits. */
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), 1 * MiB + PG);
	assert_int_equal(pmm_ranges_alloc(&p, 2, 8 * KiB), 1 * MiB + 2 * PG);
	assert_int_equal(pmm_ranges_alloc(&p, 256, 64 * KiB), 2 * MiB + 64 * KiB);
	/* A request bigger than the first ranges skips them. */
	assert_int_equal(pmm_ranges_alloc(&p, 1024, PG), 6 * MiB);
	/* Every 2 MiB page left, then none. */
	assert_int_equal(pmm_ranges_alloc(&p, 512, 2 * MiB), 10 * MiB);
	assert_int_equal(pmm_ranges_alloc(&p, 512, 2 * MiB), 12 * MiB);
	assert_int_equal(pmm_ranges_alloc(&p, 512, 2 * MiB), 14 * MiB);
	assert_int_equal(pmm_ranges_alloc(&p, 512, 2 * MiB), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 1, 16 * MiB), 0);
	check_invariants(&p);
}

static void test_alloc_bad_arguments(void **state)
{
	static const u64 bad_align[] = { 0, 1, 2, 512, 4095, 4097, 6000, 3 * PG, 12 * KiB,
					 (2 * MiB) | PG, ~0ULL };
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 64 * MiB));
	assert_int_equal(pmm_ranges_alloc(&p, 0, PG), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 0, 2 * MiB), 0);
	for (u32 i = 0; i < ARRAY_SIZE(bad_align); i++)
		assert_int_equal(pmm_ranges_alloc(&p, 1, bad_align[i]), 0);
	/* Page counts whose byte size overflows. */
	assert_int_equal(pmm_ranges_alloc(&p, ~0ULL, PG), 0);
	assert_int_equal(pmm_ranges_alloc(&p, (~0ULL >> 12) + 1, PG), 0);
	assert_int_equal(pmm_ranges_alloc(&p, ~0ULL >> 12, PG), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 1ULL << 52, PG), 0);
	/* More than is free. */
	assert_int_equal(pmm_ranges_alloc(&p, 63 * MiB / PG + 1, PG), 0);
	/* Nothing was taken by the failures. */
	expect_ranges(&p, 1, 1 * MiB, 64 * MiB);
	assert_int_equal(pmm_ranges_alloc(&p, 63 * MiB / PG, PG), 1 * MiB);
	expect_ranges(&p, 0);
}

static void test_exhaustion(void **state)
{
	struct pmm_ranges p;
	u64 got[16];

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 1 * MiB + 8 * PG));
	assert_true(pmm_ranges_add(&p, 3 * MiB, 3 * MiB + 8 * PG));
	for (u32 i = 0; i < 16; i++) {
		got[i] = pmm_ranges_alloc(&p, 1, PG);
		assert_int_not_equal(got[i], 0);
		for (u32 j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
		assert_int_equal(p.free_pages, 15 - i);
	}
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), 0);
	assert_int_equal(p.free_pages, 0);
	expect_ranges(&p, 0);
	/* Give them back in a scrambled order: the two ranges come back whole. */
	for (u32 i = 0; i < 16; i++)
		assert_true(pmm_ranges_free(&p, got[(i * 7) % 16], 1));
	expect_ranges(&p, 2, 1 * MiB, 1 * MiB + 8 * PG, 3 * MiB, 3 * MiB + 8 * PG);
	assert_int_equal(p.free_pages, 16);
	/* Not 9 contiguous pages anywhere. */
	assert_int_equal(pmm_ranges_alloc(&p, 9, PG), 0);
	assert_int_equal(pmm_ranges_alloc(&p, 8, PG), 1 * MiB);
}

static void test_free_merges(void **state)
{
	struct pmm_ranges p;
	u64 base;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 1 * MiB + 10 * PG));
	base = pmm_ranges_alloc(&p, 10, PG);
	assert_int_equal(base, 1 * MiB);
	expect_ranges(&p, 0);
	/* Isolated pages make separate ranges... */
	assert_true(pmm_ranges_free(&p, base + 1 * PG, 1));
	assert_true(pmm_ranges_free(&p, base + 3 * PG, 1));
	assert_true(pmm_ranges_free(&p, base + 7 * PG, 2));
	expect_ranges(&p, 3, base + PG, base + 2 * PG, base + 3 * PG, base + 4 * PG,
		      base + 7 * PG, base + 9 * PG);
	/* ...a page between two joins them into one... */
	assert_true(pmm_ranges_free(&p, base + 2 * PG, 1));
	expect_ranges(&p, 2, base + PG, base + 4 * PG, base + 7 * PG, base + 9 * PG);
	/* ...and a page just before or just after extends a range. */
	assert_true(pmm_ranges_free(&p, base, 1));
	assert_true(pmm_ranges_free(&p, base + 9 * PG, 1));
	expect_ranges(&p, 2, base, base + 4 * PG, base + 7 * PG, base + 10 * PG);
	assert_true(pmm_ranges_free(&p, base + 4 * PG, 3));
	expect_ranges(&p, 1, base, base + 10 * PG);
	assert_int_equal(p.free_pages, 10);
}

static void test_double_free(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 2 * MiB));
	u64 a = pmm_ranges_alloc(&p, 4, PG);
	u64 b = pmm_ranges_alloc(&p, 4, PG);
	assert_int_equal(a, 1 * MiB);
	assert_int_equal(b, 1 * MiB + 4 * PG);
	u64 before = p.free_pages;

	assert_true(pmm_ranges_free(&p, a, 4));
	assert_int_equal(p.free_pages, before + 4);
	assert_false(pmm_ranges_free(&p, a, 4));                /* again */
	assert_false(pmm_ranges_free(&p, a + PG, 1));           /* part of it */
	assert_false(pmm_ranges_free(&p, b + 3 * PG, 2));       /* overlaps free space */
	assert_false(pmm_ranges_free(&p, a + 2 * PG, 4));       /* straddles a and b */
	assert_int_equal(p.free_pages, before + 4);
	expect_ranges(&p, 2, a, a + 4 * PG, b + 4 * PG, 2 * MiB);

	/* Malformed frees. */
	assert_false(pmm_ranges_free(&p, b + 1, 1));             /* unaligned */
	assert_false(pmm_ranges_free(&p, b, 0));
	assert_false(pmm_ranges_free(&p, b, ~0ULL));
	assert_false(pmm_ranges_free(&p, b, (~0ULL - b) / PG + 1));
	expect_ranges(&p, 2, a, a + 4 * PG, b + 4 * PG, 2 * MiB);
	assert_true(pmm_ranges_free(&p, b, 4));
	expect_ranges(&p, 1, 1 * MiB, 2 * MiB);
}

static void test_overlaps(void **state)
{
	struct pmm_ranges p;

	(void)state;
	pmm_ranges_init(&p);
	assert_true(pmm_ranges_add(&p, 1 * MiB, 2 * MiB));
	assert_true(pmm_ranges_add(&p, 4 * MiB, 5 * MiB));
	assert_true(pmm_ranges_overlaps(&p, 1 * MiB, 1 * MiB + 1));
	assert_true(pmm_ranges_overlaps(&p, 2 * MiB - 1, 2 * MiB));
	assert_true(pmm_ranges_overlaps(&p, 0, ~0ULL));
	assert_true(pmm_ranges_overlaps(&p, 3 * MiB, 4 * MiB + 1));
	assert_false(pmm_ranges_overlaps(&p, 0, 1 * MiB));
	assert_false(pmm_ranges_overlaps(&p, 2 * MiB, 4 * MiB));
	assert_false(pmm_ranges_overlaps(&p, 5 * MiB, ~0ULL));
	assert_false(pmm_ranges_overlaps(&p, 1 * MiB + 5, 1 * MiB + 5));
}

static void test_table_full(void **state)
{
	const u64 base = 1 * MiB + PG;          /* odd page: 8 KiB alignment lands mid-range */
	struct pmm_ranges p, saved;
	u64 top;

	(void)state;
	pmm_ranges_init(&p);
	/* PMM_MAX_RANGES one-page ranges, each followed by a one-page hole. */
	for (u32 i = 0; i < PMM_MAX_RANGES; i++)
		assert_true(pmm_ranges_add(&p, base + 2 * i * PG, base + (2 * i + 1) * PG));
	assert_int_equal(p.n, PMM_MAX_RANGES);
	top = base + 2 * PMM_MAX_RANGES * PG;

	/* One more separate range does not fit, and changes nothing. */
	saved = p;
	assert_false(pmm_ranges_add(&p, top + PG, top + 2 * PG));
	assert_memory_equal(&p, &saved, sizeof(p));
	/* Ranges that merge need no slot. */
	assert_true(pmm_ranges_add(&p, top - PG, top));           /* extends the last */
	assert_int_equal(p.n, PMM_MAX_RANGES);
	assert_true(pmm_ranges_free(&p, base + PG, 1));            /* joins the first two */
	assert_int_equal(p.n, PMM_MAX_RANGES - 1);
	assert_true(pmm_ranges_add(&p, top + PG, top + 2 * PG));
	assert_int_equal(p.n, PMM_MAX_RANGES);
	check_invariants(&p);
	assert_int_equal(p.r[0].start, base);
	assert_int_equal(p.r[0].end, base + 3 * PG);

	/* Reserving the middle of the first range needs a slot: refused,
	 * nothing changed. */
	saved = p;
	assert_false(pmm_ranges_reserve(&p, base + PG, base + 2 * PG));
	assert_memory_equal(&p, &saved, sizeof(p));
	/* So does an aligned allocation from its middle: 0, nothing changed. */
	assert_int_equal(pmm_ranges_alloc(&p, 1, 2 * PG), 0);
	assert_memory_equal(&p, &saved, sizeof(p));
	/* And a free that would be a new range. */
	assert_false(pmm_ranges_free(&p, top + 4 * PG, 1));
	assert_memory_equal(&p, &saved, sizeof(p));
	/* From the start of a range no slot is needed. */
	assert_int_equal(pmm_ranges_alloc(&p, 1, PG), base);
	assert_int_equal(pmm_ranges_alloc(&p, 2, PG), base + PG);
	assert_int_equal(p.n, PMM_MAX_RANGES - 1);
	check_invariants(&p);
}

/* ---- randomized sequence against a page model ---- */

#define MODEL_PAGES     8192            /* 32 MiB */
enum { M_NONE, M_FREE, M_RESERVED, M_USED };

static u64 rng_state = 0xd1b54a32d192ed03ULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static u8 model[MODEL_PAGES];

static void model_set(u64 start, u64 end, u8 to)
{
	for (u64 a = start; a < end && a / PG < MODEL_PAGES; a += PG)
		model[a / PG] = to;
}

/* The page-by-page comparison of the list with the model. */
static void check_model(const struct pmm_ranges *p)
{
	u64 free_pages = 0;
	u32 r = 0;

	check_invariants(p);
	for (u64 pg = 0; pg < MODEL_PAGES; pg++) {
		u64 a = pg * PG;
		while (r < p->n && p->r[r].end <= a)
			r++;
		bool in_list = r < p->n && p->r[r].start <= a;
		if (in_list != (model[pg] == M_FREE))
			fail_msg("page %#llx: list says %s, model %d", (unsigned long long)a,
				 in_list ? "free" : "not free", model[pg]);
		free_pages += model[pg] == M_FREE;
	}
	assert_int_equal(p->free_pages, free_pages);
}

/* First fit as documented: the lowest address aligned to align whose npages
 * pages are all free. */
static u64 model_first_fit(u64 npages, u64 align)
{
	u64 step = align / PG;

	for (u64 pg = 0; pg + npages <= MODEL_PAGES; pg += step) {
		u64 i = 0;
		while (i < npages && model[pg + i] == M_FREE)
			i++;
		if (i == npages)
			return pg * PG;
	}
	return 0;
}

struct block {
	u64 addr, npages;
};

/* True if the pages [addr, addr + npages) sit strictly inside a free range of
 * the model, or between two non-adjacent ones: a free range would have to be
 * split (alloc) or created (free), which needs a table slot. */
static bool need_slot(u64 addr, u64 npages)
{
	u64 first = addr / PG, last = first + npages - 1;
	bool before = first > 0 && model[first - 1] == M_FREE;
	bool after = last + 1 < MODEL_PAGES && model[last + 1] == M_FREE;

	return model[first] == M_FREE ? before && after : !before && !after;
}

/* Frees b in the list and the model. False (and nothing changed) only when
 * the table is full and the block touches no free range. */
static bool model_free(struct pmm_ranges *p, struct block b)
{
	static struct pmm_ranges saved;

	saved = *p;
	if (!pmm_ranges_free(p, b.addr, b.npages)) {
		assert_int_equal(p->n, PMM_MAX_RANGES);
		assert_true(need_slot(b.addr, b.npages));
		assert_memory_equal(p, &saved, sizeof(*p));
		return false;
	}
	model_set(b.addr, b.addr + b.npages * PG, M_FREE);
	return true;
}

static void test_random_against_model(void **state)
{
	static const u64 aligns[] = { PG, PG, PG, 2 * PG, 16 * PG, 64 * KiB, 2 * MiB };
	static struct block blocks[4096];
	static struct pmm_ranges p;
	static struct pmm_ranges saved;
	u32 n_blocks = 0, allocs = 0, fails = 0, table_full = 0;

	(void)state;
	memset(model, M_NONE, sizeof(model));
	pmm_ranges_init(&p);

	/* RAM as a firmware map might give it: holes, overlapping entries,
	 * unaligned edges. */
	static const u64 ram[][2] = {
		{ 0, 0x9fc00 }, { 1 * MiB, 12 * MiB + 100 }, { 8 * MiB, 14 * MiB },
		{ 15 * MiB - 10, 24 * MiB }, { 20 * MiB, 21 * MiB }, { 26 * MiB + 1, 32 * MiB },
	};
	for (u32 i = 0; i < ARRAY_SIZE(ram); i++) {
		assert_true(pmm_ranges_add(&p, ram[i][0], ram[i][1]));
		model_set(ALIGN_UP(ram[i][0], PG), ALIGN_DOWN(ram[i][1], PG), M_FREE);
	}
	check_model(&p);

	/* What turtle takes out: the first MiB, its image, the boot information,
	 * the modules. */
	static const u64 reserved[][2] = {
		{ 0, 1 * MiB }, { 2 * MiB, 3 * MiB + 0x1234 }, { 0x9000, 0x9800 },
		{ 5 * MiB + 17, 5 * MiB + 18 }, { 9 * MiB, 11 * MiB }, { 22 * MiB - 1, 22 * MiB + 1 },
	};
	for (u32 i = 0; i < ARRAY_SIZE(reserved); i++) {
		assert_true(pmm_ranges_reserve(&p, reserved[i][0], reserved[i][1]));
		model_set(ALIGN_DOWN(reserved[i][0], PG), ALIGN_UP(reserved[i][1], PG),
			  M_RESERVED);
	}
	check_model(&p);

	for (u32 step = 0; step < 20000; step++) {
		if (n_blocks < ARRAY_SIZE(blocks) && (n_blocks == 0 || rnd() % 100 < 55)) {
			u64 npages = rnd() % 8 ? 1 + rnd() % 16 : 1 + rnd() % 600;
			u64 align = aligns[rnd() % ARRAY_SIZE(aligns)];
			u64 want = model_first_fit(npages, align);
			u64 a;

			saved = p;
			a = pmm_ranges_alloc(&p, npages, align);
			if (!a && want && p.n == PMM_MAX_RANGES && need_slot(want, npages)) {
				/* Taking it would split a range: refused, nothing changed. */
				assert_memory_equal(&p, &saved, sizeof(p));
				table_full++;
				continue;
			}
			if (a != want)
				fail_msg("step %u: alloc(%llu, %#llx) = %#llx, first fit is %#llx", step,
					 (unsigned long long)npages, (unsigned long long)align,
					 (unsigned long long)a, (unsigned long long)want);
			if (!a) {
				fails++;
				continue;
			}
			assert_true(IS_ALIGNED(a, align));
			/* Only free pages: never reserved, never already handed out,
			 * never outside RAM. */
			for (u64 i = 0; i < npages; i++)
				assert_int_equal(model[a / PG + i], M_FREE);
			model_set(a, a + npages * PG, M_USED);
			blocks[n_blocks++] = (struct block){ a, npages };
			allocs++;
		} else {
			u32 i = (u32)(rnd() % n_blocks);
			struct block b = blocks[i];

			if (!model_free(&p, b)) {
				table_full++;
				continue;
			}
			if (rnd() % 8 == 0) {
				/* A double or overlapping free is refused and changes nothing. */
				u64 other = b.addr + (rnd() % b.npages) * PG;
				saved = p;
				assert_false(pmm_ranges_free(&p, other, 1 + rnd() % 4));
				assert_memory_equal(&p, &saved, sizeof(p));
			}
			blocks[i] = blocks[--n_blocks];
		}
		if (step % 64 == 0)
			check_model(&p);
		else
			check_invariants(&p);
	}
	check_model(&p);

	/* Free everything: back to RAM minus the reserved ranges. */
	for (u32 pass = 0; n_blocks; pass++) {
		u32 left = 0;
		assert_true(pass < 100);
		for (u32 i = 0; i < n_blocks; i++)
			if (!model_free(&p, blocks[i]))
				blocks[left++] = blocks[i];
		n_blocks = left;
	}
	check_model(&p);
	for (u64 pg = 0; pg < MODEL_PAGES; pg++)
		assert_int_not_equal(model[pg], M_USED);
	assert_true(allocs > 1000 && fails > 10 && table_full > 0);
	printf("test_pmm: random: %u allocations, %u refused (no fit), %u refused (table full)\n",
	       allocs, fails, table_full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_overlapping),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_first_mib),
		cmocka_unit_test(test_alloc_alignment),
		cmocka_unit_test(test_alloc_bad_arguments),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_free_merges),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
