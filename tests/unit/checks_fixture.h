/*
 * The rest of turtle as nested/checks.c sees it, with capability values
 * like Bochs's tigerlake model, and the vmcs12s test_checks.c and
 * test_checks_fuzz.c start from.
 */
#ifndef TURTLE_TESTS_CHECKS_FIXTURE_H
#define TURTLE_TESTS_CHECKS_FIXTURE_H

#include "nested/checks.h"

/* The L1 memory the checks may read (guest_copy_from). */
extern u8 l1_ram[64 << 10];
/* How many messages the checks printed (kprintf). */
extern int check_messages;
/* What nested_host_has_cet() answers. */
extern bool host_cet;

/* The capability MSRs of the checks' L1, from nested_*_allowed (the tests
 * change those): a struct nested_caps as nested/caps.c builds one. */
const struct nested_caps *C(void);
/* IA32_VMX_VMFUNC as C() shows it, with the VMFUNC secondary control. */
extern u64 vmfunc_cap;
/* nested_*_allowed and nested_ept_vpid_cap as the tests start from. */
void set_caps(void);
/* A vmcs12 as a 64-bit L1 sets it up for a 64-bit L2 (turtle-as-L1 style). */
void valid_vmcs12(struct vmcs12 *v);
bool all_pass(const struct vmcs12 *v, u64 *qual);

/* One bad field at a time: which check refuses it. */
enum area { CONTROLS, HOST, GUEST };
enum area refused_by(const struct vmcs12 *v, u64 *qual);

/* test_checks_fuzz.c */
void test_fuzz(void **state);
void test_seg_memo(void **state);

#endif
