/*
 * When the CPU refuses vmcs02 although vmcs12 passed turtle's VM-entry
 * checks, a check is missing in turtle (or the CPU is stricter than the
 * SDM). L1 then gets the CPU's own answer, as if its VMLAUNCH/VMRESUME
 * had run on this CPU directly: VMfailValid with the CPU's error number,
 * or the CPU's VM-entry failure exit (SDM 27.8) with its reason and
 * qualification. Only a refusal that says turtle itself is broken
 * (VMfailInvalid: vmcs02 not current) stops the L1. Pure logic: the
 * host unit test tests/unit/test_vmcs02_refused.c runs it.
 */
#include "nested/nested.h"

void vmcs12_set_entry_failure(struct vmcs12 *v, u32 reason, u64 qual)
{
    v->vm_exit_reason = reason | VMX_EXIT_REASONS_FAILED_VMENTRY;
    v->exit_qualification = qual;
    v->vm_exit_intr_info = 0;
    v->idt_vectoring_info_field = 0;
}

u32 vmcs02_vmfail_error12(bool valid, u64 error)
{
    /* VM-instruction error numbers are 1..28 (SDM 31.4); anything else
     * from the CPU is not an answer L1 could be given. */
    if (!valid || error == 0 || error > VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID)
        return 0;
    return (u32)error;
}
