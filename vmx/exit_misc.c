/*
 * The smaller exits: HLT, VMCALL, INVD, XSETBV (vmx/xsave.c has the rest), triple fault, EPT faults,
 * the preemption timer, external interrupts and NMIs, intercepted
 * exceptions, and the instructions turtle answers with a fault.
 */
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "snapshot/snapshot.h"
#include "vmx/exit.h"
#include "vmx/prof.h"
#include "vmx/xsave.h"

#define VMCALL_CONSOLE_WRITE    0
#define VMCALL_YIELD            1
#define VMCALL_EXIT             2
#define VMCALL_READ_TIME        3
#define VMCALL_EXIT_COUNT       4
#define VMCALL_SNAPSHOT         5
#define VMCALL_ERR_FUNCTION     ((u64)-1)
#define VMCALL_ERR_ADDRESS      ((u64)-2)
#define VMCALL_WRITE_MAX        4096

/* HLT: with IF=1 the vCPU sleeps until an interrupt (or NMI) is pending
 * for it (vmx/sched.c wakes it; the interrupt is delivered after the HLT).
 * With IF=0 only an NMI could wake it, and nothing raises one unless the
 * guest set LINT1 or an NMI IPI up: such a guest would sleep forever, so
 * it is stopped. */
void handle_hlt(struct vcpu *vcpu, u64 qual)
{
    (void)qual;
    if (!(vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_IF) && !vcpu->events.nmi_pending &&
        !vcpu->lapic.s.nmi_pending) {
        vm_stop(vcpu->vm, true, "halted with interrupts disabled at rip %lx", vmcs_readl(GUEST_RIP));
        return;
    }
    skip_instruction();
    vcpu->halted = true;
    vcpu->yield = true;
}

static u64 vmcall_console_write(struct vcpu *vcpu, u64 gpa, u64 len)
{
    char buf[256];

    if (len > VMCALL_WRITE_MAX || gpa >= vcpu->vm->mem_size || len > vcpu->vm->mem_size - gpa)
        return VMCALL_ERR_ADDRESS;
    while (len) {
        u64 n = MIN(len, sizeof(buf));
        guest_copy_from(vcpu->vm, buf, gpa, n);
        for (u64 i = 0; i < n; i++)
            uart_putc(&vcpu->vm->uart, buf[i]);
        gpa += n;
        len -= n;
    }
    return 0;
}

void handle_vmcall(struct vcpu *vcpu, u64 qual)
{
    bool wide = guest_in_long_mode();
    u64 nr = vcpu->regs.gpr[REG_RAX], a1 = vcpu->regs.gpr[REG_RBX], a2 = vcpu->regs.gpr[REG_RCX];
    u64 ret = 0;

    (void)qual;
    if (guest_cpl() != 0) {             /* the interface is for the guest kernel */
        inject_ud(vcpu);
        return;
    }
    if (!wide) {
        nr = (u32)nr;
        a1 = (u32)a1;
        a2 = (u32)a2;
    }
    switch (nr) {
    case VMCALL_CONSOLE_WRITE:
        ret = vmcall_console_write(vcpu, a1, a2);
        break;
    case VMCALL_YIELD:
        vcpu->yield = true;
        break;
    case VMCALL_EXIT:
        uart_flush(&vcpu->vm->uart);
        vcpu->vm->exit_status = a1;
        vm_stop(vcpu->vm, a1 != 0, "exit status %lu (VMCALL)", a1);
        return;
    case VMCALL_READ_TIME:
        vcpu->regs.gpr[REG_RBX] = rdtsc();
        vcpu->regs.gpr[REG_RCX] = sched_ticks;
        break;
    case VMCALL_EXIT_COUNT:
        vcpu->regs.gpr[REG_RBX] = vcpu->total_exits;
        prof_print(vcpu->total_exits);
        break;
    case VMCALL_SNAPSHOT: {
        /* Taken after the VMCALL completes (RAX = 0, RIP past it): the
         * restored L1 sees its call return 0. */
        u64 flags = wide ? vcpu->regs.gpr[REG_RDX] : (u32)vcpu->regs.gpr[REG_RDX];
        vcpu->regs.gpr[REG_RAX] = 0;
        skip_instruction();
        ret = snapshot_vmcall(vcpu, a1, a2, flags);
        vcpu->regs.gpr[REG_RAX] = wide ? ret : (u32)ret;
        return;
    }
    default:
        ret = VMCALL_ERR_FUNCTION;
        break;
    }
    vcpu->regs.gpr[REG_RAX] = wide ? ret : (u32)ret;
    skip_instruction();
}

