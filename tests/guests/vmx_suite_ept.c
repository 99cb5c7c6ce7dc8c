/*
 * vmx_suite: EPT and VPID (SDM Vol. 3C chapter 29). L1 builds an EPT that
 * identity-maps the first 4 MiB: [0, 2 MiB) with 4 KiB pages (so single
 * pages can be changed: the image, L1's page tables, the L2 stack and the
 * test pages all live there), [2 MiB, 4 MiB) with one 2 MiB page. Nothing
 * else is mapped: L2 reaches 12 MiB through its page tables (L1's identity
 * map) but not through the EPT, which gives EPT violations. Under turtle this
 * EPT is EPT12; the expectations are architectural, so they hold for EPT02.
 *
 * EPT-violation qualification (SDM 28.2.1, Table 28-7): bit 0 read, 1 write,
 * 2 fetch, bits 5:3 the R/W/X permissions of the translation (0 if not
 * present), bit 7 guest linear address valid, bit 8 the access was to the
 * translated address (not a paging structure); bits 11:9 only with
 * advanced EPT exit information (IA32_VMX_EPT_VPID_CAP bit 22).
 */
#include "vmx_suite_ept.h"

u64 *pml4, *pdpt, *pd, *pt;
u8 data_pages[3][PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u64 seen[4];

u64 eptp_for(const u64 *root)
{
    u64 p = vmx_pa(root) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    if (vmx_caps.ept_vpid & VMX_EPT_AD_BIT)
        p |= VMX_EPTP_AD_ENABLE_BIT;
    return p;
}

static u64 eptp(void) { return eptp_for(pml4); }

u64 *pte_of(const void *p) { return &pt[vmx_pa(p) >> 12]; }

static void build_ept(void)
{
    if (!pml4) {
        pml4 = vmx_alloc_page();
        pdpt = vmx_alloc_page();
        pd = vmx_alloc_page();
        pt = vmx_alloc_page();
    }
    memset(pml4, 0, PAGE_4K);
    memset(pdpt, 0, PAGE_4K);
    memset(pd, 0, PAGE_4K);
    pml4[0] = vmx_pa(pdpt) | EPT_RWX;
    pdpt[0] = vmx_pa(pd) | EPT_RWX;
    pd[0] = vmx_pa(pt) | EPT_RWX;
    for (u64 i = 0; i < 512; i++)
        pt[i] = EPT_LEAF_4K(i << 12, EPT_RWX);
    for (u64 a = PAGE_2M; a < MAPPED_TOP; a += PAGE_2M)
        pd[a / PAGE_2M] = a | EPT_RWX | EPT_WB | EPT_2M;
    memset(data_pages, 0, sizeof(data_pages));
}

static u64 qual_translated(u64 access_and_perms)
{
    u64 q = access_and_perms | QUAL_GLA_VALID | QUAL_TRANSLATED;
    if (vmx_caps.ept_vpid & VMX_EPT_ADVANCED_EXIT_INFO_BIT)
        q |= QUAL_ADV_RW;
    return q;
}

bool has_ept(void) { return vmx_has_ept(); }

void invept_context(void)
{
    struct invept_desc d = { eptp(), 0 };
    u64 type = vmx_caps.ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
    int st = invept(type, &d);
    if (st != VMX_OK)
        report(false, "INVEPT type %lu after changing the EPT: status %d", (unsigned long)type, st);
}

/* Default VMCS + EPT on (init of every EPT test). */
void init_ept(void)
{
    build_ept();
    vmcs_set_proc2(SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp());
    invept_context();
}

bool expect_exit(const char *test, const struct vmx_exit *e, u32 reason)
{
    if (e->status == VMX_OK && e->reason == reason)
        return true;
    vmx_report_unexpected(test, e);
    return false;
}

/* ---- L2 runs on the EPT ---- */

static void l2_ept_rw(void)
{
    volatile u64 *p = (volatile u64 *)data_pages[0];
    p[0] = PATTERN_A;
    p[1] = p[0] ^ 1;
    seen[0] = p[1];
}

static enum vmx_action ept_rw_exit(struct vmx_exit *e)
{
    const volatile u64 *p = (const volatile u64 *)data_pages[0];
    report(vmx_is_l2_done(e) && seen[0] == (PATTERN_A ^ 1) && p[1] == (PATTERN_A ^ 1),
           "EPT: L2 reads and writes identity-mapped memory");
    /* With A/D enabled (eptp() sets it when offered) the write sets both; without, neither. */
    u64 want_ad = vmx_caps.ept_vpid & VMX_EPT_AD_BIT ? EPT_A | EPT_D : 0;
    report((*pte_of(data_pages[0]) & (EPT_A | EPT_D)) == want_ad && (*pte_of(data_pages[2]) & (EPT_A | EPT_D)) == 0,
           "EPT accessed/dirty flags follow the capability (set by L2's write when enabled, else untouched)");
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("EPT", e);
    return VMX_STOP;
}

static void l2_read_unmapped(void) { seen[0] = *(volatile u64 *)(uintptr_t)(GPA_UNMAPPED + 0x10); }

static enum vmx_action unmapped_read_exit(struct vmx_exit *e)
{
    u64 want = qual_translated(QUAL_READ);
    if (!expect_exit("EPT violation (read)", e, EXIT_REASON_EPT_VIOLATION))
        return VMX_STOP;
    if (!report(vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_UNMAPPED + 0x10 && e->qual == want &&
                vmcs_read(GUEST_LINEAR_ADDRESS) == GPA_UNMAPPED + 0x10,
                "EPT violation on a read of an unmapped GPA: exit 48, GPA, linear address, qualification"))
        printf("  GPA %#lx linear %#lx qualification %#lx (want %#lx)\n",
               (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS), (unsigned long)vmcs_read(GUEST_LINEAR_ADDRESS),
               (unsigned long)e->qual, (unsigned long)want);
    return VMX_STOP;
}

static void l2_write_unmapped(void) { *(volatile u64 *)(uintptr_t)(GPA_UNMAPPED + 0x18) = 1; }

static enum vmx_action unmapped_write_exit(struct vmx_exit *e)
{
    u64 want = qual_translated(QUAL_WRITE);
    if (!expect_exit("EPT violation (write)", e, EXIT_REASON_EPT_VIOLATION))
        return VMX_STOP;
    if (!report(vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_UNMAPPED + 0x18 && e->qual == want,
                "EPT violation on a write to an unmapped GPA: qualification write"))
        printf("  qualification %#lx (want %#lx)\n", (unsigned long)e->qual, (unsigned long)want);
    return VMX_STOP;
}

static void l2_fetch_unmapped(void) { ((void (*)(void))(uintptr_t)GPA_UNMAPPED)(); }

static enum vmx_action unmapped_fetch_exit(struct vmx_exit *e)
{
    u64 want = qual_translated(QUAL_FETCH);
    if (!expect_exit("EPT violation (fetch)", e, EXIT_REASON_EPT_VIOLATION))
        return VMX_STOP;
    if (!report(vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_UNMAPPED && e->qual == want &&
                e->guest_rip == GPA_UNMAPPED,
                "EPT violation on an instruction fetch: qualification fetch, GUEST_RIP = the address"))
        printf("  qualification %#lx (want %#lx) rip %#lx\n", (unsigned long)e->qual, (unsigned long)want,
               (unsigned long)e->guest_rip);
    return VMX_STOP;
}

/* Write to a read/execute page; L1 then grants write access and resumes. */
static void l2_write_readonly(void)
{
    *(volatile u64 *)(data_pages[1] + 8) = PATTERN_B;
    seen[0] = *(volatile u64 *)(data_pages[1] + 8);
}

static void init_readonly(void)
{
    init_ept();
    *pte_of(data_pages[1]) = EPT_LEAF_4K(vmx_pa(data_pages[1]), EPT_R | EPT_X);
    invept_context();
}

static enum vmx_action readonly_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        u64 want = qual_translated(QUAL_WRITE | QUAL_READABLE | QUAL_EXECUTABLE);
        if (!expect_exit("EPT read-only page", e, EXIT_REASON_EPT_VIOLATION))
            return VMX_STOP;
        if (!report(vmcs_read(GUEST_PHYSICAL_ADDRESS) == vmx_pa(data_pages[1]) + 8 && e->qual == want,
                    "EPT violation on a write to a read/execute page: qualification write, readable, executable"))
            printf("  GPA %#lx qualification %#lx (want %#lx)\n", (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS),
                   (unsigned long)e->qual, (unsigned long)want);
        *pte_of(data_pages[1]) |= EPT_W;
        invept_context();
        return VMX_RESUME;                      /* the write is retried */
    }
    report(vmx_is_l2_done(e) && seen[0] == PATTERN_B && *(u64 *)(data_pages[1] + 8) == PATTERN_B,
           "after L1 grants write access and INVEPT, L2's write completes");
    return VMX_STOP;
}

