/*
 * VMLAUNCH / VMRESUME from L1 (SDM 27: VM entries). All checks run on
 * vmcs12 first; then vmcs02 is built, vmcs12's VM-entry MSR-load list is
 * applied, and the vCPU switches to vmcs02: the next vmx_enter() runs L2.
 */
#include "kernel/cmdline.h"
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "nested/msr_list.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/prof.h"
#include "vmx/vmx.h"


/* A failed VM entry after the checks of 27.2 passed (SDM 27.8): the exit
 * reason with bit 31 set and the qualification go to vmcs12, and L1
 * resumes from vmcs12's host state. */
static void entry_failure(struct vcpu *vcpu, u32 reason, u64 qual)
{
    vmcs12_set_entry_failure(&vcpu->nvmx->cached12, reason, qual);
    vcpu->nvmx->dirty |= DIRTY_ALL;
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
        /* vmcs02 is kept for the next entry: without the windows turtle
         * asked for in it (see below), as prepare_vmcs02() would leave it;
         * L1's own (vmcs12's) stay. */
        if (vcpu->events.windows)
            vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) &
                         ~event_window_controls(vcpu->events.windows));
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

/* Which checks run, and whether vmcs02 is rebuilt or patched: the hot
 * path of docs/nested.md. A check is skipped only when none of its inputs
 * changed since it last passed (n->dirty); L2 changes the guest state, so
 * the guest-state checks always run. Rebuilt completely: at VMLAUNCH,
 * after any change the dirty tracking does not follow field by field, and
 * for a PAE L2 outside IA-32e mode (the PDPTEs are loaded at every entry). */
static bool full_entry(const struct nested_vmx *n, const struct vmcs12 *v, bool launch)
{
    bool pae = (v->guest_cr0 & X86_CR0_PG) && (v->guest_cr4 & X86_CR4_PAE) &&
               !(v->vm_entry_controls & VM_ENTRY_IA32E_MODE);
    return launch || (n->dirty & DIRTY_VMCS02) || pae;
}

/* Debug mode (turtle's nested_verify option): the checks the hot path
 * skipped must pass, and vmcs02 as patched must be what prepare_vmcs02()
 * builds. Otherwise the L1 stops with a message naming the difference. */
static bool verify_checks(struct vcpu *vcpu, const struct vmcs12 *v, bool l1_long)
{
    if (!nested_check_controls(&vcpu->nvmx->caps, v)) {
        vm_stop(vcpu->vm, true, "nested verify: the skipped control checks fail");
        return false;
    }
    if (!nested_check_host_state(&vcpu->nvmx->caps, v, l1_long)) {
        vm_stop(vcpu->vm, true, "nested verify: the skipped host-state checks fail");
        return false;
    }
    return true;
}

/* The guest-state checks, the segment checks memoized (nested/seg_memo.h).
 * Debug mode: the full checks run as well and must give the same answer. */
static bool check_guest_state(struct vcpu *vcpu, const struct vmcs12 *v, u64 *qual)
{
    bool ok = nested_check_guest_state_memo(&vcpu->nvmx->caps, vcpu->vm, v, qual, &vcpu->nvmx->seg_memo);

    if (turtle_opts.nested_verify) {
        u64 full_qual;
        bool full = nested_check_guest_state(&vcpu->nvmx->caps, vcpu->vm, v, &full_qual);
        if (full != ok || (!ok && full_qual != *qual)) {
            vm_stop(vcpu->vm, true, "nested verify: the memoized guest-state checks say %s, the full ones %s",
                    ok ? "pass" : "fail", full ? "pass" : "fail");
            return false;
        }
    }
    return ok;
}

