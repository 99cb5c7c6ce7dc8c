/*
 * ept02_churn: an L1 that makes its hypervisor grow and drop the shadow of
 * its EPT (EPT02 under turtle) over and over, handing the CPU to the other
 * L1 after every few pages, so two of these interleave their EPT02 pages in
 * turtle's allocator. When one drops its EPT02 every page it returns lies
 * between pages the other still holds: the pattern that once overflowed
 * turtle's free-range table and panicked it.
 *
 * Each round, L1's EPT12 maps an L2 window of `pages` 2 MiB regions from
 * 1 GiB up (WINDOW), all aliasing one 2 MiB L1 frame through one shared
 * page table of 4 KiB pages (so EPT02 maps 4 KiB pages too); L2 writes one
 * word in each region, at a different 4 KiB page of the frame for each
 * region, and reads it back. Under turtle every region costs an EPT02 page
 * table, so a round holds about `pages` pages of turtle's memory. L2 VMCALLs L1 after every `batch` regions; L1 then yields to
 * turtle (VMCALL 1). After the round L1 checks every word in the frame,
 * points the window at the other frame, switches to the other EPT12 root
 * (a new EPTP) and invalidates (INVEPT all-context on even rounds,
 * single-context on odd ones, as offered): both make turtle drop EPT02.
 * A stale translation would send the next round's writes to the old frame,
 * which the check sees. The low 64 MiB stay identity-mapped for L2's code,
 * stack and page tables.
 *
 * Options: rounds=N (default 20), pages=N (1-512, default 180), batch=N
 * (default 1), hold=N (default 0: after the last round, yield to turtle N
 * times before VMXOFF, so EPT02 stays as full as the rounds left it while
 * the other guests run). Turtle only: "turtle ept02_churn: ..." counts L0 exits (at
 * least one EPT02 fill per region per round).
 */
#include "lib/vmx.h"

#ifndef VMCALL_YIELD
#define VMCALL_YIELD        1       /* turtle: give the CPU to the next guest */
#endif
#ifndef VMCALL_EXIT_COUNT
#define VMCALL_EXIT_COUNT   4       /* turtle: RBX = L0 exits this L1 has caused */
#endif

#define EPT_RWX             VMX_EPT_RWX_MASK
#define EPT_WB              ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define EPT_2M              VMX_EPT_LARGE_PAGE_BIT
#define PAGE_2M             (2ull << 20)
#define IDENTITY_TOP        (64ull << 20)   /* L2's code, stack, page tables */
#define WINDOW              (1ull << 30)    /* L2-physical = L2-linear (L1's identity map) */
#define FRAME_0             (16ull << 20)   /* the two L1 frames the window aliases */
#define FRAME_1             (18ull << 20)
#define MAX_PAGES           512             /* one distinct 4 KiB page of the frame each */
#define L2_BATCH_DONE       0xc0de          /* RAX of L2's VMCALL after each batch */

static u64 *roots[2], *pdpt, *pd_low, *pd_window, *pt_frame[2];
static volatile u64 l2_round, l2_pages, l2_batch, l2_bad;

static u64 pattern(u64 round, u64 k)
{
    return 0x5eed000000000000ull ^ (round << 32) ^ (k << 12) ^ k;
}

static u64 offset_of(u64 k)
{
    return (k % MAX_PAGES) * PAGE_4K + (k / MAX_PAGES) * 8;
}

/* L2: one word per 2 MiB region of the window, read back at once. */
static void l2_churn(void)
{
    u64 round = l2_round, pages = l2_pages, batch = l2_batch;

    for (u64 k = 0; k < pages; k++) {
        volatile u64 *w = (volatile u64 *)(uintptr_t)(WINDOW + k * PAGE_2M + offset_of(k));
        *w = pattern(round, k);
        if (*w != pattern(round, k))
            l2_bad++;
        if ((k + 1) % batch == 0)
            l2_vmcall(L2_BATCH_DONE);
    }
}

static u64 eptp_of(int r)
{
    u64 p = vmx_pa(roots[r]) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    if (vmx_caps.ept_vpid & VMX_EPT_AD_BIT)
        p |= VMX_EPTP_AD_ENABLE_BIT;
    return p;
}

/* Both roots share the tables below them; the window entries say which frame. */
static bool build_ept12(void)
{
    roots[0] = vmx_alloc_page();
    roots[1] = vmx_alloc_page();
    pdpt = vmx_alloc_page();
    pd_low = vmx_alloc_page();
    pd_window = vmx_alloc_page();
    pt_frame[0] = vmx_alloc_page();
    pt_frame[1] = vmx_alloc_page();
    if (!roots[0] || !roots[1] || !pdpt || !pd_low || !pd_window || !pt_frame[0] || !pt_frame[1])
        return false;
    for (u64 i = 0; i < 512; i++) {
        pt_frame[0][i] = (FRAME_0 + i * PAGE_4K) | EPT_RWX | EPT_WB;
        pt_frame[1][i] = (FRAME_1 + i * PAGE_4K) | EPT_RWX | EPT_WB;
    }
    roots[0][0] = roots[1][0] = vmx_pa(pdpt) | EPT_RWX;
    pdpt[0] = vmx_pa(pd_low) | EPT_RWX;
    pdpt[WINDOW >> 30] = vmx_pa(pd_window) | EPT_RWX;
    for (u64 a = 0; a < IDENTITY_TOP; a += PAGE_2M)
        pd_low[a / PAGE_2M] = a | EPT_RWX | EPT_WB | EPT_2M;
    return true;
}