static void l2_read_misconfig(void) { seen[0] = *(volatile u64 *)(uintptr_t)(GPA_MISCONFIG + 0x20); }

static void init_misconfig(void)
{
    init_ept();
    pd[GPA_MISCONFIG / PAGE_2M] = PAGE_2M | EPT_W | EPT_WB | EPT_2M;    /* W without R */
    invept_context();
}

static enum vmx_action misconfig_exit(struct vmx_exit *e)
{
    if (!report(expect_exit("EPT misconfiguration", e, EXIT_REASON_EPT_MISCONFIG) &&
                vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_MISCONFIG + 0x20,
                "EPT misconfiguration (write without read): exit 49 with the GPA"))
        printf("  GPA %#lx\n", (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS));
    return VMX_STOP;
}

static void l2_read_bad_memtype(void) { seen[0] = *(volatile u64 *)(uintptr_t)(GPA_BAD_MEMTYPE + 0x28); }

static void init_bad_memtype(void)
{
    init_ept();
    pd[GPA_BAD_MEMTYPE / PAGE_2M] = PAGE_2M | EPT_RWX | (2ull << VMX_EPT_MT_EPTE_SHIFT) | EPT_2M;
    invept_context();
}

static enum vmx_action bad_memtype_exit(struct vmx_exit *e)
{
    report(expect_exit("EPT memory type", e, EXIT_REASON_EPT_MISCONFIG) &&
           vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_BAD_MEMTYPE + 0x28,
           "EPT misconfiguration (leaf memory type 2): exit 49 with the GPA");
    return VMX_STOP;
}

