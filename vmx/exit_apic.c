/*
 * The exits of APIC virtualization (vmx/apicv.h; SDM Vol. 3C 30.4-30.5,
 * 28.2.1 for the qualifications). The virtual-APIC page has been read
 * back into the LAPIC model (apicv_pull) before these run; whatever they
 * change in the model is stored into the page again before the next entry.
 */
#include "kernel/mm.h"
#include "vmx/exit.h"
#include "vmx/dev/lapic_regs.h"     /* after kernel/x86.h (IA32_APIC_BASE) */

/* APIC-access exit qualification (SDM Table 28-6). */
#define APIC_ACCESS_OFFSET(q)       ((u32)(q) & 0xfff)
#define APIC_ACCESS_TYPE(q)         (((u32)(q) >> 12) & 0xf)
#define APIC_ACCESS_LINEAR_READ     0
#define APIC_ACCESS_LINEAR_WRITE    1

/* Fault-like: an access the CPU does not virtualize (timer current count,
 * PPR, APR, a reserved offset, a size or alignment it refuses). The MMIO
 * emulator runs the instruction against the model, as it does for the EPT
 * violations of apicv=off. Fetching from the page or delivering an event
 * through it has no emulation, as with apicv=off: the guest stops. */
void handle_apic_access(struct vcpu *vcpu, u64 qual)
{
    u32 type = APIC_ACCESS_TYPE(qual);

    if (type == APIC_ACCESS_LINEAR_READ || type == APIC_ACCESS_LINEAR_WRITE) {
        handle_mmio(vcpu, APIC_DEFAULT_PHYS_BASE + APIC_ACCESS_OFFSET(qual));
        return;
    }
    vm_stop(vcpu->vm, true, "APIC-access page used for %s (access type %u, offset %x) at rip %lx",
            type == 2 || type == 15 ? "an instruction fetch" : "event delivery", type,
            APIC_ACCESS_OFFSET(qual), vmcs_readl(GUEST_RIP));
}

/*
 * Trap-like: the guest wrote a register the model must act on (ID, LDR,
 * DFR, SVR, ESR, ICR, an LVT, the timer; in x2APIC mode a SELF IPI with
 * an illegal vector); the value is in the virtual-APIC page at the offset
 * and the instruction is complete. xAPIC: a write that does not start a
 * register is one the xAPIC drops (11.4.1); storing the model again undoes
 * it in the page.
 */
void handle_apic_write(struct vcpu *vcpu, u64 qual)
{
    u32 off = APIC_ACCESS_OFFSET(qual);
    const u32 *page = vcpu->apicv.vapic;
    bool gp;

    vcpu->apicv.dirty = true;
    vcpu->events.irq_check = true;
    if (off >= APIC_REG_END)
        return;
    if (lapic_x2apic(&vcpu->lapic))
        platform_msr_write(vcpu, APIC_MSR(off), page[off / 4], &gp);    /* no #GP once done */
    else if (!(off & 0xf))
        platform_mmio_write(vcpu, APIC_DEFAULT_PHYS_BASE + off, 4, page[off / 4]);
}

/* Trap-like: the CPU retired a vector the EOI-exit bitmap names (a level-
 * triggered one): the IOAPIC and the LINT entries hear of it. */
void handle_eoi_induced(struct vcpu *vcpu, u64 qual)
{
    lapic_eoi_vector(&vcpu->lapic, (u8)qual);
    vcpu->apicv.dirty = true;
    vcpu->events.irq_check = true;
}

/* Trap-like: TPR fell below the threshold (TPR shadow without virtual-
 * interrupt delivery): an interrupt TPR held back may go now. */
void handle_tpr_below_threshold(struct vcpu *vcpu, u64 qual)
{
    (void)qual;
    vcpu->apicv.dirty = true;
    vcpu->events.irq_check = true;
}
