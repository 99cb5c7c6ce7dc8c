/*
 * EPT01 for an L2 without EPT12 whose L1 runs APIC virtualization for it
 * (docs/nested.md, "APIC virtualization for L2"). Such an L2 runs on L1's
 * physical addresses, so vmcs02 would take EPT01, which maps turtle's
 * APIC-access page for L1 at L1's xAPIC base while turtle virtualizes
 * L1's APIC (vmx/apicv.c). vmcs02's one APIC-access address is then L1's
 * (or it has none), so L2's accesses to that page would be neither APIC
 * accesses nor exits: plain reads and writes of turtle's page, lost to
 * L1's local APIC. On bare hardware they reach L1's local APIC.
 *
 * So vmcs02 takes a copy of EPT01 without that page: L2's accesses there
 * are EPT violations, which turtle emulates on L1's LAPIC model as it
 * does L1's own with apicv=off (vmx/exit_mmio.c). The copy shares all of
 * EPT01's paging structures but the four on the path to the page
 * (ept_clone_hiding()), and is copied again when EPT01 changed
 * (vm->ept_gen; only its tables on that path could differ).
 *
 * Not when L1 virtualizes APIC accesses on that very page: vmcs02's
 * APIC-access address is then turtle's page, which EPT01 maps there, and
 * L2's accesses are APIC accesses for L1 (nested/apicv12.c). Nor when
 * L1 runs no APIC virtualization for L2: vmcs02 then virtualizes APIC
 * accesses on turtle's page for L1 itself (nested/vmcs02.c).
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"

bool apicv12_ept01_init(struct nested_vmx *n)
{
    for (u32 i = 0; i < EPT_LEVELS; i++) {
        n->ept01_l2[i] = alloc_page();
        if (!n->ept01_l2[i])
            return false;
    }
    n->ept01_l2_eptp = ept_make_eptp(n->ept01_l2[0]);
    return true;
}

void apicv12_ept01_free(struct nested_vmx *n)
{
    if (n->ept01_l2_built)
        ept_flush(n->ept01_l2_eptp);
    n->ept01_l2_built = false;
    for (u32 i = 0; i < EPT_LEVELS; i++) {
        if (n->ept01_l2[i])
            free_pages(n->ept01_l2[i], 1);
        n->ept01_l2[i] = 0;
    }
}

u64 apicv12_ept01_build(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    struct vm *vm = vcpu->vm;

    if (!ept_clone_hiding(vm->ept_root, APIC_DEFAULT_PHYS_BASE, n->ept01_l2)) {
        vm_stop(vm, true, "EPT01 maps L1's xAPIC page with a large page (turtle bug)");
        return vm->eptp;
    }
    /* The tables changed under this EPTP: nothing cached from them stays. */
    ept_flush(n->ept01_l2_eptp);
    n->ept01_l2_gen = vm->ept_gen;
    n->ept01_l2_built = true;
    return n->ept01_l2_eptp;
}