/* Remap a page to another frame; after INVEPT L2 sees the new frame. */
static void l2_remap(void)
{
    seen[0] = *(volatile u64 *)data_pages[0];
    l2_vmcall(1);
    seen[1] = *(volatile u64 *)data_pages[0];
}

static void init_remap(void)
{
    init_ept();
    *(u64 *)data_pages[0] = PATTERN_A;
    *(u64 *)data_pages[2] = PATTERN_B;
}

static enum vmx_action remap_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!expect_exit("EPT remap", e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        *pte_of(data_pages[0]) = EPT_LEAF_4K(vmx_pa(data_pages[2]), EPT_RWX);
        invept_context();
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && seen[0] == PATTERN_A && seen[1] == PATTERN_B,
           "after L1 remaps a page and INVEPT, L2 reads the new frame");
    return VMX_STOP;
}

/* ---- VM-entry checks on EPT and VPID controls ---- */

static void l2_empty(void)
{
}

static struct vmx_exit launch_once(void (*init)(void))
{
    struct vmx_exit e = { 0 };
    vmx_vmcs_setup(l2_empty);
    init();
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    vmx_vmcs_teardown();
    return e;
}

/* Like expect_fail_valid(), with the error launch_once() read before VMCLEAR. */
static void expect_launch_error(const struct vmx_exit *e, u32 error, const char *name)
{
    if (!report(e->status == VMX_FAIL_VALID && e->error == error, "%s", name))
        printf("  status %d error %u reason %#x (want VMfailValid %u)\n", e->status, e->error, e->reason, error);
}

static void init_eptp_bad_memtype(void)
{
    init_ept();
    vmcs_write(EPT_POINTER, (eptp() & ~VMX_EPTP_MT_MASK) | EPTP_MT_RESERVED);
}

static void init_eptp_reserved(void)
{
    init_ept();
    vmcs_write(EPT_POINTER, eptp() | BIT(8));
}

static void init_eptp_walk5(void)
{
    init_ept();
    vmcs_write(EPT_POINTER, (eptp() & ~VMX_EPTP_PWL_MASK) | VMX_EPTP_PWL_5);
}

/* A/D enabled where EPT_VPID_CAP does not show A/D (SDM 27.2.1.1). */
static void init_eptp_ad_absent(void)
{
    init_ept();
    vmcs_write(EPT_POINTER, eptp() | VMX_EPTP_AD_ENABLE_BIT);
}

/* The PML4 table's address with a bit at the physical-address width. */
static void init_eptp_beyond_width(void)
{
    init_ept();
    vmcs_write(EPT_POINTER, eptp() | (1ull << vmx_caps.maxphyaddr));
}

static void init_vpid0(void)
{
    vmcs_set_proc2(SECONDARY_EXEC_ENABLE_VPID);
    vmcs_write(VIRTUAL_PROCESSOR_ID, 0);
}

