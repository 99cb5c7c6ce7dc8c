/*
 * Host tests of KVM_SET_NESTED_STATE's checks (snapshot/nested_check*.c):
 * each state KVM writes passes; each check (G1-V22, 6.1-6.3) refuses a
 * blob built to fail it, with its own id in the message; and what KVM
 * deliberately does not check at restore (segments, EFER without
 * RUN_PENDING) passes. The fixture's vCPU stands for a KVM L1 with
 * EPT/VPID/VMCS shadowing and 4 GP + 3 fixed PMU counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested/vmcs12.h"
#include "snapshot/nested_check.h"
#include "tests/unit/snap_fixture.h"
#include "vmx/vmx_arch.h"

enum op { NONE, SET, OR, ANDN };

struct edit {
    enum op op;
    u32 off, width;
    u64 val;
};

struct ncase {
    const char *what;
    enum snapfix_state st;
    struct edit e[3];
    const char *expect;         /* NULL: accepted */
};

#define VF(f)   (TSNAP_NESTED_HDR_SIZE + offsetof(struct vmcs12, f)), sizeof(((struct vmcs12 *)0)->f)
#define HF(f)   offsetof(struct tsnap_kvm_nested_state_hdr, f), sizeof(((struct tsnap_kvm_nested_state_hdr *)0)->f)
#define SHADOW_HDR  TSNAP_NESTED_SIZE_VMCS12, 4

