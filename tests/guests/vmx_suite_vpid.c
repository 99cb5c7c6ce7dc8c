/*
 * vmx_suite: what VPID guarantees an L2 (SDM 29.1, 29.4.3): the linear
 * translations cached for a VPID survive VM exits and entries, and L1 must
 * invalidate them when it changes L2's paging structures; INVVPID does so
 * for a VPID, and a VPID that never ran has nothing cached. Only those
 * guarantees are tested: whether a stale translation is still used where
 * nothing invalidated it is the CPU's choice. Bochs 2.7 keeps no
 * translation across a VM exit (the host CR3 load flushes the TLB), so
 * there these tests cannot see turtle skip a flush of vpid02 (checked:
 * they pass with it left out); on a CPU that keeps VPID-tagged entries
 * they can.
 *
 * L2 runs on paging structures of its own: L1's identity map, but the
 * 2 MiB at VPID_WINDOW map through a page table whose first entry L1
 * points at one of two pages, each holding its own value.
 */
#include "vmx_suite.h"

#define PTE_P           BIT(0)
#define PTE_W           BIT(1)
#define PTE_PS          BIT(7)
#define PTE_ADDR        0x000ffffffffff000ull
#define VPID_WINDOW     (511ull << 21)  /* the last 2 MiB of the first GiB */
#define VPID_A          0x51            /* VPIDs no other test uses */
#define VPID_B          0x52
#define VALUE_A         0xa11ce5ull
#define VALUE_B         0xb0b5ull

static u64 *pml4, *pdpt, *pd, *pt, *page_a, *page_b;

static bool has_invvpid_single(void)
{
    return vmx_has_vpid() && (vmx_caps.ept_vpid & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT);
}

/* L2's paging structures (once): copies of L1's down to the PD of the
 * first GiB, whose last entry points at pt. */
static void build_tables(void)
{
    if (!pml4) {
        pml4 = vmx_alloc_page();
        pdpt = vmx_alloc_page();
        pd = vmx_alloc_page();
        pt = vmx_alloc_page();
        page_a = vmx_alloc_page();
        page_b = vmx_alloc_page();
    }
    const u64 *l1_pml4 = (const u64 *)(uintptr_t)(read_cr3() & PTE_ADDR);
    const u64 *l1_pdpt = (const u64 *)(uintptr_t)(l1_pml4[0] & PTE_ADDR);
    const u64 *l1_pd = (const u64 *)(uintptr_t)(l1_pdpt[0] & PTE_ADDR);
    memcpy(pml4, l1_pml4, PAGE_4K);
    memcpy(pdpt, l1_pdpt, PAGE_4K);
    memcpy(pd, l1_pd, PAGE_4K);
    memset(pt, 0, PAGE_4K);
    pml4[0] = (u64)(uintptr_t)pdpt | (l1_pml4[0] & ~PTE_ADDR);
    pdpt[0] = (u64)(uintptr_t)pd | (l1_pdpt[0] & ~PTE_ADDR);
    pd[VPID_WINDOW >> 21] = (u64)(uintptr_t)pt | PTE_P | PTE_W;
    page_a[0] = VALUE_A;
    page_b[0] = VALUE_B;
}

static void map_window(const u64 *page)
{
    pt[0] = (u64)(uintptr_t)page | PTE_P | PTE_W;
}

static void init_vpid_flush(void)
{
    build_tables();
    map_window(page_a);
    vmcs_write(GUEST_CR3, (u64)(uintptr_t)pml4);
    vmcs_set_proc2(SECONDARY_EXEC_ENABLE_VPID);
    vmcs_write(VIRTUAL_PROCESSOR_ID, VPID_A);
}

/* Three reads of the window, a VMCALL after each of the first two. */
static void l2_read_window(void)
{
    volatile const u64 *w = (volatile const u64 *)(uintptr_t)VPID_WINDOW;
    exit_seen[0] = *w;
    l2_vmcall(1);
    exit_seen[1] = *w;
    l2_vmcall(2);
    exit_seen[2] = *w;
}

static enum vmx_action vpid_flush_exit(struct vmx_exit *e)
{
    const char *t = "VPID invalidation";
    struct invvpid_desc d = { VPID_A, 0 };

    if (e->count < 2) {
        if (!exit_is(t, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        if (e->count == 0) {
            /* L2 has read the window through page A under VPID_A. */
            map_window(page_b);
            expect_ok(invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, &d), "INVVPID single-context of L2's VPID");
        } else {
            /* Back to page A, no INVVPID: L2 goes on under a VPID that never ran. */
            map_window(page_a);
            vmcs_write(VIRTUAL_PROCESSOR_ID, VPID_B);
        }
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    if (vmx_is_l2_done(e)) {
        if (!report(exit_seen[0] == VALUE_A && exit_seen[1] == VALUE_B,
                    "VPID: after INVVPID single-context L2 sees the page L1 mapped in its place"))
            printf("  L2 read %#lx then %#lx\n", (unsigned long)exit_seen[0], (unsigned long)exit_seen[1]);
        if (!report(exit_seen[2] == VALUE_A, "VPID: under a VPID that never ran L2 sees L1's new mapping"))
            printf("  L2 read %#lx\n", (unsigned long)exit_seen[2]);
    }
    return expect_done(t, e);
}

const struct vmx_test vpid_tests[] = {
    { "VPID invalidation", has_invvpid_single, NULL, init_vpid_flush, l2_read_window, vpid_flush_exit },
};
const size_t n_vpid_tests = ARRAY_SIZE(vpid_tests);
