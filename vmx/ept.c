#include "kernel/mm.h"
#include "vmx/ept.h"
#include "vmx/vm_pages.h"
#include "vmx/vmx_arch.h"

#define EPT_SHIFT(level)    (12 + 9 * ((level) - 1))
#define EPT_INDEX(a, level) (((a) >> EPT_SHIFT(level)) & 0x1ff)
#define EPT_TABLE           VMX_EPT_RWX_MASK    /* non-leaf: all access allowed below */

/* Paging-structure pages come from the VM's pool (EPT02) or, with no
 * pool, from the global allocator (EPT01, built before the VM runs). */
static u64 table_alloc(struct vm_pages *pool)
{
    return pool ? vm_pages_alloc(pool) : alloc_page();
}

static void table_free(struct vm_pages *pool, u64 pa)
{
    if (pool)
        vm_pages_free(pool, pa);
    else
        free_pages(pa, 1);
}

u64 ept_alloc_root(struct vm_pages *pool)
{
    return table_alloc(pool);
}

u64 ept_make_eptp(u64 root)
{
    return root | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
}

bool ept_map(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, int level, u64 rwx, u64 *tables)
{
    u64 *table = phys_to_virt(root);

    for (int l = EPT_LEVELS; l > level; l--) {
        u64 *e = &table[EPT_INDEX(gpa, l)];
        if (!(*e & VMX_EPT_RWX_MASK)) {
            u64 pa = table_alloc(pool);
            if (!pa)
                return false;
            if (tables)
                (*tables)++;
            *e = pa | EPT_TABLE;
        } else if (*e & VMX_EPT_LARGE_PAGE_BIT) {
            return false;
        }
        table = phys_to_virt(*e & EPT_ADDR_MASK);
    }
    u64 *leaf = &table[EPT_INDEX(gpa, level)];
    if (*leaf & VMX_EPT_RWX_MASK)
        return false;
    *leaf = hpa | (rwx & VMX_EPT_RWX_MASK) | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT) |
            (level > 1 ? VMX_EPT_LARGE_PAGE_BIT : 0);
    return true;
}

u64 ept_lookup(u64 root, u64 gpa, int *level)
{
    u64 *table = phys_to_virt(root);

    for (int l = EPT_LEVELS; l >= 1; l--) {
        u64 e = table[EPT_INDEX(gpa, l)];
        if (!(e & VMX_EPT_RWX_MASK))
            return 0;
        if (l == 1 || (e & VMX_EPT_LARGE_PAGE_BIT)) {
            *level = l;
            return e;
        }
        table = phys_to_virt(e & EPT_ADDR_MASK);
    }
    return 0;
}

static void free_level(struct vm_pages *pool, u64 table_pa, int level)
{
    u64 *table = phys_to_virt(table_pa);

    if (level > 1) {
        for (int i = 0; i < EPT_ENTRIES; i++) {
            u64 e = table[i];
            if ((e & VMX_EPT_RWX_MASK) && !(e & VMX_EPT_LARGE_PAGE_BIT))
                free_level(pool, e & EPT_ADDR_MASK, level - 1);
        }
    }
    table_free(pool, table_pa);
}

void ept_free(struct vm_pages *pool, u64 root)
{
    if (root)
        free_level(pool, root, EPT_LEVELS);
}

/* Sets (or replaces) the leaf for gpa at level (1: 4 KiB, 2: 2 MiB). */
static bool set_leaf(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, u64 rwx, u64 *tables, int level)
{
    int found;
    u64 e = ept_lookup(root, gpa, &found);

    if (!e)
        return ept_map(pool, root, gpa, hpa, level, rwx, tables);
    if (found != level)
        return false;
    /* Walk again to the leaf slot and overwrite it. */
    u64 *table = phys_to_virt(root);
    for (int l = EPT_LEVELS; l > level; l--)
        table = phys_to_virt(table[EPT_INDEX(gpa, l)] & EPT_ADDR_MASK);
    table[EPT_INDEX(gpa, level)] = hpa | (rwx & VMX_EPT_RWX_MASK) | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT) |
                                   (level > 1 ? VMX_EPT_LARGE_PAGE_BIT : 0);
    return true;
}

bool ept_set_4k(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, u64 rwx, u64 *tables)
{
    return set_leaf(pool, root, gpa, hpa, rwx, tables, 1);
}

bool ept_set_2m(struct vm_pages *pool, u64 root, u64 gpa, u64 hpa, u64 rwx, u64 *tables)
{
    return set_leaf(pool, root, gpa, hpa, rwx, tables, 2);
}

bool ept_clone_hiding(u64 root, u64 gpa, const u64 pages[EPT_LEVELS])
{
    const u64 *src = phys_to_virt(root);

    for (int l = EPT_LEVELS, i = 0; l >= 1; l--, i++) {
        u64 *dst = phys_to_virt(pages[i]);
        memcpy(dst, src, PAGE_SIZE);
        u64 *e = &dst[EPT_INDEX(gpa, l)];
        if (!(*e & VMX_EPT_RWX_MASK))
            return true;                /* nothing mapped there: nothing to hide */
        if (l == 1) {
            *e = 0;
            return true;
        }
        if (*e & VMX_EPT_LARGE_PAGE_BIT)
            return false;
        src = phys_to_virt(*e & EPT_ADDR_MASK);
        *e = pages[i + 1] | (*e & ~EPT_ADDR_MASK);
    }
    return true;
}
