/*
 * Control-register exits (SDM 28.2.1, Table 28-3). CR0/CR4 writes exit
 * when they touch a bit turtle owns; turtle checks the new value as the
 * CPU would (#GP on a reserved or inconsistent setting), keeps the guest's
 * view in the read shadow and runs the CPU with the VMX-fixed bits forced.
 * CR8 is emulated (CR8 exiting); CR3 exits only on CPUs that force them.
 */
#include "vmx/caps.h"
#include "vmx/exit.h"

#define CR_TYPE_MOV_TO      0
#define CR_TYPE_MOV_FROM    1
#define CR_TYPE_CLTS        2
#define CR_TYPE_LMSW        3
#define CR0_RESERVED        (~0xffffffffULL | 0x1ffaffc0ULL)   /* bits 63:32 and the SDM's reserved ones */
#define CR8_RESERVED        (~0xfULL)

/* Writes the guest's CR0: v is what the guest asked for (it becomes the
 * read shadow); real is what the CPU runs with before turtle's fixed bits
 * (the same as v, except for bits an L1 owns over its L2). */
static bool guest_set_cr0(struct vcpu *vcpu, u64 v, u64 real_v)
{
    u64 old = guest_read_cr0();
    u64 efer = vmcs_read64(GUEST_IA32_EFER);

    if (v & CR0_RESERVED)
        return false;
    if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
        return false;
    if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
        return false;
    /* Clearing PG with CR4.PCIDE set (SDM MOV to CR0). */
    if ((old & X86_CR0_PG) && !(v & X86_CR0_PG) && (guest_read_cr4() & X86_CR4_PCIDE))
        return false;
    /* Enabling paging with LME set needs PAE (SDM 10.8.5). */
    if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & EFER_LME) &&
        !(guest_read_cr4() & X86_CR4_PAE))
        return false;
    vmcs_writel(CR0_READ_SHADOW, v);
    vmcs_writel(GUEST_CR0, guest_real_cr0(real_v));
    if ((old ^ v) & X86_CR0_PG)
        guest_update_paging_mode(vcpu);
    return true;
}

static bool guest_set_cr4(struct vcpu *vcpu, u64 v, u64 real_v)
{
    /* Bits turtle owns other than VMXE are reserved to the guest. VMXE is
     * the guest's to set only when VT-x is shown to it. */
    u64 reserved = vmx_policy->cr4_owned & ~(u64)X86_CR4_VMXE & ~vmx_policy->cr4_guest;
    u64 old = guest_read_cr4();
    reserved |= ~vmx_caps.cr4_fixed1;
    if (!vcpu->vm->nested)
        reserved |= X86_CR4_VMXE;
    if (v & reserved)
        return false;
    if (!(v & X86_CR4_PAE) && (vmcs_read64(GUEST_IA32_EFER) & EFER_LMA))
        return false;
    /* Setting PCIDE: #GP outside IA-32e mode or with CR3[11:0] not 0
     * (SDM Vol. 3A 4.10.1, MOV to CR4). */
    if ((v & ~old & X86_CR4_PCIDE) &&
        (!(vmcs_read64(GUEST_IA32_EFER) & EFER_LMA) || (vmcs_readl(GUEST_CR3) & 0xfff)))
        return false;
    /* CR4.VMXE cannot be cleared in VMX operation (SDM 24.8). */
    if (!(v & X86_CR4_VMXE) && vcpu->nvmx && nested_ops->in_vmx_operation(vcpu))
        return false;
    vmcs_writel(CR4_READ_SHADOW, v);
    vmcs_writel(GUEST_CR4, vmx_fixed_cr4(real_v));
    guest_update_paging_mode(vcpu);
    return true;
}

/* The real CR0/CR4 value for what the guest wrote: an L2's bits that its L1
 * owns keep the value L1 gave them (nested/ installs this). */

static bool set_cr0(struct vcpu *vcpu, u64 v)
{
    return guest_set_cr0(vcpu, v, vcpu->guest_mode ? nested_ops->cr_real(vcpu, 0, v) : v);
}

static bool set_cr4(struct vcpu *vcpu, u64 v)
{
    return guest_set_cr4(vcpu, v, vcpu->guest_mode ? nested_ops->cr_real(vcpu, 4, v) : v);
}

void handle_cr_access(struct vcpu *vcpu, u64 qual)
{
    u32 cr = CR_QUAL_NUM(qual), reg = CR_QUAL_REG(qual);
    bool ok = true;

    switch (CR_QUAL_TYPE(qual)) {
    case CR_TYPE_MOV_TO: {
        u64 v = guest_reg_read(vcpu, reg);
        if (!guest_in_long_mode())
            v = (u32)v;
        if (cr == 0) {
            ok = set_cr0(vcpu, v);
        } else if (cr == 4) {
            ok = set_cr4(vcpu, v);
        } else if (cr == 3) {
            /* With PCIDE, bit 63 asks to keep the PCID's TLB entries and is
             * not written to CR3 (SDM 4.10.4.1). */
            if (guest_read_cr4() & X86_CR4_PCIDE)
                v &= ~BIT(63);
            vmcs_writel(GUEST_CR3, v);
            guest_update_paging_mode(vcpu);
        } else if (cr == 8) {
            ok = !(v & CR8_RESERVED);   /* TPR: bits 63:4 reserved */
            if (ok) {
                lapic_write_cr8(&vcpu->lapic, v);   /* CR8 is TPR[7:4] (SDM 11.8.6) */
                vcpu->events.irq_check = true;      /* a lower TPR may unmask an interrupt */
            }
        } else {
            ok = false;
        }
        break;
    }
    case CR_TYPE_MOV_FROM:
        if (cr == 3)
            guest_reg_write(vcpu, reg, vmcs_readl(GUEST_CR3));
        else if (cr == 8)
            guest_reg_write(vcpu, reg, lapic_read_cr8(&vcpu->lapic));
        else
            ok = false;
        break;
    case CR_TYPE_CLTS:
        ok = set_cr0(vcpu, guest_read_cr0() & ~X86_CR0_TS);
        break;
    case CR_TYPE_LMSW: {
        /* LMSW loads CR0[3:0] but cannot clear PE (SDM LMSW). */
        u64 cr0 = guest_read_cr0(), src = CR_QUAL_LMSW_SRC(qual) & 0xf;
        ok = set_cr0(vcpu, (cr0 & ~0xeULL) | src | (cr0 & X86_CR0_PE));
        break;
    }
    }
    if (ok)
        skip_instruction();
    else
        inject_gp0(vcpu);
}
