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

#include "nested/seg_memo.h"
#include "nested/vmcs12.h"
#include "vmx/vmx.h"

#define VMPTR_NONE      (~0ULL)

/* What changed in vmcs12 since vmcs02 was last built and the checks last
 * passed (docs/nested.md, "The hot path"). A check is skipped only when
 * none of its inputs changed since it last passed. */
#define DIRTY_VMCS02        BIT(0)  /* rebuild vmcs02 completely: prepare_vmcs02() */
#define DIRTY_CONTROLS      BIT(1)  /* nested_check_controls() must run */
#define DIRTY_HOST          BIT(2)  /* nested_check_host_state() must run */
#define DIRTY_CRS           BIT(3)  /* guest CR0/CR4 or a read shadow: vmcs02's CRs again */
#define DIRTY_APIC          BIT(4)  /* an APIC field: apicv12_prepare_fields() into vmcs02 */
#define DIRTY_APIC_CHECKS   BIT(5)  /* TPR threshold or an APIC address: nested_check_apic_controls() */
#define DIRTY_ALL           (DIRTY_VMCS02 | DIRTY_CONTROLS | DIRTY_HOST | DIRTY_CRS | DIRTY_APIC | \
                             DIRTY_APIC_CHECKS)
#define DIRTY_FIELDS_MAX    8       /* more changed fields than this: DIRTY_VMCS02 */
#define SHADOW_FIELDS_MAX   80      /* fields of L0's shadow VMCS for L1 */
#define EPT02_PARKED        3       /* EPT02s kept besides the current one */
#define NESTED_CAP_MSRS     18      /* IA32_VMX_BASIC (0x480) .. IA32_VMX_VMFUNC (0x491) */
/* The VMX-preemption timer rate turtle shows an L1 (IA32_VMX_MISC[4:0]):
 * KVM's (VMX_MISC_EMULATED_PREEMPTION_TIMER_RATE), whatever the CPU's, so
 * that an L1 moves between turtle and KVM (KVM refuses a snapshot whose
 * rate differs from its own). turtle counts L1's timer in TSC cycles and
 * converts at the edges, so any rate (a restored snapshot's) is honoured. */
#define NESTED_TIMER_RATE   5

/* The VMX capability MSRs as one L1 reads them: turtle's (nested/caps.c),
 * or those a restored snapshot recorded, which restore has checked are
 * never wider than turtle's. Every check of what L1 may use reads these
 * (KVM: vmx->nested.msrs). */
struct nested_caps {
    u64 msr[NESTED_CAP_MSRS];   /* index: MSR - IA32_VMX_BASIC */
    u32 readable;               /* bit i: MSR 0x480 + i reads (else #GP) */
};

static inline u64 nested_cap(const struct nested_caps *c, u32 msr)
{
    return c->msr[msr - IA32_VMX_BASIC];
}

/* Allowed-1 settings of the TRUE control MSRs, the secondary controls. */
static inline u32 nested_caps_pin(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_TRUE_PINBASED_CTLS) >> 32; }
static inline u32 nested_caps_proc(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_TRUE_PROCBASED_CTLS) >> 32; }
static inline u32 nested_caps_proc2(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_PROCBASED_CTLS2) >> 32; }
static inline u32 nested_caps_exit(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_TRUE_EXIT_CTLS) >> 32; }
static inline u32 nested_caps_entry(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_TRUE_ENTRY_CTLS) >> 32; }
static inline u64 nested_caps_ept_vpid(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_EPT_VPID_CAP); }
static inline u64 nested_caps_misc(const struct nested_caps *c) { return nested_cap(c, IA32_VMX_MISC); }
/* IA32_VMX_VMFUNC: no VM function where the MSR is not shown. */
static inline u64 nested_caps_vmfunc(const struct nested_caps *c)
{
    return (c->readable & BIT(IA32_VMX_VMFUNC - IA32_VMX_BASIC)) ? nested_cap(c, IA32_VMX_VMFUNC) : 0;
}
static inline u32 nested_caps_timer_rate(const struct nested_caps *c)
{
    return (u32)(nested_caps_misc(c) & VMX_MISC_PREEMPTION_TIMER_RATE_MASK);
}

