/*
 * Host tests of what L1 sees when the CPU refuses vmcs02 although vmcs12
 * passed turtle's checks (nested/vmcs02_refused.c): the CPU's own answer,
 * as L1's VMLAUNCH/VMRESUME would have had it on this CPU. The rest of
 * turtle is faked: the fakes record what nested/ asked of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "nested/nested.h"
#include "vmx/vmx_arch.h"

/* --- fakes -------------------------------------------------------------- */

static char last_line[256];
static int lines, dumps, host_loads, switches, fails;
static u32 fail_error;
static bool switched_before_fail;

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_line, sizeof(last_line), fmt, ap);
    va_end(ap);
    return ++lines;
}
void vmcs_dump(void) { dumps++; }
void load_vmcs12_host_state(struct vcpu *vcpu) { (void)vcpu; host_loads++; }
void nested_switch_to_l1(struct vcpu *vcpu) { vcpu->guest_mode = false; switches++; }
void nested_vmx_fail(struct vcpu *vcpu, u32 error)
{
    switched_before_fail = !vcpu->guest_mode;
    fail_error = error;
    fails++;
}

static struct vm vm;
static struct nested_vmx nvmx;
static struct vcpu vcpu;

static void reset(void)
{
    lines = host_loads = switches = fails = 0;
    fail_error = 0;
    last_line[0] = 0;
    memset(&nvmx, 0x5a, sizeof(nvmx));
    vcpu.vm = &vm;
    vcpu.nvmx = &nvmx;
    vcpu.guest_mode = true;
    vcpu.events.exception_pending = true;
    vcpu.events.reinject = true;
}

/* --- tests -------------------------------------------------------------- */

/* A VM-entry failure exit of vmcs02 becomes the same failed entry in
 * vmcs12 (SDM 27.8): reason with bit 31, the CPU's qualification, no
 * event information; the guest state L1 wrote is left alone, L1's host
 * state is loaded, and one line names the L1. */
static void test_entry_failure(void **state)
{
    (void)state;
    reset();
    nested_vmcs02_entry_failed(&vcpu, VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE,
                               ENTRY_FAIL_PDPTE);
    assert_int_equal(nvmx.cached12.vm_exit_reason, 0x80000021);
    assert_int_equal(nvmx.cached12.exit_qualification, ENTRY_FAIL_PDPTE);
    assert_int_equal(nvmx.cached12.vm_exit_intr_info, 0);
    assert_int_equal(nvmx.cached12.idt_vectoring_info_field, 0);
    assert_int_equal(nvmx.cached12.guest_rip, 0x5a5a5a5a5a5a5a5aULL);
    assert_int_equal(host_loads, 1);
    assert_int_equal(fails, 0);
    assert_int_equal(lines, 1);
    assert_string_equal(last_line, "turtle: nested: 'l1': hardware refused vmcs02 (reason 33), passed to L1\n");
    vmcs12_set_entry_failure(&nvmx.cached12, EXIT_REASON_MSR_LOAD_FAIL, 3);
    assert_int_equal(nvmx.cached12.vm_exit_reason, 0x80000022);
    assert_int_equal(nvmx.cached12.exit_qualification, 3);
}

/* VMfailValid(n) of vmcs02 is VMfailValid(n) of L1's instruction, on
 * vmcs01, after L2's pending events are dropped; a VMLAUNCH stays
 * unlaunched. VMfailInvalid (no current VMCS: turtle's own fault) and
 * numbers the SDM does not define have no answer: the L1 must stop. */
static void test_vmfail(void **state)
{
    (void)state;
    reset();
    nvmx.launch_pending = true;
    assert_true(nested_l2_entry_vmfail(&vcpu, true, VMXERR_ENTRY_INVALID_CONTROL_FIELD));
    assert_int_equal(fails, 1);
    assert_int_equal(fail_error, 7);
    assert_true(switched_before_fail);
    assert_false(nvmx.launch_pending);
    assert_false(vcpu.events.exception_pending);
    assert_false(vcpu.events.reinject);
    assert_int_equal(host_loads, 0);
    assert_string_equal(last_line, "turtle: nested: 'l1': hardware refused vmcs02 (VMfailValid 7), passed to L1\n");

    reset();
    assert_false(nested_l2_entry_vmfail(&vcpu, false, 0));
    assert_false(nested_l2_entry_vmfail(&vcpu, true, 0));
    assert_false(nested_l2_entry_vmfail(&vcpu, true, 29));
    assert_false(nested_l2_entry_vmfail(&vcpu, true, 1ULL << 32 | 7));
    assert_int_equal(fails + switches + lines, 0);
    assert_true(vcpu.guest_mode);

    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD), 8);
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_VMRESUME_NONLAUNCHED_VMCS), 5);
    assert_int_equal(vmcs02_vmfail_error12(true, VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS), 26);
}

/* A hostile L1 can make the CPU refuse vmcs02 in a loop: the console gets
 * a bounded number of lines and one VMCS dump, and L1 its answer each time. */
static void test_bounded_log(void **state)
{
    (void)state;
    reset();
    for (int i = 0; i < 1000; i++)
        nested_vmcs02_entry_failed(&vcpu, VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE, 0);
    assert_int_equal(host_loads, 1000);
    assert_int_equal(lines, 50 - 2);            /* the earlier tests printed 2 of the 50 */
    assert_int_equal(dumps, 1);                 /* the run's first refusal dumped the VMCS */
}

int main(void)
{
    strcpy(vm.name, "l1");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_failure),
        cmocka_unit_test(test_vmfail),
        cmocka_unit_test(test_bounded_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
