/* VM-entry checks on vmcs12 (nested/checks.c). */
#ifndef TURTLE_NESTED_CHECKS_H
#define TURTLE_NESTED_CHECKS_H

#include "nested/nested.h"

u32 nested_proc2(const struct vmcs12 *v);
bool nested_check_controls(const struct vmcs12 *v);
bool nested_check_host_state(const struct vmcs12 *v, bool l1_long_mode);
/* False on failure, with *qual set to the VM-entry failure qualification:
 * ENTRY_FAIL_PDPTE (2) for a PAE PDPTE, ENTRY_FAIL_VMCS_LINK_PTR (4) for
 * the VMCS link pointer, ENTRY_FAIL_DEFAULT (0) for anything else. */
bool nested_check_guest_state(struct vm *vm, const struct vmcs12 *v, u64 *qual);

#endif
