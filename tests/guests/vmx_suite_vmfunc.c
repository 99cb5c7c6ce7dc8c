/*
 * vmx_suite: VM functions (SDM 26.5.6, VMFUNC in Vol. 2), EPTP switching.
 * L1 builds two EPTs over vmx_suite_ept.c's identity map: EPT A is that
 * map, EPT B the same but for one page, data_pages[1], which B maps onto
 * data_pages[2]. The EPTP list holds A at index 0, B at 1, and at 2 an
 * EPTP with a reserved memory type. L2 reads a marker through data_pages[1]
 * and sees which EPT it runs on. What must hold:
 *   - VMFUNC leaf 0 with a valid entry switches the EPT without a VM exit,
 *     and L1 reads the EPT pointer it switched to after the next exit;
 *   - an invalid entry, an index of 512 or more, a leaf vmcs12 does not
 *     enable: VM exit 59, L2's EPT and registers as they were;
 *   - "enable VM functions" off: VMFUNC is #UD in L2;
 *   - the VM-entry checks of SDM 27.2.1.1 on the VM-function controls;
 *   - INVEPT of a listed EPT that L1 changed: L2's next switch sees it.
 */
#include "vmx_suite_ept.h"

#define VMFUNC_LEN          3           /* 0f 01 d4 */
#define LEAF_EPTP_SWITCH    0
#define IDX_A               0
#define IDX_B               1
#define IDX_BAD             2           /* memory type 2: reserved */
#define MARK_A              0xa0a0a0a0a0a0a0a0ull
#define MARK_B              0xb0b0b0b0b0b0b0b0ull
#define MARK_C              0xc0c0c0c0c0c0c0c0ull
#define VMCALL_CHANGED      0x7e57              /* L2: "L1, change EPT B now" */
#define VMFUNC_RESERVED     BIT(1)              /* no CPU has VM function 1 */

static u64 *pml4b, *pdptb, *pdb, *ptb, *eptp_list;
static volatile u64 seen[4];

static bool has_vmfunc(void)
{
    return has_ept() && vmx_has_proc2(SECONDARY_EXEC_ENABLE_VMFUNC) && (vmx_caps.vmfunc & VMX_VMFUNC_EPTP_SWITCHING);
}

/* VMFUNC with EAX = leaf, ECX = index. */
static inline void l2_vmfunc(u32 leaf, u32 index)
{
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd4" :: "a"(leaf), "c"(index) : "memory");
}

static u64 marker(void) { return *(volatile u64 *)data_pages[1]; }
static volatile u64 *page_word(int i) { return (volatile u64 *)data_pages[i]; }

/* EPT B: EPT A's tables copied, data_pages[1] mapped onto `target`. */
static void build_ept_b(const void *target)
{
    if (!pml4b) {
        pml4b = vmx_alloc_page();
        pdptb = vmx_alloc_page();
        pdb = vmx_alloc_page();
        ptb = vmx_alloc_page();
        eptp_list = vmx_alloc_page();
    }
    memset(pml4b, 0, PAGE_4K);
    memset(pdptb, 0, PAGE_4K);
    memcpy(pdb, pd, PAGE_4K);
    memcpy(ptb, pt, PAGE_4K);
    pml4b[0] = vmx_pa(pdptb) | EPT_RWX;
    pdptb[0] = vmx_pa(pdb) | EPT_RWX;
    pdb[0] = vmx_pa(ptb) | EPT_RWX;
    ptb[vmx_pa(data_pages[1]) >> 12] = EPT_LEAF_4K(vmx_pa(target), EPT_RWX);
}

/* EPT on (A), EPT B, the list, VM functions on with EPTP switching. */
static void init_vmfunc(void)
{
    init_ept();
    build_ept_b(data_pages[2]);
    memset(eptp_list, 0, PAGE_4K);
    eptp_list[IDX_A] = eptp_for(pml4);
    eptp_list[IDX_B] = eptp_for(pml4b);
    eptp_list[IDX_BAD] = (eptp_for(pml4b) & ~VMX_EPTP_MT_MASK) | EPTP_MT_RESERVED;
    *page_word(1) = MARK_A;
    *page_word(2) = MARK_B;
    seen[0] = seen[1] = seen[2] = seen[3] = 0;
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC);
    vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(eptp_list));
}

