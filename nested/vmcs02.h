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
/* With vmcs02 current. */
void prepare_vmcs02(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1);
void sync_vmcs02_to_vmcs12(struct vcpu *vcpu, struct vmcs12 *v);
void copy_exit_info(struct vmcs12 *v);

#endif
