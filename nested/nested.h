/*
 * VT-x emulation for L1 guests ("nested VMX"): what nested/ offers to vmx/.
 *
 * Names follow KVM: vmcs12 is L1's VMCS, in L1 memory, in KVM's layout
 * (nested/vmcs12.h); vmcs02 is the hardware VMCS turtle builds from vmcs01's
 * policy and vmcs12 to run L2; EPT12 is L1's EPT for L2; EPT02 the shadow
 * EPT turtle builds from EPT12 and EPT01. docs/nested.md explains the flow.
 */
#ifndef TURTLE_NESTED_H
#define TURTLE_NESTED_H

#include "nested/vmcs12.h"
#include "vmx/vmx.h"

#define VMPTR_NONE      (~0ULL)

struct nested_vmx {
    bool vmxon;
    u64 vmxon_ptr;              /* L1-physical */
    u64 current_vmptr;          /* L1-physical address of the current vmcs12, or VMPTR_NONE */
    struct vmcs12 *vmcs12;      /* that vmcs12, through turtle's direct map of L1 RAM */
    /* While L2 runs, the vmcs12 that passed the entry checks. L1 memory
     * (which L2 may be able to write) is not read again until the exit,
     * which writes this copy back (KVM's cached_vmcs12). */
    struct vmcs12 cached12;

    bool vmcs01_launched;       /* vmcs01's launched flag while L2 runs */
    u64 vmcs02;                 /* host-physical; vcpu->vmcs while L2 runs */
    bool vmcs02_launched;
    bool vmcs02_host_written;
    bool launch_pending;        /* VMLAUNCH: mark vmcs12 launched at the first L2 exit */
    u16 vpid02;
    u16 last_vpid12;            /* VPID12 of the last entry (0: VPID off) */

    u64 ept02_root;             /* shadow of EPT12 (0: none built) */
    u64 ept02_eptp12;           /* the EPTP12 that EPT02 shadows */
    u64 ept02_pages;            /* its paging-structure pages (bounded by a budget) */
    bool l1_timer_on;           /* L1's VMX-preemption timer runs for L2 */
    u64 l1_timer_left;          /* its ticks left; only time in L2 counts (SDM 26.5.1) */
    u64 timer_armed_tsc;        /* TSC just before the last entry to L2 */

    u64 msr_bitmap02;           /* L0 and L1 MSR bitmaps merged */
    u64 shadow_vmcs;            /* hardware shadow VMCS for L1 (0: no shadowing) */
    bool shadow_active;         /* vmcs01 links it and uses the VMREAD/VMWRITE bitmaps */
    u64 l2_exits;               /* exits taken while in L2 */
    u64 reflected;              /* of those, reflected to L1 */
};

/* nested/nested.c fills vmx/'s struct nested_ops (vmx/nested_ops.h). */

/* nested/caps.c: the VMX capability MSRs L1 reads. */
bool nested_vmx_msr_read(struct vcpu *vcpu, u32 msr, u64 *v);

/* nested/instructions.c */
void nested_vmx_instruction(struct vcpu *vcpu, u64 qual);
void nested_vmx_succeed(void);
void nested_vmx_fail_invalid(void);
void nested_vmx_fail(struct vcpu *vcpu, u32 error);

/* nested/entry.c: VMLAUNCH / VMRESUME. */
void nested_vmx_run(struct vcpu *vcpu, bool launch);

/* nested/exit.c: an exit while L2 runs: reflected to L1, handled here,
 * or left to vmx/'s exit table. */
enum nested_exit_result nested_l2_exit(struct vcpu *vcpu, u32 full_reason, u64 qual);
/* Before an entry to L2: exceptions queued for L2 that L1 intercepts
 * become exception exits to L1 (SDM 26.2 / 27.2.2). */
void nested_check_events(struct vcpu *vcpu);
/* L1's exception bitmap and #PF error-code mask/match (SDM 26.2). */
bool nested_exception_wanted(const struct vmcs12 *v, u32 vector, u32 error_code);
/* Emulated VM exit to L1: the exit information comes from vmcs02, with
 * the reason given and the qualification replaced when qual is not NULL. */
void nested_vmx_vmexit(struct vcpu *vcpu, u32 reason, const u64 *qual);
/* Publishes cached12 to L1 memory and loads its host state into vmcs01
 * (VM exit and failed VM entry). */
