/*
 * What vmx/ offers inside itself and to nested/: per-CPU state, bring-up,
 * VMCS handling, vmcs01 and its policy, the exit path helpers, event
 * injection and the scheduler.
 */
#ifndef TURTLE_VMX_H
#define TURTLE_VMX_H

#include "kernel/cmdline.h"
#include "kernel/percpu.h"
#include "kernel/x86.h"
#include "vmx/caps.h"
#include "vmx/nested_ops.h"
#include "vmx/vcpu.h"
#include "vmx/vmcs.h"

/* Where and how a guest starts (vmx/loader.c fills it in). */
struct guest_boot_state {
    bool long_mode;             /* 64-bit entry with paging, else 32-bit, paging off */
    u64 rip;
    u64 rax, rbx, rsi, rdi;
    u64 cr3;                    /* long mode: guest-physical PML4 */
    u64 gdt_base;               /* long mode: a GDT turtle built in guest memory */
    u16 gdt_limit;
    u16 cs, ds;                 /* long mode: selectors of that GDT's code and data (DS=ES=SS=FS=GS) */
};

extern struct turtle_options turtle_opts;

/* The hypervisor's state of one physical CPU (kernel/percpu.h has the
 * rest), indexed by this_cpu()->id. */
struct vmx_cpu {
    u64 vmxon_region;           /* host-physical */
    struct vcpu *vcpu;          /* the vCPU whose state is loaded here, or NULL */
};
extern struct vmx_cpu vmx_cpus[MAX_CPUS];
static inline struct vmx_cpu *this_vmx_cpu(void) { return this_cpu_hv(); }

/* vmx/bringup.c: CR0/CR4 fixed bits, VMXON on this CPU. NULL or a reason. */
const char *vmx_on(void);

/* vmx/vmcs.c: VMPTRLD and VMCLEAR of a VMCS turtle owns (vmcs01, vmcs02,
 * a shadow VMCS). Failing is a turtle bug: they panic, naming `what`. */
__noreturn void vmcs_op_failed(const char *op, u64 pa, const char *what, enum vmx_result r);
static inline void vmcs_load(u64 pa, const char *what)
{
    enum vmx_result r = vmptrld(pa);

    if (__builtin_expect(r != VMX_OK, 0))
        vmcs_op_failed("VMPTRLD", pa, what, r);
}
void vmcs_clear(u64 pa, const char *what);
/* A fresh VMCS region with the CPU's revision (bit 31 for a shadow VMCS),
 * VMCLEARed. 0 when out of memory. */
u64 vmcs_alloc(bool shadow);
void vmcs_free(u64 pa);

/* vmx/flush.c: INVEPT of one EPT root (before its pages are freed) and
 * INVVPID of one VPID (before it tags another vCPU or L2), with the
 * narrowest extent the CPU has. Failing is a turtle bug: panic. */
void ept_flush(u64 eptp);

/* vmx/vmcs01.c: turtle's policy for every guest VMCS, fixed once VMX is
 * on. nested/ builds vmcs02 on top of it and reads it only through
 * vmx_policy. */
struct vmcs01_policy {
    u32 pin, proc, proc2, exit, entry;  /* controls; entry without IA-32e mode */
    u64 msr_bitmap;                     /* host-physical, shared by every vmcs01 */
    u64 io_bitmap_a, io_bitmap_b;
    u64 cr0_owned, cr4_owned;           /* CR bits turtle owns (guest/host masks) */
    u64 cr4_guest;                      /* owned CR4 bits besides VMXE a guest may set
                                         * (turtle checks them: vmx/exit_cr.c) */
    const u32 *passthrough_msrs;        /* MSRs guests access without exits */
    u32 n_passthrough_msrs;
};
extern const struct vmcs01_policy *const vmx_policy;
/* Computes the policy (once); false if the CPU lacks what turtle needs. */
bool vmcs01_policy_init(void);
/* Writes this CPU's host state into the current VMCS (vmcs01 and vmcs02). */
void vmcs_write_host_state(void);
bool vmcs01_setup(struct vcpu *vcpu, const struct guest_boot_state *s);
/* The guest-visible CR0/CR4 (read shadows merged with the real values). */
u64 guest_read_cr0(void);
u64 guest_read_cr4(void);
u64 guest_real_cr0(u64 guest_value);
/* Updates EFER.LMA and the IA-32e-mode entry control after CR0.PG / EFER.LME
 * change (SDM 10.8.5), and the PDPTRs when PAE paging is on outside IA-32e. */
