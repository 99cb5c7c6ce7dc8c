/*
 * The bitmaps behind the physical page allocator (see pmm.h for the three
 * page states). Ranges are handled a 64-bit word at a time; the summary
 * bitmap lets a search skip 64 words (256 KiB of fully used memory) per
 * summary bit read, and the hint skips the fully used bottom of memory.
 *
 * Cost, counted by callgrind on the host (sh tests/unit/bench_pmm.sh; 4 GiB
 * covered; instructions per alloc or free, the benchmark's loop included),
 * against the 128-entry range list this replaced ("-": it panics there):
 *
 *   pattern                                         bitmap   range list
 *   single pages, 1000 taken, returned LIFO             74           92
 *   two owners interleave 60 pages, one returns         72          276
 *   two owners interleave 20000 pages, one returns      72            -
 *   2 MiB frames (512 pages, 2 MiB aligned)            531          101
 *   30000 random steps, mixed sizes and alignments     379            -
 *
 * Single pages (EPT tables, VMCS pages) take the short paths in pmm_alloc
 * and pmm_free; a run of n pages costs about n/64 word operations per map.
 */
#include "kernel/pmm.h"

#define WORD_OF(pfn)        ((pfn) / PMM_WORD_BITS)
#define BIT_OF(pfn)         ((pfn) % PMM_WORD_BITS)

static u64 words_for(u64 bits)
{
    return (bits + PMM_WORD_BITS - 1) / PMM_WORD_BITS;
}

/* Bits [lo, hi) of a word, 0 <= lo < hi <= 64. */
static u64 word_mask(u64 lo, u64 hi)
{
    u64 upto = hi == PMM_WORD_BITS ? ~0ULL : BIT(hi) - 1;
    return upto & (~0ULL << lo);
}

/* The mask of [pfn, end) within pfn's word. */
static u64 range_mask(u64 pfn, u64 end)
{
    u64 base = pfn - BIT_OF(pfn);
    return word_mask(BIT_OF(pfn), MIN(end - base, (u64)PMM_WORD_BITS));
}

/* The first pfn of the word after pfn's. */
static u64 next_word(u64 pfn)
{
    return (pfn | (PMM_WORD_BITS - 1)) + 1;
}

/* Set bits of x, without a popcount instruction or a libgcc call. */
static u64 popcount64(u64 x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (x * 0x0101010101010101ULL) >> 56;
}

static u64 ctz64(u64 x)
{
    return (u64)__builtin_ctzll(x);     /* x != 0: a BSF/TZCNT, no library call */
}

static void set_free(struct pmm *p, u64 w, u64 m)
{
    p->free_map[w] |= m;
    p->summary[WORD_OF(w)] |= BIT(BIT_OF(w));
    if (w < p->hint)
        p->hint = w;
}

static void clear_free(struct pmm *p, u64 w, u64 m)
{
    p->free_map[w] &= ~m;
    if (!p->free_map[w])
        p->summary[WORD_OF(w)] &= ~BIT(BIT_OF(w));
}

u64 pmm_storage_bytes(u64 npages)
{
    u64 nwords = words_for(npages);
    return (2 * nwords + words_for(nwords)) * sizeof(u64);
}

void pmm_init(struct pmm *p, void *storage, u64 npages)
{
    u64 *w = storage;

    p->npages = npages;
    p->nwords = words_for(npages);
    p->free_map = w;
    p->alloc_map = w + p->nwords;
    p->summary = w + 2 * p->nwords;
    p->free_pages = 0;
    p->hint = p->nwords;
    for (u64 i = 0; i < pmm_storage_bytes(npages) / sizeof(u64); i++)
        w[i] = 0;
}

/* [start, end) in bytes to whole pages inside the map: shrink rounds inward
 * (pages wholly inside), otherwise outward. False if no page is left. */
static bool to_pages(const struct pmm *p, u64 start, u64 end, bool shrink,
                     u64 *first, u64 *last)
{
    u64 top = p->npages;

    if (start >= end)
        return false;
    *first = start / PAGE_SIZE + (shrink && !IS_ALIGNED(start, PAGE_SIZE));
    *last = end / PAGE_SIZE + (!shrink && !IS_ALIGNED(end, PAGE_SIZE));
    *last = MIN(*last, top);
    return *first < *last;
}