struct nested_vmx {
    bool vmxon;
    u64 vmxon_ptr;              /* L1-physical */
    u64 current_vmptr;          /* L1-physical address of the current vmcs12, or VMPTR_NONE */
    struct vmcs12 *vmcs12;      /* that vmcs12's region, through turtle's direct map of L1 RAM */
    /* The current vmcs12 itself (KVM's cached_vmcs12): read from L1 memory
     * at VMPTRLD, written back when L1 lets go of it (VMCLEAR, VMPTRLD of
     * another, VMXOFF: nested_release_vmcs12()). L1 changes it only with
     * VMWRITE (SDM 25.11.1: the region's format is not architectural), so
     * L1 or L2 writing the region's memory meanwhile changes nothing. */
    struct vmcs12 cached12;
    u32 dirty;                  /* DIRTY_* */
    u32 n_dirty_fields;         /* fields prepare_vmcs02_dirty() copies into vmcs02 */
    u32 dirty_fields[DIRTY_FIELDS_MAX];
    u64 dirty_vals[DIRTY_FIELDS_MAX];   /* their new values, as vmcs12 holds them */
    bool host_checked_long;     /* L1's IA-32e mode when the host state last passed */
    struct seg_memo seg_memo;   /* the guest segment checks' inputs that last passed */
    u64 vmcs02_eptp;            /* the EPT pointer vmcs02 holds */
    u32 vmcs02_apic_access;     /* "virtualize APIC accesses" in vmcs02 (on EPT01) */
    u64 shadow_vals[SHADOW_FIELDS_MAX];     /* what L0's shadow VMCS for L1 holds */

    bool vmcs01_launched;       /* vmcs01's launched flag while L2 runs */
    u64 vmcs02;                 /* host-physical; vcpu->vmcs while L2 runs */
    bool vmcs02_launched;
    bool vmcs02_host_written;
    bool launch_pending;        /* VMLAUNCH: mark vmcs12 launched at the first L2 exit */
    /* VMLAUNCH/VMRESUME emulated, the CPU has not entered L2 yet (KVM's
     * nested_run_pending): vmcs02 still holds the event the entry injects. */
    bool run_pending;
    u16 vpid02;
    u16 last_vpid12;            /* VPID12 of the last entry (0: VPID off) */

    u64 ept02_root;             /* shadow of the current EPT12 (0: none built) */
    u64 ept02_eptp12;           /* the EPTP12 that EPT02 shadows */
    u64 ept02_pages;            /* its paging-structure pages */
    /* EPT02s kept for other EPTP12s, most recent first (root 0: empty);
     * all of them and the current one share one budget (nested/ept02.c). */
    struct ept02_ctx {
        u64 eptp12, root, pages;
    } ept02_parked[EPT02_PARKED];
    u64 ept02_built;            /* EPT02 roots built: L2s whose EPT02 was not kept */
    bool l1_timer_on;           /* L1's VMX-preemption timer runs for L2 */
    u64 l1_timer_left;          /* TSC cycles until it fires; only time in L2 counts (SDM 26.5.1) */
    u64 timer_armed_tsc;        /* TSC just before the last entry to L2 */
    bool vnmi_may_block;        /* virtual NMIs: the last entry loaded blocking or injected an NMI */

    u64 msr_bitmap02;           /* L0 and L1 MSR bitmaps merged */
    u64 apic_access02;          /* stand-in APIC-access page (nested/apicv12.c) */
    u64 access02_gpa;           /* L1-physical page EPT02 maps to it (0: none) */
    bool x2apic_msrs_open;      /* msr_bitmap02 lets x2APIC MSRs through (L1's x2APIC mode) */
    u64 ept01_l2[4];            /* EPT01 without L1's xAPIC page: PML4, PDPT, PD, PT (apicv12_ept01.c) */
    u64 ept01_l2_eptp;          /* its EPT pointer */
    u32 ept01_l2_gen;           /* the vm->ept_gen it was copied at */
    bool ept01_l2_built;        /* built, and its EPTP may be cached by the CPU */
    bool current_is_shadow;     /* the current vmcs12 is a shadow VMCS (revision bit 31) */
    u64 shadow02;               /* hardware shadow VMCS for L2 (nested/shadow_vmcs12.c) */
    u64 shadow02_pa;            /* the shadow vmcs12 whose fields it holds, or VMPTR_NONE */
    u64 vmread_bitmap02, vmwrite_bitmap02;  /* vmcs02's, from L1's */
    u64 shadow_vmcs;            /* hardware shadow VMCS for L1 (0: no shadowing) */
    bool shadow_active;         /* vmcs01 links it and uses the VMREAD/VMWRITE bitmaps */
    u64 l2_exits;               /* exits taken while in L2 */
    u64 reflected;              /* of those, reflected to L1 */
    struct nested_caps caps;    /* the capability MSRs this L1 sees */
};

/* A vmcs12 member by byte offset and width (2, 4 or 8), for the hot copies
 * whose offsets are resolved once: a move, not a table lookup or a call. */
