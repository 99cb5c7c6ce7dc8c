/* VM-entry checks on vmcs12 (nested/checks.c). */
#ifndef TURTLE_NESTED_CHECKS_H
#define TURTLE_NESTED_CHECKS_H

#include "nested/nested.h"

u32 nested_proc2(const struct vmcs12 *v);
bool nested_check_controls(const struct vmcs12 *v);
bool nested_check_host_state(const struct vmcs12 *v, bool l1_long_mode);
/* False with *qual set (0, or 4 for the VMCS link pointer) on failure. */
bool nested_check_guest_state(struct vm *vm, const struct vmcs12 *v, u64 *qual);

#endif