static void point_window(u64 frame, u64 pages)
{
    u64 pt = vmx_pa(pt_frame[frame == FRAME_1]);

    for (u64 k = 0; k < MAX_PAGES; k++)
        pd_window[k] = k < pages ? pt | EPT_RWX : 0;
}

/* Invalidates what the CPU may cache for EPT12 (type 2 all-context, 1 one
 * EPTP), whichever is offered when the wanted one is not. */
static bool invalidate(bool all_context, u64 eptp)
{
    u64 caps = vmx_caps.ept_vpid;
    bool has_all = caps & VMX_EPT_EXTENT_GLOBAL_BIT, has_one = caps & VMX_EPT_EXTENT_CONTEXT_BIT;
    struct invept_desc d = { eptp, 0 };
    u64 type = (all_context && has_all) || !has_one ? VMX_EPT_EXTENT_GLOBAL : VMX_EPT_EXTENT_CONTEXT;

    return invept(type, &d) == VMX_OK;
}

static u64 l0_exit_count(void)
{
    struct vmcall_regs r = { VMCALL_EXIT_COUNT, 0, 0 };
    return vmcall_regs(&r) == 0 ? (u64)r.rbx : 0;
}

/* One round: L2 runs to its end; L1 yields after each batch. */
static bool run_round(u64 round, u64 pages, u64 batch, u64 *yields)
{
    int r = round % 2;
    u64 frame = r ? FRAME_1 : FRAME_0;
    struct vmx_exit e = { 0 };

    for (u64 k = 0; k < pages; k++)
        *(volatile u64 *)(uintptr_t)(frame + offset_of(k)) = 0;
    point_window(frame, pages);
    if (!invalidate(round % 2 == 0, eptp_of(r)))
        return report(false, "ept02_churn round %lu: INVEPT", (unsigned long)round);
    l2_round = round;
    l2_pages = pages;
    l2_batch = batch;
    l2_bad = 0;
    vmx_vmcs_setup(l2_churn);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp_of(r));
    for (;;) {
        vmx_run_l2(&e);
        if (vmx_is_l2_done(&e))
            break;
        if (e.status != VMX_OK || e.reason != EXIT_REASON_VMCALL || e.regs->rax != L2_BATCH_DONE) {
            vmx_report_unexpected("ept02_churn", &e);
            vmx_vmcs_teardown();
            return false;
        }
        if (on_turtle()) {
            vmcall(VMCALL_YIELD, 0, 0);
            ++*yields;
        }
        vmx_skip_instruction(&e);
    }
    vmx_vmcs_teardown();

    u64 wrong = 0;
    for (u64 k = 0; k < pages; k++)
        wrong += *(volatile u64 *)(uintptr_t)(frame + offset_of(k)) != pattern(round, k);
    return report(wrong == 0 && l2_bad == 0,
                  "ept02_churn round %lu: %lu regions written and read back through EPT12 "
                  "(%lu wrong in L1's frame, %lu in L2)",
                  (unsigned long)round, (unsigned long)pages, (unsigned long)wrong,
                  (unsigned long)l2_bad);
}

void guest_main(const struct boot_params *bp)
{
    u64 rounds = 20, pages = 180, batch = 1, hold = 0, yields = 0, exits0 = 0;

    cmdline_u64(bp->cmdline, "rounds", &rounds);
    cmdline_u64(bp->cmdline, "pages", &pages);
    cmdline_u64(bp->cmdline, "batch", &batch);
    cmdline_u64(bp->cmdline, "hold", &hold);
    if (pages < 1 || pages > MAX_PAGES || batch < 1 || rounds < 1) {
        report(false, "ept02_churn: options rounds>=1, pages 1-%u, batch>=1", MAX_PAGES);
        return;
    }
    printf("ept02_churn: %s, %lu rounds of %lu regions, yielding every %lu\n",
           on_turtle() ? "on turtle" : "bare", (unsigned long)rounds, (unsigned long)pages,
           (unsigned long)batch);
    if (!vmx_enable()) {
        report(false, "ept02_churn: VMX can be enabled");
        return;
    }
    if (!vmx_has_ept() || !(vmx_caps.ept_vpid & VMX_EPT_INVEPT_BIT) ||
        !(vmx_caps.ept_vpid & (VMX_EPT_EXTENT_GLOBAL_BIT | VMX_EPT_EXTENT_CONTEXT_BIT))) {
        report(false, "ept02_churn: EPT with INVEPT offered");
        return;
    }
    if (vmx_on() != VMX_OK) {
        report(false, "ept02_churn: VMXON");
        return;
    }
    if (!build_ept12()) {
        report(false, "ept02_churn: EPT12 tables");
        return;
    }
    if (on_turtle())
        exits0 = l0_exit_count();
    for (u64 round = 0; round < rounds; round++)
        if (!run_round(round, pages, batch, &yields))
            break;
    if (on_turtle()) {
        u64 exits = l0_exit_count() - exits0;
        report(exits >= rounds * pages,
               "turtle ept02_churn: %lu L0 exits for %lu region fills, %lu yields",
               (unsigned long)exits, (unsigned long)(rounds * pages), (unsigned long)yields);
    }
    for (u64 i = 0; i < hold && on_turtle(); i++)
        vmcall(VMCALL_YIELD, 0, 0);
    vmx_report_access_errors("ept02_churn");
    vmxoff();
}
