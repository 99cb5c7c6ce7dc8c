/*
 * RDMSR/WRMSR of the MSRs the bitmap intercepts (all but the pass-through
 * list in vmx/vmcs01.c). Each MSR turtle knows is emulated per guest; any
 * other index raises #GP(0), as hardware does for an MSR it lacks. Of the
 * speculation controls (vmx/spec_caps.h) only IA32_ARCH_CAPABILITIES is
 * here (read-only, the bits that describe the CPU): IA32_SPEC_CTRL,
 * IA32_PRED_CMD and IA32_FLUSH_CMD pass through (vmx/vmcs01.c).
 */
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/spec_caps.h"

#define MISC_ENABLE_VALUE       0x1     /* fast strings */
#define MSR_IA32_TSC_ADJUST     0x0000003b
#define CPUID7_EBX_TSC_ADJUST   BIT(1)
#define EFER_GUEST_WRITABLE     (EFER_SCE | EFER_LME | EFER_NXE)

/* IA32_FEATURE_CONTROL as a guest sees it: nested guests find VMX enabled
 * and the MSR locked, so they never try to write it (SDM 24.7). */
static u64 feature_control(const struct vcpu *vcpu)
{
    return vcpu->vm->nested ? (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX) : 0;
}

/* IA32_TSC_ADJUST exists where CPUID.7.0:EBX[1] says so (passed through). */
static bool has_tsc_adjust(void)
{
    struct cpuid_regs r;

    if (cpuid(0).eax < 7)
        return false;
    cpuid_count(7, 0, &r);
    return r.ebx & CPUID7_EBX_TSC_ADJUST;
}

/* MSRs other layers own: the VMX capability MSRs (nested/, for a nested
 * VM) and the local APIC's (IA32_APIC_BASE, x2APIC, TSC deadline). Out of
 * line, so the common MSRs' path stays short. True if the access is done;
 * false raises #GP. */
static __attribute__((noinline)) bool rdmsr_elsewhere(struct vcpu *vcpu, u32 msr, u64 *v)
{
    bool gp = false;

    if (vcpu->nvmx && nested_ops->msr_read(vcpu, msr, v))
        return true;
    return platform_msr_read(vcpu, msr, v, &gp) && !gp;
}

static __attribute__((noinline)) bool wrmsr_elsewhere(struct vcpu *vcpu, u32 msr, u64 v)
{
    bool gp = false;

    return platform_msr_write(vcpu, msr, v, &gp) && !gp;
}

void handle_rdmsr(struct vcpu *vcpu, u64 qual)
{
    u32 msr = (u32)vcpu->regs.gpr[REG_RCX];
    u64 v;

    (void)qual;
    switch (msr) {
    case MSR_IA32_TSC:
        v = rdtsc() + vcpu->vm->tsc_offset;
        break;
    case MSR_IA32_EFER:
        v = vmcs_read64(GUEST_IA32_EFER);
        break;
    case MSR_IA32_PAT:
        /* The VMCS field exists only with the PAT controls; without them
         * turtle switches the MSR by hand (vmx/sched.c). */
        v = (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) ? vmcs_read64(GUEST_IA32_PAT) : vcpu->msrs.pat;
        break;
    case MSR_IA32_MISC_ENABLE:
        v = MISC_ENABLE_VALUE;
        break;
    case MSR_IA32_FEATURE_CONTROL:
        v = feature_control(vcpu);
        break;
    case MSR_IA32_BIOS_SIGN_ID:
        v = spec_caps.bios_sign_id;     /* the microcode signature, as after CPUID.1 */
        break;
    case MSR_IA32_TSC_ADJUST:
        if (!has_tsc_adjust())
            goto gp;
        v = 0;                          /* the guest's TSC is the host's, never moved */
        break;
    case MSR_IA32_ARCH_CAPABILITIES:
        if (!spec_caps.has_arch_cap)
            goto gp;
        v = spec_caps.arch_cap & ARCH_CAP_DESCRIBES_CPU;
        break;
    case MSR_IA32_DEBUGCTL:
        if (!vmx_caps.has_debugctl) {   /* a CPU without it (Bochs): #GP as there */
            inject_gp0(vcpu);
            return;
        }
        v = vmcs_read64(GUEST_IA32_DEBUGCTL);
        break;
    default:
        if (rdmsr_elsewhere(vcpu, msr, &v))
            break;
        goto gp;
    }
    vcpu->regs.gpr[REG_RAX] = (u32)v;
    vcpu->regs.gpr[REG_RDX] = v >> 32;
    skip_instruction();
    return;
gp:
    inject_gp0(vcpu);
}

void handle_wrmsr(struct vcpu *vcpu, u64 qual)
{
    u32 msr = (u32)vcpu->regs.gpr[REG_RCX];
    u64 v = (vcpu->regs.gpr[REG_RDX] << 32) | (u32)vcpu->regs.gpr[REG_RAX];

    (void)qual;
    switch (msr) {
    case MSR_IA32_EFER: {
        u64 old = vmcs_read64(GUEST_IA32_EFER);
        if (v & ~(EFER_GUEST_WRITABLE | EFER_LMA))
            goto gp;
        /* LME may not change while paging is on (SDM 10.8.5). */
        if ((guest_read_cr0() & X86_CR0_PG) && ((v ^ old) & EFER_LME))
            goto gp;
        vmcs_write64(GUEST_IA32_EFER, (v & ~EFER_LMA) | (old & EFER_LMA));
        guest_update_paging_mode(vcpu);
        break;
    }
    case MSR_IA32_PAT:
        if (!x86_pat_valid(v))
            goto gp;
        if (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) {
            vmcs_write64(GUEST_IA32_PAT, v);
        } else {
            vcpu->msrs.pat = v;
            wrmsr(MSR_IA32_PAT, v);     /* the vCPU's state is on this CPU */
        }
        break;
    case MSR_IA32_MISC_ENABLE:
        if (v != MISC_ENABLE_VALUE)
            goto gp;
        break;
    case MSR_IA32_DEBUGCTL:
        /* The bits of LBR and BTF the CPU has (vmx/caps.c); the VMCS loads
         * the value at entry and saves it at exit. */
        if (!vmx_caps.has_debugctl || (v & ~vmx_caps.debugctl_bits))
            goto gp;
        vmcs_write64(GUEST_IA32_DEBUGCTL, v);
        break;
    case MSR_IA32_BIOS_SIGN_ID:
        break;                          /* software writes 0 before CPUID.1: taken, no effect */
    case MSR_IA32_TSC_ADJUST:
        /* Adjusting would move the guest's TSC, which turtle does not
         * offset (IA32_TSC writes #GP too): only the value it has. */
        if (!has_tsc_adjust() || v)
            goto gp;
        break;
    case MSR_IA32_TSC:
    case MSR_IA32_FEATURE_CONTROL:      /* locked */
    case MSR_IA32_ARCH_CAPABILITIES:    /* read-only */
        goto gp;
    default:
        if (wrmsr_elsewhere(vcpu, msr, v))
            break;
        goto gp;
    }
    skip_instruction();
    return;
gp:
    inject_gp0(vcpu);
}
