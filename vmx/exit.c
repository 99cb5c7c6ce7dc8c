/*
 * The VM-exit path for L1 guests: one table indexed by the basic exit
 * reason. Every slot is a handler or NULL; NULL (and any reason past the
 * table) is an unexpected exit: dump the VMCS and stop that guest. Nothing
 * is ever skipped over silently.
 */
#include "kernel/printf.h"
#include "snapshot/snapshot.h"
#include "vmx/exit.h"
#include "vmx/prof.h"

/* VMX instructions: emulated by nested/ for a `nested` VM, #UD otherwise. */
static void handle_vmx_instruction(struct vcpu *vcpu, u64 qual)
{
    if (vcpu->nvmx)
        nested_ops->vmx_instruction(vcpu, qual);
    else
        inject_ud(vcpu);
    /* A VM entry emulated, L2 not run yet: a snapshot L1 asked for there. */
    if (__builtin_expect(vcpu->snap_at_l2_entry, 0) && vcpu->guest_mode)
        snapshot_l2_entry(vcpu);
}

/* The windows turtle asked for (vmx/inject.c): the next entry injects. */
static void handle_event_window(struct vcpu *vcpu, u64 qual)
{
    (void)qual;
    close_event_windows(vcpu);
}

static const exit_handler_t exit_handlers[EXIT_REASON_MAX + 1] = {
    [EXIT_REASON_EXCEPTION_NMI]         = handle_exception_nmi,
    [EXIT_REASON_EXTERNAL_INTERRUPT]    = handle_external_interrupt,
    [EXIT_REASON_TRIPLE_FAULT]          = handle_triple_fault,
    [EXIT_REASON_INTERRUPT_WINDOW]      = handle_event_window,
    [EXIT_REASON_NMI_WINDOW]            = handle_event_window,
    [EXIT_REASON_INIT_SIGNAL]           = handle_ignore_signal,
    [EXIT_REASON_SIPI_SIGNAL]           = handle_ignore_signal,
    [EXIT_REASON_TASK_SWITCH]           = handle_task_switch,
    [EXIT_REASON_CPUID]                 = handle_cpuid,
    [EXIT_REASON_GETSEC]                = handle_inject_ud,
    [EXIT_REASON_HLT]                   = handle_hlt,
    [EXIT_REASON_INVD]                  = handle_invd,
    [EXIT_REASON_RDPMC]                 = handle_inject_gp,
    [EXIT_REASON_VMCALL]                = handle_vmcall,
    [EXIT_REASON_VMCLEAR]               = handle_vmx_instruction,
    [EXIT_REASON_VMLAUNCH]              = handle_vmx_instruction,
    [EXIT_REASON_VMPTRLD]               = handle_vmx_instruction,
    [EXIT_REASON_VMPTRST]               = handle_vmx_instruction,
    [EXIT_REASON_VMREAD]                = handle_vmx_instruction,
    [EXIT_REASON_VMRESUME]              = handle_vmx_instruction,
    [EXIT_REASON_VMWRITE]               = handle_vmx_instruction,
    [EXIT_REASON_VMOFF]                 = handle_vmx_instruction,
    [EXIT_REASON_VMON]                  = handle_vmx_instruction,
    [EXIT_REASON_INVEPT]                = handle_vmx_instruction,
    [EXIT_REASON_INVVPID]               = handle_vmx_instruction,
    [EXIT_REASON_VMFUNC]                = handle_vmx_instruction,
    [EXIT_REASON_CR_ACCESS]             = handle_cr_access,
    [EXIT_REASON_IO_INSTRUCTION]        = handle_io,
    [EXIT_REASON_MSR_READ]              = handle_rdmsr,
    [EXIT_REASON_MSR_WRITE]             = handle_wrmsr,
    [EXIT_REASON_MWAIT_INSTRUCTION]     = handle_inject_ud,
    [EXIT_REASON_MONITOR_INSTRUCTION]   = handle_inject_ud,
    [EXIT_REASON_EPT_VIOLATION]         = handle_ept_violation,
    [EXIT_REASON_EPT_MISCONFIG]         = handle_ept_misconfig,
    [EXIT_REASON_PREEMPTION_TIMER]      = handle_preemption_timer,
    [EXIT_REASON_XSETBV]                = handle_xsetbv,
    [EXIT_REASON_TPR_BELOW_THRESHOLD]   = handle_tpr_below_threshold,
    [EXIT_REASON_APIC_ACCESS]           = handle_apic_access,
    [EXIT_REASON_EOI_INDUCED]           = handle_eoi_induced,
    [EXIT_REASON_APIC_WRITE]            = handle_apic_write,
};

