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
#include "vmx_suite.h"

#define EPT_R               VMX_EPT_READABLE_MASK
#define EPT_W               VMX_EPT_WRITABLE_MASK
#define EPT_X               VMX_EPT_EXECUTABLE_MASK
#define EPT_RWX             VMX_EPT_RWX_MASK
#define EPT_WB              ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define EPT_2M              VMX_EPT_LARGE_PAGE_BIT
#define EPT_A               VMX_EPT_ACCESS_BIT
#define EPT_D               VMX_EPT_DIRTY_BIT
#define EPT_LEAF_4K(pa, p)  ((pa) | (p) | EPT_WB)
#define PAGE_2M             (2ull << 20)
#define MAPPED_TOP          (4ull << 20)
#define GPA_UNMAPPED        (12ull << 20)   /* in L1's page tables, not in the EPT */
#define GPA_MISCONFIG       (6ull << 20)    /* PD entry 3: W without R */
#define GPA_BAD_MEMTYPE     (8ull << 20)    /* PD entry 4: memory type 2 (reserved) */
#define QUAL_READ           BIT(0)
#define QUAL_WRITE          BIT(1)
#define QUAL_FETCH          BIT(2)
#define QUAL_READABLE       BIT(3)
#define QUAL_WRITABLE       BIT(4)
#define QUAL_EXECUTABLE     BIT(5)
#define QUAL_GLA_VALID      BIT(7)
#define QUAL_TRANSLATED     BIT(8)
#define QUAL_ADV_RW         BIT(10)         /* advanced info: the guest paging entries allow writes */
#define VPID_L2             1
#define EPTP_MT_RESERVED    2
#define INVVPID_TYPE_BAD    4
#define PATTERN_A           0xaaaaaaaa55555555ull
#define PATTERN_B           0xbbbbbbbb66666666ull

static u64 *pml4, *pdpt, *pd, *pt;
static u8 data_pages[3][PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u64 seen[4];

static u64 eptp(void)
{
    u64 p = vmx_pa(pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    if (vmx_caps.ept_vpid & VMX_EPT_AD_BIT)
        p |= VMX_EPTP_AD_ENABLE_BIT;
    return p;
}

static u64 *pte_of(const void *p) { return &pt[vmx_pa(p) >> 12]; }

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

static bool has_ept(void) { return vmx_has_ept(); }

static void invept_context(void)
{
    struct invept_desc d = { eptp(), 0 };
    u64 type = vmx_caps.ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
    int st = invept(type, &d);
    if (st != VMX_OK)
        report(false, "INVEPT type %lu after changing the EPT: status %d", (unsigned long)type, st);
}

/* Default VMCS + EPT on (init of every EPT test). */
static void init_ept(void)
{
    build_ept();
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp());
    invept_context();
}

static bool expect_exit(const char *test, const struct vmx_exit *e, u32 reason)
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

static void init_vpid0(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID);
    vmcs_write(VIRTUAL_PROCESSOR_ID, 0);
}

static void init_vpid1(void)
{
    init_vpid0();
    vmcs_write(VIRTUAL_PROCESSOR_ID, VPID_L2);
}

static void init_unrestricted_no_ept(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_UNRESTRICTED_GUEST);
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

/* ---- accessed and dirty flags (SDM 29.3.5) ----
 * A read sets the accessed flag of every EPT entry of the walk, a write the
 * leaf's dirty flag too; the CPU's accesses to L2's own paging structures
 * count as writes (so their pages get both). L2 reads a page, stops, then
 * writes it (under turtle: EPT02 maps it read-only until that write) and
 * reads the 2 MiB page. */
static bool has_ept_ad(void) { return vmx_has_ept() && (vmx_caps.ept_vpid & VMX_EPT_AD_BIT); }

static void l2_ept_ad(void)
{
    volatile u64 *p = (volatile u64 *)data_pages[1];
    seen[0] = p[2];
    l2_vmcall(1);
    p[3] = PATTERN_B;
    seen[1] = *(volatile u64 *)(uintptr_t)(PAGE_2M + 0x100);
}

static enum vmx_action ept_ad_exit(struct vmx_exit *e)
{
    u64 ad = EPT_A | EPT_D, data = *pte_of(data_pages[1]) & ad;
    u64 cr3 = vmcs_read(GUEST_CR3) & ~0xfffull;
    u64 pml4_12 = cr3 < PAGE_2M ? pt[cr3 >> 12] & ad : 0;      /* L2's PML4 page, 4 KiB-mapped */

