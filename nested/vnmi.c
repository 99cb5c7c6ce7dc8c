/*
 * Virtual-NMI blocking of an L2 whose vmcs12 has "virtual NMIs" (SDM
 * 26.3, 27.3.1.5, 28.2.3). The CPU keeps the blocking in vmcs02's guest
 * interruptibility state; turtle corrects it in two cases.
 *
 * - An EPT02 fault turtle fixed without L1 seeing it, in an IRET that
 *   removed the blocking (qualification bit 12): the IRET runs again, so
 *   the blocking it removed comes back first, as L1 would set it if it
 *   handled the exit (nested_vnmi_renew()).
 *
 * - Blocking the CPU did not load and did not set. A VM entry loads
 *   blocking by NMI from the guest interruptibility state, and in VMX
 *   non-root operation with virtual NMIs only the delivery of an injected
 *   NMI sets it. Bochs 2.7 sets its virtual-NMI mask at an entry whose
 *   state has the bit but never clears it at one whose state does not:
 *   the blocking an L2 left behind (until an IRET in some later guest)
 *   shows up in the next vmcs02 with virtual NMIs, whatever its state
 *   said. With an L1 that uses virtual NMIs for its own guests (KVM), an
 *   L3 left blocked at its exit made its hypervisor (the L2) blocked too,
 *   L1 kept that state, and the next L3 came back from its first exit
 *   blocked: L1 then injected an NMI into it and failed the entry check of
 *   rule 66 (docs/nested.md). So turtle notes before each entry to L2
 *   whether the blocking can be there (loaded, or an NMI injected) and,
 *   when it cannot, clears it at the exit (nested_vnmi_exit()).
 */
#include "nested/nested.h"
#include "vmx/vmx.h"

static bool vnmi(const struct nested_vmx *n)
{
    return n->cached12.pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS;
}

/* Only with virtual NMIs (nested_vnmi_entry()). */
void vnmi_note_entry(struct vcpu *vcpu)
{
    u32 event = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);

    vcpu->nvmx->vnmi_may_block = (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI) ||
                                 ((event & INTR_INFO_VALID_MASK) &&
                                  (event & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR);
}

/* Only with virtual NMIs, after an entry that could not leave L2 blocked
 * (nested_vnmi_exit()). */
void vnmi_check_exit(void)
{
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
    if (intr & GUEST_INTR_STATE_NMI)
        vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr & ~GUEST_INTR_STATE_NMI);
}

void nested_vnmi_renew(struct vcpu *vcpu, u64 qual)
{
    if (!(qual & EPT_QUAL_NMI_UNBLOCK) || !vnmi(vcpu->nvmx) ||
        (vmcs_read32(IDT_VECTORING_INFO_FIELD) & VECTORING_INFO_VALID_MASK))
        return;
    vmcs_write32(GUEST_INTERRUPTIBILITY_INFO,
                 vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) | GUEST_INTR_STATE_NMI);
}
