/*
 * Wiring: nested/ installs its handlers in vmx/'s hooks, and gives each
 * `nested` guest its nested state, vmcs02 and merged MSR bitmap.
 */
#include "kernel/mm.h"
#include "nested/checks.h"
#include "nested/nested.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/vmx.h"

#define VPID02_BASE     0x100           /* L1s use VPIDs 1..MAX_GUESTS */

static bool in_l2(struct guest *g)
{
    return g->nvmx->in_l2;
}

/* While L2 runs, the timer fires at turtle's slice or at L1's own timer
 * for L2, whichever comes first. Called just before each entry to L2. */
static u64 timer_clamp(struct guest *g, u64 ticks)
{
    struct nested_vmx *n = g->nvmx;

    n->timer_armed_tsc = rdtsc();
    return n->l1_timer_on ? MIN(ticks, n->l1_timer_left) : ticks;
}

static bool in_vmx_operation(struct guest *g)
{
    return g->nvmx->vmxon;
}

/* While L2 runs, the CR0/CR4 bits L1 owns keep vmcs12's value in the CPU. */
static u64 cr_real(struct guest *g, u32 cr, u64 v)
{
    const struct vmcs12 *v12 = &g->nvmx->cached12;

    if (!g->nvmx->in_l2)
        return v;
    if (cr == 0)
        return (v & ~v12->cr0_guest_host_mask) | (v12->guest_cr0 & v12->cr0_guest_host_mask);
    return (v & ~v12->cr4_guest_host_mask) | (v12->guest_cr4 & v12->cr4_guest_host_mask);
}

/* Where turtle reads L2 memory for itself: with EPT12 an L2-physical
 * address means what EPT12 says; without, it is L1-physical. */
static bool l2_gpa(struct guest *g, u64 gpa, u64 *l1)
{
    struct nested_vmx *n = g->nvmx;

    if (!n->in_l2 || !(nested_proc2(&n->cached12) & SECONDARY_EXEC_ENABLE_EPT)) {
        *l1 = gpa;
        return true;
    }
    return ept12_translate(g, gpa, l1);
}

void nested_init(void)
{
    nested_gpa_hook = l2_gpa;
    nested_cr_real_hook = cr_real;
    nested_in_vmx_operation_hook = in_vmx_operation;
    nested_caps_init();
    shadow_init();
    vmcs02_init();
    nested_vmx_instruction_hook = nested_vmx_instruction;
    nested_vmx_msr_read_hook = nested_vmx_msr_read;
    nested_in_l2_hook = in_l2;
    nested_l2_exit_hook = nested_l2_exit;
    nested_timer_clamp_hook = timer_clamp;
}

bool nested_guest_init(struct guest *g)
{
    u64 page = alloc_page();
    struct nested_vmx *n;

    _Static_assert(sizeof(struct nested_vmx) <= PAGE_SIZE, "nested state fits a page");
    if (!page)
        return false;
    n = phys_to_virt(page);
    n->current_vmptr = VMPTR_NONE;
    n->vmcs01 = g->vmcs;
    n->vpid02 = (u16)(VPID02_BASE + g->index);
    g->nvmx = n;                        /* from here nested_guest_free() undoes it all */
    n->vmcs02 = alloc_page();
    n->msr_bitmap02 = alloc_page();
    if (!n->vmcs02 || !n->msr_bitmap02) {
        nested_guest_free(g);
        return false;
    }
    *(u32 *)phys_to_virt(n->vmcs02) = vmx_caps.revision;
    memcpy(phys_to_virt(n->msr_bitmap02), phys_to_virt(msr_bitmap), PAGE_SIZE);
    if (vmclear(n->vmcs02) != VMX_OK || !shadow_guest_init(g)) {
        nested_guest_free(g);
        return false;
    }
    return true;
}

void nested_guest_free(struct guest *g)
{
    struct nested_vmx *n = g->nvmx;

    if (!n)
        return;
    ept02_drop(g);
    if (n->vmcs02) {
        vmclear(n->vmcs02);
        free_pages(n->vmcs02, 1);
    }
    if (n->msr_bitmap02)
        free_pages(n->msr_bitmap02, 1);
    if (n->shadow_vmcs) {
        vmclear(n->shadow_vmcs);
        free_pages(n->shadow_vmcs, 1);
    }
    g->nvmx = NULL;
    free_pages(virt_to_phys_direct(n), 1);
}