static const struct ncase cases[] = {
    /* what KVM accepts */
    { "no VMX operation", SNAPFIX_NO_VMX, {{0}}, NULL },
    { "VMXON only", SNAPFIX_VMXON, {{0}}, NULL },
    { "current VMCS", SNAPFIX_VMCS, {{0}}, NULL },
    { "in L2", SNAPFIX_L2, {{0}}, NULL },
    { "in L2, run pending", SNAPFIX_L2_PENDING, {{0}}, NULL },
    { "in L2 with a shadow VMCS", SNAPFIX_L2_SHADOW, {{0}}, NULL },
    { "outside L2 no content check", SNAPFIX_VMCS, {{ SET, VF(host_cr0), 0 }}, NULL },
    { "segments unchecked", SNAPFIX_L2, {{ SET, VF(guest_cs_ar_bytes), 0 }, { SET, VF(guest_rip), ~0ULL }}, NULL },
    { "EFER unchecked without RUN_PENDING", SNAPFIX_L2, {{ SET, VF(guest_ia32_efer), 0x901 }}, NULL },
    { "launch_state unchecked", SNAPFIX_L2, {{ SET, VF(launch_state), 7 }}, NULL },
    { "GIF_SET accepted in VMX operation", SNAPFIX_VMCS, {{ OR, HF(flags), TSNAP_KVM_STATE_NESTED_GIF_SET }}, NULL },
    /* the generic layer */
    { "size below 128", SNAPFIX_VMCS, {{ SET, HF(size), 100 }}, "KVM G2" },
    { "unknown flags", SNAPFIX_VMCS, {{ OR, HF(flags), 0x10 }}, "KVM G3" },
    { "RUN_PENDING alone", SNAPFIX_VMCS, {{ OR, HF(flags), TSNAP_KVM_STATE_NESTED_RUN_PENDING }}, "KVM G4" },
    /* vmx_set_nested_state's header checks */
    { "format", SNAPFIX_VMCS, {{ SET, HF(format), 1 }}, "KVM V1" },
    { "smm flags without VMXON", SNAPFIX_NO_VMX, {{ SET, HF(smm_flags), 2 }}, "KVM V2" },
    { "vmcs12_pa without VMXON", SNAPFIX_NO_VMX, {{ SET, HF(vmcs12_pa), 0x4000 }}, "KVM V2" },
    { "GIF_SET without VMXON", SNAPFIX_NO_VMX, {{ SET, HF(flags), TSNAP_KVM_STATE_NESTED_GIF_SET }}, "KVM V2" },
    { "vmxon_pa unaligned", SNAPFIX_VMXON, {{ SET, HF(vmxon_pa), 0x3001 }}, "KVM V3" },
    { "vmxon_pa beyond MAXPHYADDR", SNAPFIX_VMXON, {{ SET, HF(vmxon_pa), 1ULL << 39 }}, "KVM V3" },
    { "SMM_GUEST_MODE with GUEST_MODE", SNAPFIX_L2, {{ SET, HF(smm_flags), 1 }}, "KVM V4" },
    { "unknown smm flags", SNAPFIX_VMXON, {{ SET, HF(smm_flags), 4 }}, "KVM V5" },
    { "unknown vmx flags", SNAPFIX_VMXON, {{ SET, HF(vmx_flags), 2 }}, "KVM V6" },
    { "smm flags outside SMM", SNAPFIX_VMXON, {{ SET, HF(smm_flags), 2 }}, "KVM V7" },
    { "EVMCS", SNAPFIX_VMCS, {{ OR, HF(flags), TSNAP_KVM_STATE_NESTED_EVMCS }}, "KVM V9" },
    { "vmcs12_pa with size 128", SNAPFIX_VMXON, {{ SET, HF(vmcs12_pa), 0x4000 }}, "KVM V10" },
    { "GUEST_MODE with size 128", SNAPFIX_VMXON, {{ SET, HF(flags), 1 }}, "KVM V10" },
    { "vmcs12_pa == vmxon_pa", SNAPFIX_VMCS, {{ SET, HF(vmcs12_pa), SNAPFIX_VMXON_PA }}, "KVM V11: vmcs12_pa equals" },
    { "vmcs12_pa unaligned", SNAPFIX_VMCS, {{ SET, HF(vmcs12_pa), 0x4008 }}, "KVM V11: vmcs12_pa unaligned" },
    { "vmcs12 but no vmcs12_pa", SNAPFIX_VMCS, {{ SET, HF(vmcs12_pa), ~0ULL }}, "KVM V13" },
    { "vmcs12 revision", SNAPFIX_VMCS, {{ SET, TSNAP_NESTED_HDR_SIZE, 4, 0x12345678 }}, "KVM V15" },
    { "shadow VMCS bit accepted in the main image", SNAPFIX_VMCS, {{ OR, TSNAP_NESTED_HDR_SIZE, 4, BIT(31) }}, NULL },
    { "shadowing without the shadow page", SNAPFIX_L2_SHADOW, {{ SET, HF(size), 4224 }}, "KVM V16" },
    { "shadow page without the shadow bit", SNAPFIX_L2_SHADOW, {{ ANDN, SHADOW_HDR, BIT(31) }}, "KVM V18" },
    /* 6.1 controls */
    { "pin-based must-be-1", SNAPFIX_L2, {{ SET, VF(pin_based_vm_exec_control), 0 }}, "KVM 6.1.1: pin" },
    { "primary not allowed", SNAPFIX_L2, {{ OR, VF(cpu_based_vm_exec_control), BIT(17) }}, "KVM 6.1.1: primary" },
    { "secondary not allowed", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), BIT(20) }}, "KVM 6.1.2" },
    { "CR3 targets", SNAPFIX_L2, {{ SET, VF(cr3_target_count), 1 }}, "KVM 6.1.3" },
    { "I/O bitmap", SNAPFIX_L2, {{ OR, VF(cpu_based_vm_exec_control), CPU_BASED_USE_IO_BITMAPS },
                                 { SET, VF(io_bitmap_b), 0x123 }}, "KVM 6.1.4" },
    { "MSR bitmap", SNAPFIX_L2, {{ SET, VF(msr_bitmap), 0x5001 }}, "KVM 6.1.5" },
    { "virtual-APIC page", SNAPFIX_L2, {{ OR, VF(cpu_based_vm_exec_control), CPU_BASED_TPR_SHADOW },
                                        { SET, VF(virtual_apic_page_addr), 1ULL << 45 }}, "KVM 6.1.6" },
    { "APIC-access page", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES },
                                       { SET, VF(apic_access_addr), 0x10 }}, "KVM 6.1.7" },
    { "x2APIC mode without TPR shadow", SNAPFIX_L2,
      {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE }}, "KVM 6.1.8: APIC virtualization without TPR" },
    { "virtual NMIs without NMI exiting", SNAPFIX_L2, {{ SET, VF(pin_based_vm_exec_control), 0x37 }}, "KVM 6.1.9" },
    { "NMI window without virtual NMIs", SNAPFIX_L2,
      {{ OR, VF(cpu_based_vm_exec_control), CPU_BASED_NMI_WINDOW_EXITING }}, "KVM 6.1.9" },
    { "PML address", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_ENABLE_PML },
                                  { SET, VF(pml_address), 0x10 }}, "KVM 6.1.10" },
    { "unrestricted guest without EPT", SNAPFIX_L2,
      {{ SET, VF(secondary_vm_exec_control), SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_ENABLE_VPID }}, "KVM 6.1.11" },
    { "VMREAD bitmap", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_SHADOW_VMCS },
                                    { SET, VF(vmread_bitmap), 0x6004 }}, "KVM 6.1.12" },
    { "VPID 0", SNAPFIX_L2, {{ SET, VF(virtual_processor_id), 0 }}, "KVM 6.1.13" },
    { "save timer without timer", SNAPFIX_L2, {{ OR, VF(vm_exit_controls), VM_EXIT_SAVE_VMX_PREEMPTION_TIMER }}, "KVM 6.1.14" },
    { "EPTP memory type", SNAPFIX_L2, {{ SET, VF(ept_pointer), 0x8000 | 1 | 3 << 3 }}, "KVM 6.1.15: EPT pointer: memory type" },
    { "EPTP walk length", SNAPFIX_L2, {{ SET, VF(ept_pointer), 0x8000 | 6 | 2 << 3 }}, "KVM 6.1.15: EPT pointer: page-walk" },
    { "EPTP reserved", SNAPFIX_L2, {{ SET, VF(ept_pointer), 0x8000 | 6 | 3 << 3 | 0x100 }}, "KVM 6.1.15: EPT pointer: reserved" },
    { "VMFUNC control", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_ENABLE_VMFUNC },
                                     { SET, VF(vm_function_control), 2 }}, "KVM 6.1.16" },
    { "VMFUNC EPTP switching", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_ENABLE_VMFUNC },
                                            { SET, VF(vm_function_control), VMX_VMFUNC_EPTP_SWITCHING },
                                            { SET, VF(eptp_list_address), 0x8000 }}, NULL },
    { "EPTP-list address", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_ENABLE_VMFUNC },
                                        { SET, VF(vm_function_control), VMX_VMFUNC_EPTP_SWITCHING },
                                        { SET, VF(eptp_list_address), 0x8008 }}, "KVM 6.1.16" },
    { "exit controls", SNAPFIX_L2, {{ SET, VF(vm_exit_controls), 0 }}, "KVM 6.1.17" },
    { "exit MSR-store list", SNAPFIX_L2, {{ SET, VF(vm_exit_msr_store_count), 1 },
                                          { SET, VF(vm_exit_msr_store_addr), 0x1008 }}, "KVM 6.1.18" },
    { "exit MSR-load list too long", SNAPFIX_L2, {{ SET, VF(vm_exit_msr_load_count), 513 }}, "KVM 6.1.18" },
    { "entry controls", SNAPFIX_L2, {{ SET, VF(vm_entry_controls), 0 }}, "KVM 6.1.19" },
    { "inject reserved type", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | 1 << 8 }}, "KVM 6.1.20: event injection: reserved type" },
    { "inject NMI vector 3", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | 2 << 8 | 3 }}, "KVM 6.1.20: event injection: vector" },
    { "inject #GP without code", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | 3 << 8 | 13 }}, "KVM 6.1.20: event injection: deliver-error-code" },
    { "inject INT n with code", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | BIT(11) | 4 << 8 | 0x80 }}, "KVM 6.1.20: event injection: error code in" },
    { "inject reserved bits", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | BIT(20) | 0x20 }}, "KVM 6.1.20: event injection: reserved bits" },
    { "inject INT n length 0", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | 4 << 8 | 0x80 }}, "KVM 6.1.20: event injection: bad instruction length" },
    { "inject #GP with code", SNAPFIX_L2, {{ SET, VF(vm_entry_intr_info_field), BIT(31) | BIT(11) | 3 << 8 | 13 }}, NULL },
    { "entry MSR-load list", SNAPFIX_L2, {{ SET, VF(vm_entry_msr_load_count), 2 },
                                          { SET, VF(vm_entry_msr_load_addr), 0x1001 }}, "KVM 6.1.21" },
    /* 6.2 host state */
    { "host CR0 without PG", SNAPFIX_L2, {{ SET, VF(host_cr0), 0x31 }}, "KVM 6.2.1" },
    { "host CR4 without VMXE", SNAPFIX_L2, {{ SET, VF(host_cr4), 0x20 }}, "KVM 6.2.2" },
    { "host CR4 SMXE", SNAPFIX_L2, {{ OR, VF(host_cr4), BIT(14) }}, "KVM 6.2.2" },
    { "host CR4 SMEP without CPUID", SNAPFIX_L2, {{ OR, VF(host_cr4), BIT(11) }}, "KVM 6.2.2" },
    { "host CR3 beyond MAXPHYADDR", SNAPFIX_L2, {{ SET, VF(host_cr3), 1ULL << 40 }}, "KVM 6.2.3" },
    { "host SYSENTER_ESP", SNAPFIX_L2, {{ SET, VF(host_ia32_sysenter_esp), 0x0000800000000000ULL }}, "KVM 6.2.5" },
    { "host PAT", SNAPFIX_L2, {{ OR, VF(vm_exit_controls), VM_EXIT_LOAD_IA32_PAT }, { SET, VF(host_ia32_pat), 2 }}, "KVM 6.2.6" },
    { "host PERF_GLOBAL_CTRL", SNAPFIX_L2, {{ OR, VF(vm_exit_controls), VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL },
                                            { SET, VF(host_ia32_perf_global_ctrl), BIT(10) }}, "KVM 6.2.7" },
    { "host PERF_GLOBAL_CTRL valid", SNAPFIX_L2, {{ OR, VF(vm_exit_controls), VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL },
                                                  { SET, VF(host_ia32_perf_global_ctrl), 0x70000000fULL }}, NULL },
    { "64-bit host without PAE", SNAPFIX_L2, {{ SET, VF(host_cr4), 0x2000 }}, "KVM 6.2.8" },
    { "host selector RPL", SNAPFIX_L2, {{ SET, VF(host_cs_selector), 9 }}, "KVM 6.2.9: host selector" },
    { "host TR null", SNAPFIX_L2, {{ SET, VF(host_tr_selector), 0 }}, "KVM 6.2.9: host CS, TR" },
    { "host FS base", SNAPFIX_L2, {{ SET, VF(host_fs_base), 1ULL << 50 }}, "KVM 6.2.10" },
    { "host RIP", SNAPFIX_L2, {{ SET, VF(host_rip), 0x0000900000000000ULL }}, "KVM 6.2.10" },
    { "host EFER.LMA", SNAPFIX_L2, {{ SET, VF(host_ia32_efer), 0x901 }}, "KVM 6.2.11" },
    { "host EFER reserved", SNAPFIX_L2, {{ OR, VF(host_ia32_efer), BIT(12) }}, "KVM 6.2.11" },
    /* 6.3 guest state */
    { "guest CR0 without PE", SNAPFIX_L2, {{ SET, VF(guest_cr0), 0x80000030 }}, "KVM 6.3.1" },
    { "guest CR4 without VMXE", SNAPFIX_L2, {{ SET, VF(guest_cr4), 0x20 }}, "KVM 6.3.2" },
    { "guest DR7", SNAPFIX_L2, {{ OR, VF(vm_entry_controls), VM_ENTRY_LOAD_DEBUG_CONTROLS },
                                { SET, VF(guest_dr7), 1ULL << 32 }}, "KVM 6.3.4" },
    { "guest DEBUGCTL", SNAPFIX_L2, {{ OR, VF(vm_entry_controls), VM_ENTRY_LOAD_DEBUG_CONTROLS },
                                     { SET, VF(guest_ia32_debugctl), BIT(6) }}, "KVM 6.3.4" },
    { "guest PAT", SNAPFIX_L2, {{ OR, VF(vm_entry_controls), VM_ENTRY_LOAD_IA32_PAT }, { SET, VF(guest_ia32_pat), 8 }}, "KVM 6.3.5" },
    { "link pointer unaligned", SNAPFIX_L2, {{ SET, VF(vmcs_link_pointer), 0x9001 }}, "KVM 6.3.6: VMCS link pointer not page-valid" },
    { "link pointer outside RAM", SNAPFIX_L2, {{ SET, VF(vmcs_link_pointer), 0x400000 }}, "KVM 6.3.6: VMCS link pointer outside" },
    { "link pointer to a zero page", SNAPFIX_L2, {{ SET, VF(vmcs_link_pointer), 0xb000 }}, "KVM 6.3.6: VMCS link pointer's region" },
    { "link pointer to a non-shadow VMCS with shadowing", SNAPFIX_L2_SHADOW,
      {{ SET, VF(vmcs_link_pointer), SNAPFIX_VMCS12_PA }}, "KVM 6.3.6: VMCS link pointer's region" },
    { "link pointer to a VMCS without shadowing", SNAPFIX_L2, {{ SET, VF(vmcs_link_pointer), SNAPFIX_VMCS12_PA }}, NULL },
    { "guest PERF_GLOBAL_CTRL", SNAPFIX_L2, {{ OR, VF(vm_entry_controls), VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL },
                                             { SET, VF(guest_ia32_perf_global_ctrl), BIT(35) }}, "KVM 6.3.7" },
    { "guest PG without PE", SNAPFIX_L2, {{ OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_UNRESTRICTED_GUEST },
                                          { SET, VF(guest_cr0), 0x80000030 }}, "KVM 6.3.8" },
    { "IA-32e guest without PAE", SNAPFIX_L2, {{ SET, VF(guest_cr4), 0x2000 }}, "KVM 6.3.9" },
    { "guest EFER with RUN_PENDING", SNAPFIX_L2_PENDING, {{ SET, VF(guest_ia32_efer), 0x901 }}, "KVM 6.3.10" },
    { "guest BNDCFGS", SNAPFIX_L2, {{ OR, VF(vm_entry_controls), VM_ENTRY_LOAD_BNDCFGS }, { SET, VF(guest_bndcfgs), 4 }}, "KVM 6.3.11" },
    { "guest shutdown state", SNAPFIX_L2, {{ SET, VF(guest_activity_state), GUEST_ACTIVITY_SHUTDOWN }}, "KVM 6.3.13" },
    { "guest wait-for-SIPI", SNAPFIX_L2, {{ SET, VF(guest_activity_state), GUEST_ACTIVITY_WAIT_SIPI }}, NULL },
    { "guest CR3 beyond MAXPHYADDR", SNAPFIX_L2, {{ SET, VF(guest_cr3), 1ULL << 45 }}, "KVM V22" },
};

