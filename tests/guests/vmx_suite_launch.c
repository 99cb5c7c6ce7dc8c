/*
 * vmx_suite: VMLAUNCH and VMRESUME — launch state, and the three ways a VM
 * entry can fail (SDM 27.1-27.3, 27.8):
 *   - checks on the VMX controls   -> VMfailValid 7
 *   - checks on the host-state area -> VMfailValid 8
 *   - checks on the guest-state area, and MSR loading -> a VM exit with
 *     bit 31 of the exit reason set ("VM-entry failure"): reason 33
 *     (invalid guest state) or 34 (MSR loading), host state loaded.
 * Each test starts from the runner's valid default VMCS (vmx_vmcs_setup)
 * and breaks exactly one thing.
 */
#include "vmx_suite.h"

#define ENTRY_FAIL_MSR_LOAD     (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_MSR_LOAD_FAIL)
#define ENTRY_QUAL_LINK_PTR     4       /* SDM 27.8: invalid VMCS link pointer */
#define X86_CR0_PG_BIT          BIT(31)
#define X86_CR4_VMXE            BIT(13)
#define SEL_TI                  0x4
#define NONCANONICAL            0x8000000000000000ull   /* for 48- and 57-bit widths */
#define BAD_CR3_TARGET_COUNT    5       /* more than the SDM's maximum of 4 */

void l2_returns(void)
{
}

struct msr_entry {
    u32 index, reserved;
    u64 value;
};
_Static_assert(sizeof(struct msr_entry) == 16, "VM-entry/exit MSR area entry (SDM 25.7.2)");

/* ---- launch state ---- */

static bool is_done(const struct vmx_exit *e) { return vmx_is_l2_done(e); }

static void launch_state_tests(void)
{
    struct vmx_exit e = { 0 };

    vmx_vmcs_setup(l2_returns);
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    expect_fail_valid(e.status, VMXERR_VMRESUME_NONLAUNCHED_VMCS,
                      "VMRESUME of a VMCS never launched: VMfailValid 5");
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    report(is_done(&e), "VMLAUNCH succeeds and L2 exits with VMCALL");
    vmx_skip_instruction(&e);
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    expect_fail_valid(e.status, VMXERR_VMLAUNCH_NONCLEAR_VMCS, "VMLAUNCH of a launched VMCS: VMfailValid 4");
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    report(is_done(&e), "VMRESUME of a launched VMCS succeeds");

    vmclear(vmx_test_vmcs());
    vmptrld(vmx_test_vmcs());
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    expect_fail_valid(e.status, VMXERR_VMRESUME_NONLAUNCHED_VMCS, "VMRESUME after VMCLEAR: VMfailValid 5");
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    report(is_done(&e), "VMLAUNCH after VMCLEAR succeeds");
    vmx_vmcs_teardown();

    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    expect_fail_invalid(e.status, "VMLAUNCH without a current VMCS: VMfailInvalid");
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    expect_fail_invalid(e.status, "VMRESUME without a current VMCS: VMfailInvalid");

    vmx_vmcs_setup(l2_returns);
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH_MOV_SS);
    expect_fail_valid(e.status, VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS,
                      "VMLAUNCH right after MOV SS: VMfailValid 26");
    vmx_vmcs_teardown();
}

/* ---- one broken field at a time ---- */

/* Sets up the default VMCS, lets `breakit` damage it, launches once. */
void launch_broken(void (*breakit)(void), struct vmx_exit *e)
{
    vmx_vmcs_setup(l2_returns);
    breakit();
    e->count = 0;
    vmx_run_l2_mode(e, VMX_ENTER_LAUNCH);
}

void expect_broken_vmfail(void (*breakit)(void), u32 error, const char *name)
{
    struct vmx_exit e = { 0 };

    launch_broken(breakit, &e);
    if (e.status == VMX_OK)
        printf("  entered: exit reason %#x qualification %#lx\n", e.reason, (unsigned long)e.qual);
    expect_fail_valid(e.status, error, name);
    vmx_vmcs_teardown();
}