/* ---- switching ---- */

static void l2_switch(void)
{
    seen[0] = marker();
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);
    seen[1] = marker();
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_A);
    seen[2] = marker();
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);
    seen[3] = marker();
}

static enum vmx_action switch_exit(struct vmx_exit *e)
{
    if (!report(vmx_is_l2_done(e) && seen[0] == MARK_A && seen[1] == MARK_B && seen[2] == MARK_A &&
                seen[3] == MARK_B, "VMFUNC EPTP switching: L2 goes from EPT A to B, A and B without a VM exit")) {
        vmx_report_unexpected("VMFUNC EPTP switching", e);
        printf("  markers %#lx %#lx %#lx %#lx\n", (unsigned long)seen[0], (unsigned long)seen[1],
               (unsigned long)seen[2], (unsigned long)seen[3]);
    }
    report(vmcs_read(EPT_POINTER) == eptp_for(pml4b),
           "VMFUNC EPTP switching: after the next exit the EPT pointer is the list entry L2 switched to");
    return VMX_STOP;
}

/* ---- VMFUNCs that exit: L2 resumes after them on the EPT it had ---- */

static u32 bad_leaf, bad_index;
static const char *bad_name;

static void l2_bad_vmfunc(void)
{
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);         /* on EPT B, then the failing one */
    l2_vmfunc(bad_leaf, bad_index);
    seen[0] = marker();
}

static enum vmx_action bad_vmfunc_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!report(exit_is(bad_name, e, EXIT_REASON_VMFUNC) && e->instr_len == VMFUNC_LEN &&
                    e->regs->rax == bad_leaf && e->regs->rcx == bad_index &&
                    vmcs_read(EPT_POINTER) == eptp_for(pml4b), "%s: VM exit 59, EPT pointer and registers unchanged",
                    bad_name))
            printf("  reason %#x length %u EAX %#lx ECX %#lx EPT pointer %#lx\n", e->reason, e->instr_len,
                   (unsigned long)e->regs->rax, (unsigned long)e->regs->rcx, (unsigned long)vmcs_read(EPT_POINTER));
        if (e->status != VMX_OK || e->reason != EXIT_REASON_VMFUNC)
            return VMX_STOP;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && seen[0] == MARK_B, "%s: L2 goes on with the EPT it had", bad_name);
    return expect_done(bad_name, e);
}

static void init_bad_entry(void)
{
    init_vmfunc();
    bad_leaf = LEAF_EPTP_SWITCH, bad_index = IDX_BAD, bad_name = "VMFUNC to an invalid EPTP-list entry";
}

static void init_bad_index(void)
{
    init_vmfunc();
    bad_leaf = LEAF_EPTP_SWITCH, bad_index = 512, bad_name = "VMFUNC to EPTP-list index 512";
}

static void init_bad_leaf(void)
{
    init_vmfunc();
    bad_leaf = 1, bad_index = IDX_A, bad_name = "VMFUNC leaf 1 (not enabled)";
}

/* An entry L1 changes between two VMFUNCs of L2 (the CPU reads the list
 * at each VMFUNC): index 2 becomes valid. */
static void l2_list_changed(void)
{
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_BAD);
    seen[0] = marker();
}

static enum vmx_action list_changed_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!exit_is("VMFUNC after L1 fixes the list entry", e, EXIT_REASON_VMFUNC))
            return VMX_STOP;
        eptp_list[IDX_BAD] = eptp_for(pml4b);    /* no VMWRITE: the list is memory */
        return VMX_RESUME;                      /* VMFUNC again */
    }
    expect_done("VMFUNC after L1 fixes the list entry", e);
    report(vmx_is_l2_done(e) && seen[0] == MARK_B && vmcs_read(EPT_POINTER) == eptp_for(pml4b),
           "VMFUNC after L1 fixes the list entry: the same VMFUNC again switches to it");
    return VMX_STOP;
}

