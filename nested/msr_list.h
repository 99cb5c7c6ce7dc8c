/* The VM-entry/VM-exit MSR lists of vmcs12 (SDM 25.7.2, 27.4, 28.6). */
#ifndef TURTLE_NESTED_MSR_LIST_H
#define TURTLE_NESTED_MSR_LIST_H

#include "vmx/vcpu.h"

/* Loads count entries from L1-physical addr into the current VMCS's guest
 * (l2: vmcs02 for L2; else vmcs01 for L1). Returns 0, or the 1-based index
 * of the entry that failed (the VM-entry failure qualification). */
u32 msr_list_load(struct vcpu *vcpu, u64 addr, u32 count, bool l2);
/* Stores the current guest's values of the listed MSRs. False on failure. */
bool msr_list_store(struct vcpu *vcpu, u64 addr, u32 count);

#endif
