/*
 * KVM_SET_NESTED_STATE's checks on a struct kvm_nested_state (VMX format),
 * in KVM's order, each refusal naming the check: "KVM V11: vmcs12_pa equals
 * vmxon_pa", "KVM 6.1.15: EPT pointer: memory type not allowed". The check
 * ids are those of the project's description of KVM's restore path (the
 * kvm-nested-state spec: G* the generic ioctl layer, V* vmx_set_nested_state's
 * header checks, 6.1.n / 6.2.n / 6.3.n the vmcs12 content checks made only
 * with GUEST_MODE). docs/snapshot.md lists them.
 *
 * These are KVM's restore checks, not the SDM's VM-entry checks
 * (nested/checks.c): KVM judges vmcs12 against the vCPU's own VMX
 * capability MSRs and CPUID (given here in struct nested_check_caps, from
 * the snapshot), gates some checks on RUN_PENDING, and skips segments,
 * RIP/RSP/RFLAGS, interruptibility, launch_state and every page's contents
 * except the VMCS link pointer's header. Turtle restores a snapshot only if
 * KVM would, so a snapshot moves both ways.
 *
 * Pure and freestanding; every input may be hostile.
 */
#ifndef TURTLE_SNAPSHOT_NESTED_CHECK_H
#define TURTLE_SNAPSHOT_NESTED_CHECK_H

#include "snapshot/parse.h"

/* KVM's vmcs12 bytes: sizeof(struct vmcs12), and the sizes V10/V16 need. */
#define NESTED_VMCS12_BYTES         998
#define NESTED_SIZE_MIN_VMCS12      (TSNAP_NESTED_HDR_SIZE + NESTED_VMCS12_BYTES)           /* 1126 */
#define NESTED_SIZE_MIN_SHADOW      (TSNAP_NESTED_SIZE_VMCS12 + NESTED_VMCS12_BYTES)        /* 5222 */
#define NESTED_KVM_FLAGS_KNOWN      0x10fu  /* GUEST_MODE RUN_PENDING EVMCS MTF_PENDING GIF_SET */

/* The vCPU that would take the state: its VMX capability MSRs (what L1
 * was shown) and what its CPUID and SMM state imply. */
struct nested_check_caps {
    u64 basic;                  /* IA32_VMX_BASIC (0x480) */
    u64 pinbased, procbased;    /* IA32_VMX_TRUE_PINBASED/PROCBASED_CTLS (0x48d/0x48e) */
    u64 exit, entry;            /* IA32_VMX_TRUE_EXIT/ENTRY_CTLS (0x48f/0x490) */
    u64 misc;                   /* 0x485 */
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;    /* 0x486-0x489 */
    u64 procbased2;             /* 0x48b */
    u64 ept_vpid_cap;           /* 0x48c */
    u64 vmfunc;                 /* 0x491 */

    bool vmx;                   /* guest CPUID.1:ECX.VMX */
    bool evmcs;                 /* eVMCS enabled on the vCPU (never, outside Hyper-V guests) */
    bool in_smm;                /* the vCPU is in SMM (kvm_vcpu_events.smi.smm) */
    u32 maxphyaddr;             /* guest CPUID 0x80000008 EAX[7:0], else 36 */
    u32 host_va_bits;           /* 48, or 57 on an LA57 host: "canonical at the host's width" */
    bool shstk, ibt, lam;       /* guest CPUID: CET shadow stacks, IBT, LAM */
    u64 cr4_reserved;           /* CR4 bits reserved for this guest (its CPUID) */
    u64 efer_allowed;           /* EFER bits this guest may set */
    u64 debugctl_allowed;       /* IA32_DEBUGCTL bits this guest may set */
    u64 perf_global_ctrl_allowed;   /* IA32_PERF_GLOBAL_CTRL bits of its vPMU */
};

/* Fills *caps from a snapshot: vCPU vcpu's VMX capability MSRs (the
 * vmx_caps section; TRUE_* where IA32_VMX_BASIC[55] says they exist), its
 * CPUID, and its SMM state. host_va_bits is taken as 48 (57 if the guest
 * CPUID shows LA57). view must have been accepted by tsnap_parse(). */
void nested_check_caps_from_view(struct nested_check_caps *caps, const struct tsnap_view *view, u32 vcpu);

/* Reads len bytes of the guest's RAM at gpa; false if not RAM. */
typedef bool nested_check_read_fn(const void *ctx, u64 gpa, void *dst, u64 len);

/*
 * KVM_SET_NESTED_STATE's checks (G1..V22 and, with GUEST_MODE, 6.1-6.3)
 * on the len bytes at blob. read/ctx reach guest RAM for the VMCS link
 * pointer (6.3.6); a NULL read makes that page unreachable. Returns NULL if
 * KVM would accept the state, else the message of the first check it fails.
 */
const char *nested_check_state(const void *blob, u64 len, const struct nested_check_caps *caps,
                               nested_check_read_fn *read, const void *ctx);

/* The same on a snapshot's vCPU, with its caps and its memory. NULL (OK)
 * for a vCPU without a nested section. */
const char *nested_check_vcpu(const struct tsnap_view *view, u32 vcpu);

/*
 * Whether a vCPU may be given the capability MSRs want where the host
 * offers host (KVM's vmx_set_vmx_msr rules): the controls and EPT/VPID and
 * VMFUNC capabilities only narrow, BASIC keeps its revision, size, memory
 * type and adds no feature, MISC adds no feature and no larger limit,
 * CR0/CR4_FIXED0 only add must-be-1 bits. NULL if so, else what is lacking.
 */
const char *nested_check_caps_allowed(const struct nested_check_caps *want, const struct nested_check_caps *host);

#endif
