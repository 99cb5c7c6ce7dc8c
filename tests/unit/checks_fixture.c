/* The rest of turtle as nested/checks.c sees it, and the vmcs12s the
 * test_checks*.c tests start from (checks_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested/checks.h"
#include "kernel/x86.h"
#include "vmx/vmx_arch.h"

#include "tests/unit/checks_fixture.h"

/* --- stand-ins for the rest of turtle ------------------------------------- */

u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
u32 nested_exit_allowed, nested_entry_allowed;
u64 nested_ept_vpid_cap;
u64 vmfunc_cap;                         /* IA32_VMX_VMFUNC; shown with its secondary control */
u64 nested_debugctl_allowed = DEBUGCTL_LBR | DEBUGCTL_BTF;
u8 l1_ram[64 << 10];             /* the L1 memory the checks may read */
int check_messages;

int kprintf(const char *fmt, ...) { (void)fmt; check_messages++; return 0; }
u64 nested_cr0_fixed0(bool ug) { return ug ? 0x20 : 0x80000021; }
u64 vmx_caps_cr0_fixed1(void) { return 0xffffffff; }
u64 vmx_caps_cr4_fixed0(void) { return 0x2000; }
u64 nested_cr4_fixed1(void) { return 0x1727ff; }
u32 nested_phys_addr_width(void) { return 39; }
u64 nested_vmx_misc(void) { return VMX_MISC_ACTIVITY_HLT | VMX_MISC_VMWRITE_SHADOW_RO_FIELDS; }
bool host_cet = true;
bool nested_host_has_cet(void) { return host_cet; }

/* The capability MSRs of the checks' L1, from the values above (the tests
 * change those): a struct nested_caps as nested/caps.c builds one. */
const struct nested_caps *C(void)
{
    static struct nested_caps c;

    memset(&c, 0, sizeof(c));
    c.msr[IA32_VMX_TRUE_PINBASED_CTLS - IA32_VMX_BASIC] = (u64)nested_pin_allowed << 32 | 0x16;
    c.msr[IA32_VMX_TRUE_PROCBASED_CTLS - IA32_VMX_BASIC] = (u64)nested_proc_allowed << 32;
    c.msr[IA32_VMX_PROCBASED_CTLS2 - IA32_VMX_BASIC] = (u64)nested_proc2_allowed << 32;
    c.msr[IA32_VMX_TRUE_EXIT_CTLS - IA32_VMX_BASIC] = (u64)nested_exit_allowed << 32;
    c.msr[IA32_VMX_TRUE_ENTRY_CTLS - IA32_VMX_BASIC] = (u64)nested_entry_allowed << 32;
    c.msr[IA32_VMX_EPT_VPID_CAP - IA32_VMX_BASIC] = nested_ept_vpid_cap;
    c.msr[IA32_VMX_MISC - IA32_VMX_BASIC] = nested_vmx_misc();
    c.msr[IA32_VMX_CR0_FIXED0 - IA32_VMX_BASIC] = nested_cr0_fixed0(false);
    c.msr[IA32_VMX_CR0_FIXED1 - IA32_VMX_BASIC] = vmx_caps_cr0_fixed1();
    c.msr[IA32_VMX_CR4_FIXED0 - IA32_VMX_BASIC] = vmx_caps_cr4_fixed0();
    c.msr[IA32_VMX_CR4_FIXED1 - IA32_VMX_BASIC] = nested_cr4_fixed1();
    if (nested_proc2_allowed & SECONDARY_EXEC_ENABLE_VMFUNC) {
        c.msr[IA32_VMX_VMFUNC - IA32_VMX_BASIC] = vmfunc_cap;
        c.readable |= BIT(IA32_VMX_VMFUNC - IA32_VMX_BASIC);
    }
    return &c;
}

bool guest_copy_from(struct vm *vm, void *dst, u64 gpa, u64 len)
{
    (void)vm;
    if (gpa >= sizeof(l1_ram) || len > sizeof(l1_ram) - gpa)
        return false;
    memcpy(dst, l1_ram + gpa, len);
    return true;
}

