/*
 * Event injection around the per-vCPU queue (vmx/event.h): exit handlers
 * queue exceptions here, the exit path re-queues an interrupted event, and
 * vmx_inject_events() writes the queue's pick into the VM-entry fields of
 * the current VMCS just before the entry (SDM Vol. 3C 26.6).
 */
#include "kernel/printf.h"
#include "vmx/vmx.h"

void inject_exception(struct vcpu *vcpu, u32 vector, bool has_error_code, u32 error_code)
{
    if (event_queue_exception(&vcpu->events, (u8)vector, has_error_code, error_code, false, 0) ==
        EVENT_TRIPLE_FAULT)
        vm_stop(vcpu->vm, true, "triple fault (exception %u while delivering #DF) at rip %lx",
                vector, vmcs_readl(GUEST_RIP));
}

void inject_page_fault(struct vcpu *vcpu, u64 address, u32 error_code)
{
    if (event_queue_exception(&vcpu->events, VECTOR_PF, true, error_code, true, address) ==
        EVENT_TRIPLE_FAULT)
        vm_stop(vcpu->vm, true, "triple fault (#PF while delivering #DF) at rip %lx",
                vmcs_readl(GUEST_RIP));
}

/* An exit in the middle of delivering an event (IDT-vectoring information
 * valid, SDM 28.2.4) must deliver that event again on the next entry. An
 * NMI whose delivery was cut short did not block NMIs yet, but the exit
 * may have saved blocking by NMI (virtual-NMI blocking with virtual NMIs):
 * cleared, or the entry that injects it again fails (SDM 27.3.1.5). */
void __requeue_vectoring_event(struct vcpu *vcpu, u32 idt)
{
    u32 type = idt & VECTORING_INFO_TYPE_MASK;

    if (type == INTR_TYPE_NMI_INTR) {
        u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
        if (intr & GUEST_INTR_STATE_NMI)
            vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr & ~GUEST_INTR_STATE_NMI);
    }
    u32 err = (idt & VECTORING_INFO_DELIVER_CODE_MASK) ? vmcs_read32(IDT_VECTORING_ERROR_CODE) : 0;
    u32 len = (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
               type == INTR_TYPE_PRIV_SW_EXCEPTION) ? vmcs_read32(VM_EXIT_INSTRUCTION_LEN) : 0;
    event_queue_reinject(&vcpu->events, idt, err, len);
}

u32 event_window_controls(u8 windows)
{
    return ((windows & EVENT_WINDOW_INTR) ? CPU_BASED_INTR_WINDOW_EXITING : 0) |
           ((windows & EVENT_WINDOW_NMI) ? CPU_BASED_NMI_WINDOW_EXITING : 0);
}

/* Asks for the window exits in `windows` (EVENT_WINDOW_*) not yet asked
 * for. One the VMCS already has is L1's (vmcs02 takes vmcs12's windows):
 * its exit goes to L1, and turtle must not close it, so it is not
 * counted as turtle's. */
static void open_windows(struct vcpu_events *ev, u8 windows)
{
    u8 add = windows & ~ev->windows;

    if (!add)
        return;
    u32 proc = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
    u32 want = event_window_controls(add) & ~proc;
    if (!want)
        return;
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc | want);
    ev->windows |= (u8)(((want & CPU_BASED_INTR_WINDOW_EXITING) ? EVENT_WINDOW_INTR : 0) |
                        ((want & CPU_BASED_NMI_WINDOW_EXITING) ? EVENT_WINDOW_NMI : 0));
}

void close_event_windows(struct vcpu *vcpu)
{
    u32 proc = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);

    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc & ~event_window_controls(vcpu->events.windows));
    vcpu->events.windows = 0;
    vcpu->events.irq_check = true;
}

void __vmx_inject_events(struct vcpu *vcpu)
{
    struct vcpu_events *ev = &vcpu->events;

    if (ev->irq_check && lapic_take_nmi(&vcpu->lapic))
        event_queue_nmi(ev);            /* LINT1 or an NMI IPI */
    if (vcpu->guest_mode) {
        nested_ops->check_events(vcpu);     /* may leave L2 for L1 */
        if (vcpu->vm->stopped)
            return;
    }
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
    struct event_blocking b = {
        .interrupts_enabled = vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_IF,
        .sti_or_mov_ss = intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS),
        .nmi_blocked = intr & GUEST_INTR_STATE_NMI,
    };
    /* The platform's interrupts: an NMI from the local APIC (LINT1, ICR)
     * is queued; an interrupt is acknowledged (INTA) only when it can be
     * injected at this entry, otherwise it waits and asks for a window. */
    bool irq_waiting = false;
    if (ev->irq_check) {
        /* With virtual-interrupt delivery the local APIC's interrupts are
         * the CPU's to deliver (RVI, stored with the model before the
         * entry, vmx/apicv.c); only the PIC's are injected here. */
        bool vid = apicv_vid(vcpu);
        ev->irq_check = false;
        if (vcpu->apicv.vapic_page)
            vcpu->apicv.dirty = true;   /* the model may have changed: store it again */
        if (!ev->interrupt_pending && (vid ? platform_pic_pending(vcpu) : platform_interrupt_pending(vcpu))) {
            if (b.interrupts_enabled && !b.sti_or_mov_ss && !ev->exception_pending && !ev->reinject &&
                !ev->nmi_pending)
                event_queue_interrupt(ev, vid ? platform_pic_ack(vcpu) : platform_interrupt_ack(vcpu));
            else
                irq_waiting = true;         /* the window exit looks again */
        }
    }
    struct event_injection inj = event_pick(ev, &b);
    if (inj.info)
        vcpu->halted = false;
    inj.interrupt_window |= irq_waiting && !inj.nmi_window;

    if (inj.info) {
        /* In real mode (unrestricted guest, CR0.PE = 0) no error code is
         * pushed (SDM 26.2.1.3). */
        if ((inj.info & INTR_INFO_DELIVER_CODE_MASK) && !(guest_read_cr0() & X86_CR0_PE))
            inj.info &= ~INTR_INFO_DELIVER_CODE_MASK;
        if (inj.info & INTR_INFO_DELIVER_CODE_MASK)
            vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, inj.error_code);
        if (inj.insn_len)
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, inj.insn_len);
        if (inj.set_cr2)
            vcpu->regs.cr2 = inj.payload;
        if (inj.set_dr6)
            write_dr6((read_dr6() & ~DR6_EVENT_BITS) | (inj.payload & DR6_EVENT_BITS));
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, inj.info);
    }
    /* An NMI window needs virtual NMIs, which turtle does not use: a
     * blocked NMI waits for the next exit (the preemption timer bounds it). */
    bool nmi_window = inj.nmi_window && (vmx_policy->pin & PIN_BASED_VIRTUAL_NMIS);
    open_windows(ev, (u8)((nmi_window ? EVENT_WINDOW_NMI : 0) |
                          (inj.interrupt_window ? EVENT_WINDOW_INTR : 0)));
}
