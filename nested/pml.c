/*
 * Page-modification logging for L2 (SDM 29.3.6), emulated: turtle sets the
 * dirty flags of EPT12 itself (nested/ept02.c), so it also writes the log
 * the CPU would. vmcs02 never enables PML: the index and the log are
 * vmcs12's (cached12) and L1's memory.
 */
#include "nested/checks.h"
#include "nested/nested.h"

#define PML_ENTRIES     512

/*
 * Before the access at l2_gpa sets a dirty flag in EPT12: with "enable PML"
 * in vmcs12, log the access's 4 KiB-aligned L2-physical address at the PML
 * index and decrement the index. False when the index is not in 0..511: a
 * page-modification log-full event, the access and the flag wait (the
 * caller reflects the PML-full exit). An entry outside L1 RAM is dropped,
 * as a write to memory that is not there would be.
 */
bool nested_pml_log(struct vcpu *vcpu, u64 l2_gpa)
{
    struct vmcs12 *v = &vcpu->nvmx->cached12;
    u64 gpa = l2_gpa & ~(PAGE_SIZE - 1);

    if (!(nested_proc2(v) & SECONDARY_EXEC_ENABLE_PML))
        return true;
    if (v->guest_pml_index >= PML_ENTRIES)
        return false;
    guest_copy_to(vcpu->vm, v->pml_address + 8ULL * v->guest_pml_index, &gpa, sizeof(gpa));
    v->guest_pml_index--;
    return true;
}
