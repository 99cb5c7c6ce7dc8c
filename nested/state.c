/*
 * Nested-VMX state in and out, as KVM's vmx_get_nested_state and
 * vmx_set_nested_state define it: struct kvm_nested_state, VMX format
 * (snapshot/format.h; the sizes and flags of docs/snapshot.md).
 *   not in VMX operation        size 128, vmxon_pa = vmcs12_pa = -1
 *   VMXON, no current VMCS      size 128, vmxon_pa
 *   a current VMCS              size 4224, the vmcs12 page follows
 * The vmcs12 page is the authoritative copy at that moment: with turtle's
 * shadow VMCS on, L1's VMWRITEs are in the shadow until synced back here.
 * A vCPU in L2 is not saved here yet (nested_get_state refuses it).
 */
#include "kernel/mm.h"
#include "nested/nested.h"
#include "nested/state.h"
#include "vmx/vmx.h"

u32 nested_get_state(struct vcpu *vcpu, void *buf, const char **why)
{
    struct tsnap_kvm_nested_state_hdr *h = buf;
    struct nested_vmx *n = vcpu->nvmx;

    memset(h, 0, sizeof(*h));
    h->format = TSNAP_KVM_STATE_NESTED_FORMAT_VMX;
    h->size = TSNAP_NESTED_HDR_SIZE;
    h->vmxon_pa = TSNAP_INVALID_GPA;
    h->vmcs12_pa = TSNAP_INVALID_GPA;
    *why = NULL;
    if (!n || !n->vmxon)
        return h->size;
    if (vcpu->guest_mode) {
        *why = "L2 is running (a snapshot in guest mode is not supported yet)";
        return 0;
    }
    h->vmxon_pa = n->vmxon_ptr;
    if (n->current_vmptr == VMPTR_NONE)
        return h->size;
    h->vmcs12_pa = n->current_vmptr;
    h->size = TSNAP_NESTED_SIZE_VMCS12;
    shadow_sync_from_shadow(vcpu);
    memcpy((u8 *)buf + TSNAP_NESTED_HDR_SIZE, n->vmcs12, TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE);
    return h->size;
}

const char *nested_set_state(struct vcpu *vcpu, const void *buf)
{
    const struct tsnap_kvm_nested_state_hdr *h = buf;
    struct nested_vmx *n = vcpu->nvmx;

    if (h->vmxon_pa == TSNAP_INVALID_GPA)
        return NULL;                    /* not in VMX operation: nothing to set */
    if (!n)
        return "nested state for a VM without `nested`";
    if (h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE)
        return "nested state in guest mode (L2 running) is not supported yet";
    n->vmxon = true;
    n->vmxon_ptr = h->vmxon_pa;
    n->current_vmptr = VMPTR_NONE;
    n->vmcs12 = NULL;
    if (h->vmcs12_pa == TSNAP_INVALID_GPA)
        return NULL;
    /* turtle keeps vmcs12 in L1 memory: the saved page goes back there. */
    if (!guest_copy_to(vcpu->vm, h->vmcs12_pa, (const u8 *)buf + TSNAP_NESTED_HDR_SIZE,
                       TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE))
        return "vmcs12_pa outside RAM";
    n->current_vmptr = h->vmcs12_pa;
    n->vmcs12 = phys_to_virt(guest_gpa_to_hpa(vcpu->vm, h->vmcs12_pa));
    shadow_sync_to_shadow(vcpu);
    return NULL;
}
