/*
 * snap_l1: an L1 hypervisor whose work has a known total, for the snapshot
 * tests (docs/snapshot.md). It snapshots itself through turtle's VMCALL 5
 * at a chosen point, in a chosen VMX state (`state=` on its command line):
 *   l1     before VMXON (L1 has done half of its own work)
 *   vmxon  in VMX operation without a current VMCS
 *   vmcs   with a current, launched VMCS: L2 has run half of its work and
 *          is paused at an exit L1 is handling
 *   l2     L2 running: L1 asks for the snapshot at the L2_EXIT-th L0 exit
 *          while L2 runs (VMCALL 5 with RBX = 1), then runs L2
 * With `snap` it asks for the snapshot with "stop" (turtle powers off
 * once it has left); without, it runs the same path uninterrupted. Every
 * line after "snap_l1: snapshot point" must be the same in a run restored
 * from the snapshot and in an uninterrupted run.
 *
 * `fill=N` (benchmarks) first writes a pattern over N MiB of RAM from
 * FILL_BASE, so the snapshot stores those pages (no zero pages to elide).
 *
 * The work: L1 fills WORK_PAGES pages with a pattern and sums them (half
 * before the point, half after); L2 executes L2_CPUIDS CPUIDs (each an
 * exit L1 counts) and sums its own buffer, half before and half after.
 */
#include "lib/vmx.h"

#define VMCALL_SNAPSHOT     5
#define SNAPSHOT_STOP       1
#define WORK_PAGES          16
#define L2_CPUIDS           400
#define L2_HALF             0x5a        /* L2 VMCALL: half of L2's work done */
#define FILL_BASE           (8ULL << 20)
#define WHEN_NOW            0
#define WHEN_L2_EXIT        1
#define L2_EXIT             150         /* mid-way through L2's first CPUIDs */

static u8 l1_buf[WORK_PAGES * 4096] __attribute__((aligned(4096)));
static u8 l2_buf[WORK_PAGES * 4096] __attribute__((aligned(4096)));
static volatile u64 l2_sum;
static u64 l2_cpuid_exits;
static bool want_snap;

static u64 fill_and_sum(u8 *buf, u64 from, u64 to, u64 seed)
{
    u64 sum = 0;

    for (u64 i = from; i < to; i++) {
        buf[i] = (u8)(i * 7 + seed + (i >> 9));
        sum = sum * 31 + buf[i];
    }
    return sum;
}

static void l2_work(void)
{
    u64 half = sizeof(l2_buf) / 2, sum;

    for (int i = 0; i < L2_CPUIDS / 2; i++)
        cpuid((u32)i & 0xf);
    sum = fill_and_sum(l2_buf, 0, half, 0x33);
    l2_vmcall(L2_HALF);
    for (int i = L2_CPUIDS / 2; i < L2_CPUIDS; i++)
        cpuid((u32)i & 0xf);
    l2_sum = sum ^ fill_and_sum(l2_buf, half, sizeof(l2_buf), 0x55);
}

/* The snapshot VMCALL: RAX = 5, RBX = when, RCX = which L0 exit in L2,
 * RDX = flags. */
