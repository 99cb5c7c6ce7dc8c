/*
 * The VMX capability MSRs (0x480-0x491) as L1 sees them: what turtle can
 * emulate, intersected with what this CPU has (vmx/caps.c). The revision
 * is vmcs12's, the region 4 KiB write-back, the TRUE_* controls present.
 * docs/nested.md lists each feature and why it is or is not shown.
 */
#include "kernel/x86.h"
#include "nested/apicv12.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

#define MISC_MSR_LIST_512           0       /* bits 27:25 = 0: 512 entries */
#define CR4_MCE                     BIT(6)  /* CR4.MCE: CPUID.1:EDX.MCE, which turtle hides */

u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
static u32 phys_addr_width;
u32 nested_exit_allowed, nested_entry_allowed;
u64 nested_ept_vpid_cap;
u64 nested_vmfunc_allowed;
u64 nested_debugctl_allowed;

void nested_caps_init(void)
{
    const struct vmx_caps *c = &vmx_caps;

    phys_addr_width = cpuid(0x80000008).eax & 0xff;
    nested_pin_allowed = PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR | PIN_BASED_EXT_INTR_MASK |
                         PIN_BASED_NMI_EXITING | PIN_BASED_VMX_PREEMPTION_TIMER |
                         PIN_BASED_VIRTUAL_NMIS;
    nested_pin_allowed &= c->pin.may_be_1;

    nested_proc_allowed = CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR | CPU_BASED_INTR_WINDOW_EXITING |
                          CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_HLT_EXITING |
                          CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING |
                          CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING |
                          CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
                          CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
                          CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
                          CPU_BASED_USE_IO_BITMAPS | CPU_BASED_MONITOR_TRAP_FLAG |
                          CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MONITOR_EXITING |
                          CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS |
                          CPU_BASED_NMI_WINDOW_EXITING | CPU_BASED_TPR_SHADOW;
    nested_proc_allowed &= c->proc.may_be_1;
    /* Virtual NMIs and NMI-window exiting go to vmcs02 as L1 set them: the
     * CPU keeps L2's virtual-NMI blocking (SDM 26.3) and opens the window.
     * The window needs virtual NMIs (SDM 27.2.1.1): shown only together. */
    if (!(nested_pin_allowed & PIN_BASED_VIRTUAL_NMIS))
        nested_proc_allowed &= ~CPU_BASED_NMI_WINDOW_EXITING;

    nested_proc2_allowed = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_DESC |
                           SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_VPID |
                           SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_UNRESTRICTED_GUEST |
                           SECONDARY_EXEC_RDRAND_EXITING | SECONDARY_EXEC_RDSEED_EXITING |
                           APICV12_PROC2;
    nested_proc2_allowed &= c->proc2.may_be_1;
    /* INVPCID in L2 runs natively as L1 allows it (vmcs02 copies the
     * control), and exits with INVLPG exiting, which L1 then gets. Shown
     * where turtle gives it to its own guests. XSAVES is not: turtle does
     * not virtualise IA32_XSS (vmx/xsave.c). */
    nested_proc2_allowed |= vmx_policy->proc2 & SECONDARY_EXEC_ENABLE_INVPCID;
    /* APIC virtualization for L2 runs on the CPU's own (nested/apicv12.c):
     * each control as the CPU has it. Posted interrupts are never shown. */
    if (!(nested_proc_allowed & CPU_BASED_TPR_SHADOW))
        nested_proc2_allowed &= ~(u32)(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | SECONDARY_EXEC_APIC_REGISTER_VIRT |
                                       SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);
    if (!(c->ept_vpid & VMX_VPID_INVVPID_BIT))
        nested_proc2_allowed &= ~SECONDARY_EXEC_ENABLE_VPID;   /* VPIDs come with INVVPID */
    /* PML logs what sets EPT12's dirty flags, which turtle sets itself
     * (nested/ept02.c, nested/pml.c): with EPT A/D only. */
    if ((c->proc2.may_be_1 & SECONDARY_EXEC_ENABLE_PML) && (c->ept_vpid & VMX_EPT_AD_BIT))
        nested_proc2_allowed |= SECONDARY_EXEC_ENABLE_PML;
    /* VM functions: EPTP switching, the only one turtle emulates
     * (nested/vmfunc.c), where the CPU has it (vmcs02 enables VM functions
     * so that L2's VMFUNC exits) and L1 has EPT to switch. */
    if ((c->proc2.may_be_1 & SECONDARY_EXEC_ENABLE_VMFUNC) && (c->vmfunc & VMX_VMFUNC_EPTP_SWITCHING) &&
        (nested_proc2_allowed & SECONDARY_EXEC_ENABLE_EPT)) {
        nested_proc2_allowed |= SECONDARY_EXEC_ENABLE_VMFUNC;
        nested_vmfunc_allowed = VMX_VMFUNC_EPTP_SWITCHING;
    }

    /* The debug controls are always there (default1, SDM A.4/A.5): vmcs02
     * loads and saves DR7 and IA32_DEBUGCTL itself (vmx/vmcs01.c). */
    nested_exit_allowed = VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR | VM_EXIT_SAVE_DEBUG_CONTROLS |
                          VM_EXIT_HOST_ADDR_SPACE_SIZE |
                          VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |
                          VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER | VM_EXIT_ACK_INTR_ON_EXIT;
    nested_exit_allowed &= c->exit.may_be_1;

    nested_entry_allowed = VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR | VM_ENTRY_LOAD_DEBUG_CONTROLS |
                           VM_ENTRY_IA32E_MODE |
                           VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER;
    nested_entry_allowed &= c->entry.may_be_1;
    nested_debugctl_allowed = c->debugctl_bits;

    /* EPT: 4-level walks, WB and UC paging structures (UC honoured for a
     * restored L1 that was shown it, not shown to a new one: KVM does not
     * offer it, and an L1 shown it could not move to KVM), 2 MiB (and 1 GiB
     * when the CPU has them) pages, INVEPT single/all-context, accessed and
     * dirty flags when the CPU has them (nested/ept02.c sets them in
     * EPT12). VPID with every INVVPID type. */
    nested_ept_vpid_cap = c->ept_vpid & (VMX_EPT_EXECUTE_ONLY_BIT | VMX_EPT_PAGE_WALK_4_BIT |
                                         VMX_EPTP_UC_BIT | VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT |
                                         VMX_EPT_1GB_PAGE_BIT | VMX_EPT_INVEPT_BIT |
                                         VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT |
                                         VMX_VPID_INVVPID_BIT | VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT |
                                         VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
                                         VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT |
                                         VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT | VMX_EPT_AD_BIT);
}