/* What the path of an exit may leave out, by reason (0 for the rest):
 * - EXIT_LAPIC_FREE: the handler never reads the LAPIC model, nor enters
 *   L2: the virtual-APIC page is left for apicv_sync() (vmx/apicv.h);
 * - EXIT_INSTRUCTION: caused by executing an instruction, so never during
 *   the delivery of an event (SDM 27.2.4 lists the exits that may): no
 *   IDT-vectoring information to read. */
#define EXIT_LAPIC_FREE     BIT(0)
#define EXIT_INSTRUCTION    BIT(1)
#define FREE_INSN           (EXIT_LAPIC_FREE | EXIT_INSTRUCTION)
static const u8 exit_flags[EXIT_REASON_MAX + 1] = {
    [EXIT_REASON_CPUID] = FREE_INSN,            [EXIT_REASON_VMCLEAR] = FREE_INSN,
    [EXIT_REASON_VMPTRLD] = FREE_INSN,          [EXIT_REASON_VMPTRST] = FREE_INSN,
    [EXIT_REASON_VMREAD] = FREE_INSN,           [EXIT_REASON_VMWRITE] = FREE_INSN,
    [EXIT_REASON_INVEPT] = FREE_INSN,           [EXIT_REASON_INVVPID] = FREE_INSN,
    [EXIT_REASON_GETSEC] = EXIT_INSTRUCTION,    [EXIT_REASON_HLT] = EXIT_INSTRUCTION,
    [EXIT_REASON_INVD] = EXIT_INSTRUCTION,      [EXIT_REASON_RDPMC] = EXIT_INSTRUCTION,
    [EXIT_REASON_VMCALL] = EXIT_INSTRUCTION,    [EXIT_REASON_VMLAUNCH] = EXIT_INSTRUCTION,
    [EXIT_REASON_VMRESUME] = EXIT_INSTRUCTION,  [EXIT_REASON_VMOFF] = EXIT_INSTRUCTION,
    [EXIT_REASON_VMON] = EXIT_INSTRUCTION,      [EXIT_REASON_CR_ACCESS] = EXIT_INSTRUCTION,
    [EXIT_REASON_IO_INSTRUCTION] = EXIT_INSTRUCTION, [EXIT_REASON_MSR_READ] = EXIT_INSTRUCTION,
    [EXIT_REASON_MSR_WRITE] = EXIT_INSTRUCTION, [EXIT_REASON_MWAIT_INSTRUCTION] = EXIT_INSTRUCTION,
    [EXIT_REASON_MONITOR_INSTRUCTION] = EXIT_INSTRUCTION, [EXIT_REASON_XSETBV] = EXIT_INSTRUCTION,
};

u64 guest_reg_read(struct vcpu *vcpu, u32 reg)
{
    return reg == REG_RSP ? vmcs_readl(GUEST_RSP) : vcpu->regs.gpr[reg & 15];
}

void guest_reg_write(struct vcpu *vcpu, u32 reg, u64 v)
{
    if (reg == REG_RSP)
        vmcs_writel(GUEST_RSP, v);
    else
        vcpu->regs.gpr[reg & 15] = v;
}

u32 guest_cpl(void)
{
    return (vmcs_read32(GUEST_SS_AR_BYTES) >> 5) & 3;     /* SS.DPL (SDM 5.5) */
}

bool guest_in_long_mode(void)
{
    return (vmcs_read32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) &&
           (vmcs_read32(GUEST_CS_AR_BYTES) & BIT(13));    /* CS.L */
}

