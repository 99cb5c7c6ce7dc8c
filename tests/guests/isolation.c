/*
 * isolation: guests must not see each other's memory (turtle only).
 *
 * Writes a pattern in the first 16 bytes of every 4 KiB page of its RAM
 * above 2 MiB (word 0 = its magic, word 1 = the page's address), yields a
 * few times so the other guests write theirs, then checks that every one
 * of those pages still holds its own pattern and that no page start in
 * all of its RAM holds the other guest's magic. Pages holding the boot
 * information or modules are left alone.
 *
 * The reports are named "turtle isolation ..." (turtle-only tests, see
 * tests/harness.py) even when the selftest option runs them on bare hardware.
 *
 * Then, if asked, it reads a guest-physical address beyond its RAM: turtle
 * must stop the guest right there, so "isolation: still running after
 * probe" must never appear under turtle (on bare hardware it does).
 *   options: magic=0x...  this guest's magic (default: derived from id=)
 *            other=0x...  the other guest's magic to look for
 *            probe=0x...  address to read at the end (below 4 GiB: above
 *                         that the library's page tables map nothing, so
 *                         the read would be the guest's own #PF)
 *            id=NAME
 *            selftest     run the memory checks on bare hardware too
 *                         (without yields), to test this guest itself
 */
#include "lib/guest.h"

#define PAGE_SIZE       4096ull
#define PATTERN_BASE    0x200000ull     /* the image ends below (guest.ld) */
#define YIELDS          5
#define FNV_OFFSET      0xcbf29ce484222325ull
#define FNV_PRIME       0x100000001b3ull

static const struct boot_params *bp;

/* FNV-1a of s: a default magic unique to each id. */
static u64 hash(const char *s)
{
    u64 h = FNV_OFFSET;
    for (; *s; s++)
        h = (h ^ (u8)*s) * FNV_PRIME;
    return h;
}

static bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end)
{
    return a < b_end && b < a_end;
}

/* May this page be overwritten? RAM above 2 MiB that holds no boot data. */
static bool page_writable(u64 page)
{
    u64 end = page + PAGE_SIZE;

    if (page < PATTERN_BASE)
        return false;
    if (overlaps(page, end, bp->info, bp->info + bp->info_size))
        return false;
    for (u32 i = 0; i < bp->n_modules; i++)
        if (overlaps(page, end, bp->modules[i].start & ~(PAGE_SIZE - 1), bp->modules[i].end))
            return false;
    return true;
}

/* Calls fn(page) for every page of available RAM; returns the count. */
static u64 for_each_page(bool (*fn)(u64 page, u64 arg), u64 arg, u64 *bad)
{
    u64 n = 0;
    for (u32 r = 0; r < bp->n_regions; r++) {
        const struct guest_region *g = &bp->regions[r];
        if (g->type != 1)
            continue;
        u64 first = (g->base + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        for (u64 p = first; p + PAGE_SIZE <= g->base + g->length; p += PAGE_SIZE) {
            n++;
            if (!fn(p, arg) && (*bad)++ == 0)
                printf("isolation: first mismatch at page %#lx\n", (unsigned long)p);
        }
    }
    return n;
}

static bool write_pattern(u64 page, u64 magic)
{
    if (page_writable(page)) {
        volatile u64 *w = (volatile u64 *)(uintptr_t)page;
        w[0] = magic;
        w[1] = page;
    }
    return true;
}

static bool pattern_intact(u64 page, u64 magic)
{
    const volatile u64 *w = (const volatile u64 *)(uintptr_t)page;
    return !page_writable(page) || (w[0] == magic && w[1] == page);
}

/* The image itself holds the other magic (it parsed it): skip it. */
static bool no_other_magic(u64 page, u64 other)
{
    if (overlaps(page, page + PAGE_SIZE, GUEST_IMAGE_START, (u64)(uintptr_t)__guest_end))
        return true;
    return *(const volatile u64 *)(uintptr_t)page != other;
}

static void check_isolation(const char *id)
{
    u64 magic, other, bad = 0, pages;

    if (!cmdline_u64(bp->cmdline, "magic", &magic))
        magic = hash(id);
    printf("isolation %s: magic %#lx, RAM %lu KiB\n", id, (unsigned long)magic,
           (unsigned long)(bp->mem_available >> 10));
    for_each_page(write_pattern, magic, &bad);
    for (int i = 0; i < YIELDS && on_turtle(); i++)
        vmcall(VMCALL_YIELD, 0, 0);
    pages = for_each_page(pattern_intact, magic, &bad);
    printf("isolation %s: %lu pages checked, %lu changed\n", id, (unsigned long)pages, (unsigned long)bad);
    report(bad == 0 && pages > 0, "turtle isolation own pattern intact after yields");
    if (cmdline_u64(bp->cmdline, "other", &other)) {
        bad = 0;
        pages = for_each_page(no_other_magic, other, &bad);
        printf("isolation %s: other magic %#lx found in %lu of %lu pages\n", id, (unsigned long)other,
               (unsigned long)bad, (unsigned long)pages);
        report(bad == 0, "turtle isolation no page holds the other guest's magic");
    }
}

void guest_main(const struct boot_params *params)
{
    char id[32];
    u64 probe;

    bp = params;
    if (!cmdline_value(bp->cmdline, "id", id, sizeof(id)))
        memcpy(id, "isolation", sizeof("isolation"));
    if (on_turtle() || cmdline_has_word(bp->cmdline, "selftest"))
        check_isolation(id);
    else
        printf("isolation %s: not running under turtle, memory checks skipped\n", id);
    if (cmdline_u64(bp->cmdline, "probe", &probe)) {
        printf("isolation %s: reading %#lx, beyond RAM (turtle must stop this guest)\n", id,
               (unsigned long)probe);
        serial_drain();
        u64 v = *(volatile u64 *)(uintptr_t)probe;
        printf("isolation: still running after probe (read %#lx)\n", (unsigned long)v);
    }
    guest_exit(report_summary() ? 1 : 0);
}