u64 nested_cr0_fixed0(bool unrestricted)
{
    u64 f = vmx_caps.cr0_fixed0;
    return unrestricted ? f & ~(u64)(X86_CR0_PE | X86_CR0_PG) : f;
}

/* CR4 bits L1 may set in VMX operation: the CPU's, minus what turtle hides. */
u64 nested_cr4_fixed1(void)
{
    return vmx_caps.cr4_fixed1 & ~(vmx_policy->cr4_owned & ~(u64)X86_CR4_VMXE & ~vmx_policy->cr4_guest);
}

u64 vmx_caps_cr4_fixed0(void)
{
    return vmx_caps.cr4_fixed0;
}

u64 vmx_caps_cr0_fixed1(void)
{
    return vmx_caps.cr0_fixed1;
}

/* MAXPHYADDR, read once (CPUID is an exit when turtle itself is nested). */
u32 nested_phys_addr_width(void)
{
    return phys_addr_width;
}

static u64 ctl(u32 must_be_1, u32 may_be_1)
{
    return ((u64)may_be_1 << 32) | must_be_1;
}

bool nested_host_has_cet(void)
{
    return vmx_caps.entry.may_be_1 & VM_ENTRY_LOAD_CET_STATE;
}

/* "VMWRITE to any field" (bit 29) as the CPU reports it: with VMCS
 * shadowing shown, L2's VMWRITEs reach the CPU's shadow VMCS. The timer
 * rate is NESTED_TIMER_RATE, not the CPU's (nested/nested.h). */
u64 nested_vmx_misc(void)
{
    return NESTED_TIMER_RATE | VMX_MISC_SAVE_EFER_LMA |
           (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT) | MISC_MSR_LIST_512 |
           (vmx_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS);    /* CR3-target count 0 */
}

/* nested/shadow_vmcs12.c can serve L2's VMREAD/VMWRITE: show it. */
void nested_caps_show_shadowing(void)
{
    nested_proc2_allowed |= SECONDARY_EXEC_SHADOW_VMCS;
}

