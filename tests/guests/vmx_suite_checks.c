/*
 * vmx_suite: the SDM's VM-entry rules on guest segments, activity state,
 * interruptibility and pending debug exceptions, rule by rule (SDM Vol. 3
 * 27.2.1.3, 27.3.1.2, 27.3.1.5; the rows of docs/nested.md's table are
 * named in each test's comment). Each test starts from the runner's valid
 * default VMCS, breaks exactly one rule and expects the CPU's answer; where
 * a rule's other side is easy to reach, a twin test shows that the same
 * VMCS with the rule kept enters.
 *
 * Bochs 2.7 departs from the SDM on some of these rules: it compares CS's
 * DPL with CS's RPL rather than SS's DPL (the rule of SDM editions before
 * unrestricted guest), checks the DS/ES/FS/GS DPL rule for types 0-10
 * only, lets any event be injected in the HLT state, and does not check
 * the pending-debug-exception BS rule. Tests of those cases are named
 * "turtle ..." and run only under turtle, which follows the SDM.
 */
#include "vmx_suite.h"

#define X86_RFLAGS_TF       BIT(8)
#define X86_CR0_ET          BIT(4)
#define PENDING_DBG_BS      BIT(14)
#define SEL_RPL3            3
#define AR_DPL_SHIFT        5
#define AR_CONFORMING       BIT(2)          /* code type bit 2 */
#define AR_DATA_RW          0xc093          /* G, D/B, P, S, type 3 */
#define AR_RM_CODE          0x009b          /* real mode: P, S, type 11, 16-bit */
#define AR_RM_DATA          0x0093          /* real mode: P, S, type 3, 16-bit */
#define RM_LIMIT            0xffff
#define ERROR_CODE_BIT15    0x8000
#define ERROR_CODE_BIT16    0x10000
#define HLT_TIMER           100             /* preemption-timer ticks */
#define PAGE_2M             (2ull << 20)
#define EPT_2M_WB           (VMX_EPT_RWX_MASK | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT) | VMX_EPT_LARGE_PAGE_BIT)

static u32 dpl(u32 d) { return d << AR_DPL_SHIFT; }

/* ---- event injection (row 19) ---- */

static void break_error_code_bit16(void)
{
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
               INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE_MASK | X86_GP);
    vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, ERROR_CODE_BIT16);
}

/* ---- segments (rows 43-53), a 64-bit L2 at CPL 0 ---- */

/* Row 43: non-conforming CS, DPL 3 while SS's DPL is 0. */
static void break_cs_dpl(void) { vmcs_write(GUEST_CS_AR_BYTES, AR_CODE64 | dpl(3)); }
/* Row 44: conforming CS with a DPL above SS's; its twin with DPL 0. */
static void break_conforming_cs_dpl(void) { vmcs_write(GUEST_CS_AR_BYTES, AR_CODE64 | AR_CONFORMING | dpl(3)); }
static void conforming_cs(void) { vmcs_write(GUEST_CS_AR_BYTES, AR_CODE64 | AR_CONFORMING); }
/* Row 46: SS's RPL differs from CS's. */
static void break_ss_rpl(void) { vmcs_write(GUEST_SS_SELECTOR, vmcs_read(GUEST_SS_SELECTOR) | SEL_RPL3); }
/* Row 47: SS's DPL differs from its RPL (a conforming CS keeps row 43 out). */
static void break_ss_dpl(void)
{
    conforming_cs();
    vmcs_write(GUEST_SS_AR_BYTES, AR_DATA_RW | dpl(3));
}

/* Row 47, as make fuzz found it (vmx_fuzz seed 161780747 on skylake-x):
 * CS selector 0x0b and SS selector 0xc3df (RPL 3) with CS and SS DPL 0. */
static void break_fuzz_161780747(void)
{
    vmcs_write(GUEST_CS_SELECTOR, 0x0b);
    vmcs_write(GUEST_SS_SELECTOR, 0xc3df);
}