static u8 blob[TSNAP_NESTED_SIZE_MAX];
static struct nested_check_caps caps;

static void apply(u8 *b, const struct edit *e)
{
    u64 v = 0;
    memcpy(&v, b + e->off, e->width);
    v = e->op == SET ? e->val : e->op == OR ? v | e->val : v & ~e->val;
    memcpy(b + e->off, &v, e->width);
}

static const char *run(enum snapfix_state st, const struct edit *edits, u32 n, u64 len_override)
{
    u32 size = snapfix_nested(st, blob);
    for (u32 i = 0; i < n && edits[i].op != NONE; i++)
        apply(blob, &edits[i]);
    return nested_check_state(blob, len_override ? len_override : size, &caps, snapfix_read, NULL);
}

static void test_cases(void **state)
{
    (void)state;
    for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct ncase *c = &cases[i];
        const char *e = run(c->st, c->e, ARRAY_SIZE(c->e), TSNAP_NESTED_SIZE_MAX);
        if (c->expect ? !e || strncmp(e, c->expect, strlen(c->expect)) : e != NULL)
            fail_msg("%s: expected \"%s\", got \"%s\"", c->what, c->expect ? c->expect : "OK", e ? e : "OK");
    }
}

/* The checks that depend on the vCPU rather than the blob, and on how
 * many bytes can be read. */
