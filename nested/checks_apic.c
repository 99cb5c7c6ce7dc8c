/*
 * The VM-entry checks of SDM 27.2.1.1 on vmcs12's APIC-virtualization
 * controls, in the SDM's order (docs/nested.md, rules 7a-7h). Every
 * failure is VMfailValid 7 (invalid control field).
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "vmx/dev/lapic_regs.h"

#define TPR_THRESHOLD_RESERVED  0xfffffff0u     /* bits 31:4 */

static bool page_ok(u64 pa)
{
    return IS_ALIGNED(pa, PAGE_SIZE) && !(pa >> nested_phys_addr_width());
}

bool nested_check_apic_controls(const struct vmcs12 *v)
{
    u32 pin = v->pin_based_vm_exec_control, proc2 = nested_proc2(v);
    bool tpr = v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW;
    bool vid = proc2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;

    if (tpr && (CC(!page_ok(v->virtual_apic_page_addr)) ||
                CC(!vid && (v->tpr_threshold & TPR_THRESHOLD_RESERVED))))
        return false;
    if ((proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) && CC(!page_ok(v->apic_access_addr)))
        return false;
    if (!tpr && CC(proc2 & (SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | SECONDARY_EXEC_APIC_REGISTER_VIRT |
                            SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)))
        return false;
    if (CC((proc2 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) && (proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)))
        return false;
    return !CC(vid && !(pin & PIN_BASED_EXT_INTR_MASK));
}

/* turtle gives vmcs02 the host page behind L1's virtual-APIC page, so that
 * page must be L1 RAM (the CPU would take any physical address; KVM stops
 * such an L1). *vtpr: VTPR, read from it. */
static bool vapic_in_ram(struct vm *vm, const struct vmcs12 *v, u32 *vtpr)
{
    *vtpr = 0;
    return !(v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW) ||
           guest_copy_from(vm, vtpr, v->virtual_apic_page_addr + APIC_TPR, sizeof(*vtpr));
}

bool nested_vapic_page_ok(struct vm *vm, const struct vmcs12 *v)
{
    u32 vtpr;

    return !CC(!vapic_in_ram(vm, v, &vtpr));
}

/* With TPR shadow but neither APIC-access virtualization nor virtual-
 * interrupt delivery, TPR threshold[3:0] may not exceed VTPR[7:4], VTPR
 * read from the virtual-APIC page (SDM 27.2.1.1) at every entry. */
bool nested_check_apic_memory(struct vm *vm, const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);
    u32 vtpr;

    if (CC(!vapic_in_ram(vm, v, &vtpr)))
        return false;
    if (!(v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW) ||
        (proc2 & (SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY)))
        return true;
    return !CC((v->tpr_threshold & 0xf) > ((vtpr >> 4) & 0xf));
}