/* Row 51: DS with RPL 3 above its DPL 0; the twins: unusable, or a
 * conforming code segment (the rule covers types 0-11 only). */
static void break_ds_rpl(void) { vmcs_write(GUEST_DS_SELECTOR, vmcs_read(GUEST_DS_SELECTOR) | SEL_RPL3); }
static void ds_rpl_unusable(void)
{
    break_ds_rpl();
    vmcs_set_bits(GUEST_DS_AR_BYTES, AR_UNUSABLE);
}
static void ds_rpl_conforming(void)
{
    break_ds_rpl();
    vmcs_write(GUEST_DS_AR_BYTES, AR_CODE32 | AR_CONFORMING);
}
/* Row 51 with type 11 (execute/read code), which Bochs 2.7 leaves out. */
static void break_es_code_rpl(void)
{
    vmcs_write(GUEST_ES_SELECTOR, vmcs_read(GUEST_ES_SELECTOR) | SEL_RPL3);
    vmcs_write(GUEST_ES_AR_BYTES, AR_CODE32);
}

/* Row 53: bits 63:32 of SS, DS and ES bases count only when usable. */
static void break_ds_base(void) { vmcs_write(GUEST_DS_BASE, BIT(32)); }
static void ds_base_unusable(void)
{
    break_ds_base();
    vmcs_set_bits(GUEST_DS_AR_BYTES, AR_UNUSABLE);
}
static void es_base_unusable(void)
{
    vmcs_write(GUEST_ES_BASE, BIT(32));
    vmcs_set_bits(GUEST_ES_AR_BYTES, AR_UNUSABLE);
}

/* ---- unrestricted guest in real mode (rows 45, 48) ---- */

/* VMCALL, the whole real-mode L2 (CS base points here, IP 0). */
static u8 rm_code[16] __attribute__((aligned(16))) = { 0x0f, 0x01, 0xc1 };
static u64 *ept_pml4;

static bool has_ug(void)
{
    return vmx_has_ept() && vmx_has_proc2(SECONDARY_EXEC_UNRESTRICTED_GUEST);
}

/* EPT: the first GiB identity-mapped with 2 MiB pages. */
static void build_ept(void)
{
    if (ept_pml4)
        return;
    u64 *pdpt = vmx_alloc_page(), *pd = vmx_alloc_page();
    ept_pml4 = vmx_alloc_page();
    ept_pml4[0] = vmx_pa(pdpt) | VMX_EPT_RWX_MASK;
    pdpt[0] = vmx_pa(pd) | VMX_EPT_RWX_MASK;
    for (u64 i = 0; i < 512; i++)
        pd[i] = i * PAGE_2M | EPT_2M_WB;
}