static void init_vpid1(void)
{
    init_vpid0();
    vmcs_write(VIRTUAL_PROCESSOR_ID, VPID_L2);
}

static void init_unrestricted_no_ept(void)
{
    vmcs_set_proc2(SECONDARY_EXEC_UNRESTRICTED_GUEST);
}

static void entry_check_tests(void)
{
    struct vmx_exit e;

    if (vmx_has_ept()) {
        e = launch_once(init_eptp_bad_memtype);
        expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                          "VMLAUNCH with an EPTP of memory type 2: VMfailValid 7");
        e = launch_once(init_eptp_reserved);
        expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                          "VMLAUNCH with EPTP bit 8 set: VMfailValid 7");
        if (!(vmx_caps.ept_vpid & VMX_EPT_PAGE_WALK_5_BIT)) {
            e = launch_once(init_eptp_walk5);
            expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                              "VMLAUNCH with a 5-level EPTP the capability does not offer: VMfailValid 7");
        }
        if (!(vmx_caps.ept_vpid & VMX_EPT_AD_BIT)) {
            e = launch_once(init_eptp_ad_absent);
            expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                              "VMLAUNCH with EPTP A/D enabled the capability does not offer: VMfailValid 7");
        }
        if (vmx_caps.maxphyaddr < 52) {
            e = launch_once(init_eptp_beyond_width);
            expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                              "VMLAUNCH with an EPTP beyond the physical-address width: VMfailValid 7");
        }
        if (vmx_has_proc2(SECONDARY_EXEC_UNRESTRICTED_GUEST)) {
            e = launch_once(init_unrestricted_no_ept);
            expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                              "VMLAUNCH with unrestricted guest and no EPT: VMfailValid 7");
        }
    }
    if (vmx_has_vpid()) {
        e = launch_once(init_vpid0);
        expect_launch_error(&e, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                          "VMLAUNCH with VPID enabled and VPID 0: VMfailValid 7");
        e = launch_once(init_vpid1);
        report(vmx_is_l2_done(&e), "L2 runs with VPID 1");
    }
}

/* ---- INVEPT / INVVPID (SDM 31.3) ---- */

static void invept_tests(void)
{
    struct invept_desc d = { 0, 0 };
    u64 caps = vmx_caps.ept_vpid;
    int st;

    build_ept();
    d.eptp = eptp();
    load_clean_vmcs(scratch_vmcs());
    st = invept(VMX_EPT_EXTENT_CONTEXT, &d);
    if (caps & VMX_EPT_EXTENT_CONTEXT_BIT)
        expect_ok(st, "INVEPT single-context follows the capability");
    else
        expect_fail_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID, "INVEPT single-context follows the capability");
    st = invept(VMX_EPT_EXTENT_GLOBAL, &d);
    if (caps & VMX_EPT_EXTENT_GLOBAL_BIT)
        expect_ok(st, "INVEPT all-context follows the capability");
    else
        expect_fail_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID, "INVEPT all-context follows the capability");
    expect_fail_valid(invept(0, &d), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID, "INVEPT type 0: VMfailValid 28");
    expect_fail_valid(invept(3, &d), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID, "INVEPT type 3: VMfailValid 28");
    if (caps & VMX_EPT_EXTENT_CONTEXT_BIT) {
        d.eptp = (eptp() & ~VMX_EPTP_MT_MASK) | EPTP_MT_RESERVED;
        expect_fail_valid(invept(VMX_EPT_EXTENT_CONTEXT, &d), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID,
                          "INVEPT single-context with an EPTP of memory type 2: VMfailValid 28");
    }
    vmclear(scratch_vmcs());
    expect_fail_invalid(invept(0, &d), "INVEPT type 0 without a current VMCS: VMfailInvalid");
}

static bool has_invept(void) { return vmx_has_ept() && (vmx_caps.ept_vpid & VMX_EPT_INVEPT_BIT); }

