/* Building vmcs02 and copying L2 state back (nested/vmcs02.c). */
#ifndef TURTLE_NESTED_VMCS02_H
#define TURTLE_NESTED_VMCS02_H

#include "nested/nested.h"
#include "vmx/ept.h"

/* What L1 had in vmcs01 when it entered L2 (for controls L1 left off). */
struct l1_state {
    u64 efer, pat, dr7, debugctl;
};

void vmcs02_init(void);
bool vmcs02_guest_field(u32 field);
/* With vmcs02 current. prepare_vmcs02() builds all of vmcs02 from vmcs12;
 * prepare_vmcs02_dirty() only what changed (n->dirty_fields, and what
 * comes from outside vmcs12). */
void prepare_vmcs02(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1);
void prepare_vmcs02_dirty(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1);
/* vmcs02's EPT pointer: the current EPT02's (L2's VMFUNC switched it). */
void vmcs02_load_eptp(struct vcpu *vcpu);
/* The full sync (KVM's sync_vmcs02_to_vmcs12): every guest-state field L2
 * can change, from vmcs02 into v. Every reflected exit runs it, so vmcs12
 * is complete whenever L1 runs; a snapshot of L1 in L2 needs it too. */
void sync_vmcs02_to_vmcs12(struct vcpu *vcpu, struct vmcs12 *v);
void copy_exit_info(struct vmcs12 *v);
/* Debug mode (nested_verify): the fields prepare_vmcs02() writes, read
 * from vmcs02 into vals (VMCS02_VERIFY_FIELDS of them). */
#define VMCS02_VERIFY_FIELDS    96
void vmcs02_snapshot(u64 *vals);
/* True with *field when a and b differ where L2 or the CPU could tell. */
bool vmcs02_snapshot_diff(const u64 *a, const u64 *b, u32 *field, u64 *x, u64 *y);

#endif
