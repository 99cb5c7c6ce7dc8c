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

u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
static u32 phys_addr_width;
u32 nested_exit_allowed, nested_entry_allowed;
u64 nested_ept_vpid_cap;
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

    /* EPT: 4-level walks, WB and UC paging structures, 2 MiB (and 1 GiB
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
    return vmx_caps.cr4_fixed1 & ~(vmx_policy->cr4_owned & ~(u64)X86_CR4_VMXE);
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
 * shadowing shown, L2's VMWRITEs reach the CPU's shadow VMCS. */
u64 nested_vmx_misc(void)
{
    return (vmx_caps.misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK) | VMX_MISC_SAVE_EFER_LMA |
           (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT) | MISC_MSR_LIST_512 |
           (vmx_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS);    /* CR3-target count 0 */
}

/* nested/shadow_vmcs12.c can serve L2's VMREAD/VMWRITE: show it. */
void nested_caps_show_shadowing(void)
{
    nested_proc2_allowed |= SECONDARY_EXEC_SHADOW_VMCS;
}

bool nested_vmx_msr_read(struct vcpu *vcpu, u32 msr, u64 *v)
{
    (void)vcpu;
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
    case IA32_VMX_VMFUNC:
        return false;                       /* VMFUNC is not shown: #GP */
    default:
        return false;
    }
}