/* ---- the monitor trap flag after a VMFUNC ---- */

/*
 * A VMFUNC that completes is an instruction like any other: with the
 * monitor trap flag, the MTF VM exit follows it (SDM 26.5.2), on the EPT
 * it switched to. Bochs 2.7 delivers no MTF exit after any instruction
 * (vmx_suite_events.c), so on bare Bochs L2 just runs on: the test runs
 * under turtle only, which completes L2's VMFUNCs itself.
 */
static bool has_vmfunc_mtf_turtle(void)
{
    return has_vmfunc() && vmx_has_proc(CPU_BASED_MONITOR_TRAP_FLAG) && on_turtle();
}

static void init_vmfunc_mtf(void)
{
    init_vmfunc();
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_TRAP_FLAG);
}

static void l2_vmfunc_mtf(void)
{
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);
    seen[1] = marker();
}

static enum vmx_action vmfunc_mtf_exit(struct vmx_exit *e)
{
    static const u8 op_vmfunc[VMFUNC_LEN] = { 0x0f, 0x01, 0xd4 };

    if (e->count == 0) {
        report(exit_is("VMFUNC with MTF", e, EXIT_REASON_MONITOR_TRAP_FLAG) &&
               memcmp((const void *)(uintptr_t)(e->guest_rip - VMFUNC_LEN), op_vmfunc, VMFUNC_LEN) == 0 &&
               seen[1] == 0 && vmcs_read(EPT_POINTER) == eptp_for(pml4b),
               "turtle VMFUNC with the monitor trap flag: MTF exit right after it, on the EPT it switched to");
        if (e->status != VMX_OK || e->reason != EXIT_REASON_MONITOR_TRAP_FLAG)
            return VMX_STOP;
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_TRAP_FLAG);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && seen[1] == MARK_B, "turtle VMFUNC with the monitor trap flag: L2 goes on on EPT B");
    return expect_done("VMFUNC with MTF", e);
}

/* ---- VM functions off: #UD ---- */

static void init_vmfunc_off(void)
{
    init_vmfunc();
    vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC);
    vmcs_write(EXCEPTION_BITMAP, BIT(X86_UD));
}

static void l2_vmfunc_off(void) { l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B); }

static enum vmx_action vmfunc_off_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("VMFUNC with VM functions off", e, EXIT_REASON_EXCEPTION_NMI) &&
               e->intr_info == (INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | X86_UD) &&
               vmcs_read(EPT_POINTER) == eptp_for(pml4),
               "VMFUNC with \"enable VM functions\" off: #UD in L2, EPT unchanged");
        if (e->status != VMX_OK)
            return VMX_STOP;
        e->guest_rip += VMFUNC_LEN;
        vmcs_write(GUEST_RIP, e->guest_rip);
        return VMX_RESUME;
    }
    return expect_done("VMFUNC with VM functions off", e);
}

/* ---- INVEPT of a listed EPT that L1 changed ---- */

static void l2_invept(void)
{
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);
    seen[0] = marker();
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_A);
    l2_vmcall(VMCALL_CHANGED);
    l2_vmfunc(LEAF_EPTP_SWITCH, IDX_B);
    seen[1] = marker();
}

static enum vmx_action invept_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!exit_is("VMFUNC and INVEPT", e, EXIT_REASON_VMCALL) || e->regs->rax != VMCALL_CHANGED)
            return VMX_STOP;
        /* EPT B now maps data_pages[1] onto data_pages[0]. */
        *page_word(0) = MARK_C;
        ptb[vmx_pa(data_pages[1]) >> 12] = EPT_LEAF_4K(vmx_pa(data_pages[0]), EPT_RWX);
        struct invept_desc d = { eptp_for(pml4b), 0 };
        u64 type = vmx_caps.ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
        expect_ok(invept(type, &d), "VMFUNC and INVEPT: INVEPT of EPT B while L2 runs on A");
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    expect_done("VMFUNC and INVEPT", e);
    report(vmx_is_l2_done(e) && seen[0] == MARK_B && seen[1] == MARK_C,
           "VMFUNC and INVEPT: L2's next switch to EPT B sees what L1 changed in it");
    return VMX_STOP;
}