static void test_vcpu_and_length(void **state)
{
    (void)state;
    const char *e;
    struct nested_check_caps saved = caps;

    assert_string_equal(nested_check_state(NULL, 0, &caps, NULL, NULL), "KVM G1: header not readable (fewer than 128 bytes)");
    e = run(SNAPFIX_VMCS, NULL, 0, 127);
    assert_non_null(e);
    assert_memory_equal(e, "KVM G1", 6);
    e = run(SNAPFIX_VMCS, NULL, 0, 1000);
    assert_memory_equal(e, "KVM V14", 7);
    e = run(SNAPFIX_L2_SHADOW, NULL, 0, 5000);
    assert_memory_equal(e, "KVM V17", 7);
    caps.vmx = false;
    e = run(SNAPFIX_VMXON, NULL, 0, 0);
    assert_memory_equal(e, "KVM V3: VMX operation but the guest CPUID", 40);
    assert_null(run(SNAPFIX_NO_VMX, NULL, 0, 0));   /* KVM selftest case 9 */
    caps = saved;
    caps.in_smm = true;
    e = run(SNAPFIX_L2, NULL, 0, 0);
    assert_memory_equal(e, "KVM V7", 6);
    struct edit smm_gm = { SET, HF(smm_flags), TSNAP_KVM_STATE_NESTED_SMM_GUEST_MODE };
    e = run(SNAPFIX_VMCS, &smm_gm, 1, 0);
    assert_memory_equal(e, "KVM V8", 6);
    struct edit smm_ok = { SET, HF(smm_flags), TSNAP_KVM_STATE_NESTED_SMM_VMXON };
    assert_null(run(SNAPFIX_VMCS, &smm_ok, 1, 0));
    caps = saved;
    caps.evmcs = true;
    struct edit evmcs[2] = { { OR, HF(flags), TSNAP_KVM_STATE_NESTED_EVMCS }, { SET, HF(vmcs12_pa), ~0ULL } };
    assert_null(run(SNAPFIX_VMCS, evmcs, 2, 0));    /* KVM selftest case 12's shape */
    caps = saved;
    /* VM functions where the capabilities do not show them: a reserved
     * secondary control (the restoring host shows what its CPU has). */
    caps.procbased2 &= ~((u64)SECONDARY_EXEC_ENABLE_VMFUNC << 32);
    caps.vmfunc = 0;
    struct edit vmfunc[3] = { { OR, VF(secondary_vm_exec_control), SECONDARY_EXEC_ENABLE_VMFUNC },
                              { SET, VF(vm_function_control), VMX_VMFUNC_EPTP_SWITCHING },
                              { SET, VF(eptp_list_address), 0x8000 } };
    e = run(SNAPFIX_L2, vmfunc, 3, 0);
    assert_memory_equal(e, "KVM 6.1.2", 9);
    caps = saved;
    assert_null(run(SNAPFIX_L2, vmfunc, 3, 0));
    /* Without a reader the link pointer's page is unreachable. */
    snapfix_nested(SNAPFIX_L2_SHADOW, blob);
    e = nested_check_state(blob, TSNAP_NESTED_SIZE_MAX, &caps, NULL, NULL);
    assert_memory_equal(e, "KVM 6.3.6", 9);
}

