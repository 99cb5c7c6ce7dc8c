/*
 * snapshot/format.h declares KVM's uapi structures under tsnap_ names, so
 * that nothing in turtle needs <linux/kvm.h>. Where the host has that
 * header, this file proves the two agree: every size, and the offset of
 * every field the format documents. A mismatch fails the build.
 */
#include "snapshot/format.h"

#if defined(__linux__) && __has_include(<linux/kvm.h>)
#include <linux/kvm.h>
#include <stddef.h>

#define SAME_SIZE(t)        _Static_assert(sizeof(struct tsnap_##t) == sizeof(struct t), #t " size")
#define SAME_OFF(t, m)      _Static_assert(offsetof(struct tsnap_##t, m) == offsetof(struct t, m), #t "." #m)

SAME_SIZE(kvm_regs);
SAME_OFF(kvm_regs, rip);
SAME_OFF(kvm_regs, rflags);
SAME_SIZE(kvm_segment);
SAME_OFF(kvm_segment, selector);
SAME_OFF(kvm_segment, type);
SAME_OFF(kvm_segment, unusable);
SAME_SIZE(kvm_dtable);
SAME_SIZE(kvm_sregs);
SAME_OFF(kvm_sregs, tr);
SAME_OFF(kvm_sregs, ldt);
SAME_OFF(kvm_sregs, gdt);
SAME_OFF(kvm_sregs, idt);
SAME_OFF(kvm_sregs, cr0);
SAME_OFF(kvm_sregs, cr8);
SAME_OFF(kvm_sregs, efer);
SAME_OFF(kvm_sregs, apic_base);
SAME_OFF(kvm_sregs, interrupt_bitmap);
SAME_SIZE(kvm_msr_entry);
SAME_OFF(kvm_msr_entry, data);
SAME_SIZE(kvm_msrs);
_Static_assert(offsetof(struct kvm_msrs, entries) == sizeof(struct tsnap_kvm_msrs), "kvm_msrs.entries");
_Static_assert(sizeof(struct tsnap_kvm_xsave) == offsetof(struct kvm_xsave, region) + sizeof(((struct kvm_xsave *)0)->region),
               "kvm_xsave");
SAME_SIZE(kvm_xcrs);
SAME_SIZE(kvm_xcr);
SAME_OFF(kvm_xcrs, xcrs);
SAME_OFF(kvm_xcrs, padding);
_Static_assert(TSNAP_KVM_MAX_XCRS == KVM_MAX_XCRS, "KVM_MAX_XCRS");
SAME_SIZE(kvm_vcpu_events);
SAME_OFF(kvm_vcpu_events, interrupt);
SAME_OFF(kvm_vcpu_events, nmi);
SAME_OFF(kvm_vcpu_events, sipi_vector);
SAME_OFF(kvm_vcpu_events, flags);
SAME_OFF(kvm_vcpu_events, smi);
SAME_OFF(kvm_vcpu_events, exception_has_payload);
SAME_OFF(kvm_vcpu_events, exception_payload);
SAME_SIZE(kvm_debugregs);
SAME_OFF(kvm_debugregs, dr6);
SAME_OFF(kvm_debugregs, dr7);
SAME_OFF(kvm_debugregs, flags);
SAME_SIZE(kvm_mp_state);
SAME_SIZE(kvm_lapic_state);
SAME_SIZE(kvm_cpuid_entry2);
SAME_OFF(kvm_cpuid_entry2, flags);
SAME_OFF(kvm_cpuid_entry2, eax);
SAME_SIZE(kvm_cpuid2);
_Static_assert(offsetof(struct kvm_cpuid2, entries) == sizeof(struct tsnap_kvm_cpuid2), "kvm_cpuid2.entries");
_Static_assert(sizeof(struct tsnap_kvm_nested_state_hdr) == sizeof(struct kvm_nested_state), "kvm_nested_state");
_Static_assert(offsetof(struct tsnap_kvm_nested_state_hdr, vmxon_pa) == offsetof(struct kvm_nested_state, hdr.vmx.vmxon_pa),
               "kvm_nested_state.hdr.vmx.vmxon_pa");
_Static_assert(offsetof(struct tsnap_kvm_nested_state_hdr, vmcs12_pa) == offsetof(struct kvm_nested_state, hdr.vmx.vmcs12_pa),
               "kvm_nested_state.hdr.vmx.vmcs12_pa");
_Static_assert(offsetof(struct tsnap_kvm_nested_state_hdr, smm_flags) == offsetof(struct kvm_nested_state, hdr.vmx.smm.flags),
               "kvm_nested_state.hdr.vmx.smm.flags");
_Static_assert(offsetof(struct tsnap_kvm_nested_state_hdr, vmx_flags) == offsetof(struct kvm_nested_state, hdr.vmx.flags),
               "kvm_nested_state.hdr.vmx.flags");
_Static_assert(offsetof(struct tsnap_kvm_nested_state_hdr, preemption_timer_deadline) ==
               offsetof(struct kvm_nested_state, hdr.vmx.preemption_timer_deadline),
               "kvm_nested_state.hdr.vmx.preemption_timer_deadline");
_Static_assert(TSNAP_KVM_STATE_NESTED_GUEST_MODE == KVM_STATE_NESTED_GUEST_MODE, "flag");
_Static_assert(TSNAP_KVM_STATE_NESTED_RUN_PENDING == KVM_STATE_NESTED_RUN_PENDING, "flag");
_Static_assert(TSNAP_KVM_STATE_NESTED_EVMCS == KVM_STATE_NESTED_EVMCS, "flag");
_Static_assert(TSNAP_KVM_STATE_NESTED_MTF_PENDING == KVM_STATE_NESTED_MTF_PENDING, "flag");
_Static_assert(TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE == KVM_STATE_NESTED_VMX_VMCS_SIZE, "vmcs size");
_Static_assert(TSNAP_KVM_VCPUEVENT_VALID_SMM == KVM_VCPUEVENT_VALID_SMM, "events flag");
_Static_assert(TSNAP_KVM_MP_STATE_SIPI_RECEIVED == KVM_MP_STATE_SIPI_RECEIVED, "mp_state");
#endif

/* Keeps the translation unit non-empty where <linux/kvm.h> is missing. */
extern const int turtle_snap_kvm_abi_checked;
const int turtle_snap_kvm_abi_checked = 1;
