/*
 * Host tests of what L1 sees when the CPU refuses vmcs02 although vmcs12
 * passed turtle's checks (nested/vmcs02_refused.c): the CPU's own answer,
 * as L1's VMLAUNCH/VMRESUME would have had it on this CPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nested/nested.h"
#include "vmx/vmx_arch.h"

/* A VM-entry failure exit of vmcs02 becomes the same failed entry in
 * vmcs12 (SDM 27.8): reason with bit 31, the CPU's qualification, no
 * event information; the guest state L1 wrote is left alone. */
static void test_entry_failure(void **state)
{
    struct vmcs12 v;

    (void)state;
    memset(&v, 0x5a, sizeof(v));
    vmcs12_set_entry_failure(&v, EXIT_REASON_INVALID_STATE, ENTRY_FAIL_PDPTE);
    assert_int_equal(v.vm_exit_reason, 0x80000021);
    assert_int_equal(v.exit_qualification, ENTRY_FAIL_PDPTE);
    assert_int_equal(v.vm_exit_intr_info, 0);
    assert_int_equal(v.idt_vectoring_info_field, 0);
    assert_int_equal(v.guest_rip, 0x5a5a5a5a5a5a5a5aULL);
    assert_int_equal(v.launch_state, 0x5a5a5a5a);
    vmcs12_set_entry_failure(&v, EXIT_REASON_MSR_LOAD_FAIL, 3);
    assert_int_equal(v.vm_exit_reason, 0x80000022);
    assert_int_equal(v.exit_qualification, 3);
}

/* VMfailValid(n) of vmcs02 is VMfailValid(n) to L1; VMfailInvalid (no
 * current VMCS: turtle's own fault) and numbers the SDM does not define
 * have no answer (0: the L1 stops). */
static void test_vmfail(void **state)
{
    (void)state;
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_ENTRY_INVALID_CONTROL_FIELD), 7);
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD), 8);
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_VMRESUME_NONLAUNCHED_VMCS), 5);
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS), 26);
    assert_int_equal(vmcs02_vmfail_error12(false, 7), 0);
    assert_int_equal(vmcs02_vmfail_error12(true, 0), 0);
    assert_int_equal(vmcs02_vmfail_error12(true, 29), 0);
    assert_int_equal(vmcs02_vmfail_error12(true, 1ULL << 32 | 7), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_failure),
        cmocka_unit_test(test_vmfail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
