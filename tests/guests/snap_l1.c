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
 *   launch L1 asks for the snapshot at its next VM entry (VMCALL 5 with
 *          RBX = 2), then VMLAUNCHes: taken once turtle has emulated the
 *          VMLAUNCH, before L2's first instruction (RUN_PENDING)
 *   shadow as l2, with VMCS shadowing for L2 (SDM 25.10): vmcs12 links a
 *          shadow VMCS whose LDTR-base field L2 reads and writes after each
 *          CPUID without an exit (nested state 8320 bytes: the shadow
 *          vmcs12 page follows vmcs12); L1 checks what L2 saw and, through
 *          VMPTRLD of the shadow VMCS, what L2 left there (a fourth test)
 *   vmfunc as l2, with EPT and VM functions for L2: after each CPUID L2
 *          switches to the other of two EPTs (identity maps of the first
 *          16 MiB) with VMFUNC, without an exit; vmcs12 is snapshotted
 *          with EPTP switching on, and L1 checks the EPT pointer L2 left
 *          (a fourth test)
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
#define WHEN_L2_ENTRY       2
#define L2_EXIT             150         /* mid-way through L2's first CPUIDs */

static u8 l1_buf[WORK_PAGES * 4096] __attribute__((aligned(4096)));
static u8 l2_buf[WORK_PAGES * 4096] __attribute__((aligned(4096)));
static u8 shadow_page[4096] __attribute__((aligned(4096)));
static u8 shadow_bitmap[4096] __attribute__((aligned(4096)));   /* VMREAD and VMWRITE */
static bool l2_shadowing;
static u64 ept[2][3][512] __attribute__((aligned(4096)));     /* per EPT: PML4, PDPT, PD */
static u64 eptp_list[512] __attribute__((aligned(4096)));
static bool l2_vmfunc;
static volatile u64 l2_shadow_bad;
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

/* The value L2 leaves in its shadow VMCS's LDTR base after round i
 * (-1: L1's initial one). */
static u64 shadow_value(int i) { return i < 0 ? 0x1000 : 0x5eed0000ull + (u64)i; }

/* With shadowing: read back what the previous round wrote, write this
 * round's (no exit: the bitmaps allow the field). */
static void l2_shadow_round(int i)
{
    u64 v = 0;

    if (!l2_shadowing)
        return;
    if (vmread(GUEST_LDTR_BASE, &v) != VMX_OK || v != shadow_value(i - 1))
        l2_shadow_bad++;
    if (vmwrite(GUEST_LDTR_BASE, shadow_value(i)) != VMX_OK)
        l2_shadow_bad++;
}

/* With VM functions: to EPT (i & 1), VMFUNC leaf 0 (no exit). */
static void l2_vmfunc_round(int i)
{
    if (l2_vmfunc)
        __asm__ __volatile__(".byte 0x0f, 0x01, 0xd4" :: "a"(0), "c"(i & 1) : "memory");
}

static void l2_work(void)
{
    u64 half = sizeof(l2_buf) / 2, sum;

    for (int i = 0; i < L2_CPUIDS / 2; i++) {
        cpuid((u32)i & 0xf);
        l2_shadow_round(i);
        l2_vmfunc_round(i);
    }
    sum = fill_and_sum(l2_buf, 0, half, 0x33);
    l2_vmcall(L2_HALF);
    for (int i = L2_CPUIDS / 2; i < L2_CPUIDS; i++) {
        cpuid((u32)i & 0xf);
        l2_shadow_round(i);
        l2_vmfunc_round(i);
    }
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

/* VMCS shadowing for L2 in the current (test) VMCS: a shadow VMCS with
 * LDTR base shadow_value(-1), bitmaps that let L2 read and write only
 * that field. */
static bool shadow_setup(void)
{
    if (!vmx_has_proc2(SECONDARY_EXEC_SHADOW_VMCS))
        return report(false, "snap_l1: VMCS shadowing is available to L1");
    vmx_init_vmcs_region(shadow_page);
    *(u32 *)shadow_page = vmx_caps.revision | 0x80000000u;
    if (vmclear(vmx_pa(shadow_page)) != VMX_OK || vmptrld(vmx_pa(shadow_page)) != VMX_OK ||
        vmwrite(GUEST_LDTR_BASE, shadow_value(-1)) != VMX_OK || vmptrld(vmx_test_vmcs()) != VMX_OK)
        return report(false, "snap_l1: the shadow VMCS could be set up");
    for (u32 i = 0; i < sizeof(shadow_bitmap); i++)
        shadow_bitmap[i] = 0xff;
    shadow_bitmap[(GUEST_LDTR_BASE & 0x7fff) / 8] &= (u8)~(1u << (GUEST_LDTR_BASE % 8));
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_SHADOW_VMCS);
    vmcs_write(VMCS_LINK_POINTER, vmx_pa(shadow_page));
    vmcs_write(VMREAD_BITMAP, vmx_pa(shadow_bitmap));
    vmcs_write(VMWRITE_BITMAP, vmx_pa(shadow_bitmap));
    l2_shadowing = true;
    return true;
}

