/*
 * vmx_snap: an L1 whose L2 runs long enough, and touches enough state on
 * both sides, that a snapshot taken in the middle of L2 and restored
 * elsewhere must carry everything to end the same (docs/snapshot.md).
 *
 * L2 runs ROUNDS rounds. Each round it folds a 16 KiB buffer it keeps
 * rewriting into a checksum, executes CPUID (an exit L1 intercepts: L1
 * counts it and answers in L2's RBX with a value derived from its own
 * count), folds that answer in, and writes the round number to port 0x80.
 * L1 does not intercept port I/O, so that OUT leaves L2 straight for L0:
 * under KVM it reaches the VMM in user space with the vCPU in L2, the
 * point `vmm --snapshot-at N` takes its snapshot (tests/linux/init).
 * L1 then recomputes the whole thing itself and reports:
 *   PASS: vmx_snap: L2's checksum over ROUNDS rounds is L1's
 *   PASS: vmx_snap: L1 handled ROUNDS CPUID exits, in order
 * On bare Bochs and under turtle the port write is harmless (POST port).
 */
#include "lib/vmx.h"

#define ROUNDS          48
#define BUF_WORDS       2048            /* 16 KiB */
#define POST_PORT       0x80

static u64 l2_buf[BUF_WORDS];
static volatile u64 l2_sum;
static u64 l1_exits, l1_order_ok = 1;

static u64 answer(u64 n) { return n * 0x9e3779b97f4a7c15ull ^ (n << 17); }

/* One round's fold: the same in L2 and in L1's check. */
static u64 fold(u64 sum, u64 *buf, u64 round)
{
    for (u64 i = 0; i < BUF_WORDS; i++) {
        buf[i] = buf[i] * 6364136223846793005ull + round + i;
        sum = (sum ^ buf[i]) * 0x100000001b3ull;
    }
    return sum;
}

static void l2_main(void)
{
    u64 sum = 0xcbf29ce484222325ull;

    for (u64 r = 0; r < ROUNDS; r++) {
        sum = fold(sum, l2_buf, r);
        struct cpuid_regs c = cpuid(0x0);
        sum = (sum ^ c.ebx) * 0x100000001b3ull;
        outb(POST_PORT, (u8)r);
    }
    l2_sum = sum;
}

static bool run_l2(void)
{
    struct vmx_gprs g = { 0 };
    int mode = VMX_ENTER_LAUNCH;

    for (;;) {
        u64 reason = 0, len = 0, rip = 0;
        int st = vmx_enter(&g, mode);           /* one call site: HOST_RSP stays valid */

        if (st != VMX_OK)
            return report(false, "vmx_snap: VM entry failed: status %d error %u", st, vmx_instruction_error());
        mode = VMX_ENTER_RESUME | VMX_ENTER_KEEP_HOST;
        vmread(VM_EXIT_REASON, &reason);
        if (reason == EXIT_REASON_VMCALL && g.rax == VMX_L2_DONE)
            return true;
        if (reason != EXIT_REASON_CPUID)
            return report(false, "vmx_snap: unexpected exit reason %#lx", (unsigned long)reason);
        if (g.rax != 0)                         /* CPUID leaf 0, as L2 asked */
            l1_order_ok = 0;
        l1_exits++;
        g.rax = 0xd;
        g.rbx = (u32)answer(l1_exits);
        g.rcx = g.rdx = 0;
        vmread(VM_EXIT_INSTRUCTION_LEN, &len);
        vmread(GUEST_RIP, &rip);
        vmwrite(GUEST_RIP, rip + len);
    }
}

static u64 expected_sum(void)
{
    static u64 buf[BUF_WORDS];
    u64 sum = 0xcbf29ce484222325ull;

    for (u64 r = 0; r < ROUNDS; r++) {
        sum = fold(sum, buf, r);
        sum = (sum ^ (u32)answer(r + 1)) * 0x100000001b3ull;
    }
    return sum;
}

void guest_main(const struct boot_params *bp)
{
    (void)bp;
    printf("vmx_snap: %s, %u L2 rounds\n", on_turtle() ? "on turtle" : "bare", ROUNDS);
    if (!vmx_enable()) {
        report(false, "vmx_snap: VMX can be enabled");
        return;
    }
    if (vmx_on() != VMX_OK) {
        report(false, "vmx_snap: VMXON");
        return;
    }
    vmx_vmcs_setup(l2_main);
    if (run_l2()) {
        report(l2_sum == expected_sum(), "vmx_snap: L2's checksum over %u rounds is L1's", ROUNDS);
        report(l1_exits == ROUNDS && l1_order_ok, "vmx_snap: L1 handled %u CPUID exits, in order", ROUNDS);
    }
    vmx_vmcs_teardown();
    vmxoff();
}
