/*
 * vmx_bench: the cost of one nested round trip, L2 -> L1 -> L2.
 *
 * L1 (this guest, a minimal hypervisor on lib/vmx) runs an L2 that times
 * ITERATIONS CPUIDs with RDTSC around each (RDTSC exiting off, so the TSC is
 * read without an exit). Every CPUID exits to L1, whose handler does what a
 * lean hypervisor does: VMREAD the exit reason, the instruction length and
 * GUEST_RIP, VMWRITE GUEST_RIP, VMRESUME (HOST_RSP/HOST_RIP are not
 * rewritten: VMX_ENTER_KEEP_HOST).
 *   BENCH: l2_cpuid N                 cycles per L2 CPUID round trip, minus the
 *                                     cost of two back-to-back RDTSCs
 *   BENCH: l0_exits_per_l2_exit N     turtle only: L0 exits L1 caused during
 *                                     the timed loop (VMCALL 4 before and
 *                                     after) per L2 exit, rounded
 * Then the same loop again with a TPR shadow for L2 (VTPR 0x20), L1
 * writing the TPR threshold before every VMRESUME (1 and 2 in turn: a new
 * value each time), as KVM does after L2's TPR or its pending interrupts
 * changed, where the CPU has a TPR shadow:
 *   BENCH: l2_cpuid_tpr N             cycles per L2 CPUID round trip
 * No tests unless something fails: "SUMMARY: 0 tests, 0 failures".
 *
 * Two more modes, with EPT12 (an identity map of the low 256 MiB with
 * 2 MiB pages), measured by the exits L1 causes (turtle only):
 *   ept2m      L2 writes one word in each 4 KiB page of 64 MiB (at 64 MiB)
 *     BENCH: l0_exits_64m_2m N        L0 exits L1 caused meanwhile
 *   alternate  L1 runs two L2s, each on its own VMCS and EPT12 root (two
 *              EPTP12s), switching at every CPUID exit, 200 switches
 *     BENCH: l0_exits_per_switch N    L0 exits per switch, rounded
 *   (turtle prints "guest '...': N EPT02 roots built" when the L1 ends.)
 */
#include "lib/vmx.h"

#ifndef VMCALL_EXIT_COUNT
#define VMCALL_EXIT_COUNT   4       /* turtle: RBX = L0 exits this L1 has caused */
#endif
#define ITERATIONS          200
#define WARMUP              10
#define BENCH_BEGIN         0xb1    /* L2 VMCALL codes around the timed loop */
#define BENCH_END           0xb2

static volatile u64 l2_total, l2_empty;
static bool tpr_writes;             /* L1 writes TPR_THRESHOLD before each entry */
static u32 tpr_threshold = 1;

static void l2_bench(void)
{
    u64 total = 0, empty = 0;

    for (int i = 0; i < WARMUP; i++)
        cpuid(0);
    l2_vmcall(BENCH_BEGIN);
    for (int i = 0; i < ITERATIONS; i++) {
        u64 t0 = rdtsc();
        cpuid(0);
        total += rdtsc() - t0;
    }
    l2_vmcall(BENCH_END);
    for (int i = 0; i < ITERATIONS; i++) {
        u64 t0 = rdtsc();
        empty += rdtsc() - t0;
    }
    l2_total = total;
    l2_empty = empty;
}

static u64 l0_exit_count(void)
{
    struct vmcall_regs r = { VMCALL_EXIT_COUNT, 0, 0 };
    return vmcall_regs(&r) == 0 ? (u64)r.rbx : 0;
}

static u64 rounded_div(u64 a, u64 b) { return (a + b / 2) / b; }

