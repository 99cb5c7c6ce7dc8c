/*
 * A VM's page pool (vmx/vm_pages.h). Each free page holds, in its first
 * eight bytes, the host-physical address of the next free page; a page
 * handed out is zeroed, as the global allocator's are.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "vmx/vm_pages.h"

static void push(struct vm_pages *p, u64 pa)
{
    *(u64 *)phys_to_virt(pa) = p->free_head;
    p->free_head = pa;
    p->n_free++;
}

static u64 pop(struct vm_pages *p)
{
    u64 pa = p->free_head;

    if (!pa)
        return 0;
    p->free_head = *(u64 *)phys_to_virt(pa);
    p->n_free--;
    return pa;
}

bool vm_pages_reserve(struct vm_pages *p, u64 npages)
{
    memset(p, 0, sizeof(*p));
    for (u64 i = 0; i < npages; i++) {
        u64 pa = alloc_page();
        if (!pa) {
            vm_pages_release(p);
            return false;
        }
        push(p, pa);
        p->n_total++;
    }
    p->low_water = p->n_free;
    return true;
}

u64 vm_pages_alloc(struct vm_pages *p)
{
    u64 pa = pop(p);

    if (!pa)
        return 0;
    if (p->n_free < p->low_water)
        p->low_water = p->n_free;
    memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}

void vm_pages_free(struct vm_pages *p, u64 pa)
{
    ASSERT(pa && !(pa & (PAGE_SIZE - 1)) && p->n_free < p->n_total);
    push(p, pa);
}

u64 vm_pages_release(struct vm_pages *p)
{
    u64 out = p->n_total - p->n_free, pa;

    while ((pa = pop(p)))
        free_pages(pa, 1);
    memset(p, 0, sizeof(*p));
    return out;
}