/* L2 in real mode (CR0.PE and PG clear), CPL 0, at rm_code. */
static void real_mode(void)
{
    build_ept();
    vmcs_set_proc2(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
    vmcs_write(EPT_POINTER, vmx_pa(ept_pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
    vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
    if (vmx_default_entry() & VM_ENTRY_LOAD_IA32_EFER)
        vmcs_write(GUEST_IA32_EFER, 0);
    vmcs_write(GUEST_CR0, ((vmx_caps.cr0_fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG)) | X86_CR0_ET) &
                          vmx_caps.cr0_fixed1);
    vmcs_write(GUEST_CR4, vmx_caps.cr4_fixed0);
    vmcs_write(GUEST_CS_SELECTOR, 0);
    vmcs_write(GUEST_CS_BASE, vmx_pa(rm_code));
    vmcs_write(GUEST_CS_LIMIT, RM_LIMIT);
    vmcs_write(GUEST_CS_AR_BYTES, AR_RM_CODE);
    static const u32 sel[] = { GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR };
    static const u32 base[] = { GUEST_SS_BASE, GUEST_DS_BASE, GUEST_ES_BASE };
    static const u32 limit[] = { GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT };
    static const u32 ar[] = { GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES };
    for (size_t i = 0; i < ARRAY_SIZE(sel); i++) {
        vmcs_write(sel[i], 0);
        vmcs_write(base[i], 0);
        vmcs_write(limit[i], RM_LIMIT);
        vmcs_write(ar[i], AR_RM_DATA);
    }
    vmcs_write(GUEST_RIP, 0);
    vmcs_write(GUEST_RSP, 0);
}

/* Row 48: SS's DPL 0 when CR0.PE is 0 (or CS is of type 3). */
static void break_rm_ss_dpl(void)
{
    real_mode();
    vmcs_write(GUEST_SS_AR_BYTES, AR_RM_DATA | dpl(3));
}
/* Row 45: a CS of type 3 (read/write data, only with unrestricted guest)
 * has DPL 0; its twin enters. */
static void break_cs_type3_dpl(void)
{
    real_mode();
    vmcs_write(GUEST_CS_AR_BYTES, AR_RM_DATA | dpl(3));
}
static void cs_type3(void)
{
    real_mode();
    vmcs_write(GUEST_CS_AR_BYTES, AR_RM_DATA);
}
/* CS RPL 3 with CS and SS DPL 0: valid by the SDM; Bochs 2.7 wants CS's
 * DPL to equal its RPL and refuses it. */
static void rm_cs_rpl3(void)
{
    real_mode();
    vmcs_write(GUEST_CS_SELECTOR, SEL_RPL3);
}

/* ---- activity, interruptibility, pending debug exceptions (rows 60, 61, 68) ---- */

static void sti_blocking(void)
{
    vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | X86_RFLAGS_IF);
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI);
}
/* An L2 entered in HLT, bounded by the preemption timer where there is
 * one: a VMM that lets L2 halt rather than check the rule (Linux KVM
 * emulates the HLT state without a hardware entry) gets exit 52, not a
 * hang of the whole suite. */
static void hlt_state(void)
{
    vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
    if (vmx_has_pin(PIN_BASED_VMX_PREEMPTION_TIMER)) {
        vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
        vmcs_write(VMX_PREEMPTION_TIMER_VALUE, HLT_TIMER);
    }
}
/* Row 60: blocking by STI or MOV SS requires the active state. */
static void break_hlt_sti(void)
{
    sti_blocking();
    hlt_state();
}
static void break_hlt_mov_ss(void)
{
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_MOV_SS);
    hlt_state();
}
/* Row 61: in HLT, no #UD may be injected. */
static void break_hlt_inject_ud(void)
{
    hlt_state();
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | X86_UD);
}
/* Row 68: under blocking by STI with RFLAGS.TF 1 (and BTF 0), BS must be 1. */
static void break_sti_tf_no_bs(void)
{
    sti_blocking();
    vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | X86_RFLAGS_TF);
    vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
}

/* ---- running them ---- */

static void expect_enters(void (*setup)(void), u32 reason, const char *name)
{
    struct vmx_exit e = { 0 };

    launch_broken(setup, &e);
    if (!report(e.status == VMX_OK && e.reason == reason, "%s", name))
        printf("  status %d error %u reason %#x qualification %#lx (want reason %#x)\n", e.status, e.error,
               e.reason, (unsigned long)e.qual, reason);
    vmx_vmcs_teardown();
}

static void expect_failed_entry(void (*breakit)(void), const char *name)
{
    expect_broken_entry_failure(breakit, ENTRY_FAIL_GUEST, 0, name);
}

