/*
 * APIC virtualization for L2 (nested/apicv12.h): the CPU runs L1's
 * controls in vmcs02 on pages of L1's own.
 * - The virtual-APIC page: the host page of L1's (L1 RAM, fixed for the
 *   VM's life, so it cannot move under vmcs02; nested_check_apic_memory()
 *   refuses any other). The CPU reads and writes VTPR, IRR, ISR there as
 *   it would in L1's memory on bare hardware.
 * - The APIC-access page: the CPU compares the host-physical address an
 *   access of L2 reaches with vmcs02's. In L1 RAM, that is the host page
 *   of L1's, which EPT02 (or EPT01) maps wherever L2 reaches it. Outside
 *   L1 RAM (L1 names, say, its own xAPIC page), a stand-in page of
 *   turtle's is vmcs02's, and EPT02 maps L1's address to it
 *   (apicv12_ept02_page()); without EPT12, EPT01's page at that address
 *   (turtle's own APIC-access page for L1) if it has one.
 * - TPR threshold, EOI-exit bitmaps, guest interrupt status: vmcs12's;
 *   the CPU's RVI/SVI go back at every exit to L1.
 * - CR8: turtle's CR8 exits (for L1's TPR) leave vmcs02 when L1 shadows
 *   L2's TPR; L1's own stay.
 * - x2APIC MSRs 0x800-0x8ff: vmcs02 lets through what L1's bitmap lets
 *   through and the CPU virtualizes (SDM 30.5); any other access reaches
 *   turtle, which gives it to L1 or answers from L1's local APIC.
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "vmx/caps.h"
#include "vmx/ept.h"

#define CR8_EXITING         (CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING)
#define X2APIC_BYTES        32              /* MSRs 0x800-0x8ff: 256 bits */
#define X2APIC_READ_OFF     (0x800 / 8)     /* in the read-low bitmap (SDM 25.6.9) */
#define X2APIC_WRITE_OFF    (2048 + 0x800 / 8)
#define NO_ACCESS02         0               /* address 0 is always L1 RAM */

static u64 access_page_hpa(struct vcpu *vcpu, const struct vmcs12 *v)
{
    u64 gpa = v->apic_access_addr, hpa = guest_gpa_to_hpa(vcpu->vm, gpa);
    int level;

    if (hpa)
        return hpa;
    if (!(nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT)) {
        u64 e = ept_lookup(vcpu->vm->ept_root, gpa, &level);
        if (e && level == 1)
            return e & EPT_ADDR_MASK;
    }
    return vcpu->nvmx->apic_access02;
}

void apicv12_prepare(struct vcpu *vcpu, const struct vmcs12 *v, u32 *proc, u32 *proc2)
{
    u32 proc12 = v->cpu_based_vm_exec_control;

    if (proc12 & CPU_BASED_TPR_SHADOW)
        *proc = (*proc & ~CR8_EXITING) | (proc12 & CR8_EXITING) | (vmx_caps.proc.must_be_1 & CR8_EXITING) |
                CPU_BASED_TPR_SHADOW;
    *proc2 |= nested_proc2(v) & APICV12_PROC2;
    apicv12_prepare_fields(vcpu, v);
}

void apicv12_prepare_fields(struct vcpu *vcpu, const struct vmcs12 *v)
{
    u32 proc2_12 = nested_proc2(v);

    if (v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW) {
        vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, guest_gpa_to_hpa(vcpu->vm, v->virtual_apic_page_addr));
        vmcs_write32(TPR_THRESHOLD, v->tpr_threshold);
    }
    if (proc2_12 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)
        vmcs_write64(APIC_ACCESS_ADDR, access_page_hpa(vcpu, v));
    if (proc2_12 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) {
        vmcs_write64(EOI_EXIT_BITMAP0, v->eoi_exit_bitmap0);
        vmcs_write64(EOI_EXIT_BITMAP1, v->eoi_exit_bitmap1);
        vmcs_write64(EOI_EXIT_BITMAP2, v->eoi_exit_bitmap2);
        vmcs_write64(EOI_EXIT_BITMAP3, v->eoi_exit_bitmap3);
        vmcs_write16(GUEST_INTR_STATUS, v->guest_intr_status);
    }
}

void apicv12_sync_status(struct vmcs12 *v)
{
    if (nested_proc2(v) & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)
        v->guest_intr_status = vmcs_read16(GUEST_INTR_STATUS);
}

/*
 * Which x2APIC MSRs the CPU virtualizes (SDM 30.5), one bit each from
 * 0x800: RDMSR of TPR (0x808), of all of them with APIC-register
 * virtualization; WRMSR of TPR, and with virtual-interrupt delivery of
 * EOI (0x80b) and SELF IPI (0x83f). An access the CPU does not virtualize
 * would reach the real local APIC: vmcs02 lets none of those through.
 */
static u8 virtualized(u32 byte, bool write, u32 proc2)
{
    bool regs = proc2 & SECONDARY_EXEC_APIC_REGISTER_VIRT, vid = proc2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;

    if (!write)
        return regs ? 0xff : byte == 1 ? BIT(0) : 0;
    if (byte == 1)
        return (u8)(BIT(0) | (vid ? BIT(3) : 0));
    return byte == 7 && vid ? BIT(7) : 0;
}

/* Every entry with x2APIC virtualization now or at the last one (L1's
 * bitmap may have changed). */
void apicv12_merge_msrs(struct nested_vmx *n, u8 *dst, const u8 *l1, const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);
    const u8 *l0 = phys_to_virt(vmx_policy->msr_bitmap);
    bool x2 = proc2 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;

    for (u32 i = 0; i < X2APIC_BYTES; i++) {
        u32 r = X2APIC_READ_OFF + i, w = X2APIC_WRITE_OFF + i;
        dst[r] = x2 ? (u8)((l1 ? l1[r] : 0xff) | ~virtualized(i, false, proc2)) : l0[r];
        dst[w] = x2 ? (u8)((l1 ? l1[w] : 0xff) | ~virtualized(i, true, proc2)) : l0[w];
    }
    n->x2apic_msrs_open = x2;
}

/* vmcs12's APIC-access address when EPT02 maps it to the stand-in. */
static u64 access02_wanted(struct vcpu *vcpu, const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);

    if (!(proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) || !(proc2 & SECONDARY_EXEC_ENABLE_EPT) ||
        guest_gpa_to_hpa(vcpu->vm, v->apic_access_addr))
        return NO_ACCESS02;
    return v->apic_access_addr;
}

void apicv12_update_access02(struct vcpu *vcpu, const struct vmcs12 *v)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 want = access02_wanted(vcpu, v);

    if (want == n->access02_gpa)
        return;
    /* EPT02s may map the old address to the stand-in: they go (rare: L1
     * moved its APIC-access page). */
    if (n->access02_gpa != NO_ACCESS02)
        ept02_drop_all(vcpu);
    n->access02_gpa = want;
}

bool apicv12_ept02_page(struct vcpu *vcpu, u64 l1_gpa, u64 *hpa)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (n->access02_gpa == NO_ACCESS02 || (l1_gpa & ~(u64)(PAGE_SIZE - 1)) != n->access02_gpa)
        return false;
    *hpa = n->apic_access02;
    return true;
}
