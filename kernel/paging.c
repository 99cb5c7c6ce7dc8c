/*
 * Edits the live 4-level page tables. Every walk checks the present and
 * large-page bits at each level, so a request that would split or overlay
 * an existing mapping fails instead of corrupting it.
 */
#include "kernel/mm.h"
#include "kernel/paging.h"
#include "kernel/x86.h"

#define LEVEL_SHIFT(l)  (12 + 9 * ((l) - 1))    /* level 1 = PT ... 4 = PML4 */
#define INDEX(va, l)    (((va) >> LEVEL_SHIFT(l)) & 0x1ff)
#define TABLE_FLAGS     (PTE_P | PTE_W)

static bool nx_enabled;

void paging_init(bool nx)
{
    nx_enabled = nx;
}

static u64 *table_of(u64 entry)
{
    return phys_to_virt(entry & PTE_ADDR_MASK);
}

/* Returns the entry for va at level `leaf` (1 for 4 KiB, 2 for 2 MiB),
 * creating intermediate tables when create is set; NULL if a large page is
 * in the way or allocation fails. */
static u64 *walk(u64 va, int leaf, bool create)
{
    u64 *table = phys_to_virt(read_cr3() & PTE_ADDR_MASK);

    for (int level = 4; level > leaf; level--) {
        u64 *e = &table[INDEX(va, level)];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            u64 pa = alloc_page();
            if (!pa)
                return NULL;
            *e = pa | TABLE_FLAGS;
        } else if (*e & PTE_PS) {
            return NULL;
        }
        table = table_of(*e);
    }
    return &table[INDEX(va, leaf)];
}

static u64 leaf_flags(u64 flags)
{
    flags &= PAGING_MAP_FLAGS;
    if (!nx_enabled)
        flags &= ~PTE_NX;
    return flags | PTE_P;
}

int map_page(u64 va, u64 pa, u64 flags)
{
    if (!IS_ALIGNED(va | pa, PAGE_SIZE))
        return -1;
    u64 *e = walk(va, 1, true);
    if (!e || (*e & PTE_P))
        return -1;
    *e = pa | leaf_flags(flags);
    return 0;
}

int map_large_page(u64 va, u64 pa, u64 flags)
{
    if (!IS_ALIGNED(va | pa, LARGE_PAGE_SIZE))
        return -1;
    u64 *e = walk(va, 2, true);
    if (!e || (*e & PTE_P))
        return -1;
    *e = pa | leaf_flags(flags) | PTE_PS;
    return 0;
}

static int unmap_at(u64 va, int leaf)
{
    u64 *e = walk(va, leaf, false);
    if (!e || !(*e & PTE_P) || (leaf == 2) != !!(*e & PTE_PS))
        return -1;
    *e = 0;
    invlpg(va);
    return 0;
}

int unmap_page(u64 va) { return unmap_at(va, 1); }
int unmap_large_page(u64 va) { return unmap_at(va, 2); }

u64 paging_translate(u64 va)
{
    u64 *table = phys_to_virt(read_cr3() & PTE_ADDR_MASK);

    for (int level = 4; level >= 1; level--) {
        u64 e = table[INDEX(va, level)];
        if (!(e & PTE_P))
            return ~0ULL;
        if (level == 1 || (level <= 3 && (e & PTE_PS))) {
            u64 mask = (1ULL << LEVEL_SHIFT(level)) - 1;
            return (e & PTE_ADDR_MASK & ~mask) | (va & mask);
        }
        table = table_of(e);
    }
    return ~0ULL;
}

#define SCRATCH_VA      0xffffc00000000000ULL   /* unused kernel-half slot */

bool paging_self_check(void)
{
    u64 pa = alloc_page(), big = alloc_pages(512, LARGE_PAGE_SIZE);
    bool ok = pa && big;

    ok = ok && map_page(SCRATCH_VA, pa, PTE_W | PTE_NX) == 0;
    ok = ok && map_page(SCRATCH_VA, pa, PTE_W) == -1;              /* already mapped */
    if (ok) {
        *(volatile u64 *)SCRATCH_VA = 0x7475727475726c65ULL;
        ok = *(volatile u64 *)phys_to_virt(pa) == 0x7475727475726c65ULL;
    }
    ok = ok && paging_translate(SCRATCH_VA + 8) == pa + 8;
    ok = ok && unmap_page(SCRATCH_VA) == 0 && paging_translate(SCRATCH_VA) == ~0ULL;
    ok = ok && map_large_page(SCRATCH_VA + LARGE_PAGE_SIZE, big, PTE_W) == 0;
    ok = ok && paging_translate(SCRATCH_VA + LARGE_PAGE_SIZE + 0x1234) == big + 0x1234;
    ok = ok && map_page(SCRATCH_VA + LARGE_PAGE_SIZE, pa, 0) == -1;  /* large page in the way */
    ok = ok && unmap_page(SCRATCH_VA + LARGE_PAGE_SIZE) == -1;
    ok = ok && unmap_large_page(SCRATCH_VA + LARGE_PAGE_SIZE) == 0;
    if (pa)
        free_pages(pa, 1);
    if (big)
        free_pages(big, 512);
    return ok;
}