#define EPT_RWX             7
#define EPT_WB_2M           ((6u << 3) | BIT(7))
#define EPT_MAPPED_2M       8                   /* 16 MiB: all of this L1's RAM */

static u64 vmfunc_eptp(int i) { return vmx_pa(ept[i][0]) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4; }

/* EPT for L2 in the current (test) VMCS, and VM functions: the EPTP list
 * holds two EPTs that map the same, at indices 0 and 1. */
static bool vmfunc_setup(void)
{
    if (!vmx_has_ept() || !vmx_has_proc2(SECONDARY_EXEC_ENABLE_VMFUNC) ||
        !(vmx_caps.vmfunc & VMX_VMFUNC_EPTP_SWITCHING))
        return report(false, "snap_l1: EPT and VMFUNC EPTP switching are available to L1");
    for (int i = 0; i < 2; i++) {
        ept[i][0][0] = vmx_pa(ept[i][1]) | EPT_RWX;
        ept[i][1][0] = vmx_pa(ept[i][2]) | EPT_RWX;
        for (u64 j = 0; j < EPT_MAPPED_2M; j++)
            ept[i][2][j] = (j << 21) | EPT_RWX | EPT_WB_2M;
        eptp_list[i] = vmfunc_eptp(i);
    }
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VMFUNC);
    vmcs_write(EPT_POINTER, vmfunc_eptp(0));
    vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(eptp_list));
    l2_vmfunc = true;
    return true;
}

/* What L2 left in the shadow VMCS, seen by L1 through VMPTRLD of it. */
static void shadow_check(void)
{
    u64 v = 0;
    int st = vmptrld(vmx_pa(shadow_page));

    if (st == VMX_OK)
        st = vmread(GUEST_LDTR_BASE, &v);
    vmptrld(vmx_test_vmcs());
    report(st == VMX_OK && !l2_shadow_bad && v == shadow_value(L2_CPUIDS - 1),
           "snap_l1: L2's %u shadow-VMCS writes read back (%lu bad), the last one in the shadow VMCS (%#lx)",
           L2_CPUIDS, (unsigned long)l2_shadow_bad, (unsigned long)v);
}

static u64 tsc_before;

/* What this L1 is shown after the snapshot point: a restored one must see
 * its snapshot's CPUID and VMX capabilities, whichever CPU restored it
 * (docs/snapshot.md). Leaf 1 EBX (APIC ID) and VMFUNC (#GP) left out. */
static void shown(void)
{
    struct cpuid_regs c1 = cpuid(1), c7 = cpuid_count(7, 0), ce = cpuid(0x80000001);

    printf("snap_l1: shown CPUID 1 %08x %08x, 7 %08x %08x %08x, 80000001 %08x %08x\n",
           c1.ecx, c1.edx, c7.ebx, c7.ecx, c7.edx, ce.ecx, ce.edx);
    for (u32 m = 0x480; m <= 0x490; m += 4) {
        printf("snap_l1: shown VMX %x:", m);
        for (u32 i = m; i < m + 4 && i <= 0x490; i++)
            printf(" %016lx", (unsigned long)rdmsr(i));
        printf("\n");
    }
}

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
    bool at_shadow = !strcmp(state, "shadow"), at_vmfunc = !strcmp(state, "vmfunc");
    bool at_l2 = !strcmp(state, "l2") || at_shadow || at_vmfunc, at_launch = !strcmp(state, "launch");
    if (!at_l1 && !at_vmxon && !at_vmcs && !at_l2 && !at_launch) {
        report(false, "snap_l1: state=%s is l1, vmxon, vmcs, l2, shadow, vmfunc or launch", state);
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
    if (at_shadow && !shadow_setup())
        return;
    if (at_vmfunc && !vmfunc_setup())
        return;
    if (at_l2) {
        /* Armed first: the lines after the point are all printed after
         * the snapshot, which L2 reaches at its L2_EXIT-th L0 exit. */
        long r = want_snap ? snapshot_vmcall(WHEN_L2_EXIT, L2_EXIT) : 0;
        printf("snap_l1: snapshot asked for at L0 exit %u in L2, vmcall returned %ld\n", L2_EXIT, r);
        tsc_before = rdtsc();
        printf("snap_l1: snapshot point (L2 running)\n");
    }
    if (at_launch) {
        long r = want_snap ? snapshot_vmcall(WHEN_L2_ENTRY, 0) : 0;
        printf("snap_l1: snapshot asked for at the next VM entry, vmcall returned %ld\n", r);
        tsc_before = rdtsc();
        printf("snap_l1: snapshot point (VMLAUNCH emulated, L2 not run yet)\n");
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
    shown();
    if (at_shadow)
        shadow_check();
    if (at_vmfunc)
        report(vmcs_read(EPT_POINTER) == vmfunc_eptp((L2_CPUIDS - 1) & 1),
               "snap_l1: L2's %u VMFUNCs ran without exits, the EPT pointer is the last one's list entry %d",
               L2_CPUIDS, (L2_CPUIDS - 1) & 1);
    vmx_vmcs_teardown();
    vmxoff();
}
