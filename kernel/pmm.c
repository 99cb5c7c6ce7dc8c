/*
 * Free-range list behind the physical page allocator. Ranges are kept
 * sorted, disjoint and merged with their neighbours, so the list stays as
 * short as the memory map and first-fit allocation can honour alignment
 * (2 MiB guest pages) without a bitmap.
 */
#include "kernel/pmm.h"

void pmm_ranges_init(struct pmm_ranges *p)
{
    p->n = 0;
    p->free_pages = 0;
}

static void remove_at(struct pmm_ranges *p, u32 i)
{
    for (u32 j = i; j + 1 < p->n; j++)
        p->r[j] = p->r[j + 1];
    p->n--;
}

static bool insert_at(struct pmm_ranges *p, u32 i, u64 start, u64 end)
{
    if (p->n == PMM_MAX_RANGES)
        return false;
    for (u32 j = p->n; j > i; j--)
        p->r[j] = p->r[j - 1];
    p->r[i] = (struct pmm_range){ start, end };
    p->n++;
    return true;
}

/* Inserts a free range that overlaps no existing one, merging neighbours. */
static bool insert_free(struct pmm_ranges *p, u64 start, u64 end)
{
    u32 i = 0;

    while (i < p->n && p->r[i].end < start)
        i++;
    /* Now r[i] (if any) ends at or after start. */
    if (i < p->n && p->r[i].end == start) {
        p->r[i].end = end;
        if (i + 1 < p->n && p->r[i + 1].start == end) {
            p->r[i].end = p->r[i + 1].end;
            remove_at(p, i + 1);
        }
    } else if (i < p->n && p->r[i].start == end) {
        p->r[i].start = start;
    } else if (!insert_at(p, i, start, end)) {
        return false;
    }
    p->free_pages += (end - start) / PAGE_SIZE;
    return true;
}

bool pmm_ranges_overlaps(const struct pmm_ranges *p, u64 start, u64 end)
{
    if (start >= end)
        return false;                   /* no byte to be free */
    for (u32 i = 0; i < p->n; i++)
        if (p->r[i].start < end && start < p->r[i].end)
            return true;
    return false;
}

bool pmm_ranges_add(struct pmm_ranges *p, u64 start, u64 end)
{
    if (start > ALIGN_DOWN(~0ULL, PAGE_SIZE))
        return true;                    /* no whole page: rounding up would wrap to 0 */
    start = ALIGN_UP(start, PAGE_SIZE);
    end = ALIGN_DOWN(end, PAGE_SIZE);
    if (start >= end)
        return true;
    /* Overlapping memory-map entries happen on real firmware: add only the
     * parts not already free. */
    if (pmm_ranges_overlaps(p, start, end)) {
        if (!pmm_ranges_reserve(p, start, end))
            return false;
    }
    return insert_free(p, start, end);
}

bool pmm_ranges_reserve(struct pmm_ranges *p, u64 start, u64 end)
{
    start = ALIGN_DOWN(start, PAGE_SIZE);
    if (end > ALIGN_DOWN(~0ULL, PAGE_SIZE))
        end = ALIGN_DOWN(~0ULL, PAGE_SIZE); /* rounding up would wrap to 0; no free
                                               range reaches beyond this anyway */
    else
        end = ALIGN_UP(end, PAGE_SIZE);
    for (u32 i = 0; i < p->n; i++) {
        struct pmm_range *r = &p->r[i];
        if (r->end <= start || end <= r->start)
            continue;
        u64 cut_start = MAX(r->start, start), cut_end = MIN(r->end, end);
        if (r->start < cut_start && cut_end < r->end) {
            /* Split in two. */
            if (!insert_at(p, i + 1, cut_end, r->end))
                return false;
            p->r[i].end = cut_start;
        } else if (r->start < cut_start) {
            r->end = cut_start;
        } else if (cut_end < r->end) {
            r->start = cut_end;
        } else {
            remove_at(p, i);
            i--;
        }
        p->free_pages -= (cut_end - cut_start) / PAGE_SIZE;
    }
    return true;
}

u64 pmm_ranges_alloc(struct pmm_ranges *p, u64 npages, u64 align)
{
    if (npages == 0 || align < PAGE_SIZE || (align & (align - 1)))
        return 0;
    if (npages > (~0ULL / PAGE_SIZE))
        return 0;
    u64 bytes = npages * PAGE_SIZE;
    for (u32 i = 0; i < p->n; i++) {
        u64 start = ALIGN_UP(p->r[i].start, align);
        if (start < p->r[i].start || start >= p->r[i].end)
            continue;
        if (p->r[i].end - start < bytes)
            continue;
        if (!pmm_ranges_reserve(p, start, start + bytes))
            return 0;
        return start;
    }
    return 0;
}

bool pmm_ranges_free(struct pmm_ranges *p, u64 addr, u64 npages)
{
    if (!IS_ALIGNED(addr, PAGE_SIZE) || npages == 0 || npages > (~0ULL - addr) / PAGE_SIZE)
        return false;
    u64 end = addr + npages * PAGE_SIZE;
    if (pmm_ranges_overlaps(p, addr, end))
        return false;                   /* double free */
    return insert_free(p, addr, end);
}
