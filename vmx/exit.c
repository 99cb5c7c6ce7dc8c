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

#define R(reason)       (1ULL << EXIT_REASON_##reason)
_Static_assert(EXIT_REASON_XSETBV < 64, "the exit masks below hold every reason they name");

/* Exits whose handlers never read the LAPIC model, nor enter L2: the
 * virtual-APIC page is left for apicv_sync() (vmx/apicv.h). */
static const u64 lapic_free_exits =
    R(CPUID) | R(VMCLEAR) | R(VMPTRLD) | R(VMPTRST) | R(VMREAD) | R(VMWRITE) | R(INVEPT) | R(INVVPID);

/* Exits caused by executing an instruction: they never occur during the
 * delivery of an event (SDM 27.2.4 lists the exits that may), so their
 * IDT-vectoring information is never valid and is not read. */
static const u64 instruction_exits =
    R(CPUID) | R(GETSEC) | R(HLT) | R(INVD) | R(RDPMC) | R(VMCALL) | R(VMCLEAR) | R(VMLAUNCH) |
    R(VMPTRLD) | R(VMPTRST) | R(VMREAD) | R(VMRESUME) | R(VMWRITE) | R(VMOFF) | R(VMON) |
    R(INVEPT) | R(INVVPID) | R(CR_ACCESS) | R(IO_INSTRUCTION) | R(MSR_READ) | R(MSR_WRITE) |
    R(MWAIT_INSTRUCTION) | R(MONITOR_INSTRUCTION) | R(XSETBV);

static inline bool in_mask(u64 mask, u32 reason)
{
    return reason < 64 && (mask & (1ULL << reason));
}

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

/*
 * One exit, one path: while L2 runs nested/ decides first (reflect to L1,
 * or handled); otherwise, and for whatever nested/ leaves to L0, the one
 * table above runs with the current VMCS (vmcs01, or vmcs02 for L2).
 */
void vmx_handle_exit(struct vcpu *vcpu)
{
    u32 full = vmcs_read32(VM_EXIT_REASON);
    u32 reason = full & VMX_EXIT_REASON_BASIC_MASK;
    u64 qual = vmcs_readl(EXIT_QUALIFICATION);

    vcpu->total_exits++;
    if (reason <= EXIT_REASON_MAX)
        vcpu->exits[reason]++;
    /* The virtual-APIC page belongs to vmcs01: what L1 wrote there comes
     * back into the model before the model is read (vmx/apicv.h). (While
     * L2 runs the page is idle; whatever changes the model then, L2
     * reaching L1's APIC included, raises irq_check, and the page is
     * stored again before L1 resumes.) */
    if (vcpu->apicv.vapic_page && !vcpu->guest_mode)
        vcpu->apicv.stale = true;
    /* A snapshot L1 asked for at this exit is taken before turtle decides
     * whether to reflect it (snapshot/vmcall.c). */
    if (__builtin_expect(vcpu->snap_at_l2_exit != 0, 0) && vcpu->guest_mode)
        snapshot_l2_exit(vcpu, full);
    if (vcpu->guest_mode && nested_ops->l2_exit(vcpu, full, qual) == NESTED_EXIT_DONE)
        return;
    if (full & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        uart_flush(&vcpu->vm->uart);
        kprintf("turtle: guest '%s': VM entry failed, reason %u, qualification %lx\n",
                vcpu->vm->name, reason, qual);
        vmcs_dump();
        vm_stop(vcpu->vm, true, "VM-entry failure (reason %u)", reason);
        return;
    }
    if (reason > EXIT_REASON_MAX || !exit_handlers[reason]) {
        unexpected_exit(vcpu, reason);
        return;
    }
    if (!in_mask(lapic_free_exits, reason))
        apicv_sync(vcpu);
    if (!in_mask(instruction_exits, reason))
        requeue_vectoring_event(vcpu);
    exit_handlers[reason](vcpu, qual);
    PROF_MARK(PROF_L1_HANDLER);
}