    if (e->count == 0) {
        bool ok = expect_exit("EPT A/D", e, EXIT_REASON_VMCALL);
        report(ok && data == EPT_A && (pml4[0] & EPT_A) && (pdpt[0] & EPT_A) && (pd[0] & EPT_A),
               "EPT A/D: a read sets the accessed flag of every entry of the walk, not the dirty flag");
        report(ok && pml4_12 == ad, "EPT A/D: L2's paging-structure accesses count as writes (A and D)");
        if (!ok)
            return VMX_STOP;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && data == ad && (pd[1] & ad) == EPT_A && data_pages[1][24] == 0x66,
           "EPT A/D: a later write sets the dirty flag; a read of a 2 MiB page sets only its accessed flag");
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("EPT A/D", e);
    return VMX_STOP;
}

/* ---- page-modification logging (SDM 29.3.6) ----
 * Every EPT leaf starts accessed and dirty but for the three data pages,
 * so only L2's writes to those log. The index starts at 1: two writes log
 * at entries 1 and 0, the third is a PML-full exit (62) before its access
 * (the page stays clean); with the index back at 511 it logs there. */
#define PML_INDEX_START     1
#define PML_LAST            511

static u64 *pml_log;

static bool has_pml(void) { return has_ept_ad() && vmx_has_proc2(SECONDARY_EXEC_ENABLE_PML); }

static void init_pml(void)
{
    init_ept();
    if (!pml_log)
        pml_log = vmx_alloc_page();
    memset(pml_log, 0, PAGE_4K);
    for (u64 i = 0; i < 512; i++)
        pt[i] |= EPT_A | EPT_D;
    for (u64 a = PAGE_2M; a < MAPPED_TOP; a += PAGE_2M)
        pd[a / PAGE_2M] |= EPT_A | EPT_D;
    for (int i = 0; i < 3; i++)
        *pte_of(data_pages[i]) &= ~(EPT_A | EPT_D);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML);
    vmcs_write(PML_ADDRESS, vmx_pa(pml_log));
    vmcs_write(GUEST_PML_INDEX, PML_INDEX_START);
}

static void l2_pml(void)
{
    for (int i = 0; i < 3; i++)
        *(volatile u64 *)data_pages[i] = PATTERN_A + (u64)i;
}

static enum vmx_action pml_exit(struct vmx_exit *e)
{
    u64 p0 = vmx_pa(data_pages[0]), p1 = vmx_pa(data_pages[1]), p2 = vmx_pa(data_pages[2]);
    u64 index = vmcs_read(GUEST_PML_INDEX);

    if (e->count == 0) {
        bool ok = expect_exit("EPT PML", e, EXIT_REASON_PML_FULL);
        report(ok && (e->qual & ~BIT(12)) == 0 && pml_log[1] == p0 && pml_log[0] == p1 && index == 0xffff &&
               (*pte_of(data_pages[1]) & EPT_D) && !(*pte_of(data_pages[2]) & EPT_D) &&
               *(volatile u64 *)data_pages[2] == 0,
               "PML: two writes log at entries 1 and 0, the third is a PML-full exit before its access");
        if (!ok)
            return VMX_STOP;
        vmcs_write(GUEST_PML_INDEX, PML_LAST);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && pml_log[PML_LAST] == p2 && index == PML_LAST - 1 &&
           (*pte_of(data_pages[2]) & EPT_D) && *(volatile u64 *)data_pages[2] == PATTERN_A + 2,
           "PML: after the PML-full exit with the index reset, the write logs at entry 511");
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("EPT PML", e);
    return VMX_STOP;
}

/* ---- NMI unblocking due to IRET (SDM 28.2.1 Table 28-7 bit 12, 28.2.3) ----
 * Under virtual-NMI blocking L2 executes IRET with its frame on a page the
 * EPT does not map: the EPT violation reports bit 12. L1 maps the page and
 * sets the blocking again, as the SDM asks of a VMM that resumes such an
 * IRET; the NMI window then opens only after the IRET, at its target. */
#define QUAL_NMI_UNBLOCK    BIT(12)

void l2_iret_fault_guest(void);
extern char l2_iret_fault_after[];
__asm__(".pushsection .text\n"
        "l2_iret_fault_guest:\n\t"
        "mov $1, %eax\n\t"
        "vmcall\n\t"                    /* L1 puts an IRET frame at RBX */
        "mov %rbx, %rsp\n\t"
        "iretq\n"
        "l2_iret_fault_after:\n\t"
        "ret\n"
        ".popsection");

