/*
 * MSR lists. Each entry is {u32 index, u32 reserved (must be 0), u64 value}.
 * A load list (VM entry or VM exit) may name the MSRs turtle switches per
 * vCPU (STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, TSC_AUX: written to the
 * CPU directly) and SYSENTER_CS/ESP/EIP (written to the current VMCS). Any
 * other index fails the load, as a CPU would for a write that faults (SDM
 * 27.4: FS/GS base, x2APIC and SMM MSRs are never allowed), and so do EFER
 * and PAT, which a CPU would load: L1 has the load-EFER/PAT controls
 * instead (docs/nested.md, "Not yet done"). A store list may name the same
 * MSRs plus EFER and PAT (read from the current VMCS) and the TSC.
 * TSC_AUX is there only when the CPU has it (RDTSCP).
 */
#include "kernel/x86.h"
#include "nested/msr_list.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

struct msr_entry {
    u32 index;
    u32 reserved;
    u64 value;
} __packed;
_Static_assert(sizeof(struct msr_entry) == 16, "MSR-list entry (SDM Table 25-15)");

static bool write_msr(u32 index, u64 v)
{
    switch (index) {
    case MSR_KERNEL_GS_BASE: case MSR_LSTAR: case MSR_CSTAR:
        if (!is_canonical(v))
            return false;
        wrmsr(index, v);
        return true;
    case MSR_SFMASK: case MSR_TSC_AUX:
        if (v >> 32)                    /* bits 63:32 reserved: WRMSR would #GP */
            return false;
        if (index == MSR_TSC_AUX && !vmx_caps.has_tsc_aux)
            return false;               /* no RDTSCP, no such MSR */
        wrmsr(index, v);
        return true;
    case MSR_STAR:
        wrmsr(index, v);
        return true;
    case MSR_IA32_SYSENTER_CS:
        vmcs_write32(GUEST_SYSENTER_CS, v);
        return true;
    case MSR_IA32_SYSENTER_ESP:
        vmcs_writel(GUEST_SYSENTER_ESP, v);
        return is_canonical(v);
    case MSR_IA32_SYSENTER_EIP:
        vmcs_writel(GUEST_SYSENTER_EIP, v);
        return is_canonical(v);
    default:
        return false;
    }
}

static bool read_msr(const struct vcpu *vcpu, u32 index, u64 *v)
{
    switch (index) {
    case MSR_TSC_AUX:
        if (!vmx_caps.has_tsc_aux)
            return false;               /* no RDTSCP, no such MSR */
        *v = rdmsr(index);
        return true;
    case MSR_KERNEL_GS_BASE: case MSR_LSTAR: case MSR_CSTAR: case MSR_STAR: case MSR_SFMASK:
        *v = rdmsr(index);
        return true;
    case MSR_IA32_SYSENTER_CS:  *v = vmcs_read32(GUEST_SYSENTER_CS); return true;
    case MSR_IA32_SYSENTER_ESP: *v = vmcs_readl(GUEST_SYSENTER_ESP); return true;
    case MSR_IA32_SYSENTER_EIP: *v = vmcs_readl(GUEST_SYSENTER_EIP); return true;
    case MSR_IA32_EFER:         *v = vmcs_read64(GUEST_IA32_EFER); return true;
    case MSR_IA32_PAT:
        /* Without the PAT controls the VMCS has no PAT field and the guest
         * runs with the CPU's own (SDM 25.4.2). */
        *v = (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) ? vmcs_read64(GUEST_IA32_PAT) : rdmsr(MSR_IA32_PAT);
        return true;
    case MSR_IA32_TSC:          *v = rdtsc() + vcpu->vm->tsc_offset; return true;
    default:                    return false;
    }
}

u32 msr_list_load(struct vcpu *vcpu, u64 addr, u32 count, bool l2)
{
    (void)l2;
    for (u32 i = 0; i < count; i++) {
        struct msr_entry e;
        if (!guest_copy_from(vcpu->vm, &e, addr + (u64)i * sizeof(e), sizeof(e)) || e.reserved ||
            !write_msr(e.index, e.value))
            return i + 1;
    }
    return 0;
}

bool msr_list_store(struct vcpu *vcpu, u64 addr, u32 count)
{
    for (u32 i = 0; i < count; i++) {
        struct msr_entry e;
        u64 at = addr + (u64)i * sizeof(e);
        u64 value;
        if (!guest_copy_from(vcpu->vm, &e, at, sizeof(e)) || e.reserved || !read_msr(vcpu, e.index, &value))
            return false;
        guest_copy_to(vcpu->vm, at + 8, &value, 8);
    }
    return true;
}