void load_vmcs12_host_state(struct vcpu *vcpu);

void nested_switch_to_l1(struct vcpu *vcpu);
/* vmcs02 becomes the vCPU's VMCS (a restored snapshot in guest mode). */
void nested_switch_to_l2(struct vcpu *vcpu);

/* nested/shadow_vmcs01.c: L0 shadowing vmcs12 for L1 (all run with
 * vmcs01 current). */
void shadow_init(void);
bool shadow_guest_init(struct vcpu *vcpu);
void shadow_sync_to_shadow(struct vcpu *vcpu);
void shadow_sync_from_shadow(struct vcpu *vcpu);
void shadow_off(struct vcpu *vcpu);
void shadow_write_field(struct vcpu *vcpu, u32 field, u64 value);

/* nested/ept02.c */
/* Outcome of an L2 EPT violation: handled (EPT02 filled), or reflect as
 * an EPT violation / misconfiguration with the given qualification. */
enum ept02_result { EPT02_FIXED, EPT02_VIOLATION, EPT02_MISCONFIG, EPT02_OUTSIDE_L1 };
enum ept02_result ept02_fault(struct vcpu *vcpu, u64 l2_gpa, u64 hw_qual, u64 *qual12);
void ept02_drop(struct vcpu *vcpu);
/* The most paging-structure pages EPT02 of one vCPU ever holds, in a VM
 * with mem_size bytes of RAM. */
u64 ept02_max_pages(u64 mem_size);
bool ept12_translate(struct vcpu *vcpu, u64 l2_gpa, u64 *l1_gpa);
bool ept02_prepare(struct vcpu *vcpu, u64 eptp12);
bool nested_eptp_valid(u64 eptp12);

/* nested/caps.c: what turtle lets L1 use (allowed-1 settings). */
extern u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
extern u32 nested_exit_allowed, nested_entry_allowed;
extern u64 nested_ept_vpid_cap;
/* IA32_DEBUGCTL bits an L2 may get from vmcs12 (what L1 may write). */
extern u64 nested_debugctl_allowed;
void nested_caps_init(void);
u64 nested_cr0_fixed0(bool unrestricted);
u64 nested_cr4_fixed1(void);
u32 nested_phys_addr_width(void);
u64 nested_vmx_misc(void);
/* The CPU can load CET state on VM entry (so #CP pushes an error code). */
bool nested_host_has_cet(void);
u64 vmx_caps_cr4_fixed0(void);
u64 vmx_caps_cr0_fixed1(void);

/* The allowed-0 settings (bits that must be 1) of the TRUE_* control MSRs
 * shown to L1: the default1 bits, less those L1 may clear (CR3-load/store
 * exiting, save/load debug controls). IA32_VMX_BASIC[55] is shown, so the
 * VM-entry checks use these too (SDM A.3.1, A.3.2, A.4, A.5). The pin-based
 * TRUE MSR keeps every default1 bit: PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR. */
#define CPU_BASED_TRUE_ALWAYSON     (CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR & \
                                     ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING))
#define VM_EXIT_TRUE_ALWAYSON       (VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_EXIT_SAVE_DEBUG_CONTROLS)
#define VM_ENTRY_TRUE_ALWAYSON      (VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_ENTRY_LOAD_DEBUG_CONTROLS)

/* Whether CR0 / CR4 hold values supported in VMX operation as L1 is told
 * them (IA32_VMX_CR0/CR4_FIXED0/1 of nested/caps.c; SDM 24.8, A.7, A.8):
 * every fixed-0 bit set, no bit outside fixed-1. For a guest CR0 with
 * unrestricted guest, PE and PG may be 0 (SDM 27.3.1.1). */
static inline bool nested_cr0_valid(u64 cr0, bool unrestricted)
{
    u64 f0 = nested_cr0_fixed0(unrestricted);
    return (cr0 & f0) == f0 && !(cr0 & ~vmx_caps_cr0_fixed1());
}

static inline bool nested_cr4_valid(u64 cr4)
{
    u64 f0 = vmx_caps_cr4_fixed0();
    return (cr4 & f0) == f0 && !(cr4 & ~nested_cr4_fixed1());
}

#endif