static inline u64 vmcs12_get_at(const struct vmcs12 *v, u32 offset, u32 width)
{
    const u8 *p = (const u8 *)v + offset;
    u16 x16;
    u32 x32;
    u64 x64;

    switch (width) {
    case 2: __builtin_memcpy(&x16, p, 2); return x16;
    case 4: __builtin_memcpy(&x32, p, 4); return x32;
    default: __builtin_memcpy(&x64, p, 8); return x64;
    }
}

static inline void vmcs12_put_at(struct vmcs12 *v, u32 offset, u32 width, u64 x)
{
    u8 *p = (u8 *)v + offset;
    u16 x16 = (u16)x;
    u32 x32 = (u32)x;

    switch (width) {
    case 2: __builtin_memcpy(p, &x16, 2); break;
    case 4: __builtin_memcpy(p, &x32, 4); break;
    default: __builtin_memcpy(p, &x, 8); break;
    }
}

/* L1's VMX-preemption timer for L2 is kept in TSC cycles (l1_timer_left);
 * L1 sees ticks at the rate its IA32_VMX_MISC says (SDM 26.5.1: one tick
 * every 2^rate TSC cycles). A value read back rounds up. */
static inline u64 nested_timer_ticks(const struct nested_vmx *n, u64 tsc)
{
    u32 r = nested_caps_timer_rate(&n->caps);
    return (tsc >> r) + !!(tsc & ((1ULL << r) - 1));
}

static inline u64 nested_timer_tsc(const struct nested_vmx *n, u64 ticks)
{
    return ticks << nested_caps_timer_rate(&n->caps);
}

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
/* Loads cached12's host state into vmcs01 and brings L1's shadow VMCS up to date
 * (VM exit and failed VM entry). */
void load_vmcs12_host_state(struct vcpu *vcpu);

void nested_switch_to_l1(struct vcpu *vcpu);
/* L1 (or turtle for it) changed vmcs12's field: mark what depends on it. */
void nested_vmcs12_changed(struct vcpu *vcpu, u32 field, u64 value);
/* The current vmcs12 back to L1 memory (VMCLEAR, VMPTRLD, VMXOFF). */
void nested_release_vmcs12(struct vcpu *vcpu);
/* vmcs02 becomes the vCPU's VMCS (a restored snapshot in guest mode). */
void nested_switch_to_l2(struct vcpu *vcpu);

/* nested/vmcs02_refused.c: the CPU refused vmcs02 (a check turtle
 * missed). vmcs12's exit information for a failed VM entry (SDM 27.8):
 * reason with bit 31 set, qualification, no interruption or
 * IDT-vectoring information. */
void vmcs12_set_entry_failure(struct vmcs12 *v, u32 reason, u64 qual);
/* The error number L1's VMLAUNCH/VMRESUME fails with when the CPU fails
 * vmcs02's with VMfailValid(error) (valid) or VMfailInvalid; 0 when no
 * answer to L1 fits and the L1 must stop. */
u32 vmcs02_vmfail_error12(bool valid, u64 error);
/* With vmcs02 current. An exit of vmcs02 with reason `full` (bit 31 set)
 * and qualification: the same failed entry for L1, its host state loaded. */
void nested_vmcs02_entry_failed(struct vcpu *vcpu, u32 full, u64 qual);
/* VMLAUNCH/VMRESUME of vmcs02 failed (nested_ops->l2_entry_vmfail): L1's
 * fails the same way; false when the L1 must stop. */
bool nested_l2_entry_vmfail(struct vcpu *vcpu, bool valid, u64 error);

/* nested/vnmi.c: virtual-NMI blocking of L2, vmcs02 current. Just before
 * each entry to L2: note whether it can leave L2 blocked. At each exit:
 * clear blocking the entry could not have left (a Bochs 2.7 leak). After
 * an EPT02 fault turtle fixed in an IRET that ended the blocking (exit
 * qualification qual): the blocking again, for the IRET's rerun. */
void vnmi_note_entry(struct vcpu *vcpu);
void vnmi_check_exit(void);
void nested_vnmi_renew(struct vcpu *vcpu, u64 qual);

/* The first two on the hot path: nothing to do without virtual NMIs. */
static inline void nested_vnmi_entry(struct vcpu *vcpu)
{
    if (vcpu->nvmx->cached12.pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS)
        vnmi_note_entry(vcpu);
}

static inline void nested_vnmi_exit(struct vcpu *vcpu)
{
    if ((vcpu->nvmx->cached12.pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS) && !vcpu->nvmx->vnmi_may_block)
        vnmi_check_exit();
}

/* nested/shadow_vmcs01.c: L0 shadowing vmcs12 for L1 (all run with
 * vmcs01 current). */