static bool has_ept_vnmi(void)
{
    return has_ept() && vmx_has_pin(PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS) &&
           vmx_has_proc(CPU_BASED_NMI_WINDOW_EXITING);
}

static void init_iret_fault(void)
{
    init_ept();
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS);
}

static enum vmx_action iret_fault_exit(struct vmx_exit *e)
{
    const char *name = "EPT violation in IRET";
    u64 *frame = (u64 *)data_pages[2];

    switch (e->count) {
    case 0:
        if (!expect_exit(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        frame[0] = (u64)(uintptr_t)l2_iret_fault_after;
        frame[1] = vmcs_read(GUEST_CS_SELECTOR);
        frame[2] = e->guest_rflags;
        frame[3] = e->guest_rsp;
        frame[4] = vmcs_read(GUEST_SS_SELECTOR);
        e->regs->rbx = (u64)(uintptr_t)frame;
        *pte_of(frame) = 0;
        invept_context();
        vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        vmx_skip_instruction(e);
        return VMX_RESUME;
    case 1: {
        bool ok = expect_exit(name, e, EXIT_REASON_EPT_VIOLATION);
        if (!report(ok && (e->qual & QUAL_NMI_UNBLOCK) &&
                        (vmcs_read(GUEST_PHYSICAL_ADDRESS) & ~0xfffull) == vmx_pa(frame),  /* which word: the CPU's choice */
                    "EPT violation in an IRET that ends virtual-NMI blocking: qualification bit 12"))
            printf("  qualification %#lx GPA %#lx\n", (unsigned long)e->qual,
                   (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS));
        *pte_of(frame) = EPT_LEAF_4K(vmx_pa(frame), EPT_RWX);
        invept_context();
        vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vmcs_read(GUEST_INTERRUPTIBILITY_INFO) | GUEST_INTR_STATE_NMI);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    case 2: {
        bool ok = expect_exit(name, e, EXIT_REASON_NMI_WINDOW);
        if (!report(ok && e->guest_rip == (u64)(uintptr_t)l2_iret_fault_after,
                    "after the EPT violation the IRET runs again under the blocking: NMI window at its target"))
            printf("  rip %#lx (want %#lx)\n", (unsigned long)e->guest_rip,
                   (unsigned long)(uintptr_t)l2_iret_fault_after);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    default:
        if (!vmx_is_l2_done(e))
            vmx_report_unexpected(name, e);
        return VMX_STOP;
    }
}

/* An NMI L1 injects with virtual NMIs, its delivery through memory the EPT
 * maps but no cached translation holds yet (INVEPT just before): under
 * turtle that delivery meets EPT02 faults, and each is delivered again. */
static u64 nmi_ept_rip;

static void l2_vmcall_then_return(void) { l2_vmcall(1); }

static enum vmx_action nmi_ept_exit(struct vmx_exit *e)
{
    const char *name = "EPT NMI delivery";

    if (e->count == 0) {
        if (!expect_exit(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        vmx_skip_instruction(e);
        nmi_ept_rip = e->guest_rip;
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | X86_NMI);
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        invept_context();
        return VMX_RESUME;
    }
    if (e->count == 1) {
        bool ok = expect_exit(name, e, EXIT_REASON_NMI_WINDOW);
        if (!report(ok && e->guest_rip == nmi_ept_rip && l2_event.count == 1 && l2_event.vector == X86_NMI,
                    "EPT: an injected NMI with virtual NMIs reaches L2's handler once; the window opens after it"))
            printf("  rip %#lx (want %#lx) events %lu\n", (unsigned long)e->guest_rip,
                   (unsigned long)nmi_ept_rip, (unsigned long)l2_event.count);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected(name, e);
    return VMX_STOP;
}

const struct vmx_test ept_tests[] = {
    { "EPT read/write", has_ept, NULL, init_ept, l2_ept_rw, ept_rw_exit },
    { "EPT A/D", has_ept_ad, NULL, init_ept, l2_ept_ad, ept_ad_exit },
    { "EPT PML", has_pml, NULL, init_pml, l2_pml, pml_exit },
    { "EPT violation in IRET", has_ept_vnmi, NULL, init_iret_fault, l2_iret_fault_guest, iret_fault_exit },
    { "EPT NMI delivery", has_ept_vnmi, NULL, init_iret_fault, l2_vmcall_then_return, nmi_ept_exit },
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