/* ---- VM-entry checks (SDM 27.2.1.1) ---- */

static void break_list_unaligned(void) { init_vmfunc(); vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(eptp_list) + 8); }
static void break_list_width(void) { init_vmfunc(); vmcs_write(EPTP_LIST_ADDRESS, 1ull << vmx_caps.maxphyaddr); }
static void break_vmfunc_reserved(void) { init_vmfunc(); vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING | VMFUNC_RESERVED); }
static void break_switch_no_ept(void)
{
    init_vmfunc();
    vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
}
/* Neither matters without "enable VM functions". */
static void unused_when_off(void)
{
    init_vmfunc();
    vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC);
    vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING | VMFUNC_RESERVED);
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(eptp_list) + 8);
}
/* Nor the list without EPTP switching. */
static void list_unused_without_switching(void)
{
    init_vmfunc();
    vmcs_write(VM_FUNCTION_CONTROL, 0);
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(eptp_list) + 8);
}

static void entry_checks(void)
{
    expect_broken_vmfail(break_list_unaligned, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                         "VMLAUNCH with EPTP switching and an unaligned EPTP-list address: VMfailValid 7");
    expect_broken_vmfail(break_list_width, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                         "VMLAUNCH with an EPTP-list address beyond the physical-address width: VMfailValid 7");
    if (!(vmx_caps.vmfunc & VMFUNC_RESERVED))
        expect_broken_vmfail(break_vmfunc_reserved, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                             "VMLAUNCH with a VM-function control IA32_VMX_VMFUNC does not allow: VMfailValid 7");
    expect_broken_vmfail(break_switch_no_ept, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                         "VMLAUNCH with EPTP switching without EPT: VMfailValid 7");
    struct vmx_exit e = { 0 };
    launch_broken(unused_when_off, &e);
    report(vmx_is_l2_done(&e), "VMLAUNCH ignores the VM-function fields without \"enable VM functions\"");
    vmx_vmcs_teardown();
    launch_broken(list_unused_without_switching, &e);
    report(vmx_is_l2_done(&e), "VMLAUNCH ignores the EPTP-list address without EPTP switching");
    vmx_vmcs_teardown();
}

const struct vmx_test vmfunc_tests[] = {
    { "VMFUNC EPTP switching", has_vmfunc, NULL, init_vmfunc, l2_switch, switch_exit },
    { "VMFUNC invalid entry", has_vmfunc, NULL, init_bad_entry, l2_bad_vmfunc, bad_vmfunc_exit },
    { "VMFUNC index 512", has_vmfunc, NULL, init_bad_index, l2_bad_vmfunc, bad_vmfunc_exit },
    { "VMFUNC leaf 1", has_vmfunc, NULL, init_bad_leaf, l2_bad_vmfunc, bad_vmfunc_exit },
    { "VMFUNC list changed", has_vmfunc, NULL, init_vmfunc, l2_list_changed, list_changed_exit },
    { "VMFUNC off", has_vmfunc, NULL, init_vmfunc_off, l2_vmfunc_off, vmfunc_off_exit },
    { "VMFUNC with MTF", has_vmfunc_mtf_turtle, NULL, init_vmfunc_mtf, l2_vmfunc_mtf, vmfunc_mtf_exit },
    { "VMFUNC and INVEPT", has_vmfunc, NULL, init_vmfunc, l2_invept, invept_exit },
    { "VMFUNC entry checks", has_vmfunc, entry_checks, NULL, NULL, NULL },
};
const size_t n_vmfunc_tests = ARRAY_SIZE(vmfunc_tests);
