/* Nested-VMX state as struct kvm_nested_state (nested/state.c). */
#ifndef TURTLE_NESTED_STATE_H
#define TURTLE_NESTED_STATE_H

#include "snapshot/format.h"

struct vcpu;

/* What turtle keeps beside KVM's structure (TSNAP_SEC_VCPU_TURTLE). */
struct nested_extra {
    bool l1_timer_on;           /* L1's VMX-preemption timer runs for L2 */
    u64 l1_timer_left;          /* TSC cycles left until it fires */
};

/* Writes vcpu's nested state into buf (TSNAP_NESTED_SIZE_MAX bytes) and
 * returns its size; 0 with *why set when it cannot be taken. The vCPU's
 * current VMCS is loaded here (vmcs02 while L2 runs). */
u32 nested_get_state(struct vcpu *vcpu, void *buf, struct nested_extra *x, const char **why);
/* Sets a nested state that passed KVM's checks on a new vCPU (vmcs01
 * current, its RAM and L1 state loaded); in guest mode also the SDM's
 * VM-entry checks, then vmcs02 becomes current. NULL, or why not. */
const char *nested_set_state(struct vcpu *vcpu, const void *buf, const struct nested_extra *x);

#endif