/* turtle's own value of one capability MSR; false: not shown (#GP). */
static bool host_msr(u32 msr, u64 *v)
{
    switch (msr) {
    case IA32_VMX_BASIC:
        *v = VMCS12_REVISION | ((u64)VMCS12_SIZE << VMX_BASIC_VMCS_SIZE_SHIFT) |
             ((u64)VMX_MT_WB << VMX_BASIC_MEM_TYPE_SHIFT) | VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS;
        return true;
    case IA32_VMX_PINBASED_CTLS:
    case IA32_VMX_TRUE_PINBASED_CTLS:
        *v = ctl(PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, nested_pin_allowed);
        return true;
    case IA32_VMX_PROCBASED_CTLS:
        *v = ctl(CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR, nested_proc_allowed);
        return true;
    case IA32_VMX_TRUE_PROCBASED_CTLS:
        *v = ctl(CPU_BASED_TRUE_ALWAYSON, nested_proc_allowed);
        return true;
    case IA32_VMX_EXIT_CTLS:
        *v = ctl(VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR, nested_exit_allowed);
        return true;
    case IA32_VMX_TRUE_EXIT_CTLS:
        *v = ctl(VM_EXIT_TRUE_ALWAYSON, nested_exit_allowed);
        return true;
    case IA32_VMX_ENTRY_CTLS:
        *v = ctl(VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR, nested_entry_allowed);
        return true;
    case IA32_VMX_TRUE_ENTRY_CTLS:
        *v = ctl(VM_ENTRY_TRUE_ALWAYSON, nested_entry_allowed);
        return true;
    case IA32_VMX_MISC:
        *v = nested_vmx_misc();
        return true;
    case IA32_VMX_CR0_FIXED0:
        *v = vmx_caps.cr0_fixed0;
        return true;
    case IA32_VMX_CR0_FIXED1:
        *v = vmx_caps.cr0_fixed1;
        return true;
    case IA32_VMX_CR4_FIXED0:
        *v = vmx_caps.cr4_fixed0;
        return true;
    case IA32_VMX_CR4_FIXED1:
        *v = nested_cr4_fixed1();
        return true;
    case IA32_VMX_VMCS_ENUM:
        *v = (u64)vmcs12_max_field_index() << 1;
        return true;
    case IA32_VMX_PROCBASED_CTLS2:
        *v = ctl(0, nested_proc2_allowed);
        return true;
    case IA32_VMX_EPT_VPID_CAP:
        *v = nested_ept_vpid_cap;
        return true;
    case IA32_VMX_VMFUNC:                   /* exists with "enable VM functions" (SDM A.11) */
        *v = nested_vmfunc_allowed;
        return nested_proc2_allowed & SECONDARY_EXEC_ENABLE_VMFUNC;
    default:
        return false;
    }
}

struct nested_caps nested_default_caps, nested_max_caps;

/* Once, after nested_caps_init() and the shadowing decision. A new L1 is
 * shown the default; a restored one may have been shown anything up to
 * the maximum, which turtle 0.1.0 showed: the default, UC paging
 * structures for EPT, and CR4.MCE allowed in VMX operation. The default
 * leaves both out as KVM does: KVM offers no UC, and derives CR4_FIXED1
 * from the CPUID, where turtle hides MCE. */
void nested_caps_build_default(void)
{
    struct nested_caps *c = &nested_max_caps;

    for (u32 i = 0; i < NESTED_CAP_MSRS; i++)
        if (host_msr(IA32_VMX_BASIC + i, &c->msr[i]))
            c->readable |= BIT(i);
    nested_default_caps = *c;
    nested_default_caps.msr[IA32_VMX_EPT_VPID_CAP - IA32_VMX_BASIC] &= ~(u64)VMX_EPTP_UC_BIT;
    nested_default_caps.msr[IA32_VMX_CR4_FIXED1 - IA32_VMX_BASIC] &= ~(u64)CR4_MCE;
}

/* What this L1 reads: its vCPU's caps (turtle's, or a restored snapshot's);
 * without a vCPU, the most turtle can honour (a restore's limit). */
bool nested_vmx_msr_read(struct vcpu *vcpu, u32 msr, u64 *v)
{
    const struct nested_caps *c = vcpu && vcpu->nvmx ? &vcpu->nvmx->caps : &nested_max_caps;

    if (msr < IA32_VMX_BASIC || msr >= IA32_VMX_BASIC + NESTED_CAP_MSRS ||
        !(c->readable & BIT(msr - IA32_VMX_BASIC)))
        return false;
    *v = c->msr[msr - IA32_VMX_BASIC];
    return true;
}
