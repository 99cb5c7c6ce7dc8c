/*
 * Nested-VMX state in and out, as KVM's vmx_get_nested_state and
 * vmx_set_nested_state define it: struct kvm_nested_state, VMX format
 * (snapshot/format.h; the sizes and flags of docs/snapshot.md).
 *   not in VMX operation        size 128, vmxon_pa = vmcs12_pa = -1
 *   VMXON, no current VMCS      size 128, vmxon_pa
 *   a current VMCS              size 4224, the vmcs12 page follows
 *   L2 running (GUEST_MODE)     size 4224, or 8320 when vmcs12 uses VMCS
 *                               shadowing with a link pointer (the shadow
 *                               vmcs12 page follows)
 * The vmcs12 page is turtle's copy of the current vmcs12 (cached12, read
 * once at VMPTRLD; the region in L1 memory is written only when L1 lets go
 * of it, so the snapshot's RAM may hold a stale one, as under KVM): in L1,
 * after L1's hardware shadow VMCS is read back into it (L1's VMWRITEs
 * without an exit); while L2 runs, with L2's live state synced from vmcs02
 * (sync_vmcs02_to_vmcs12). The shadow vmcs12 of L1's L2 (size 8320) is the
 * region at the link pointer with the fields shadow02 holds written back
 * first. RUN_PENDING is never set: turtle takes a snapshot in L2 only at
 * an L2 exit, after the entry completed.
 *
 * Setting it is the other way round: cached12 from the page, everything
 * dirty (the first entry builds vmcs02 completely and runs every check),
 * L1's hardware shadow VMCS filled from cached12, and in guest mode vmcs02
 * built by prepare_vmcs02() after the shadow vmcs12 page is back in L1
 * memory (shadow02 loads it from there).
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "nested/nested.h"
#include "nested/state.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

#define KVM_TIMER_SHIFT     5       /* KVM's deadline unit: L1 TSC >> 5 */

/* L1's VMX-preemption timer for L2 as it stands now: TSC cycles left. */
static u64 l1_timer_left_now(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 ran = rdtsc() - n->timer_armed_tsc;

    return n->l1_timer_left - MIN(ran, n->l1_timer_left);
}

