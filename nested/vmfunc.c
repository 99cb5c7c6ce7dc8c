/*
 * VM functions for L2 (SDM 26.5.6): VMFUNC leaf 0, EPTP switching.
 *
 * vmcs02 has "enable VM functions" exactly when vmcs12 has it, so an L2
 * whose L1 left it off gets #UD from the CPU itself. vmcs02's VM-function
 * controls are always 0: every VMFUNC of L2 then exits to turtle (exit
 * 59), which does what the CPU would have done with vmcs12's controls
 * (KVM does the same):
 *   - leaf 0 enabled in vmcs12, ECX < 512, and the EPTP at index ECX of
 *     L1's EPTP list valid as a VM entry would check it (SDM 27.2.1.1):
 *     vmcs12's EPT pointer becomes that EPTP, L2 goes on with the EPT02
 *     that shadows its EPT12 (nested/ept02.c keeps one per EPTP12, so
 *     switching back and forth rebuilds nothing), past the instruction;
 *   - anything else: the VMFUNC exit goes to L1 with L2's state as it was.
 * L1's list is read at the VMFUNC, as the CPU reads it, so L1 may change
 * it at any time without telling anyone. With vmcs12's monitor trap flag
 * the completed VMFUNC is followed by the MTF VM exit the CPU would make
 * at that instruction boundary (SDM 26.5.2), unless a single-step trap is
 * pending: that #DB comes first (it outranks MTF), and its delivery ends
 * the boundary. The EPTP-index field exists only
 * with "EPT-violation #VE", which turtle does not show (nor has KVM's
 * vmcs12 a place for it): L1 sees the switch through the EPT pointer.
 */
#include "nested/nested.h"
#include "nested/vmcs02.h"
#include "vmx/vmx.h"

#define VMFUNC_LEAF_EPTP_SWITCHING  0       /* EAX */
#define EPTP_LIST_ENTRIES           512     /* one 4 KiB page of EPTPs */

bool nested_vmfunc(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    struct vmcs12 *v = &n->cached12;
    u32 leaf = (u32)vcpu->regs.gpr[REG_RAX], index = (u32)vcpu->regs.gpr[REG_RCX];
    u64 eptp = ~0ULL;                   /* outside L1 RAM: reads as all ones, invalid */

    if (leaf != VMFUNC_LEAF_EPTP_SWITCHING || !(v->vm_function_control & VMX_VMFUNC_EPTP_SWITCHING) ||
        index >= EPTP_LIST_ENTRIES)
        return false;
    guest_copy_from(vcpu->vm, &eptp, v->eptp_list_address + 8ULL * index, sizeof(eptp));
    if (!nested_eptp_valid(&n->caps, eptp))
        return false;
    if (!ept02_prepare(vcpu, eptp)) {
        vm_stop(vcpu->vm, true, "nested: no memory for the EPT02 of L2's VMFUNC");
        return true;
    }
    v->ept_pointer = eptp;
    vmcs02_load_eptp(vcpu);
    skip_instruction();
    if ((v->cpu_based_vm_exec_control & CPU_BASED_MONITOR_TRAP_FLAG) &&
        !(vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_TF)) {
        static const u64 no_qual;
        nested_vmx_vmexit(vcpu, EXIT_REASON_MONITOR_TRAP_FLAG, &no_qual);
    }
    return true;
}
