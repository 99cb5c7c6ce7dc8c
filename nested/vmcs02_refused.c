/*
 * When the CPU refuses vmcs02 although vmcs12 passed turtle's VM-entry
 * checks, a check is missing in turtle (or the CPU is stricter than the
 * SDM). L1 then gets the CPU's own answer, as if its VMLAUNCH/VMRESUME
 * had run on this CPU directly: VMfailValid with the CPU's error number,
 * or the CPU's VM-entry failure exit (SDM 27.8) with its reason and
 * qualification. Only a refusal that says turtle itself is broken
 * (VMfailInvalid: vmcs02 not current) stops the L1. One line names the L1
 * each time (a bounded number of times, so that a hostile L1 cannot flood
 * the console); the first time, the VMCS too. The host unit test
 * tests/unit/test_vmcs02_refused.c runs this file against fakes.
 */
#include "kernel/printf.h"
#include "nested/nested.h"

#define REFUSAL_MESSAGES_MAX    50
static u32 refusal_messages;

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

static void refusal_log(struct vcpu *vcpu, const char *what, u64 n)
{
    if (refusal_messages < REFUSAL_MESSAGES_MAX)
        kprintf("turtle: nested: '%s': hardware refused vmcs02 (%s %lu), passed to L1\n",
                vcpu->vm->name, what, n);
    if (refusal_messages++ == 0)
        vmcs_dump();
}

void nested_vmcs02_entry_failed(struct vcpu *vcpu, u32 full, u64 qual)
{
    refusal_log(vcpu, "reason", full & VMX_EXIT_REASON_BASIC_MASK);
    vmcs12_set_entry_failure(&vcpu->nvmx->cached12, full & VMX_EXIT_REASON_BASIC_MASK, qual);
    vcpu->nvmx->dirty |= DIRTY_ALL;     /* vmcs02 as the CPU left it: build it again */
    load_vmcs12_host_state(vcpu);
}

/* L1's RIP is still on its VMLAUNCH/VMRESUME (an entry leaves it there
 * until the exit loads host RIP), so the VMfail completes that
 * instruction; vmcs12 stays as L1 left it (no exit happened) but for the
 * VM-instruction error, and a VMLAUNCH leaves it clear. */
bool nested_l2_entry_vmfail(struct vcpu *vcpu, bool valid, u64 error)
{
    u32 error12 = vmcs02_vmfail_error12(valid, error);

    if (!error12)
        return false;
    refusal_log(vcpu, "VMfailValid", error);
    vcpu->nvmx->launch_pending = false;
    vcpu->nvmx->dirty |= DIRTY_ALL;     /* vmcs02 as the CPU left it: build it again */
    nested_switch_to_l1(vcpu);
    event_cancel_injection(&vcpu->events);  /* L2's events end with L2 */
    nested_vmx_fail(vcpu, error12);
    return true;
}