void shadow_init(void);
bool shadow_guest_init(struct vcpu *vcpu);
void shadow_sync_to_shadow(struct vcpu *vcpu);
void shadow_sync_from_shadow(struct vcpu *vcpu);
/* The same for VMLAUNCH/VMRESUME: what that entry reads (nested/shadow_vmcs01.c). */
void shadow_sync_for_entry(struct vcpu *vcpu);
void shadow_off(struct vcpu *vcpu);
void shadow_write_field(struct vcpu *vcpu, u32 field, u64 value);
bool shadow_verify(struct vcpu *vcpu);

/* nested/shadow_vmcs12.c: VMCS shadowing shown to L1, for its L2. */
bool shadow12_init(void);
bool shadow12_vcpu_init(struct nested_vmx *n);
void shadow12_vcpu_free(struct nested_vmx *n);
void shadow12_prepare(struct vcpu *vcpu, const struct vmcs12 *v);
/* shadow02's fields back into L1 memory if they belong to the region at
 * pa (VMPTR_NONE: whichever region); the current VMCS stays current. */
void shadow12_flush(struct vcpu *vcpu, u64 pa);
/* shadow02's fields into L1 memory too, shadow02 still the state of record
 * (a snapshot: its RAM then holds the shadow vmcs12 as it stands). The
 * vCPU's VMCS (vcpu->vmcs) must be current and stays current. */
void shadow12_write_back(struct vcpu *vcpu);
bool shadow12_l2_vmrw(struct vcpu *vcpu, bool write);

/* nested/ept02.c */
/* Outcome of an L2 EPT violation: handled (EPT02 filled), emulated (an
 * access to one of L1's devices, completed), a PML-full exit for L1, or
 * reflect as an EPT violation / misconfiguration with the given
 * qualification. */
enum ept02_result { EPT02_FIXED, EPT02_EMULATED, EPT02_VIOLATION, EPT02_MISCONFIG, EPT02_OUTSIDE_L1,
                    EPT02_PML_FULL };
enum ept02_result ept02_fault(struct vcpu *vcpu, u64 l2_gpa, u64 hw_qual, u64 *qual12);
void ept02_drop(struct vcpu *vcpu);         /* the current EPT02 */
void ept02_drop_all(struct vcpu *vcpu);
/* INVEPT (SDM 31.3): all-context drops every EPT02, single-context those
 * shadowing an EPT12 with eptp's root (bits 51:12). */
void ept02_invept(struct vcpu *vcpu, bool all_context, u64 eptp);
/* The most paging-structure pages EPT02 of one vCPU ever holds, in a VM
 * with mem_size bytes of RAM. */
u64 ept02_max_pages(u64 mem_size);
bool ept12_translate(struct vcpu *vcpu, u64 l2_gpa, u64 *l1_gpa);
bool ept02_prepare(struct vcpu *vcpu, u64 eptp12);
u64 ept02_eptp(const struct nested_vmx *n);
/* nested/pml.c: page-modification logging of L2's writes for L1. */
bool nested_pml_log(struct vcpu *vcpu, u64 l2_gpa);
bool nested_eptp_valid(const struct nested_caps *c, u64 eptp12);
/* nested/vmfunc.c: L2's VMFUNC (exit 59). True when turtle completed it
 * (an EPTP switch); false: the exit is L1's. */
bool nested_vmfunc(struct vcpu *vcpu);

/* nested/caps.c: what turtle lets L1 use (allowed-1 settings). */
extern u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
extern u32 nested_exit_allowed, nested_entry_allowed;
extern u64 nested_ept_vpid_cap;
extern u64 nested_vmfunc_allowed;           /* IA32_VMX_VMFUNC, when shown */
/* IA32_DEBUGCTL bits an L2 may get from vmcs12 (what L1 may write). */
extern u64 nested_debugctl_allowed;
void nested_caps_init(void);
void nested_caps_show_shadowing(void);
/* turtle's capability MSRs, what a new L1 gets (nested_vcpu_init). */
extern struct nested_caps nested_default_caps;
/* What turtle can honour for a restored L1: the default and more. */
extern struct nested_caps nested_max_caps;
void nested_caps_build_default(void);
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
static inline bool nested_cr0_valid(const struct nested_caps *c, u64 cr0, bool unrestricted)
{
    u64 f0 = nested_cap(c, IA32_VMX_CR0_FIXED0);
    if (unrestricted)
        f0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
    return (cr0 & f0) == f0 && !(cr0 & ~nested_cap(c, IA32_VMX_CR0_FIXED1));
}

static inline bool nested_cr4_valid(const struct nested_caps *c, u64 cr4)
{
    u64 f0 = nested_cap(c, IA32_VMX_CR4_FIXED0);
    return (cr4 & f0) == f0 && !(cr4 & ~nested_cap(c, IA32_VMX_CR4_FIXED1));
}

#endif
