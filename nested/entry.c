/*
 * VMLAUNCH / VMRESUME from L1 (SDM 27: VM entries). All checks run on
 * vmcs12 first; then vmcs02 is built, vmcs12's VM-entry MSR-load list is
 * applied, and the vCPU switches to vmcs02: the next vmx_enter() runs L2.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/checks.h"
#include "nested/msr_list.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"


/* A failed VM entry after the checks of 27.2 passed (SDM 27.8): the exit
 * reason with bit 31 set and the qualification go to vmcs12, and L1
 * resumes from vmcs12's host state. */
static void entry_failure(struct vcpu *vcpu, u32 reason, u64 qual)
{
    struct vmcs12 *v = &vcpu->nvmx->cached12;

    v->vm_exit_reason = reason | VMX_EXIT_REASONS_FAILED_VMENTRY;
    v->exit_qualification = qual;
    v->vm_exit_intr_info = 0;
    v->idt_vectoring_info_field = 0;
    load_vmcs12_host_state(vcpu);
}

/* Switches the vCPU between vmcs01 and vmcs02 (the scheduler runs
 * whatever vcpu->vmcs is). */
static void switch_vmcs(struct vcpu *vcpu, bool to_l2)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (to_l2) {
        n->vmcs01_launched = vcpu->launched;
        vcpu->vmcs = n->vmcs02;
        vcpu->launched = n->vmcs02_launched;
    } else {
        n->vmcs02_launched = vcpu->launched;   /* set by the scheduler after a real entry */
        vcpu->vmcs = vcpu->vmcs01;
        vcpu->launched = n->vmcs01_launched;
    }
    vcpu->guest_mode = to_l2;
    vmcs_load(vcpu->vmcs, to_l2 ? "vmcs02" : "vmcs01");
    /* Windows turtle asked for belong to the VMCS left behind (a stray
     * one there costs one exit): look at the platform again here. */
    if (vcpu->events.windows) {
        vcpu->events.windows = 0;
        vcpu->events.irq_check = true;
    }
}

void nested_switch_to_l1(struct vcpu *vcpu)
{
    switch_vmcs(vcpu, false);
}

void nested_switch_to_l2(struct vcpu *vcpu)
{
    switch_vmcs(vcpu, true);
}

void nested_vmx_run(struct vcpu *vcpu, bool launch)
{
    struct nested_vmx *n = vcpu->nvmx;
    struct vmcs12 *v = &n->cached12;
    u64 qual;

    if (n->current_vmptr == VMPTR_NONE) {
        nested_vmx_fail_invalid();
        return;
    }
    /* Everything below works on one copy, checked once (no second read
     * of L1 memory can see other values). */
    shadow_sync_from_shadow(vcpu);
    memcpy(v, n->vmcs12, sizeof(*v));
    if (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_MOV_SS) {
        nested_vmx_fail(vcpu, VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
        return;
    }
    if (launch && v->launch_state != LAUNCH_STATE_CLEAR) {
        nested_vmx_fail(vcpu, VMXERR_VMLAUNCH_NONCLEAR_VMCS);
        return;
    }
    if (!launch && v->launch_state != LAUNCH_STATE_LAUNCHED) {
        nested_vmx_fail(vcpu, VMXERR_VMRESUME_NONLAUNCHED_VMCS);
        return;
    }
    if (!nested_check_controls(v)) {
        nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
        return;
    }
    if (!nested_check_host_state(v, vmcs_read64(GUEST_IA32_EFER) & EFER_LMA)) {
        nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
        return;
    }
    /* From here on the instruction completes as a VM entry or as a VM
     * exit to L1; L1's RIP stays on VMLAUNCH/VMRESUME until the exit
     * loads vmcs12's host RIP. */
    if (!nested_check_guest_state(vcpu->vm, v, &qual)) {
        entry_failure(vcpu, EXIT_REASON_INVALID_STATE, qual);
        return;
    }
    bool ept12 = nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT;
    if (ept12 && !ept02_prepare(vcpu, v->ept_pointer)) {
        entry_failure(vcpu, EXIT_REASON_INVALID_STATE, 0);
        return;
    }
    struct l1_state l1 = {
        .efer = vmcs_read64(GUEST_IA32_EFER),
        .pat = (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) ? vmcs_read64(GUEST_IA32_PAT) : 0,
        .dr7 = vmcs_readl(GUEST_DR7),
        .debugctl = vmcs_read64(GUEST_IA32_DEBUGCTL),
    };

    switch_vmcs(vcpu, true);
    if (vcpu->vm->stopped)
        return;
    prepare_vmcs02(vcpu, v, &l1);
    u32 failed = msr_list_load(vcpu, v->vm_entry_msr_load_addr, v->vm_entry_msr_load_count, true);
    if (failed) {
        switch_vmcs(vcpu, false);
        entry_failure(vcpu, EXIT_REASON_MSR_LOAD_FAIL, failed);
        return;
    }
    /* The VMCS becomes "launched" only once the CPU has entered L2 (SDM
     * 27.3: after the guest state loaded): nested_l2_exit() marks it at
     * the first exit, unless that exit is a failed entry. */
    n->launch_pending = launch;
    /* Without VPID in vmcs12, L1 expects every VM entry to flush L2's
     * linear translations; with it, a new VPID12 must not see the old
     * one's (all of L1's L2s share vpid02). SDM 29.4.3.3. */
    u16 vpid12 = (nested_proc2(v) & SECONDARY_EXEC_ENABLE_VPID) ? v->virtual_processor_id : 0;
    if (!vpid12 || vpid12 != n->last_vpid12)
        vpid_flush(n->vpid02);
    n->last_vpid12 = vpid12;
    n->l1_timer_on = v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER;
    n->l1_timer_left = v->vmx_preemption_timer_value;
}