static void invvpid_tests(void)
{
    struct invvpid_desc d = { VPID_L2, 0x1000 };
    static const u64 type_bits[4] = {
        VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT, VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT,
        VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT, VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT,
    };
    static const char *const names[4] = {
        "INVVPID individual-address follows the capability", "INVVPID single-context follows the capability",
        "INVVPID all-context follows the capability", "INVVPID single-context-retaining-globals follows the capability",
    };

    load_clean_vmcs(scratch_vmcs());
    for (u64 t = 0; t < 4; t++) {
        int st = invvpid(t, &d);
        if (vmx_caps.ept_vpid & type_bits[t])
            expect_ok(st, names[t]);
        else
            expect_fail_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID, names[t]);
    }
    expect_fail_valid(invvpid(INVVPID_TYPE_BAD, &d), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID,
                      "INVVPID type 4: VMfailValid 28");
    if (vmx_caps.ept_vpid & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT) {
        struct invvpid_desc z = { 0, 0 };
        expect_fail_valid(invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, &z), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID,
                          "INVVPID single-context of VPID 0: VMfailValid 28");
    }
    if (vmx_caps.ept_vpid & VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT) {
        struct invvpid_desc nc = { VPID_L2, 0x8000000000000000ull };
        expect_fail_valid(invvpid(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, &nc), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID,
                          "INVVPID individual-address of a non-canonical address: VMfailValid 28");
    }
    if (vmx_caps.ept_vpid & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT) {
        struct invvpid_desc r = { 0x10000 | VPID_L2, 0 };
        expect_fail_valid(invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, &r), VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID,
                          "INVVPID with descriptor bits 63:16 set: VMfailValid 28");
    }
    vmclear(scratch_vmcs());
}

static bool has_invvpid(void) { return vmx_has_vpid() && (vmx_caps.ept_vpid & VMX_VPID_INVVPID_BIT); }

const struct vmx_test ept_tests[] = {
    { "EPT read/write", has_ept, NULL, init_ept, l2_ept_rw, ept_rw_exit },
    { "EPT violation read", has_ept, NULL, init_ept, l2_read_unmapped, unmapped_read_exit },
    { "EPT violation write", has_ept, NULL, init_ept, l2_write_unmapped, unmapped_write_exit },
    { "EPT violation fetch", has_ept, NULL, init_ept, l2_fetch_unmapped, unmapped_fetch_exit },
    { "EPT read-only page", has_ept, NULL, init_readonly, l2_write_readonly, readonly_exit },
    { "EPT misconfiguration", has_ept, NULL, init_misconfig, l2_read_misconfig, misconfig_exit },
    { "EPT memory type", has_ept, NULL, init_bad_memtype, l2_read_bad_memtype, bad_memtype_exit },
    { "EPT remap", has_invept, NULL, init_remap, l2_remap, remap_exit },
    { "EPT/VPID entry checks", NULL, entry_check_tests, NULL, NULL, NULL },
    { "INVEPT", has_invept, invept_tests, NULL, NULL, NULL },
    { "INVVPID", has_invvpid, invvpid_tests, NULL, NULL, NULL },
};
const size_t n_ept_tests = ARRAY_SIZE(ept_tests);

/* ---- turtle only ---- */

/*
 * EPT12 maps an L2 page to an L1-physical address beyond L1's RAM. On bare
 * hardware the read would reach whatever is there (open bus); under turtle
 * it must not reach memory outside L1: turtle reflects an EPT violation for
 * that GPA to L1.
 */
#define GPA_BEYOND_L1           (10ull << 20)   /* PD entry 5 */
#define L1PA_BEYOND             (1ull << 32)

static void l2_read_beyond(void) { seen[0] = *(volatile u64 *)(uintptr_t)(GPA_BEYOND_L1 + 0x30); }

static void init_beyond(void)
{
    init_ept();
    pd[GPA_BEYOND_L1 / PAGE_2M] = L1PA_BEYOND | EPT_RWX | EPT_WB | EPT_2M;
    invept_context();
}

static enum vmx_action beyond_exit(struct vmx_exit *e)
{
    if (!report(e->status == VMX_OK && e->reason == EXIT_REASON_EPT_VIOLATION &&
                vmcs_read(GUEST_PHYSICAL_ADDRESS) == GPA_BEYOND_L1 + 0x30,
                "turtle EPT12 mapping beyond L1 RAM gives an EPT violation for the GPA"))
        printf("  status %d reason %#x GPA %#lx read %#lx\n", e->status, e->reason,
               (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS), (unsigned long)seen[0]);
    return VMX_STOP;
}

void turtle_ept_tests(u64 mem_top)
{
    static const struct vmx_test t[] = {
        { "turtle EPT12 beyond L1 RAM", has_ept, NULL, init_beyond, l2_read_beyond, beyond_exit },
    };
    if (mem_top > L1PA_BEYOND)
        printf("vmx_suite: L1 RAM reaches %#lx: no turtle EPT12 beyond-RAM test\n", (unsigned long)mem_top);
    else
        vmx_run_tests(t, ARRAY_SIZE(t));
}