void expect_broken_entry_failure(void (*breakit)(void), u32 reason, u64 qual, const char *name)
{
    struct vmx_exit e = { 0 };

    launch_broken(breakit, &e);
    if (!report(e.status == VMX_OK && e.reason == reason && e.qual == qual, "%s", name))
        printf("  status %d error %u reason %#x qualification %#lx (want reason %#x qualification %#lx)\n",
               e.status, e.error, e.reason, (unsigned long)e.qual, reason, (unsigned long)qual);
    vmx_vmcs_teardown();
}

/* Lowest bit that a control field may not set, or -1. */
static int reserved_bit(u64 cap)
{
    u32 allowed = vmx_ctl_allowed(cap);
    for (int b = 0; b < 32; b++)
        if (!(allowed & (1u << b)))
            return b;
    return -1;
}

static void break_pin_reserved(void)
{
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, 1u << reserved_bit(vmx_caps.pin));
}

static void break_pin_required(void)
{
    u32 req = vmx_ctl_required(vmx_caps.pin);
    vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, req & -req);
}

static void break_proc_reserved(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, 1u << reserved_bit(vmx_caps.proc));
}

static void break_exit_reserved(void)
{
    vmcs_set_bits(VM_EXIT_CONTROLS, 1u << reserved_bit(vmx_caps.exit));
}

static void break_entry_reserved(void)
{
    vmcs_set_bits(VM_ENTRY_CONTROLS, 1u << reserved_bit(vmx_caps.entry));
}

static void break_cr3_target_count(void) { vmcs_write(CR3_TARGET_COUNT, BAD_CR3_TARGET_COUNT); }

static void break_io_bitmap(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
    vmcs_write(IO_BITMAP_A, vmx_pa(vmx_io_bitmap_a) + 8);
}

static void break_msr_bitmap(void) { vmcs_write(MSR_BITMAP, 1ull << vmx_caps.maxphyaddr); }

static void break_entry_intr_type(void)
{
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_RESERVED | 0x20);
}

static void break_entry_intr_no_error_code(void)
{
    /* #GP is delivered with an error code in protected mode: bit 11 must be 1 (SDM 27.2.1.3). */
    if (!(vmx_caps.basic & VMX_BASIC_NO_HW_ERRCODE_CC))
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | X86_GP);
    else
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 32);
}

static void break_entry_msr_load_align(void)
{
    static struct msr_entry list[2] __attribute__((aligned(16)));
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(&list[0]) + 8);
}

static void break_host_cr4(void) { vmcs_clear_bits(HOST_CR4, X86_CR4_VMXE); }
static void break_host_cs_ti(void) { vmcs_write(HOST_CS_SELECTOR, vmcs_read(HOST_CS_SELECTOR) | SEL_TI); }
static void break_host_tr_null(void) { vmcs_write(HOST_TR_SELECTOR, 0); }
static void break_host_gdtr(void) { vmcs_write(HOST_GDTR_BASE, NONCANONICAL); }
static void break_host_addr_space(void) { vmcs_clear_bits(VM_EXIT_CONTROLS, VM_EXIT_HOST_ADDR_SPACE_SIZE); }

static void break_host_efer(void)
{
    vmcs_write(HOST_IA32_EFER, vmcs_read(HOST_IA32_EFER) & ~(EFER_LMA | EFER_LME));
}

static void break_guest_rflags(void) { vmcs_write(GUEST_RFLAGS, 0); }
static void break_guest_cr0_pg(void) { vmcs_clear_bits(GUEST_CR0, X86_CR0_PG_BIT); }
static void break_guest_cs_ar(void) { vmcs_clear_bits(GUEST_CS_AR_BYTES, 1); /* not accessed */ }
static void break_guest_tr_unusable(void) { vmcs_write(GUEST_TR_AR_BYTES, 0x10000); }
static void break_guest_sti_blocking(void) { vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_STI); }
/*
 * Bochs 2.7 does not check that a 64-bit guest's RIP is canonical (SDM
 * 27.3.1.4): it enters and L2 faults on the fetch. So this checks the other
 * RIP rule: bits 63:32 must be 0 unless CS.L = 1 (compatibility mode here).
 */
static void break_guest_rip(void)
{
    vmcs_write(GUEST_CS_AR_BYTES, 0xc09b);      /* L = 0, D = 1 */
    vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) | BIT(32));
}