void guest_update_paging_mode(struct vcpu *vcpu);

/* vmx/sched.c: brings a paused vCPU's state into its struct and its VMCS
 * current on this CPU (snapshots). False if another CPU holds it. */
bool sched_vcpu_sync_here(struct vcpu *vcpu);

/* vmx/exit.c */
/* One exit; full is its VM_EXIT_REASON, which the run loop read. */
void vmx_handle_exit(struct vcpu *vcpu, u32 full);
void skip_instruction(void);
/* The same for an instruction turtle decoded itself (len bytes). */
void advance_rip(u32 len);
u32 guest_cpl(void);
/* Guest general registers by SDM number (RSP lives in the VMCS). */
u64 guest_reg_read(struct vcpu *vcpu, u32 reg);
void guest_reg_write(struct vcpu *vcpu, u32 reg, u64 v);
bool guest_in_long_mode(void);

/* vmx/inject.c: the event queue (vmx/event.h) and the VMCS. */
/* Queues a hardware exception for the guest; a triple fault stops the VM. */
void inject_exception(struct vcpu *vcpu, u32 vector, bool has_error_code, u32 error_code);
/* Queues #PF with its faulting address (CR2 is written as it is delivered). */
void inject_page_fault(struct vcpu *vcpu, u64 address, u32 error_code);
static inline void inject_gp0(struct vcpu *vcpu) { inject_exception(vcpu, 13, true, 0); }
static inline void inject_ud(struct vcpu *vcpu) { inject_exception(vcpu, 6, false, 0); }
/* The LAPIC model brought up to date with the virtual-APIC page, if an
 * exit left the page unread (vmx/apicv.h); vmcs01 current. */
static inline void apicv_sync(struct vcpu *vcpu)
{
    if (__builtin_expect(vcpu->apicv.stale, 0))
        apicv_pull(vcpu);
}
/* Queues the event this exit interrupted (IDT-vectoring info), if any.
 * The common case (none) is inline: it is on every exit. */
void __requeue_vectoring_event(struct vcpu *vcpu, u32 idt_vectoring_info);
static inline void requeue_vectoring_event(struct vcpu *vcpu)
{
    u32 idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);

    if (__builtin_expect(idt & VECTORING_INFO_VALID_MASK, 0))
        __requeue_vectoring_event(vcpu, idt);
}
/* Just before VM entry: nested/ checks events first for L2, then the
 * queue's pick goes into the VM-entry fields and windows open or close.
 * The test for "nothing to do" is inline: it is on every entry. */
void __vmx_inject_events(struct vcpu *vcpu);
/* An interrupt- or NMI-window exit: closes the windows turtle opened in
 * the current VMCS and has the next entry look at the platform again. */
void close_event_windows(struct vcpu *vcpu);
/* The window-exiting controls of EVENT_WINDOW_* bits. */
u32 event_window_controls(u8 windows);
static inline void vmx_inject_events(struct vcpu *vcpu)
{
    if (__builtin_expect(event_anything(&vcpu->events), 0))
        __vmx_inject_events(vcpu);
}

/* vmx/sched.c */
void sched_run(void);
extern u64 sched_ticks;

/* Inline: nested VMRESUME flushes vpid02 whenever L1 runs L2 without
 * VPID12. The failure path (a panic) is out of line. */
static inline void vpid_flush(u16 vpid)
{
    enum vmx_result r;

    if (!(vmx_policy->proc2 & SECONDARY_EXEC_ENABLE_VPID))
        return;                         /* no VPIDs in use: entries and exits flush */
    r = invvpid(vmx_caps.invvpid_type, vpid, 0);
    if (__builtin_expect(r != VMX_OK, 0))
        vmcs_op_failed("INVVPID", vpid, "a VPID", r);
}

#endif