void pmm_add(struct pmm *p, u64 start, u64 end)
{
    u64 first, last;

    if (!to_pages(p, start, end, true, &first, &last))
        return;
    first = MAX(first, 1);              /* page 0 stays out: 0 means "none" */
    for (u64 pfn = first; pfn < last; pfn = next_word(pfn)) {
        u64 w = WORD_OF(pfn), m = range_mask(pfn, last);
        p->free_pages += popcount64(m & ~p->free_map[w]);
        p->alloc_map[w] &= ~m;
        set_free(p, w, m);
    }
}

void pmm_reserve(struct pmm *p, u64 start, u64 end)
{
    u64 first, last;

    if (!to_pages(p, start, end, false, &first, &last))
        return;
    for (u64 pfn = first; pfn < last; pfn = next_word(pfn)) {
        u64 w = WORD_OF(pfn), m = range_mask(pfn, last);
        p->free_pages -= popcount64(m & p->free_map[w]);
        p->alloc_map[w] &= ~m;
        clear_free(p, w, m);
    }
}

/* The first free page at or after pfn, or npages if there is none. */
static u64 next_free(const struct pmm *p, u64 pfn)
{
    if (pfn >= p->npages)
        return p->npages;
    u64 w = WORD_OF(pfn);
    u64 x = p->free_map[w] & (~0ULL << BIT_OF(pfn));
    if (x)
        return w * PMM_WORD_BITS + ctz64(x);

    /* The summary finds the next word with a free page. */
    w++;
    u64 s = WORD_OF(w), nsum = words_for(p->nwords);
    if (s >= nsum)
        return p->npages;
    u64 y = p->summary[s] & (~0ULL << BIT_OF(w));
    while (!y) {
        if (++s >= nsum)
            return p->npages;
        y = p->summary[s];
    }
    w = s * PMM_WORD_BITS + ctz64(y);
    return w * PMM_WORD_BITS + ctz64(p->free_map[w]);
}

/* The first page of [pfn, end) that is not free, or end; end <= npages. */
static u64 next_used(const struct pmm *p, u64 pfn, u64 end)
{
    while (pfn < end) {
        u64 w = WORD_OF(pfn);
        u64 x = ~p->free_map[w] & (~0ULL << BIT_OF(pfn));
        if (x)
            return MIN(w * PMM_WORD_BITS + ctz64(x), end);
        pfn = next_word(pfn);
    }
    return end;
}

u64 pmm_alloc(struct pmm *p, u64 npages, u64 align)
{
    if (npages == 0 || npages > p->npages || align < PAGE_SIZE || (align & (align - 1)))
        return 0;
    u64 step = align / PAGE_SIZE;       /* a power of two */
    u64 pfn = next_free(p, p->hint * PMM_WORD_BITS);

    if (pfn >= p->npages)
        return 0;
    p->hint = WORD_OF(pfn);             /* nothing free below it */
    if (npages == 1 && step == 1) {     /* the common case: any single page */
        clear_free(p, WORD_OF(pfn), BIT(BIT_OF(pfn)));
        p->alloc_map[WORD_OF(pfn)] |= BIT(BIT_OF(pfn));
        p->free_pages--;
        return pfn * PAGE_SIZE;
    }
    for (;;) {
        pfn = ALIGN_UP(pfn, step);
        if (pfn >= p->npages || npages > p->npages - pfn)
            return 0;
        u64 used = next_used(p, pfn, pfn + npages);
        if (used == pfn + npages)
            break;
        pfn = next_free(p, used + 1);   /* every run up to `used` is too short */
        if (pfn >= p->npages)
            return 0;
    }

    u64 last = pfn + npages;
    for (u64 i = pfn; i < last; i = next_word(i)) {
        u64 w = WORD_OF(i), m = range_mask(i, last);
        clear_free(p, w, m);
        p->alloc_map[w] |= m;
    }
    p->free_pages -= npages;
    return pfn * PAGE_SIZE;
}

enum pmm_free_result pmm_free(struct pmm *p, u64 addr, u64 npages)
{
    if (!IS_ALIGNED(addr, PAGE_SIZE) || npages == 0)
        return PMM_FREE_UNALIGNED;
    u64 first = addr / PAGE_SIZE;
    if (first >= p->npages || npages > p->npages - first)
        return PMM_FREE_OUTSIDE;
    u64 last = first + npages;

