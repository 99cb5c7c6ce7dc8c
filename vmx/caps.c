#include "kernel/idt.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "vmx/caps.h"
#include "vmx/vmx_arch.h"

#define CPUID_EXT_RDTSCP        BIT(27)     /* CPUID 0x80000001 EDX: RDTSCP, IA32_TSC_AUX */

struct vmx_caps vmx_caps;

static struct vmx_ctl_caps ctl(u32 msr)
{
    u64 v = rdmsr(msr);
    return (struct vmx_ctl_caps){ (u32)v, (u32)(v >> 32) };
}

/* IA32_DEBUGCTL: whether the CPU has it, and which of the two bits turtle
 * lets a guest set (LBR, BTF: architectural since the P6 family, and
 * nothing else to emulate) it accepts. Probed by writing each one: the
 * MSR is 0 after reset and turtle never sets it, so 0 is restored. The
 * other bits (TR, BTS, freezes, RTM debug, bus-lock detection) need
 * state turtle does not give a guest (DS area, PMU, RTM): #GP. */
static void probe_debugctl(struct vmx_caps *c)
{
    u64 v = 0;

    c->has_debugctl = rdmsr_probe(MSR_IA32_DEBUGCTL, &v);
    if (!c->has_debugctl)
        return;
    for (u64 bit = DEBUGCTL_LBR; bit <= DEBUGCTL_BTF; bit <<= 1) {
        u64 back = 0;
        if (wrmsr_probe(MSR_IA32_DEBUGCTL, bit) && rdmsr_probe(MSR_IA32_DEBUGCTL, &back) && (back & bit))
            c->debugctl_bits |= bit;
    }
    wrmsr_probe(MSR_IA32_DEBUGCTL, v);
}

/* INVEPT / INVVPID: single-context when the CPU has it (it leaves other
 * contexts' translations alone), else all-context. SDM A.10. */
static void choose_invalidation(struct vmx_caps *c)
{
    c->invept_type = (c->ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT) ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
    if (!(c->ept_vpid & VMX_VPID_INVVPID_BIT))
        c->invvpid_type = VMX_INVVPID_NONE;
    else if (c->ept_vpid & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT)
        c->invvpid_type = VMX_VPID_EXTENT_SINGLE_CONTEXT;
    else if (c->ept_vpid & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)
        c->invvpid_type = VMX_VPID_EXTENT_ALL_CONTEXT;
    else
        c->invvpid_type = VMX_INVVPID_NONE;
}

const char *vmx_caps_read(void)
{
    struct vmx_caps *c = &vmx_caps;
    bool true_ctls;

    c->basic = rdmsr(IA32_VMX_BASIC);
    c->revision = (u32)(c->basic & VMX_BASIC_REVISION_MASK);
    true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = ctl(true_ctls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS);
    c->proc = ctl(true_ctls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS);
    c->exit = ctl(true_ctls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS);
    c->entry = ctl(true_ctls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS);
    c->misc = rdmsr(IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(IA32_VMX_CR4_FIXED1);
    c->vmcs_enum = rdmsr(IA32_VMX_VMCS_ENUM);
    c->preemption_timer_rate = (u32)(c->misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK);

    if (!(c->proc.may_be_1 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
        return "no secondary processor-based controls";
    c->proc2 = ctl(IA32_VMX_PROCBASED_CTLS2);
    if (c->proc2.may_be_1 & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID))
        c->ept_vpid = rdmsr(IA32_VMX_EPT_VPID_CAP);
    if (c->proc2.may_be_1 & SECONDARY_EXEC_ENABLE_VMFUNC)
        c->vmfunc = rdmsr(IA32_VMX_VMFUNC);

    if (((c->basic & VMX_BASIC_VMCS_SIZE_MASK) >> VMX_BASIC_VMCS_SIZE_SHIFT) > PAGE_SIZE)
        return "VMCS region larger than 4 KiB";
    if (((c->basic & VMX_BASIC_MEM_TYPE_MASK) >> VMX_BASIC_MEM_TYPE_SHIFT) != VMX_MT_WB)
        return "VMCS memory type is not write-back";
    if (!(c->proc2.may_be_1 & SECONDARY_EXEC_ENABLE_EPT))
        return "no EPT";
    if (!(c->ept_vpid & VMX_EPT_PAGE_WALK_4_BIT) || !(c->ept_vpid & VMX_EPTP_WB_BIT))
        return "no 4-level write-back EPT";
    if (!(c->ept_vpid & VMX_EPT_2MB_PAGE_BIT))
        return "no 2 MiB EPT pages";
    if (!(c->ept_vpid & VMX_EPT_INVEPT_BIT) ||
        !(c->ept_vpid & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT)))
        return "no INVEPT (single- or all-context)";
    choose_invalidation(c);
    probe_debugctl(c);
    c->has_tsc_aux = cpuid(0x80000001).edx & CPUID_EXT_RDTSCP;
    if (!(c->proc2.may_be_1 & SECONDARY_EXEC_UNRESTRICTED_GUEST))
        return "no unrestricted guest";
    if (!(c->pin.may_be_1 & PIN_BASED_VMX_PREEMPTION_TIMER))
        return "no VMX preemption timer";
    if (!(c->proc.may_be_1 & CPU_BASED_USE_MSR_BITMAPS) || !(c->proc.may_be_1 & CPU_BASED_USE_IO_BITMAPS))
        return "no MSR or I/O bitmaps";
    if (!(c->exit.may_be_1 & VM_EXIT_LOAD_IA32_EFER) || !(c->entry.may_be_1 & VM_ENTRY_LOAD_IA32_EFER))
        return "no EFER load/save controls";
    return NULL;
}

void vmx_caps_print(void)
{
    const struct vmx_caps *c = &vmx_caps;
    u32 p2 = c->proc2.may_be_1;

    kprintf("turtle: vmx: revision %x, EPT%s%s%s%s, %s%s%s%s%spreemption timer (rate %u)\n",
            c->revision,
            c->ept_vpid & VMX_EPT_2MB_PAGE_BIT ? " 2M" : "",
            c->ept_vpid & VMX_EPT_1GB_PAGE_BIT ? " 1G" : "",
            c->ept_vpid & VMX_EPT_AD_BIT ? " A/D" : "",
            c->ept_vpid & VMX_EPT_EXECUTE_ONLY_BIT ? " x-only" : "",
            p2 & SECONDARY_EXEC_ENABLE_VPID ? "VPID, " : "",
            p2 & SECONDARY_EXEC_UNRESTRICTED_GUEST ? "unrestricted guest, " : "",
            p2 & SECONDARY_EXEC_SHADOW_VMCS ? "VMCS shadowing, " : "",
            p2 & SECONDARY_EXEC_ENABLE_VMFUNC ? "VMFUNC, " : "",
            p2 & SECONDARY_EXEC_ENABLE_PML ? "PML, " : "",
            c->preemption_timer_rate);
}

bool vmx_adjust_controls(const char *what, const struct vmx_ctl_caps *c,
                         u32 required, u32 optional, u32 *out)
{
    u32 missing = required & ~c->may_be_1;

    if (missing) {
        kprintf("turtle: error: %s controls %x not supported by this CPU\n", what, missing);
        return false;
    }
    *out = ((required | optional) & c->may_be_1) | c->must_be_1;
    return true;
}