static long snapshot_vmcall(long when, long count)
{
    long rax = VMCALL_SNAPSHOT, rbx = when, rcx = count, rdx = SNAPSHOT_STOP;

    __asm__ __volatile__("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) :: "memory");
    return rax;
}

static u64 tsc_before;

static void snapshot_point(const char *where)
{
    tsc_before = rdtsc();
    printf("snap_l1: snapshot point (%s)\n", where);
    long r = want_snap ? snapshot_vmcall(WHEN_NOW, 0) : 0;
    printf("snap_l1: after the snapshot point, vmcall returned %ld\n", r);
}

/* Runs L2 until it is done or at its half-way VMCALL (returns true there). */
static bool run_l2(struct vmx_exit *e, bool *first)
{
    for (;;) {
        int st = vmx_run_l2_mode(e, *first ? VMX_ENTER_LAUNCH : VMX_ENTER_RESUME);
        *first = false;
        if (st != VMX_OK) {
            report(false, "snap_l1: VM entry (status %d, error %u)", st, e->error);
            return false;
        }
        if (e->reason == EXIT_REASON_CPUID) {
            l2_cpuid_exits++;
            vmx_skip_instruction(e);
            continue;
        }
        if (e->reason == EXIT_REASON_VMCALL && e->regs->rax == L2_HALF) {
            vmx_skip_instruction(e);
            return true;
        }
        if (vmx_is_l2_done(e))
            return false;
        vmx_report_unexpected("snap_l1", e);
        return false;
    }
}

void guest_main(const struct boot_params *bp)
{
    char state[16] = "l1";
    u64 half = sizeof(l1_buf) / 2, l1_sum;
    struct vmx_exit e;
    bool first = true;

    cmdline_value(bp->cmdline, "state", state, sizeof(state));
    u64 fill = 0;
    if (cmdline_u64(bp->cmdline, "fill", &fill) && fill) {
        volatile u64 *p = (volatile u64 *)(uintptr_t)FILL_BASE;
        for (u64 i = 0; i < (fill << 20) / 8; i++)
            p[i] = i * 0x9e3779b97f4a7c15ULL | 1;
        printf("snap_l1: %lu MiB from %#lx filled\n", (unsigned long)fill, (unsigned long)FILL_BASE);
    }
    want_snap = cmdline_has_word(bp->cmdline, "snap") && on_turtle();
    printf("snap_l1: state %s\n", state);
    l1_sum = fill_and_sum(l1_buf, 0, half, 0x11);
    bool at_l1 = !strcmp(state, "l1"), at_vmxon = !strcmp(state, "vmxon"), at_vmcs = !strcmp(state, "vmcs");
    bool at_l2 = !strcmp(state, "l2");
    if (!at_l1 && !at_vmxon && !at_vmcs && !at_l2) {
        report(false, "snap_l1: state=%s is l1, vmxon, vmcs or l2", state);
        return;
    }
    if (at_l1)
        snapshot_point("in L1, before VMXON");
    if (!vmx_enable() || vmx_on() != VMX_OK) {
        report(false, "snap_l1: VMXON");
        return;
    }
    if (at_vmxon)
        snapshot_point("VMXON, no current VMCS");
    vmx_vmcs_setup(l2_work);
    if (at_l2) {
        /* Armed first: the lines after the point are all printed after
         * the snapshot, which L2 reaches at its L2_EXIT-th L0 exit. */
        long r = want_snap ? snapshot_vmcall(WHEN_L2_EXIT, L2_EXIT) : 0;
        printf("snap_l1: snapshot asked for at L0 exit %u in L2, vmcall returned %ld\n", L2_EXIT, r);
        tsc_before = rdtsc();
        printf("snap_l1: snapshot point (L2 running)\n");
    }
    bool halfway = run_l2(&e, &first);
    if (!halfway) {
        report(false, "snap_l1: L2 reached its half-way point");
        return;
    }
    if (at_vmcs)
        snapshot_point("current VMCS, L2 half done");
    while (run_l2(&e, &first))
        ;
    l1_sum ^= fill_and_sum(l1_buf, half, sizeof(l1_buf), 0x22);
    printf("snap_l1: L1 sum %016lx, L2 sum %016lx, L2 CPUID exits %lu\n", (unsigned long)l1_sum,
           (unsigned long)l2_sum, (unsigned long)l2_cpuid_exits);
    report(l2_cpuid_exits == L2_CPUIDS, "snap_l1: L2's %u CPUIDs each exited to L1 once (%lu)",
           L2_CPUIDS, (unsigned long)l2_cpuid_exits);
    report(l2_sum != 0 && l1_sum != 0, "snap_l1: L1 and L2 sums computed");
    /* A restored L1's TSC continues from the snapshot's (turtle offsets it). */
    report(rdtsc() > tsc_before, "snap_l1: the TSC went on from the snapshot point");
    vmx_vmcs_teardown();
    vmxoff();
}