/* INVD would throw away other guests' dirty lines too: write back instead. */
void handle_invd(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
    __asm__ __volatile__("wbinvd" ::: "memory");
    skip_instruction();
}

/* XSETBV (SDM Vol. 2D XSETBV): #UD with CR4.OSXSAVE = 0 (the CPU checks
 * it before the exit; checked again for a CPU without XSAVE, where turtle
 * keeps the bit clear), #GP(0) at CPL > 0, for an XCR other than XCR0,
 * or for a value XCR0 may not hold. The new XCR0 is loaded at once: it
 * is this vCPU's while it runs (vmx/xsave.c), in L1 and in its L2 alike,
 * as on a CPU where VM entries and exits leave XCR0 alone. */
void handle_xsetbv(struct vcpu *vcpu, u64 qual)
{
    u32 index = (u32)vcpu->regs.gpr[REG_RCX];
    u64 v = (u32)vcpu->regs.gpr[REG_RAX] | (u64)(u32)vcpu->regs.gpr[REG_RDX] << 32;

    (void)qual;
    if (!xsave_caps.xsave || !(guest_read_cr4() & X86_CR4_OSXSAVE)) {
        inject_ud(vcpu);
        return;
    }
    if (guest_cpl() != 0 || index != 0 || !xcr0_valid(v)) {
        inject_gp0(vcpu);
        return;
    }
    vcpu_set_xcr0(vcpu, v);
    skip_instruction();
}

void handle_triple_fault(struct vcpu *vcpu, u64 qual)
{
    (void)qual;
    vm_stop(vcpu->vm, true, "triple fault at rip %lx", vmcs_readl(GUEST_RIP));
}

void handle_ept_violation(struct vcpu *vcpu, u64 qual)
{
    u64 gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);

    /* EPT01 maps all of the guest's RAM read/write/execute, so every
     * violation is an access outside it: a device's registers (the local
     * APIC's page, the IOAPIC: vmx/exit_mmio.c), or a hole. */
    if (platform_mmio_claims(vcpu, gpa, 1)) {
        handle_mmio(vcpu, gpa);
        return;
    }
    vm_stop(vcpu->vm, true, "%s guest-physical %lx outside its RAM (%lu MiB) at rip %lx",
               qual & EPT_QUAL_FETCH ? "fetch from" : qual & EPT_QUAL_WRITE ? "write to" : "read of",
               gpa, vcpu->vm->mem_size >> 20, vmcs_readl(GUEST_RIP));
}

void handle_ept_misconfig(struct vcpu *vcpu, u64 qual)
{
    (void)qual;
    kprintf("turtle: guest '%s': EPT misconfiguration at %lx (turtle bug)\n", vcpu->vm->name,
            vmcs_read64(GUEST_PHYSICAL_ADDRESS));
    vmcs_dump();
    vm_stop(vcpu->vm, true, "EPT misconfiguration");
}

/* turtle's timer: the end of the slice, or a device deadline. The run
 * loop (vmx/sched.c) tells which. */
void handle_preemption_timer(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
}

/* turtle masks the PIC and programs no interrupt sources, so an external
 * interrupt here is spurious: resume the guest. */
void handle_external_interrupt(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
}

void handle_exception_nmi(struct vcpu *vcpu, u64 qual)
{
    u32 info = vmcs_read32(VM_EXIT_INTR_INFO);
    u32 vector = info & INTR_INFO_VECTOR_MASK;

    (void)qual;
    if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
        /* Only with an L1's NMI exiting for its L2 (turtle sets none
         * itself): such an exit is reflected before it gets here. */
        return;
    }
    /* An intercepted exception (#AC): deliver it to the guest unchanged.
     * #AC is a benign exception (SDM Table 6-5): if it hit while another
     * event was being delivered, the two are handled serially, so this
     * injection replaces the re-queued event, which recurs afterwards. */
    inject_exception(vcpu, vector, info & INTR_INFO_DELIVER_CODE_MASK,
                     vmcs_read32(VM_EXIT_INTR_ERROR_CODE));
    (void)vcpu;
}

void handle_inject_ud(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
    inject_ud(vcpu);
}

void handle_inject_gp(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
    inject_gp0(vcpu);
}

void handle_task_switch(struct vcpu *vcpu, u64 qual)
{
    vm_stop(vcpu->vm, true, "hardware task switch (qualification %lx) is not emulated", qual);
}

void handle_ignore_signal(struct vcpu *vcpu, u64 qual)
{
    (void)vcpu;
    (void)qual;
}