/* Runs L2 to its end; returns false (with a FAIL line) on anything unexpected. */
static bool run_l2(u64 *exits_begin, u64 *exits_end)
{
    struct vmx_gprs g = { 0 };
    int mode = VMX_ENTER_LAUNCH;
    bool turtle = on_turtle();

    for (;;) {
        u64 reason = 0, len = 0, rip = 0;
        if (tpr_writes) {
            tpr_threshold ^= 3;                 /* 1, 2, 1, ...: at most VTPR[7:4] */
            vmwrite(TPR_THRESHOLD, tpr_threshold);
        }
        int st = vmx_enter(&g, mode);           /* one call site: HOST_RSP stays valid */

        if (st != VMX_OK)
            return report(false, "vmx_bench: VM entry failed: status %d error %u", st, vmx_instruction_error());
        mode = VMX_ENTER_RESUME | VMX_ENTER_KEEP_HOST;
        vmread(VM_EXIT_REASON, &reason);
        if (reason == EXIT_REASON_VMCALL) {
            if (g.rax == VMX_L2_DONE)
                return true;
            if (turtle && g.rax == BENCH_BEGIN)
                *exits_begin = l0_exit_count();
            if (turtle && g.rax == BENCH_END)
                *exits_end = l0_exit_count();
        } else if (reason != EXIT_REASON_CPUID) {
            return report(false, "vmx_bench: unexpected exit reason %#lx", (unsigned long)reason);
        }
        vmread(VM_EXIT_INSTRUCTION_LEN, &len);
        vmread(GUEST_RIP, &rip);
        vmwrite(GUEST_RIP, rip + len);
    }
}

/* The loop again, with a TPR shadow and a TPR-threshold write before
 * every entry. */
static void run_tpr(void)
{
    u32 *vapic = vmx_alloc_page();
    u64 begin = 0, end = 0;

    if (!vapic) {
        report(false, "vmx_bench: a virtual-APIC page");
        return;
    }
    vapic[0x80 / 4] = 0x20;                 /* VTPR */
    vmx_vmcs_setup(l2_bench);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW);
    vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vmx_pa(vapic));
    tpr_writes = true;
    if (run_l2(&begin, &end)) {
        u64 net = l2_total > l2_empty ? l2_total - l2_empty : 0;
        printf("BENCH: l2_cpuid_tpr %lu\n", (unsigned long)rounded_div(net, ITERATIONS));
    }
    tpr_writes = false;
    vmx_vmcs_teardown();
}

/* ---- EPT12 modes ---- */

#define EPT_TOP             (256ull << 20)
#define TOUCH_BASE          (64ull << 20)
#define TOUCH_SIZE          (64ull << 20)
#define SWITCHES            200
#define EPT_RWX_WB          (VMX_EPT_RWX_MASK | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT))

static u64 *ept_roots[2];
static u8 l2b_stack[4096] __attribute__((aligned(16)));

/* Two EPT12 roots over the same tables: an identity map of EPT_TOP with
 * 2 MiB pages. */
static bool build_ept12(void)
{
    u64 *pdpt = vmx_alloc_page(), *pd = vmx_alloc_page();

    ept_roots[0] = vmx_alloc_page();
    ept_roots[1] = vmx_alloc_page();
    if (!pdpt || !pd || !ept_roots[0] || !ept_roots[1])
        return false;
    ept_roots[0][0] = ept_roots[1][0] = vmx_pa(pdpt) | VMX_EPT_RWX_MASK;
    pdpt[0] = vmx_pa(pd) | VMX_EPT_RWX_MASK;
    for (u64 a = 0; a < EPT_TOP; a += 2ull << 20)
        pd[a >> 21] = a | EPT_RWX_WB | VMX_EPT_LARGE_PAGE_BIT;
    return true;
}

static void use_ept12(int root)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, vmx_pa(ept_roots[root]) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4);
}

static void l2_touch(void)
{
    l2_vmcall(BENCH_BEGIN);
    for (u64 a = TOUCH_BASE; a < TOUCH_BASE + TOUCH_SIZE; a += PAGE_4K)
        *(volatile u64 *)(uintptr_t)a = a;
    l2_vmcall(BENCH_END);
}

static void l2_spin(void)
{
    for (;;)
        cpuid(0);
}

static bool run_touch(void)
{
    struct vmx_gprs g = { 0 };
    int mode = VMX_ENTER_LAUNCH;
    u64 begin = 0, end = 0;

    vmx_vmcs_setup(l2_touch);
    use_ept12(0);
    for (;;) {
        u64 reason = 0;
        if (vmx_enter(&g, mode) != VMX_OK)
            return report(false, "vmx_bench ept2m: VM entry failed");
        mode = VMX_ENTER_RESUME | VMX_ENTER_KEEP_HOST;
        vmread(VM_EXIT_REASON, &reason);
        if (reason != EXIT_REASON_VMCALL)
            return report(false, "vmx_bench ept2m: unexpected exit reason %#lx", (unsigned long)reason);
        if (g.rax == VMX_L2_DONE)
            break;
        if (g.rax == BENCH_BEGIN)
            begin = l0_exit_count();
        if (g.rax == BENCH_END)
            end = l0_exit_count();
        u64 len = 0, rip = 0;
        vmread(VM_EXIT_INSTRUCTION_LEN, &len);
        vmread(GUEST_RIP, &rip);
        vmwrite(GUEST_RIP, rip + len);
    }
    vmx_vmcs_teardown();
    if (on_turtle())
        printf("BENCH: l0_exits_64m_2m %lu\n", (unsigned long)(end - begin));
    return true;
}