/* GUEST_MODE: vmcs12 with L2's state from vmcs02 (vmcs02 current). */
static const char *get_guest_mode(struct vcpu *vcpu, u8 *buf, struct nested_extra *x)
{
    struct tsnap_kvm_nested_state_hdr *h = (void *)buf;
    struct nested_vmx *n = vcpu->nvmx;
    struct vmcs12 *v = (struct vmcs12 *)(buf + TSNAP_NESTED_HDR_SIZE);

    /* Into cached12 itself, as KVM does: the next exit to L1 syncs again.
     * A snapshot at an L2 exit comes before nested_l2_exit(): L2's
     * virtual-NMI blocking is corrected here too (nested/vnmi.c). */
    nested_vnmi_exit(vcpu);
    sync_vmcs02_to_vmcs12(vcpu, &n->cached12);
    memcpy(v, &n->cached12, sizeof(*v));
    /* The entry completed: KVM marks vmcs12 launched at VMLAUNCH. */
    v->launch_state = LAUNCH_STATE_LAUNCHED;
    h->flags |= TSNAP_KVM_STATE_NESTED_GUEST_MODE;
    /* L1's VMLAUNCH/VMRESUME emulated, L2 not entered yet: as KVM says. */
    if (n->run_pending)
        h->flags |= TSNAP_KVM_STATE_NESTED_RUN_PENDING;
    x->l1_timer_on = n->l1_timer_on;
    if (n->l1_timer_on) {
        x->l1_timer_left = l1_timer_left_now(vcpu);
        if (v->vm_exit_controls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
            v->vmx_preemption_timer_value = (u32)nested_timer_ticks(n, x->l1_timer_left);
        h->vmx_flags = TSNAP_KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
        h->preemption_timer_deadline = ((rdtsc() + vcpu->vm->tsc_offset) >> KVM_TIMER_SHIFT) +
                                       (x->l1_timer_left >> KVM_TIMER_SHIFT);
    }
    if ((nested_proc2(v) & SECONDARY_EXEC_SHADOW_VMCS) && v->vmcs_link_pointer != ~0ULL) {
        if (!guest_copy_from(vcpu->vm, buf + TSNAP_NESTED_SIZE_VMCS12, v->vmcs_link_pointer,
                             TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE))
            return "vmcs12's VMCS link pointer is outside RAM";
        h->size = TSNAP_NESTED_SIZE_MAX;
    }
    return NULL;
}

u32 nested_get_state(struct vcpu *vcpu, void *buf, struct nested_extra *x, const char **why)
{
    struct tsnap_kvm_nested_state_hdr *h = buf;
    struct nested_vmx *n = vcpu->nvmx;

    memset(buf, 0, TSNAP_NESTED_SIZE_MAX);
    memset(x, 0, sizeof(*x));
    h->format = TSNAP_KVM_STATE_NESTED_FORMAT_VMX;
    h->size = TSNAP_NESTED_HDR_SIZE;
    h->vmxon_pa = TSNAP_INVALID_GPA;
    h->vmcs12_pa = TSNAP_INVALID_GPA;
    *why = NULL;
    if (!n || !n->vmxon)
        return h->size;
    /* The RAM that follows this state (and the shadow vmcs12 page of
     * guest mode) holds the fields shadow02 keeps for a shadow vmcs12,
     * whether or not that one is linked from the current vmcs12. */
    shadow12_write_back(vcpu);
    h->vmxon_pa = n->vmxon_ptr;
    if (n->current_vmptr == VMPTR_NONE)
        return h->size;
    h->vmcs12_pa = n->current_vmptr;
    h->size = TSNAP_NESTED_SIZE_VMCS12;
    if (vcpu->guest_mode) {
        *why = get_guest_mode(vcpu, buf, x);
        return *why ? 0 : h->size;
    }
    /* L1's VMWRITEs in its hardware shadow VMCS into cached12 (KVM's
     * copy_shadow_to_vmcs12); vmcs01 is current. */
    shadow_sync_from_shadow(vcpu);
    memcpy((u8 *)buf + TSNAP_NESTED_HDR_SIZE, &n->cached12, TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE);
    return h->size;
}

/* Back into L2 from a checked vmcs12 (KVM's nested_vmx_enter_non_root_mode,
 * the run pending or not): the SDM's entry checks, EPT02 (rebuilt lazily
 * from EPT12), vmcs02 built from vmcs12 as a VM entry builds it. */
static const char *enter_guest_mode(struct vcpu *vcpu, const struct vmcs12 *blob, const u8 *shadow_page,
                                    const struct nested_extra *x, bool run_pending)
{
    struct nested_vmx *n = vcpu->nvmx;
    struct vmcs12 *v = &n->cached12;
    u64 qual = 0;

    memcpy(v, blob, sizeof(*v));
    if (!nested_check_controls(&vcpu->nvmx->caps, v))
        return "vmcs12 fails the VM-entry checks on controls (SDM 27.2.1)";
    if (!nested_check_host_state(&vcpu->nvmx->caps, v, v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE))
        return "vmcs12 fails the VM-entry checks on host state (SDM 27.2.2)";
    if (!nested_check_guest_state(&vcpu->nvmx->caps, vcpu->vm, v, &qual))
        return "vmcs12 fails the VM-entry checks on guest state (SDM 27.3.1)";
    bool ept12 = nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT;
    if (ept12 && !nested_eptp_valid(&vcpu->nvmx->caps, v->ept_pointer))
        return "vmcs12's EPT pointer is not one turtle shadows";
    if (!nested_vapic_page_ok(vcpu->vm, v))
        return "vmcs12's virtual-APIC page is outside RAM";
    /* L1's state for what vmcs12 does not load: as KVM, the vCPU's state
     * at the restore (L1's own comes back from vmcs12's host area at the
     * next exit). */
    struct l1_state l1 = {
        .efer = vmcs_read64(GUEST_IA32_EFER),
        .pat = (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) ? vmcs_read64(GUEST_IA32_PAT) : 0,
        .dr7 = vmcs_readl(GUEST_DR7),
        .debugctl = vmcs_read64(GUEST_IA32_DEBUGCTL),
    };
    apicv12_entry(vcpu, v);
    if (ept12 && !ept02_prepare(vcpu, v->ept_pointer))
        return "out of pages for EPT02";
    /* The shadow vmcs12 of L1's L2: shadow02 is loaded from L1 memory. */
    if (shadow_page && !guest_copy_to(vcpu->vm, v->vmcs_link_pointer, shadow_page,
                                      TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE))
        return "vmcs12's VMCS link pointer is outside RAM";
    /* L1's hardware shadow VMCS from cached12, linked from vmcs01, for
     * L1's reads after L2's next exit (vmcs01 current here). */
    shadow_sync_to_shadow(vcpu);
    nested_switch_to_l2(vcpu);
    prepare_vmcs02(vcpu, v, &l1);
    /* The event vmcs12's VM-entry fields inject belongs to the entry: with
     * RUN_PENDING it is still to come; without, L2 was entered and the event
     * delivered (KVM's prepare_vmcs02_early makes the same choice). */
    n->run_pending = run_pending;
    if (!run_pending)
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
    /* Built completely; the next VMRESUME of L1 (after an exit) again. */
    n->dirty = DIRTY_ALL;
    n->n_dirty_fields = 0;
    n->launch_pending = false;
    n->last_vpid12 = (nested_proc2(v) & SECONDARY_EXEC_ENABLE_VPID) ? v->virtual_processor_id : 0;
    vpid_flush(n->vpid02);
    n->l1_timer_on = v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER;
    n->l1_timer_left = x->l1_timer_on ? x->l1_timer_left : nested_timer_tsc(n, v->vmx_preemption_timer_value);
    return NULL;
}

const char *nested_set_state(struct vcpu *vcpu, const void *buf, const struct nested_extra *x)
{
    const struct tsnap_kvm_nested_state_hdr *h = buf;
    struct nested_vmx *n = vcpu->nvmx;
    const u8 *page = (const u8 *)buf + TSNAP_NESTED_HDR_SIZE;

    if (h->vmxon_pa == TSNAP_INVALID_GPA)
        return NULL;                    /* not in VMX operation: nothing to set */
    if (!n)
        return "nested state for a VM without `nested`";
    n->vmxon = true;
    n->vmxon_ptr = h->vmxon_pa;
    n->current_vmptr = VMPTR_NONE;
    n->vmcs12 = NULL;
    if (h->vmcs12_pa == TSNAP_INVALID_GPA)
        return NULL;
    u64 hpa = guest_gpa_to_hpa(vcpu->vm, h->vmcs12_pa);
    if (!hpa || (h->vmcs12_pa & (PAGE_SIZE - 1)))
        return "vmcs12_pa outside RAM";
    n->current_vmptr = h->vmcs12_pa;
    n->vmcs12 = phys_to_virt(hpa);
    n->dirty = DIRTY_ALL;
    n->n_dirty_fields = 0;
    n->current_is_shadow = ((const struct vmcs12 *)page)->hdr.shadow_vmcs;
    if (h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE)
        return enter_guest_mode(vcpu, (const struct vmcs12 *)page,
                                h->size == TSNAP_NESTED_SIZE_MAX ? page + TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE : NULL,
                                x, h->flags & TSNAP_KVM_STATE_NESTED_RUN_PENDING);
    /* The page is the current vmcs12 (KVM's cached_vmcs12): into turtle's
     * cache; L1 memory gets it when L1 lets go of it. */
    memcpy(&n->cached12, page, sizeof(n->cached12));
    shadow_sync_to_shadow(vcpu);
    return NULL;
}