static void event_rule_tests(void)
{
    expect_broken_vmfail(break_error_code_bit16, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH injecting #GP with error-code bit 16 set: VMfailValid 7");
}

static void segment_rule_tests(void)
{
    expect_failed_entry(break_cs_dpl, "guest non-conforming CS with DPL 3, SS DPL 0: VM-entry failure 0x80000021");
    expect_failed_entry(break_conforming_cs_dpl,
                        "guest conforming CS with DPL 3 above SS DPL 0: VM-entry failure 0x80000021");
    expect_enters(conforming_cs, EXIT_REASON_VMCALL, "guest conforming CS with DPL 0: L2 runs");
    expect_failed_entry(break_ss_rpl, "guest SS RPL 3 with CS RPL 0: VM-entry failure 0x80000021");
    expect_failed_entry(break_ss_dpl, "guest SS DPL 3 with SS RPL 0: VM-entry failure 0x80000021");
    expect_failed_entry(break_fuzz_161780747,
                        "guest CS selector 0x0b, SS selector 0xc3df, both DPL 0: VM-entry failure 0x80000021");
    expect_failed_entry(break_ds_rpl, "guest DS RPL 3 above its DPL 0: VM-entry failure 0x80000021");
    expect_enters(ds_rpl_unusable, EXIT_REASON_VMCALL, "guest DS RPL 3 above its DPL 0, unusable: L2 runs");
    expect_enters(ds_rpl_conforming, EXIT_REASON_VMCALL,
                  "guest DS a conforming code segment with RPL 3 above its DPL 0: L2 runs");
    if (on_turtle())
        expect_failed_entry(break_es_code_rpl,
                            "turtle guest ES type 11 with RPL 3 above its DPL 0: VM-entry failure 0x80000021");
    expect_failed_entry(break_ds_base, "guest DS base above 4 GiB: VM-entry failure 0x80000021");
    expect_enters(ds_base_unusable, EXIT_REASON_VMCALL, "guest DS base above 4 GiB, unusable: L2 runs");
    expect_enters(es_base_unusable, EXIT_REASON_VMCALL, "guest ES base above 4 GiB, unusable: L2 runs");
}

static void unrestricted_rule_tests(void)
{
    if (!has_ug())
        return;
    expect_enters(real_mode, EXIT_REASON_VMCALL, "unrestricted guest in real mode: VMCALL exit");
    expect_failed_entry(break_rm_ss_dpl, "unrestricted guest in real mode with SS DPL 3: VM-entry failure 0x80000021");
    expect_enters(cs_type3, EXIT_REASON_VMCALL, "unrestricted guest with a CS of type 3, DPL 0: VMCALL exit");
    expect_failed_entry(break_cs_type3_dpl,
                        "unrestricted guest with a CS of type 3, DPL 3: VM-entry failure 0x80000021");
    if (on_turtle()) {
        /* The SDM lets this enter; Bochs 2.7 refuses it (vmcs02 under
         * turtle), and L1 must get the CPU's answer either way. */
        struct vmx_exit e = { 0 };
        launch_broken(rm_cs_rpl3, &e);
        printf("vmx_suite: real mode, CS RPL 3, CS/SS DPL 0: status %d reason %#x\n", e.status, e.reason);
        report(e.status == VMX_OK && (e.reason == EXIT_REASON_VMCALL || e.reason == ENTRY_FAIL_GUEST),
               "turtle unrestricted guest with CS RPL 3, CS/SS DPL 0: VMCALL exit or the CPU's entry failure");
        vmx_vmcs_teardown();
    }
}

static void activity_rule_tests(void)
{
    if (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT) {
        expect_failed_entry(break_hlt_sti, "guest in HLT with blocking by STI: VM-entry failure 0x80000021");
        expect_failed_entry(break_hlt_mov_ss, "guest in HLT with blocking by MOV SS: VM-entry failure 0x80000021");
        if (on_turtle())
            expect_failed_entry(break_hlt_inject_ud, "turtle guest in HLT injected with #UD: VM-entry failure 0x80000021");
    }
    if (on_turtle())
        expect_failed_entry(break_sti_tf_no_bs,
                            "turtle blocking by STI with RFLAGS.TF and BS clear: VM-entry failure 0x80000021");
}

const struct vmx_test check_tests[] = {
    { .name = "event injection rules", .l1 = event_rule_tests },
    { .name = "guest segment rules", .l1 = segment_rule_tests },
    { .name = "unrestricted guest rules", .l1 = unrestricted_rule_tests },
    { .name = "activity and interruptibility rules", .l1 = activity_rule_tests },
};
const size_t n_check_tests = ARRAY_SIZE(check_tests);