/* The whole-snapshot entry point agrees, and capability narrowing. */
static void test_view_and_caps(void **state)
{
    (void)state;
    static struct tsnap_view view;
    for (int st = 0; st < SNAPFIX_N; st++) {
        u64 len;
        u8 *f = snapfix_file(st, &len);
        assert_null(tsnap_parse(f, len, &view));
        const char *e = nested_check_vcpu(&view, 0);
        if (e)
            fail_msg("%s: %s", snapfix_names[st], e);
        free(f);
    }
    struct nested_check_caps want = caps;
    assert_null(nested_check_caps_allowed(&want, &caps));
    want.procbased &= ~(BIT(31) << 32);             /* narrower: fine */
    assert_null(nested_check_caps_allowed(&want, &caps));
    want = caps;
    want.ept_vpid_cap |= BIT(7);                    /* 5-level EPT: the host lacks it */
    assert_non_null(nested_check_caps_allowed(&want, &caps));
    want = caps;
    want.basic ^= 1;                                /* another revision */
    assert_non_null(nested_check_caps_allowed(&want, &caps));
    want = caps;
    want.cr0_fixed0 &= ~1ULL;                       /* drops PE from must-be-1 */
    assert_non_null(nested_check_caps_allowed(&want, &caps));
    want = caps;
    want.exit |= BIT(28) << 32;                     /* load CET on exit */
    assert_non_null(nested_check_caps_allowed(&want, &caps));
}

/* Random blobs never crash the checks or read beyond them (ASan). */
static void test_random(void **state)
{
    (void)state;
    u64 x = 0x9e3779b97f4a7c15ULL;
    const char *seed = getenv("NESTED_CHECK_SEED");
    if (seed)
        x = strtoull(seed, NULL, 0) | 1;
    for (int i = 0; i < 20000; i++) {
        enum snapfix_state st = (enum snapfix_state)(1 + i % (SNAPFIX_N - 1));
        u32 size = snapfix_nested(st, blob);
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            u32 off = (u32)(x % (i % 3 ? 1126 : size));
            blob[off] ^= (u8)(1u << ((x >> 32) & 7));
        }
        u8 *copy = malloc(size);
        memcpy(copy, blob, size);
        (void)nested_check_state(copy, size, &caps, snapfix_read, NULL);
        free(copy);
    }
}

static int setup(void **state)
{
    (void)state;
    snapfix_caps(&caps);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_vcpu_and_length),
        cmocka_unit_test(test_view_and_caps),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
