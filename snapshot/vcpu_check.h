/*
 * Value checks on a snapshot's vCPU state, beyond the file's integrity
 * (parse.h) and KVM's nested-state checks (nested_check.h): what the
 * KVM_SET_* ioctls refuse (KVM's kvm_is_valid_sregs, KVM_SET_VCPU_EVENTS,
 * KVM_SET_DEBUGREGS and KVM_SET_MP_STATE rules), and what turtle needs of
 * the nested state in its own RAM: the VMXON region and the current vmcs12
 * inside the L1's memory, and CR4.VMXE while L1 is in VMX operation.
 * Pure and freestanding; every message names its check ("sregs: ...").
 */
#ifndef TURTLE_SNAPSHOT_VCPU_CHECK_H
#define TURTLE_SNAPSHOT_VCPU_CHECK_H

#include "snapshot/parse.h"

/* NULL if vCPU vcpu of an accepted view passes, else the first failure. */
const char *tsnap_check_vcpu(const struct tsnap_view *view, u32 vcpu);

#endif
