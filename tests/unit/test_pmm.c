/*
 * Host unit test of the bitmap page allocator, kernel/pmm.c, against a
 * simple model: one owner per page (not managed, free, or the id of the
 * allocation holding it). After each step every invariant is checked: the
 * free and allocated bitmaps say exactly what the model says, page by page;
 * the summary bitmap, the hint and the free count agree with the maps; and
 * every allocation is the first fit the model finds by brute force.
 *
 * Random sequences run with fixed seeds, plus the seed in PMM_SEED when the
 * environment gives one (decimal or 0x hex).
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

#define MiB         (1ULL << 20)
#define GiB         (1ULL << 30)
#define PG          PAGE_SIZE

#define UNMANAGED   0u
#define FREE        1u          /* owners of allocations are 2, 3, ... */

struct fixture {
    struct pmm p;
    void *storage;
    u32 *owner;                 /* the model: owner of each page */
    u64 npages;
    u64 model_free;
};

static u64 rng_state;

static u64 rnd(void)
{
    u64 x = rng_state;          /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
    return rnd() % n;
}

static void seed(u64 s)
{
    rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static void fx_init(struct fixture *f, u64 npages)
{
    f->npages = npages;
    f->storage = malloc(pmm_storage_bytes(npages));
    assert_non_null(f->storage);
    memset(f->storage, 0xa5, pmm_storage_bytes(npages));   /* init must clear it */
    f->owner = calloc(npages, sizeof(*f->owner));
    assert_non_null(f->owner);
    f->model_free = 0;
    pmm_init(&f->p, f->storage, npages);
}

static void fx_fini(struct fixture *f)
{
    free(f->storage);
    free(f->owner);
}

static bool bit(const u64 *map, u64 n)
{
    return (map[n / 64] >> (n % 64)) & 1;
}

/* Every invariant of the maps, and the maps against the model. */
static void check(const struct fixture *f)
{
    const struct pmm *p = &f->p;
    u64 nsum = (p->nwords + 63) / 64, free = 0;

    assert_int_equal(p->npages, f->npages);
    assert_int_equal(p->nwords, (f->npages + 63) / 64);
    for (u64 n = 0; n < f->npages; n++) {
        u32 o = f->owner[n];
        bool is_free = bit(p->free_map, n), is_alloc = bit(p->alloc_map, n);
        if (is_free != (o == FREE) || is_alloc != (o >= 2))
            fail_msg("page %#llx: free %d allocated %d, model owner %u",
                     (unsigned long long)n, is_free, is_alloc, o);
        free += is_free;
    }
    /* No bit beyond the last page; the summary mirrors the free map; nothing
     * free below the hint. */
    for (u64 n = f->npages; n < p->nwords * 64; n++)
        assert_false(bit(p->free_map, n) || bit(p->alloc_map, n));
    for (u64 w = 0; w < nsum * 64; w++) {
        bool s = bit(p->summary, w);
        assert_int_equal(s, w < p->nwords && p->free_map[w] != 0);
    }
    for (u64 w = 0; w < p->hint && w < p->nwords; w++)
        assert_int_equal(p->free_map[w], 0);
    assert_false(bit(p->free_map, 0));
    assert_int_equal(free, f->model_free);
    assert_int_equal(p->free_pages, f->model_free);
    assert_int_equal(pmm_count_free(p), f->model_free);
}

static void model_add(struct fixture *f, u64 start, u64 end)
{
    u64 first = start / PG + !IS_ALIGNED(start, PG), last = MIN(end / PG, f->npages);
    for (u64 n = MAX(first, 1); n < last; n++) {
        f->model_free += f->owner[n] != FREE;
        f->owner[n] = FREE;
    }
}

static void model_reserve(struct fixture *f, u64 start, u64 end)
{
    u64 first = start / PG, last = MIN(end / PG + !IS_ALIGNED(end, PG), f->npages);
    for (u64 n = first; n < last; n++) {
        f->model_free -= f->owner[n] == FREE;
        f->owner[n] = UNMANAGED;
    }
}

static void add(struct fixture *f, u64 start, u64 end)
{
    pmm_add(&f->p, start, end);
    model_add(f, start, end);
    check(f);
}

static void reserve(struct fixture *f, u64 start, u64 end)
{
    pmm_reserve(&f->p, start, end);
    model_reserve(f, start, end);
    check(f);
}

/* Brute-force first fit over the model. */
static u64 model_first_fit(const struct fixture *f, u64 npages, u64 align)
{
    u64 step = align / PG;
    for (u64 n = step; n < f->npages && npages <= f->npages - n;) {
        u64 k = 0;
        while (k < npages && f->owner[n + k] == FREE)
            k++;
        if (k == npages)
            return n * PG;
        n = ALIGN_UP(n + k + 1, step);       /* no run can start at or before n + k */
    }
    return 0;
}

/* Allocates through the allocator and the model, checks that both agree
 * (same first fit), marks the pages with owner and checks everything. */
static u64 alloc_as(struct fixture *f, u64 npages, u64 align, u32 owner, bool full_check)
{
    u64 want = model_first_fit(f, npages, align);
    u64 got = pmm_alloc(&f->p, npages, align);
    if (got != want)
        fail_msg("alloc(%llu, %#llx) = %#llx, first fit is %#llx", (unsigned long long)npages,
                 (unsigned long long)align, (unsigned long long)got, (unsigned long long)want);
    if (got) {
        for (u64 n = got / PG; n < got / PG + npages; n++)
            f->owner[n] = owner;
        f->model_free -= npages;
    }
    if (full_check)
        check(f);
    return got;
}

static void free_as(struct fixture *f, u64 pa, u64 npages, bool full_check)
{
    assert_int_equal(pmm_free(&f->p, pa, npages), PMM_FREE_OK);
    for (u64 n = pa / PG; n < pa / PG + npages; n++)
        f->owner[n] = FREE;
    f->model_free += npages;
    if (full_check)
        check(f);
    else
        assert_int_equal(f->p.free_pages, f->model_free);
}

/* The usual test memory: pages 1..npages-1 free except a "kernel" hole. */
static void fx_standard(struct fixture *f, u64 npages)
{
    fx_init(f, npages);
    add(f, 0, npages * PG);
    reserve(f, 0, MiB);                      /* the first MiB */
    reserve(f, 2 * MiB + 123, 3 * MiB - 5);  /* an image with unaligned ends */
}

static void test_empty(void **state)
{
    struct fixture f;

    (void)state;
    fx_init(&f, 1000);
    check(&f);
    assert_int_equal(pmm_alloc(&f.p, 1, PG), 0);
    assert_false(pmm_any_free(&f.p, 0, ~0ULL));
    reserve(&f, 0, ~0ULL);
    fx_fini(&f);

    fx_init(&f, 0);                          /* nothing covered at all */
    assert_int_equal(pmm_alloc(&f.p, 1, PG), 0);
    assert_int_equal(pmm_free(&f.p, PG, 1), PMM_FREE_OUTSIDE);
    fx_fini(&f);
}

/* Memory maps with overlaps, holes, unaligned and out-of-range entries. */
static void test_memory_map(void **state)
{
    struct fixture f;
    u64 npages = 4096 + 37;                 /* not a multiple of 64 */

    (void)state;
    fx_init(&f, npages);
    add(&f, 0, 640 * 1024);                  /* page 0 never becomes free */
    assert_false(bit(f.p.free_map, 0));
    add(&f, MiB + 1, 2 * MiB - 1);           /* shrinks to whole pages */
    assert_false(pmm_any_free(&f.p, MiB, MiB + 1));
    assert_true(pmm_any_free(&f.p, MiB + PG, MiB + PG + 1));
    add(&f, MiB + 64 * PG, 3 * MiB);         /* overlaps the previous one */
    add(&f, 3 * MiB, 3 * MiB);               /* empty */
    add(&f, 5 * MiB, 4 * MiB);               /* backwards */
    add(&f, 6 * MiB, 6 * MiB + PG - 1);      /* less than a page */
    add(&f, 8 * MiB, 64 * GiB);              /* clipped to the map */
    add(&f, 8 * MiB + 17 * PG, 9 * MiB);     /* wholly inside another */
    add(&f, ~0ULL - 5, ~0ULL);               /* at the top of the address space */
    assert_int_equal(f.p.free_pages, f.model_free);
    /* Reserved entries over usable ones, overlapping each other. */
    reserve(&f, 1 * MiB + 3, 1 * MiB + 5);   /* grows to one page */
    reserve(&f, 8 * MiB - PG, 8 * MiB + 3 * PG + 1);
    reserve(&f, 8 * MiB + 2 * PG, 8 * MiB + 6 * PG);
    reserve(&f, 12 * MiB, ~0ULL);            /* up to the top: clipped */
    reserve(&f, ~0ULL - PG, ~0ULL);
    /* The hole between 3 MiB and 8 MiB is never handed out. */
    for (;;) {
        u64 pa = alloc_as(&f, 1, PG, 2, false);
        if (!pa)
            break;
        assert_false(pa >= 3 * MiB && pa < 8 * MiB);
        assert_false(pa >= 12 * MiB);
    }
    check(&f);
    assert_int_equal(f.model_free, 0);
    fx_fini(&f);
}

static void test_alloc_free_basic(void **state)
{
    struct fixture f;

    (void)state;
    fx_standard(&f, 8192);                   /* 32 MiB */
    u64 a = alloc_as(&f, 1, PG, 2, true);
    assert_int_equal(a, MiB);
    u64 b = alloc_as(&f, 512, 2 * MiB, 3, true);
    assert_int_equal(b, 4 * MiB);            /* 2 MiB..4 MiB holds the image */
    u64 c = alloc_as(&f, 3, PG, 4, true);
    assert_int_equal(c, MiB + PG);
    u64 d = alloc_as(&f, 1, 64 * PG, 5, true);
    assert_int_equal(d, MiB + 64 * PG);
    assert_true(pmm_all_allocated(&f.p, b, b + 2 * MiB));
    assert_false(pmm_all_allocated(&f.p, b, b + 2 * MiB + 1));
    assert_false(pmm_any_free(&f.p, b, b + 2 * MiB));
    /* Invalid requests. */
    assert_int_equal(pmm_alloc(&f.p, 0, PG), 0);
    assert_int_equal(pmm_alloc(&f.p, 1, PG / 2), 0);
    assert_int_equal(pmm_alloc(&f.p, 1, 3 * PG), 0);
    assert_int_equal(pmm_alloc(&f.p, 8192, PG), 0);
    assert_int_equal(pmm_alloc(&f.p, ~0ULL, PG), 0);
    assert_int_equal(pmm_alloc(&f.p, 1, 1ULL << 63), 0);
    assert_int_equal(alloc_as(&f, 512, 64 * MiB, 6, true), 0);   /* no such alignment here */
    /* Part of an allocation may go back on its own. */
    free_as(&f, b + 256 * PG, 256, true);
    free_as(&f, b, 256, true);
    free_as(&f, c + PG, 2, true);
    free_as(&f, c, 1, true);
    free_as(&f, a, 1, true);
    free_as(&f, d, 1, true);
    assert_int_equal(alloc_as(&f, 1, PG, 2, true), MiB);
    fx_fini(&f);
}

/* Every bad free is recognised, named, and changes nothing. */
static void test_bad_free(void **state)
{
    struct fixture f;

    (void)state;
    fx_standard(&f, 2048);
    u64 a = alloc_as(&f, 4, PG, 2, true);
    u64 bytes = pmm_storage_bytes(2048);
    void *before = malloc(bytes);
    assert_non_null(before);
    memcpy(before, f.storage, bytes);
    u64 free_before = f.p.free_pages, hint_before = f.p.hint;

    assert_int_equal(pmm_free(&f.p, a + 1, 1), PMM_FREE_UNALIGNED);
    assert_int_equal(pmm_free(&f.p, a, 0), PMM_FREE_UNALIGNED);
    assert_int_equal(pmm_free(&f.p, a + 4 * PG, 1), PMM_FREE_DOUBLE);     /* never allocated, free */
    assert_int_equal(pmm_free(&f.p, a + 3 * PG, 2), PMM_FREE_DOUBLE);     /* half allocated */
    assert_int_equal(pmm_free(&f.p, 0, 1), PMM_FREE_NOT_ALLOCATED);       /* page 0 */
    assert_int_equal(pmm_free(&f.p, 2 * MiB, 1), PMM_FREE_NOT_ALLOCATED); /* the image */
    assert_int_equal(pmm_free(&f.p, a - PG, 2), PMM_FREE_NOT_ALLOCATED);  /* reserved + allocated */
    assert_int_equal(pmm_free(&f.p, 2048 * PG, 1), PMM_FREE_OUTSIDE);
    assert_int_equal(pmm_free(&f.p, 2047 * PG, 2), PMM_FREE_OUTSIDE);
    assert_int_equal(pmm_free(&f.p, ~0ULL & ~(PG - 1), 1), PMM_FREE_OUTSIDE);
    assert_int_equal(pmm_free(&f.p, PG, ~0ULL), PMM_FREE_OUTSIDE);
    assert_memory_equal(before, f.storage, bytes);
    assert_int_equal(f.p.free_pages, free_before);
    assert_int_equal(f.p.hint, hint_before);

    free_as(&f, a, 4, true);
    assert_int_equal(pmm_free(&f.p, a, 4), PMM_FREE_DOUBLE);
    assert_int_equal(pmm_free(&f.p, a + PG, 1), PMM_FREE_DOUBLE);
    check(&f);
    for (int r = PMM_FREE_OK; r <= PMM_FREE_NOT_ALLOCATED; r++)
        assert_true(strlen(pmm_free_result_name(r)) > 1);
    free(before);
    fx_fini(&f);
}

/* The pattern that broke the range list: two owners take single pages in
 * turn, then one of them returns all of its pages, leaving one free run
 * per page. Then 2 MiB frames still come from what is whole, every freed
 * page is usable again, and once both have returned everything, memory is
 * one piece again. */
static void interleave(u64 per_owner, u64 check_every)
{
    struct fixture f;
    u64 npages = 2 * per_owner + 4096;
    u64 *pages[2];

    fx_standard(&f, npages);
    for (int o = 0; o < 2; o++) {
        pages[o] = calloc(per_owner, sizeof(u64));
        assert_non_null(pages[o]);
    }
    u64 initial_free = f.model_free;
    for (u64 i = 0; i < per_owner; i++)
        for (int o = 0; o < 2; o++) {
            pages[o][i] = alloc_as(&f, 1, PG, 2 + o, i % check_every == 0);
            assert_int_not_equal(pages[o][i], 0);
        }
    check(&f);
    for (u64 i = 0; i < per_owner; i++)
        free_as(&f, pages[0][i], 1, i % check_every == 0);
    check(&f);

    /* Owner 0's pages are per_owner separate free runs now. */
    u64 runs = 0;
    for (u64 n = 1; n < npages; n++)
        runs += f.owner[n] == FREE && f.owner[n - 1] != FREE;
    assert_true(runs >= per_owner);

    /* A 2 MiB frame comes from above the interleaved area. */
    u64 big = alloc_as(&f, 512, 2 * MiB, 4, true);
    assert_int_not_equal(big, 0);
    free_as(&f, big, 512, true);
    /* Every freed single page is usable again, for the third owner. */
    for (u64 i = 0; i < per_owner; i++) {
        u64 pa = alloc_as(&f, 1, PG, 5, i % check_every == 0);
        assert_int_equal(pa, pages[0][i]);   /* the lowest holes first */
    }
    for (u64 i = 0; i < per_owner; i++) {
        free_as(&f, pages[0][i], 1, false);
        free_as(&f, pages[1][i], 1, i % check_every == 0);
    }
    check(&f);
    assert_int_equal(f.model_free, initial_free);
    /* Whole again: the largest 2 MiB-aligned run above the image is all of it. */
    u64 top_run = (npages - 3 * MiB / PG) & ~511ULL;
    if (top_run >= 512) {
        u64 pa = alloc_as(&f, top_run - 512, 2 * MiB, 6, true);
        assert_int_not_equal(pa, 0);
        free_as(&f, pa, top_run - 512, true);
    }
    for (int o = 0; o < 2; o++)
        free(pages[o]);
    fx_fini(&f);
}

static void test_interleave_small(void **state)
{
    (void)state;
    interleave(300, 1);                      /* every step fully checked */
}

static void test_interleave_at_scale(void **state)
{
    (void)state;
    interleave(20000, 512);                  /* 40000 interleaved pages */
}

static u64 env_seed(bool *given)
{
    const char *s = getenv("PMM_SEED");
    *given = s && *s;
    return *given ? strtoull(s, NULL, 0) : 0;
}

struct live {
    u64 pa, npages;
};

/* Random interleaved alloc/free of mixed sizes and alignments until memory
 * is exhausted, then everything back, in random order; twice. */
static void random_run(u64 s)
{
    static const u64 sizes[] = { 1, 1, 1, 1, 2, 3, 5, 8, 16, 17, 64, 100, 512, 513 };
    static const u64 aligns[] = { PG, PG, PG, 2 * PG, 8 * PG, 64 * PG, 128 * PG, 2 * MiB };
    struct fixture f;
    u64 npages = 4096 + 64 * 3 + 11;
    struct live *live = calloc(npages, sizeof(*live));
    u64 nlive = 0;

    print_message("pmm random run, seed %#llx\n", (unsigned long long)s);
    seed(s);
    assert_non_null(live);
    fx_standard(&f, npages);
    reserve(&f, 7 * MiB, 7 * MiB + 5 * PG);  /* a hole in the middle */
    u64 initial_free = f.model_free;
    for (int round = 0; round < 2; round++) {
        /* Fill: mostly allocations, some frees, until single pages run out. */
        u32 fails = 0;
        for (u32 step = 0; f.model_free > 0; step++) {
            if (nlive && step < 3000 && rnd_below(4) == 0) {
                u64 i = rnd_below(nlive);
                free_as(&f, live[i].pa, live[i].npages, true);
                live[i] = live[--nlive];
                continue;
            }
            u64 n = sizes[rnd_below(ARRAY_SIZE(sizes))];
            u64 a = aligns[rnd_below(ARRAY_SIZE(aligns))];
            if (rnd_below(8) == 0)
                n = a = PG;
            u64 pa = alloc_as(&f, n, a, 2 + (u32)(nlive % 1000), true);
            if (pa) {
                live[nlive++] = (struct live){ pa, n };
                fails = 0;
            } else if (++fails > 10000) {
                fail_msg("no progress");
            }
        }
        assert_int_equal(pmm_alloc(&f.p, 1, PG), 0);
        check(&f);
        /* Drain, with a few allocations mixed in. */
        while (nlive) {
            u64 i = rnd_below(nlive);
            if (rnd_below(10) == 0) {
                /* Return part of an allocation: split it in the model. */
                if (live[i].npages > 1) {
                    u64 k = 1 + rnd_below(live[i].npages - 1);
                    free_as(&f, live[i].pa + k * PG, live[i].npages - k, true);
                    live[i].npages = k;
                    continue;
                }
            }
            if (rnd_below(6) == 0) {
                u64 n = 1 + rnd_below(3);
                u64 pa = alloc_as(&f, n, PG << rnd_below(4), 7, true);
                if (pa) {
                    live[nlive++] = (struct live){ pa, n };
                    continue;
                }
            }
            free_as(&f, live[i].pa, live[i].npages, true);
            live[i] = live[--nlive];
        }
        assert_int_equal(f.model_free, initial_free);
    }
    free(live);
    fx_fini(&f);
}

static void test_random(void **state)
{
    static const u64 seeds[] = { 1, 2, 3, 0xdeadbeef, 0x1234567887654321ULL };
    bool given;
    u64 s = env_seed(&given);

    (void)state;
    for (u32 i = 0; i < ARRAY_SIZE(seeds); i++)
        random_run(seeds[i]);
    if (given)
        random_run(s);
}

/* Placing the allocator's own storage. */
static void test_find_room(void **state)
{
    const struct pmm_span ram[] = {
        { 0, 640 * 1024 },
        { MiB, 64 * MiB },
        { 128 * MiB + 5, 256 * MiB },
    };
    const struct pmm_span busy[] = {
        { 0, MiB },                          /* the first MiB */
        { MiB, 2 * MiB + 7 },                /* the image */
        { 2 * MiB + 3 * PG, 2 * MiB + 4 * PG },   /* boot information */
        { 3 * MiB, 60 * MiB },               /* a module */
    };

    (void)state;
    /* Right after the image, where it fits. */
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 2 * PG), 2 * MiB + PG);
    /* Too big for the gap before the boot information: after it. */
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 3 * PG), 2 * MiB + 4 * PG);
    /* Too big for below the module: after it. */
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 2 * MiB), 60 * MiB);
    /* Too big for the first span: the next, from its first whole page. */
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 8 * MiB), 128 * MiB + PG);
    /* The limit and the floor count. */
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 200 * MiB, 100 * MiB), 0);
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, 62 * MiB, 4 * GiB, 2 * MiB), 62 * MiB);
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 0), 0);
    assert_int_equal(pmm_find_room(ram, 3, busy, 4, MiB, 4 * GiB, 200 * MiB), 0);
    /* Never address 0, even with nothing busy. */
    assert_int_equal(pmm_find_room(ram, 1, busy, 0, 0, 4 * GiB, PG), PG);
    /* A span at the very top of the address space does not wrap. */
    const struct pmm_span top[] = { { ~0ULL - 3 * PG, ~0ULL } };
    assert_int_equal(pmm_find_room(top, 1, busy, 0, 0, ~0ULL, PG), ALIGN_UP(~0ULL - 3 * PG, PG));
    const struct pmm_span busy_top[] = { { 0, ~0ULL } };
    assert_int_equal(pmm_find_room(ram, 3, busy_top, 1, 0, ~0ULL, PG), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_memory_map),
        cmocka_unit_test(test_alloc_free_basic),
        cmocka_unit_test(test_bad_free),
        cmocka_unit_test(test_interleave_small),
        cmocka_unit_test(test_interleave_at_scale),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_find_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