void set_caps(void)
{
    nested_pin_allowed = 0x16 | PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING | PIN_BASED_VMX_PREEMPTION_TIMER;
    /* No TPR shadow; the NMI window (with virtual NMIs) only where a test adds it. */
    nested_proc_allowed = CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR | CPU_BASED_INTR_WINDOW_EXITING |
                          CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_HLT_EXITING |
                          CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING |
                          CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING |
                          CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
                          CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
                          CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
                          CPU_BASED_USE_IO_BITMAPS | CPU_BASED_MONITOR_TRAP_FLAG |
                          CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MONITOR_EXITING |
                          CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    nested_proc2_allowed = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID |
                           SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_DESC |
                           SECONDARY_EXEC_ENABLE_RDTSCP;
    nested_exit_allowed = 0x36dff | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
                          VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT;
    nested_entry_allowed = 0x11ff | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT;
    nested_ept_vpid_cap = VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT |
                          VMX_EPT_INVEPT_BIT | VMX_EPT_EXTENT_CONTEXT_BIT;
}

/* A vmcs12 as a 64-bit L1 sets it up for a 64-bit L2 (turtle-as-L1 style). */
void valid_vmcs12(struct vmcs12 *v)
{
    memset(v, 0, sizeof(*v));
    v->pin_based_vm_exec_control = 0x16 | PIN_BASED_EXT_INTR_MASK;
    v->cpu_based_vm_exec_control = 0x04006172 | CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID;
    v->ept_pointer = 0x5000 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    v->virtual_processor_id = 1;
    v->vm_exit_controls = 0x36dfb | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER;
    v->vm_entry_controls = 0x11fb | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER;
    v->host_cr0 = 0x80050033;
    v->host_cr4 = 0x22a0;
    v->host_cr3 = 0x1000;
    v->host_ia32_efer = EFER_LME | EFER_LMA;
    v->host_cs_selector = 0x08;
    v->host_ss_selector = v->host_ds_selector = v->host_es_selector = 0x10;
    v->host_tr_selector = 0x18;
    v->host_rip = 0xffffffff80100000ULL;
    v->guest_cr0 = 0x80000031;
    v->guest_cr4 = 0x2020;
    v->guest_cr3 = 0x2000;
    v->guest_ia32_efer = EFER_LME | EFER_LMA;
    v->guest_cs_selector = 0x08;
    v->guest_cs_ar_bytes = 0xa09b;
    v->guest_cs_limit = 0xffffffff;
    v->guest_ss_selector = v->guest_ds_selector = v->guest_es_selector = 0x10;
    v->guest_ss_ar_bytes = v->guest_ds_ar_bytes = v->guest_es_ar_bytes = 0xc093;
    v->guest_ss_limit = v->guest_ds_limit = v->guest_es_limit = 0xffffffff;
    v->guest_fs_ar_bytes = v->guest_gs_ar_bytes = 0x10000;
    v->guest_tr_selector = 0x18;
    v->guest_tr_ar_bytes = 0x8b;
    v->guest_tr_limit = 0x67;
    v->guest_ldtr_ar_bytes = 0x10000;
    v->guest_rflags = 0x2;
    v->guest_rip = 0x100000;
    v->vmcs_link_pointer = ~0ULL;
}

bool all_pass(const struct vmcs12 *v, u64 *qual)
{
    return nested_check_controls(C(), v) && nested_check_host_state(C(), v, true) &&
           nested_check_guest_state(C(), NULL, v, qual);
}


enum area refused_by(const struct vmcs12 *v, u64 *qual)
{
    if (!nested_check_controls(C(), v))
        return CONTROLS;
    if (!nested_check_host_state(C(), v, true))
        return HOST;
    assert_false(nested_check_guest_state(C(), NULL, v, qual));
    return GUEST;
}