/* Completes an emulated instruction: RIP past it, STI/MOV-SS blocking
 * gone, and a single-step trap pending if RFLAGS.TF was set (SDM 27.3.1.5). */
void skip_instruction(void)
{
    advance_rip(vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

void advance_rip(u32 len)
{
    vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + len);
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
        vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
    if (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_TF)
        vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS) | BIT(14));
}

static void unexpected_exit(struct vcpu *vcpu, u32 reason)
{
    uart_flush(&vcpu->vm->uart);
    kprintf("turtle: guest '%s': unexpected VM exit, reason %u, qualification %lx\n",
            vcpu->vm->name, reason, vmcs_readl(EXIT_QUALIFICATION));
    vmcs_dump();
    vm_stop(vcpu->vm, true, "unexpected VM exit (reason %u) at rip %lx", reason, vmcs_readl(GUEST_RIP));
}

/* An exit the table does not handle: a failed VM entry (of vmcs01, or of
 * vmcs02 that nested/ left to L0), or a reason without a handler. A
 * reason past the table while L2 runs goes to nested/ first. */
static __attribute__((noinline, cold)) void odd_exit(struct vcpu *vcpu, u32 full, u64 qual)
{
    u32 reason = full & VMX_EXIT_REASON_BASIC_MASK;

    if (reason > EXIT_REASON_MAX && vcpu->guest_mode) {
        if (__builtin_expect(vcpu->snap_at_l2_exit != 0, 0))
            snapshot_l2_exit(vcpu, full);
        if (nested_ops->l2_exit(vcpu, full, qual) == NESTED_EXIT_DONE)
            return;
    }
    if (full & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        uart_flush(&vcpu->vm->uart);
        kprintf("turtle: guest '%s': VM entry failed, reason %u, qualification %lx\n",
                vcpu->vm->name, reason, qual);
        vmcs_dump();
        vm_stop(vcpu->vm, true, "VM-entry failure (reason %u)", reason);
        return;
    }
    unexpected_exit(vcpu, reason);
}

/*
 * One exit, one path: while L2 runs nested/ decides first (reflect to L1,
 * or handled); otherwise, and for whatever nested/ leaves to L0, the one
 * table above runs with the current VMCS (vmcs01, or vmcs02 for L2).
 */
void vmx_handle_exit(struct vcpu *vcpu, u32 full)
{
    u32 reason = full & VMX_EXIT_REASON_BASIC_MASK;
    u64 qual = vmcs_readl(EXIT_QUALIFICATION);

    vcpu->total_exits++;
    if (__builtin_expect(reason > EXIT_REASON_MAX, 0)) {
        odd_exit(vcpu, full, qual);
        return;
    }
    vcpu->exits[reason]++;
    if (vcpu->guest_mode) {
        /* A snapshot L1 asked for at this exit is taken before turtle
         * decides whether to reflect it (snapshot/vmcall.c). */
        if (__builtin_expect(vcpu->snap_at_l2_exit != 0, 0))
            snapshot_l2_exit(vcpu, full);
        if (nested_ops->l2_exit(vcpu, full, qual) == NESTED_EXIT_DONE)
            return;
    } else if (vcpu->apicv.vapic_page) {
        /* The virtual-APIC page belongs to vmcs01: what L1 wrote there
         * comes back into the model before the model is read
         * (vmx/apicv.h). (While L2 runs the page is idle; whatever changes
         * the model then, L2 reaching L1's APIC included, raises
         * irq_check, and the page is stored again before L1 resumes.) */
        vcpu->apicv.stale = true;
    }
    exit_handler_t handler = exit_handlers[reason];
    if (__builtin_expect((full & VMX_EXIT_REASONS_FAILED_VMENTRY) || !handler, 0)) {
        odd_exit(vcpu, full, qual);
        return;
    }
    u8 flags = exit_flags[reason];
    if (!(flags & EXIT_LAPIC_FREE))
        apicv_sync(vcpu);
    if (!(flags & EXIT_INSTRUCTION))
        requeue_vectoring_event(vcpu);
    handler(vcpu, qual);
    PROF_MARK(PROF_L1_HANDLER);
}