/* One CPUID exit of the L2 on the current VMCS, then on to the other. */
static bool run_alternate(void)
{
    static u8 *second;
    struct vmx_gprs g[2] = { { 0 }, { 0 } };
    u64 vmcs[2], begin = 0;
    bool launched[2] = { false, false };

    second = vmx_alloc_page();
    if (!second)
        return report(false, "vmx_bench alternate: a page for the second VMCS");
    vmx_vmcs_setup_page(second, l2_spin);
    use_ept12(1);
    vmcs_write(GUEST_RSP, (u64)(uintptr_t)(l2b_stack + sizeof(l2b_stack)));
    vmx_vmcs_setup(l2_spin);
    use_ept12(0);
    vmcs[0] = vmx_test_vmcs();
    vmcs[1] = vmx_pa(second);
    for (int i = 0; i <= SWITCHES + 2; i++) {
        int k = i % 2;
        u64 reason = 0, len = 0, rip = 0;
        if (i == 2)
            begin = l0_exit_count();            /* both L2s ran once */
        vmptrld(vmcs[k]);
        if (vmx_enter(&g[k], launched[k] ? VMX_ENTER_RESUME : VMX_ENTER_LAUNCH) != VMX_OK)
            return report(false, "vmx_bench alternate: VM entry failed");
        launched[k] = true;
        vmread(VM_EXIT_REASON, &reason);
        if (reason != EXIT_REASON_CPUID)
            return report(false, "vmx_bench alternate: unexpected exit reason %#lx", (unsigned long)reason);
        vmread(VM_EXIT_INSTRUCTION_LEN, &len);
        vmread(GUEST_RIP, &rip);
        vmwrite(GUEST_RIP, rip + len);
    }
    u64 end = l0_exit_count();
    vmclear(vmcs[1]);
    vmx_vmcs_teardown();
    if (on_turtle())
        printf("BENCH: l0_exits_per_switch %lu\n", (unsigned long)rounded_div(end - begin, SWITCHES + 1));
    return true;
}

void guest_main(const struct boot_params *bp)
{
    u64 begin = 0, end = 0;
    char mode[16] = "";

    cmdline_value(bp->cmdline, "mode", mode, sizeof(mode));
    if (mode[0]) {
        printf("vmx_bench: %s, mode %s\n", on_turtle() ? "on turtle" : "bare", mode);
        if (!vmx_enable() || !vmx_has_ept() || vmx_on() != VMX_OK || !build_ept12()) {
            report(false, "vmx_bench: VMXON and EPT12");
            return;
        }
        if (!strcmp(mode, "ept2m"))
            run_touch();
        else if (!strcmp(mode, "alternate"))
            run_alternate();
        else
            report(false, "vmx_bench: no mode '%s'", mode);
        vmxoff();
        return;
    }

    printf("vmx_bench: %s, %u L2 CPUIDs\n", on_turtle() ? "on turtle" : "bare", ITERATIONS);
    if (!vmx_enable()) {
        report(false, "vmx_bench: VMX can be enabled");
        return;
    }
    if (vmx_on() != VMX_OK) {
        report(false, "vmx_bench: VMXON");
        return;
    }
    vmx_vmcs_setup(l2_bench);
    if (run_l2(&begin, &end)) {
        u64 net = l2_total > l2_empty ? l2_total - l2_empty : 0;
        printf("BENCH: l2_cpuid %lu\n", (unsigned long)rounded_div(net, ITERATIONS));
        if (on_turtle())
            printf("BENCH: l0_exits_per_l2_exit %lu\n", (unsigned long)rounded_div(end - begin, ITERATIONS));
    }
    vmx_vmcs_teardown();
    if (vmx_has_proc(CPU_BASED_TPR_SHADOW))
        run_tpr();
    vmxoff();
}
