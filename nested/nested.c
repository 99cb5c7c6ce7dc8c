/*
 * Wiring: nested/'s side of the seam with vmx/ (vmx/nested_ops.h), and
 * each `nested` vCPU's nested state, vmcs02 and merged MSR bitmap.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "nested/nested.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/vmx.h"

#define VPID02_BASE     0x100           /* L1s use VPIDs 1..MAX_GUESTS */

/* While L2 runs, the timer fires at turtle's slice or at L1's own timer
 * for L2, whichever comes first. Called just before each entry to L2 (so
 * a pending run is no longer pending), which is when L2's virtual-NMI
 * blocking is noted too; `ticks` and the result count at the CPU's rate,
 * L1's timer in TSC cycles. */
static u64 timer_clamp(struct vcpu *vcpu, u64 ticks)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 r = vmx_caps.preemption_timer_rate;

    nested_vnmi_entry(vcpu);
    n->timer_armed_tsc = rdtsc();
    n->run_pending = false;             /* the CPU enters L2 now */
    if (!n->l1_timer_on)
        return ticks;
    return MIN(ticks, (n->l1_timer_left >> r) + !!(n->l1_timer_left & ((1ULL << r) - 1)));
}

static bool in_vmx_operation(struct vcpu *vcpu)
{
    return vcpu->nvmx->vmxon;
}

/* While L2 runs, the CR0/CR4 bits L1 owns keep vmcs12's value in the CPU. */
static u64 cr_real(struct vcpu *vcpu, u32 cr, u64 v)
{
    const struct vmcs12 *v12 = &vcpu->nvmx->cached12;

    if (!vcpu->guest_mode)
        return v;
    if (cr == 0)
        return (v & ~v12->cr0_guest_host_mask) | (v12->guest_cr0 & v12->cr0_guest_host_mask);
    return (v & ~v12->cr4_guest_host_mask) | (v12->guest_cr4 & v12->cr4_guest_host_mask);
}

/* Where turtle reads L2 memory for itself: with EPT12 an L2-physical
 * address means what EPT12 says; without, it is L1-physical. */
static bool l2_gpa(struct vcpu *vcpu, u64 gpa, u64 *l1)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!vcpu->guest_mode || !(nested_proc2(&n->cached12) & SECONDARY_EXEC_ENABLE_EPT)) {
        *l1 = gpa;
        return true;
    }
    return ept12_translate(vcpu, gpa, l1);
}

static bool nested_vcpu_init(struct vcpu *vcpu);
static void nested_vcpu_free(struct vcpu *vcpu);

static const struct nested_ops ops = {
    .vcpu_init = nested_vcpu_init,
    .vcpu_free = nested_vcpu_free,
    .vcpu_run_pages = ept02_max_pages,
    .vmx_instruction = nested_vmx_instruction,
    .msr_read = nested_vmx_msr_read,
    .in_vmx_operation = in_vmx_operation,
    .l2_exit = nested_l2_exit,
    .l2_entry_vmfail = nested_l2_entry_vmfail,
    .check_events = nested_check_events,
    .timer_clamp = timer_clamp,
    .cr_real = cr_real,
    .gpa_to_l1 = l2_gpa,
};
const struct nested_ops *nested_ops;

void nested_init(void)
{
    nested_caps_init();
    shadow_init();
    if (shadow12_init())
        nested_caps_show_shadowing();
    nested_caps_build_default();
    vmcs02_init();
    nested_ops = &ops;
}

static bool nested_vcpu_init(struct vcpu *vcpu)
{
    u64 page = alloc_page();
    struct nested_vmx *n;

    _Static_assert(sizeof(struct nested_vmx) <= PAGE_SIZE, "nested state fits a page");
    if (!page)
        return false;
    n = phys_to_virt(page);
    n->current_vmptr = VMPTR_NONE;
    n->shadow02_pa = VMPTR_NONE;
    n->caps = nested_default_caps;
    n->vpid02 = (u16)(VPID02_BASE + vcpu->vm->index * VM_MAX_VCPUS + vcpu->id);
    vpid_flush(n->vpid02);              /* a new L2 tag: nothing cached may serve it */
    vcpu->nvmx = n;                     /* from here nested_vcpu_free() undoes it all */
    n->vmcs02 = vmcs_alloc(false);
    n->msr_bitmap02 = alloc_page();
    n->apic_access02 = alloc_page();
    if (!n->vmcs02 || !n->msr_bitmap02 || !n->apic_access02 || !apicv12_ept01_init(n) ||
        !shadow_guest_init(vcpu) || !shadow12_vcpu_init(n)) {
        nested_vcpu_free(vcpu);
        return false;
    }
    memcpy(phys_to_virt(n->msr_bitmap02), phys_to_virt(vmx_policy->msr_bitmap), PAGE_SIZE);
    return true;
}

static void nested_vcpu_free(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n)
        return;
    if (n->ept02_built)
        kprintf("turtle: guest '%s': %lu EPT02 roots built\n", vcpu->vm->name, n->ept02_built);
    ept02_drop_all(vcpu);
    vmcs_free(n->vmcs02);
    if (n->msr_bitmap02)
        free_pages(n->msr_bitmap02, 1);
    if (n->apic_access02)
        free_pages(n->apic_access02, 1);
    apicv12_ept01_free(n);
    vmcs_free(n->shadow_vmcs);
    shadow12_vcpu_free(n);
    vcpu->vmcs = vcpu->vmcs01;
    vcpu->guest_mode = false;
    vcpu->nvmx = NULL;
    free_pages(virt_to_phys_direct(n), 1);
}
