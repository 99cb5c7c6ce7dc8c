/*
 * The VM-exit path for L1 guests: one table indexed by the basic exit
 * reason. Every slot is a handler or NULL; NULL (and any reason past the
 * table) is an unexpected exit: dump the VMCS and stop that guest. Nothing
 * is ever skipped over silently.
 */
#include "kernel/printf.h"
#include "vmx/exit.h"

exit_handler_t nested_vmx_instruction_hook = handle_inject_ud;
bool (*nested_in_l2_hook)(struct guest *g);
bool (*nested_in_vmx_operation_hook)(struct guest *g);
bool (*nested_gpa_hook)(struct guest *g, u64 gpa, u64 *l1_gpa);
void (*nested_l2_exit_hook)(struct guest *g);
u64 (*nested_timer_clamp_hook)(struct guest *g, u64 ticks);

static void handle_vmx_instruction(struct guest *g, u64 qual)
{
    nested_vmx_instruction_hook(g, qual);
}

static const exit_handler_t exit_handlers[EXIT_REASON_MAX + 1] = {
    [EXIT_REASON_EXCEPTION_NMI]         = handle_exception_nmi,
    [EXIT_REASON_EXTERNAL_INTERRUPT]    = handle_external_interrupt,
    [EXIT_REASON_TRIPLE_FAULT]          = handle_triple_fault,
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
};

u64 guest_reg_read(struct guest *g, u32 reg)
{
    return reg == REG_RSP ? vmcs_readl(GUEST_RSP) : g->regs.gpr[reg & 15];
}

void guest_reg_write(struct guest *g, u32 reg, u64 v)
{
    if (reg == REG_RSP)
        vmcs_writel(GUEST_RSP, v);
    else
        g->regs.gpr[reg & 15] = v;
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
    vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
        vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
    if (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_TF)
        vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_readl(GUEST_PENDING_DBG_EXCEPTIONS) | BIT(14));
}

void inject_exception(u32 vector, bool has_error_code, u32 error_code)
{
    u32 info = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;

    /* In real mode (unrestricted guest, CR0.PE = 0) no error code is pushed. */
    if (has_error_code && (guest_read_cr0() & X86_CR0_PE)) {
        info |= INTR_INFO_DELIVER_CODE_MASK;
        vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
    }
    vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
}

/* An exit in the middle of delivering an event (IDT-vectoring information
 * valid, SDM 28.2.4) must deliver that event again on the next entry. */
void requeue_vectoring_event(void)
{
    u32 idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);

    if (!(idt & VECTORING_INFO_VALID_MASK))
        return;
    vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, idt & ~INTR_INFO_UNBLOCK_NMI);
    if (idt & VECTORING_INFO_DELIVER_CODE_MASK)
        vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read32(IDT_VECTORING_ERROR_CODE));
    u32 type = idt & VECTORING_INFO_TYPE_MASK;
    if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION || type == INTR_TYPE_PRIV_SW_EXCEPTION)
        vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

static void unexpected_exit(struct guest *g, u32 reason)
{
    vuart_flush(g);
    kprintf("turtle: guest '%s': unexpected VM exit, reason %u, qualification %lx\n",
            g->name, reason, vmcs_readl(EXIT_QUALIFICATION));
    vmcs_dump();
    guest_stop(g, true, "unexpected VM exit (reason %u) at rip %lx", reason, vmcs_readl(GUEST_RIP));
}

void vmx_handle_exit(struct guest *g)
{
    u32 full = vmcs_read32(VM_EXIT_REASON);
    u32 reason = full & VMX_EXIT_REASON_BASIC_MASK;

    g->total_exits++;
    if (g->nvmx && nested_in_l2_hook(g)) {
        if (reason <= EXIT_REASON_MAX)
            g->exits[reason]++;
        nested_l2_exit_hook(g);
        return;
    }
    if (reason <= EXIT_REASON_MAX)
        g->exits[reason]++;
    if (full & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        vuart_flush(g);
        kprintf("turtle: guest '%s': VM entry failed, reason %u, qualification %lx\n",
                g->name, reason, vmcs_readl(EXIT_QUALIFICATION));
        vmcs_dump();
        guest_stop(g, true, "VM-entry failure (reason %u)", reason);
        return;
    }
    if (reason > EXIT_REASON_MAX || !exit_handlers[reason]) {
        unexpected_exit(g, reason);
        return;
    }
    requeue_vectoring_event();
    exit_handlers[reason](g, vmcs_readl(EXIT_QUALIFICATION));
}