static void verify_vmcs02(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1)
{
    static u64 fast[VMCS02_VERIFY_FIELDS], full[VMCS02_VERIFY_FIELDS];
    u32 field;
    u64 x, y;

    vmcs02_snapshot(fast);
    prepare_vmcs02(vcpu, v, l1);
    vmcs02_snapshot(full);
    if (vmcs02_snapshot_diff(fast, full, &field, &x, &y)) {
        kprintf("turtle: nested verify: vmcs02 field %x: patched %lx, built %lx\n", field, x, y);
        vm_stop(vcpu->vm, true, "nested verify: vmcs02 field %x differs from prepare_vmcs02()", field);
    }
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

    PROF_MARK(PROF_ENTRY_DECODE);
    /* No entry with a shadow VMCS (SDM 25.10, 27.1). */
    if (n->current_vmptr == VMPTR_NONE || n->current_is_shadow) {
        nested_vmx_fail_invalid();
        return;
    }
    /* What L1 wrote in its shadow VMCS, into cached12 (marked dirty). */
    shadow_sync_for_entry(vcpu);
    PROF_MARK(PROF_ENTRY_COPY);
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
    bool full = full_entry(n, v, launch);
    bool l1_long = vmcs_read64(GUEST_IA32_EFER) & EFER_LMA;
    bool controls = full || (n->dirty & DIRTY_CONTROLS);
    bool host = full || (n->dirty & DIRTY_HOST) || l1_long != n->host_checked_long;
    if (controls) {
        if (!nested_check_controls(&vcpu->nvmx->caps, v)) {
            nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
            return;
        }
        n->dirty &= ~(DIRTY_CONTROLS | DIRTY_APIC_CHECKS);
    } else if (n->dirty & DIRTY_APIC_CHECKS) {
        /* Only the TPR threshold or an APIC address changed: of the
         * control checks, only the APIC ones read them. */
        if (!nested_check_apic_controls(v)) {
            nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
            return;
        }
        n->dirty &= ~DIRTY_APIC_CHECKS;
    }
    /* The APIC checks that read L1 memory, which L2 changes (VTPR). */
    if ((v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW) && !nested_check_apic_memory(vcpu->vm, v)) {
        nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_CONTROL_FIELD);
        return;
    }
    if (host) {
        if (!nested_check_host_state(&vcpu->nvmx->caps, v, l1_long)) {
            nested_vmx_fail(vcpu, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
            return;
        }
        n->dirty &= ~DIRTY_HOST;
        n->host_checked_long = l1_long;
    }
    if (turtle_opts.nested_verify && (!controls || !host) && !verify_checks(vcpu, v, l1_long))
        return;
    /* From here on the instruction completes as a VM entry or as a VM
     * exit to L1; L1's RIP stays on VMLAUNCH/VMRESUME until the exit
     * loads vmcs12's host RIP. */
    if (!check_guest_state(vcpu, v, &qual)) {
        entry_failure(vcpu, EXIT_REASON_INVALID_STATE, qual);
        return;
    }
    PROF_MARK(PROF_ENTRY_CHECKS);
    bool ept12 = nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT;
    apicv12_entry(vcpu, v);
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
    if (full) {
        prepare_vmcs02(vcpu, v, &l1);
    } else {
        prepare_vmcs02_dirty(vcpu, v, &l1);
        if (turtle_opts.nested_verify)
            verify_vmcs02(vcpu, v, &l1);
    }
    n->dirty = 0;
    n->n_dirty_fields = 0;
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
    n->run_pending = true;
    /* Without VPID in vmcs12, L1 expects every VM entry to flush L2's
     * linear translations; with it, a new VPID12 must not see the old
     * one's (all of L1's L2s share vpid02). SDM 29.4.3.3. */
    u16 vpid12 = (nested_proc2(v) & SECONDARY_EXEC_ENABLE_VPID) ? v->virtual_processor_id : 0;
    if (!vpid12 || vpid12 != n->last_vpid12)
        vpid_flush(n->vpid02);
    n->last_vpid12 = vpid12;
    n->l1_timer_on = v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER;
    n->l1_timer_left = nested_timer_tsc(n, v->vmx_preemption_timer_value);
    PROF_MARK(PROF_ENTRY_VMCS02);
}
