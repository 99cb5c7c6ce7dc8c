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
 * No tests unless something fails: "SUMMARY: 0 tests, 0 failures".
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

void guest_main(const struct boot_params *bp)
{
    u64 begin = 0, end = 0;
    (void)bp;

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
    vmxoff();
}