    if (npages == 1) {                  /* the common case */
        u64 w = WORD_OF(first), m = BIT(BIT_OF(first));
        if (!(p->alloc_map[w] & m))
            return (p->free_map[w] & m) ? PMM_FREE_DOUBLE : PMM_FREE_NOT_ALLOCATED;
        p->alloc_map[w] &= ~m;
        set_free(p, w, m);
        p->free_pages++;
        return PMM_FREE_OK;
    }
    /* Validate every page before changing any. */
    for (u64 pfn = first; pfn < last; pfn = next_word(pfn)) {
        u64 w = WORD_OF(pfn), m = range_mask(pfn, last);
        if ((p->alloc_map[w] & m) != m)
            return (p->free_map[w] & m) ? PMM_FREE_DOUBLE : PMM_FREE_NOT_ALLOCATED;
    }
    for (u64 pfn = first; pfn < last; pfn = next_word(pfn)) {
        u64 w = WORD_OF(pfn), m = range_mask(pfn, last);
        p->alloc_map[w] &= ~m;
        set_free(p, w, m);
    }
    p->free_pages += npages;
    return PMM_FREE_OK;
}

bool pmm_any_free(const struct pmm *p, u64 start, u64 end)
{
    u64 first, last;

    if (!to_pages(p, start, end, false, &first, &last))
        return false;
    return next_free(p, first) < last;
}

bool pmm_all_allocated(const struct pmm *p, u64 start, u64 end)
{
    u64 first, last;

    if (!to_pages(p, start, end, false, &first, &last))
        return false;
    if (end > last * PAGE_SIZE)
        return false;                   /* part of it lies beyond the map */
    for (u64 pfn = first; pfn < last; pfn = next_word(pfn)) {
        u64 w = WORD_OF(pfn), m = range_mask(pfn, last);
        if ((p->alloc_map[w] & m) != m)
            return false;
    }
    return true;
}

u64 pmm_count_free(const struct pmm *p)
{
    u64 n = 0;

    for (u64 w = 0; w < p->nwords; w++)
        n += popcount64(p->free_map[w]);
    return n;
}

const char *pmm_free_result_name(enum pmm_free_result r)
{
    switch (r) {
    case PMM_FREE_OK:               return "ok";
    case PMM_FREE_UNALIGNED:        return "unaligned address or no pages";
    case PMM_FREE_OUTSIDE:          return "outside the memory the allocator covers";
    case PMM_FREE_DOUBLE:           return "double free";
    case PMM_FREE_NOT_ALLOCATED:    return "pages never handed out (reserved or not RAM)";
    }
    return "?";
}

static bool overlaps_any(const struct pmm_span *s, u32 n, u64 start, u64 end)
{
    for (u32 i = 0; i < n; i++)
        if (s[i].start < end && start < s[i].end)
            return true;
    return false;
}

u64 pmm_find_room(const struct pmm_span *ram, u32 nram, const struct pmm_span *busy,
                  u32 nbusy, u64 floor, u64 limit, u64 bytes)
{
    u64 best = 0, top = ALIGN_DOWN(~0ULL, PAGE_SIZE);

    if (bytes == 0)
        return 0;
    floor = MAX(floor, PAGE_SIZE);
    for (u32 i = 0; i < nram; i++) {
        u64 lo = MAX(ram[i].start, floor), hi = ALIGN_DOWN(MIN(ram[i].end, limit), PAGE_SIZE);
        if (lo > top)
            continue;
        lo = ALIGN_UP(lo, PAGE_SIZE);
        /* The room starts at the bottom of the span or right after something busy. */
        for (u32 j = 0; j <= nbusy; j++) {
            u64 c = lo;
            if (j < nbusy) {
                if (busy[j].end > top)
                    continue;
                c = MAX(ALIGN_UP(busy[j].end, PAGE_SIZE), lo);
            }
            if (c >= hi || bytes > hi - c || (best && c >= best))
                continue;
            if (!overlaps_any(busy, nbusy, c, c + bytes))
                best = c;
        }
    }
    return best;
}