static void break_guest_activity(void) { vmcs_write(GUEST_ACTIVITY_STATE, 5); }
static void break_link_pointer(void) { vmcs_write(VMCS_LINK_POINTER, vmx_pa(vmx_io_bitmap_b)); }

static void break_entry_msr_load_fs_base(void)
{
    /* Entry 1 is fine; entry 2 loads IA32_FS_BASE, which the list may not (SDM 27.4). */
    static struct msr_entry list[2] __attribute__((aligned(16)));
    list[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x1000 };
    list[1] = (struct msr_entry){ MSR_FS_BASE, 0, 0x2000 };
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 2);
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(list));
}

static void break_entry_msr_load_reserved(void)
{
    static struct msr_entry list[1] __attribute__((aligned(16)));
    list[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 1, 0 };
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(list));
}

static void control_tests(void)
{
    if (reserved_bit(vmx_caps.pin) >= 0)
        expect_broken_vmfail(break_pin_reserved, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with a reserved pin-based control set: VMfailValid 7");
    if (vmx_ctl_required(vmx_caps.pin))
        expect_broken_vmfail(break_pin_required, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with a must-be-1 pin-based control clear: VMfailValid 7");
    if (reserved_bit(vmx_caps.proc) >= 0)
        expect_broken_vmfail(break_proc_reserved, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with a reserved processor-based control set: VMfailValid 7");
    if (reserved_bit(vmx_caps.exit) >= 0)
        expect_broken_vmfail(break_exit_reserved, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with a reserved VM-exit control set: VMfailValid 7");
    if (reserved_bit(vmx_caps.entry) >= 0)
        expect_broken_vmfail(break_entry_reserved, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with a reserved VM-entry control set: VMfailValid 7");
    expect_broken_vmfail(break_cr3_target_count, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH with CR3-target count 5: VMfailValid 7");
    if (vmx_has_proc(CPU_BASED_USE_IO_BITMAPS))
        expect_broken_vmfail(break_io_bitmap, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                            "VMLAUNCH with an unaligned I/O bitmap address: VMfailValid 7");
    expect_broken_vmfail(break_msr_bitmap, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH with an MSR bitmap beyond the physical-address width: VMfailValid 7");
    expect_broken_vmfail(break_entry_intr_type, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH injecting an event of reserved type 1: VMfailValid 7");
    expect_broken_vmfail(break_entry_intr_no_error_code, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH injecting #GP without its error code: VMfailValid 7");
    expect_broken_vmfail(break_entry_msr_load_align, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                        "VMLAUNCH with an unaligned VM-entry MSR-load address: VMfailValid 7");
}

static void host_state_tests(void)
{
    expect_broken_vmfail(break_host_cr4, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                        "VMLAUNCH with HOST_CR4.VMXE clear: VMfailValid 8");
    expect_broken_vmfail(break_host_cs_ti, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                        "VMLAUNCH with a host CS selector with TI set: VMfailValid 8");
    expect_broken_vmfail(break_host_tr_null, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                        "VMLAUNCH with a null host TR selector: VMfailValid 8");
    expect_broken_vmfail(break_host_gdtr, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                        "VMLAUNCH with a non-canonical HOST_GDTR_BASE: VMfailValid 8");
    expect_broken_vmfail(break_host_addr_space, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                        "VMLAUNCH from a 64-bit host without host address-space size: VMfailValid 8");
    if (vmx_default_exit() & VM_EXIT_LOAD_IA32_EFER)
        expect_broken_vmfail(break_host_efer, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD,
                            "VMLAUNCH loading a host EFER without LMA/LME: VMfailValid 8");
}

static void guest_state_tests(void)
{
    expect_broken_entry_failure(break_guest_rflags, ENTRY_FAIL_GUEST, 0,
                         "guest RFLAGS bit 1 clear: VM-entry failure 0x80000021, qualification 0");
    expect_broken_entry_failure(break_guest_cr0_pg, ENTRY_FAIL_GUEST, 0,
                         "guest CR0.PG clear in an IA-32e guest: VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_guest_cs_ar, ENTRY_FAIL_GUEST, 0,
                         "guest CS type not accessed: VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_guest_tr_unusable, ENTRY_FAIL_GUEST, 0,
                         "guest TR unusable: VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_guest_sti_blocking, ENTRY_FAIL_GUEST, 0,
                         "guest blocking by STI with RFLAGS.IF clear: VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_guest_rip, ENTRY_FAIL_GUEST, 0,
                         "guest RIP above 4 GiB with CS.L clear: VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_guest_activity, ENTRY_FAIL_GUEST, 0,
                         "guest activity state 5 (reserved): VM-entry failure 0x80000021");
    expect_broken_entry_failure(break_link_pointer, ENTRY_FAIL_GUEST, ENTRY_QUAL_LINK_PTR,
                         "VMCS link pointer to a page without the revision: VM-entry failure, qualification 4");
    expect_broken_entry_failure(break_entry_msr_load_fs_base, ENTRY_FAIL_MSR_LOAD, 2,
                         "VM-entry MSR-load of IA32_FS_BASE in entry 2: VM-entry failure 0x80000022, qualification 2");
    expect_broken_entry_failure(break_entry_msr_load_reserved, ENTRY_FAIL_MSR_LOAD, 1,
                         "VM-entry MSR-load entry with reserved bits set: VM-entry failure 0x80000022, qualification 1");

    /* A failed VM entry leaves the VMCS clear: VMRESUME fails, VMLAUNCH works. */
    struct vmx_exit e = { 0 };
    launch_broken(break_guest_rflags, &e);
    vmcs_write(GUEST_RFLAGS, 0x2);
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    expect_fail_valid(e.status, VMXERR_VMRESUME_NONLAUNCHED_VMCS,
                      "after a VM-entry failure the VMCS is not launched: VMRESUME fails with 5");
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    report(is_done(&e), "after a VM-entry failure and a fix, VMLAUNCH succeeds");
    vmx_vmcs_teardown();
}

/* ---- hostile VMCS contents: an architectural failure, never a hang ---- */

static bool clean_failure(const struct vmx_exit *e)
{
    if (e->status == VMX_FAIL_VALID)
        return e->error == VMXERR_VMLAUNCH_NONCLEAR_VMCS || e->error == VMXERR_ENTRY_INVALID_CONTROL_FIELD ||
               e->error == VMXERR_ENTRY_INVALID_HOST_STATE_FIELD;
    return e->status == VMX_OK && (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY);
}

static void garbage_tests(void)
{
    u8 *page = vmx_alloc_page();
    u64 pa = vmx_pa(page);
    struct vmx_exit e = { 0 };

    if (!page)
        return;
    /* Never VMCLEARed: the launch state is whatever the region holds. */
    memset(page, 0xff, PAGE_4K);
    *(u32 *)page = vmx_caps.revision;
    expect_ok(vmptrld(pa), "VMPTRLD of a region full of 0xff with the right revision succeeds");
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    printf("vmx_suite: VMLAUNCH of a never-cleared 0xff region: status %d error %u reason %#x\n",
           e.status, e.error, e.reason);
    report(clean_failure(&e), "VMLAUNCH of a region full of 0xff fails cleanly (VMfailValid 4/7/8 or entry failure)");
    vmclear(pa);

    memset(page, 0xff, PAGE_4K);
    *(u32 *)page = vmx_caps.revision;
    vmclear(pa);
    vmptrld(pa);
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    if (!report(e.status == VMX_FAIL_VALID && (e.error == VMXERR_ENTRY_INVALID_CONTROL_FIELD ||
                                                e.error == VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
                "VMLAUNCH of a VMCLEARed region full of 0xff: VMfailValid 7 or 8"))
        printf("  status %d error %u reason %#x\n", e.status, e.error, e.reason);
    vmx_run_l2_mode(&e, VMX_ENTER_RESUME);
    expect_fail_valid(e.status, VMXERR_VMRESUME_NONLAUNCHED_VMCS,
                      "VMRESUME of a VMCLEARed region full of 0xff: VMfailValid 5");
    vmclear(pa);
}

const struct vmx_test launch_tests[] = {
    { .name = "launch state", .l1 = launch_state_tests },
    { .name = "VM-entry control checks", .l1 = control_tests },
    { .name = "VM-entry host-state checks", .l1 = host_state_tests },
    { .name = "VM-entry guest-state checks", .l1 = guest_state_tests },
    { .name = "hostile VMCS contents", .l1 = garbage_tests },
};
const size_t n_launch_tests = ARRAY_SIZE(launch_tests);
