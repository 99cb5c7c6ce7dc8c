/* Nested-VMX state as struct kvm_nested_state (nested/state.c). */
#ifndef TURTLE_NESTED_STATE_H
#define TURTLE_NESTED_STATE_H

#include "snapshot/format.h"

struct vcpu;

/* Writes vcpu's nested state into buf (TSNAP_NESTED_SIZE_MAX bytes) and
 * returns its size; 0 with *why set when it cannot be taken. vmcs01 is
 * current (the vCPU runs in L1). */
u32 nested_get_state(struct vcpu *vcpu, void *buf, const char **why);
/* Sets a checked nested state on a new vCPU (vmcs01 current, its RAM
 * loaded). NULL, or why not. */
const char *nested_set_state(struct vcpu *vcpu, const void *buf);

#endif
