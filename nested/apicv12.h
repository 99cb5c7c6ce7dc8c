/*
 * APIC virtualization for L2 (nested/apicv12.c, nested/checks_apic.c):
 * vmcs12's TPR shadow, virtualize APIC accesses, virtualize x2APIC mode,
 * APIC-register virtualization and virtual-interrupt delivery run on the
 * CPU's own, in vmcs02. docs/nested.md ("APIC virtualization for L2").
 */
#ifndef TURTLE_NESTED_APICV12_H
#define TURTLE_NESTED_APICV12_H

#include "nested/nested.h"
#include "vmx/dev/lapic_regs.h"

/* The secondary controls shown to L1 where the CPU has them. */
#define APICV12_PROC2   (SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | \
                         SECONDARY_EXEC_APIC_REGISTER_VIRT | SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)

/* nested/checks_apic.c. The control checks of SDM 27.2.1.1 that need
 * vmcs12 alone (part of nested_check_controls()). */
bool nested_check_apic_controls(const struct vmcs12 *v);
/* The ones that read L1 memory, at every entry (L2 changes VTPR): TPR
 * threshold against VTPR; and turtle's own rule that the virtual-APIC
 * page is L1 RAM. False: VMfailValid 7. */
bool nested_check_apic_memory(struct vm *vm, const struct vmcs12 *v);
/* Only turtle's rule (a restored L2, whose VTPR the CPU has kept in line). */
bool nested_vapic_page_ok(struct vm *vm, const struct vmcs12 *v);

/* nested/apicv12.c, with vmcs02 current. L1's APIC controls and their
 * fields into vmcs02; *proc and *proc2 are vmcs02's controls so far. */
void apicv12_prepare(struct vcpu *vcpu, const struct vmcs12 *v, u32 *proc, u32 *proc2);
/* Only the fields (virtual-APIC and APIC-access addresses, TPR threshold,
 * EOI-exit bitmaps, guest interrupt status) of the controls vmcs12 has:
 * after L1 changed one of them (DIRTY_APIC), the controls unchanged. */
void apicv12_prepare_fields(struct vcpu *vcpu, const struct vmcs12 *v);
/* What the CPU changed in vmcs02 back to vmcs12 (guest interrupt status). */
void apicv12_sync_status(struct vmcs12 *v);
/* vmcs02's MSR bitmap for 0x800-0x8ff (dst: the page; l1: L1's bitmap,
 * NULL when every MSR exits to L1). */
void apicv12_merge_msrs(struct nested_vmx *n, u8 *dst, const u8 *l1, const struct vmcs12 *v);
/* Before each entry: EPT02 maps vmcs12's APIC-access page to turtle's
 * stand-in when it is outside L1 RAM; a different one drops EPT02. */
void apicv12_update_access02(struct vcpu *vcpu, const struct vmcs12 *v);

/* The three on the hot path of every nested entry and exit: a test of
 * vmcs12's secondary controls (a superset of what they use) when L1 uses
 * none of these controls. */
static inline void apicv12_sync(struct vmcs12 *v)
{
    if (v->secondary_vm_exec_control & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)
        apicv12_sync_status(v);
}

static inline void apicv12_merge_x2apic(struct nested_vmx *n, u8 *dst, const u8 *l1, const struct vmcs12 *v)
{
    if ((v->secondary_vm_exec_control & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) || n->x2apic_msrs_open)
        apicv12_merge_msrs(n, dst, l1, v);
}

static inline void apicv12_entry(struct vcpu *vcpu, const struct vmcs12 *v)
{
    if ((v->secondary_vm_exec_control & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) || vcpu->nvmx->access02_gpa)
        apicv12_update_access02(vcpu, v);
}
/* nested/apicv12_ept01.c: EPT01 without L1's xAPIC page, for an L2
 * without EPT12 whose L1 runs APIC virtualization for it. Its pages, at
 * nested vCPU creation; freed (and the CPU's translations for it
 * dropped) with the vCPU. */
bool apicv12_ept01_init(struct nested_vmx *n);
void apicv12_ept01_free(struct nested_vmx *n);
/* A fresh copy of EPT01 (it changed, or none was made yet); its EPTP. */
u64 apicv12_ept01_build(struct vcpu *vcpu);

/* The EPT pointer vmcs02 takes without EPT12: EPT01's, or that copy's.
 * EPT01's when turtle maps no APIC-access page in it, when L1 runs no APIC
 * virtualization for L2 (vmcs02 then virtualizes APIC accesses on turtle's
 * page itself), and when L1 virtualizes APIC accesses on that very page
 * (L2's accesses there are then APIC accesses for L1). On the hot path of
 * every entry without EPT12: no call unless the copy is made. */
static inline u64 apicv12_ept01(struct vcpu *vcpu, const struct vmcs12 *v)
{
    const struct nested_vmx *n = vcpu->nvmx;
    u32 proc = v->cpu_based_vm_exec_control;
    u32 proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? v->secondary_vm_exec_control : 0;

    if (!vcpu->apicv.access_mapped ||
        (!(proc & CPU_BASED_TPR_SHADOW) &&
         !(proc2 & (SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE))))
        return vcpu->vm->eptp;
    if ((proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) &&
        (v->apic_access_addr & ~(u64)(PAGE_SIZE - 1)) == APIC_DEFAULT_PHYS_BASE)
        return vcpu->vm->eptp;
    if (n->ept01_l2_built && n->ept01_l2_gen == vcpu->vm->ept_gen)
        return n->ept01_l2_eptp;
    return apicv12_ept01_build(vcpu);
}

/* For an EPT02 fill: the host page for L1-physical l1_gpa when it is that
 * stand-in's APIC-access page (false otherwise). */
bool apicv12_ept02_page(struct vcpu *vcpu, u64 l1_gpa, u64 *hpa);

#endif
