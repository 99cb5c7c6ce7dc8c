/*
 * xsave's L2 tests (with `nested`): an L2 whose AVX registers survive its
 * exits to L1, whose XSETBV exits to L1 (reason 55), which runs with the
 * XCR0 L1 loaded (XCR0 is not in the VMCS), and whose INVPCID follows
 * vmcs12's "enable INVPCID" and INVLPG exiting.
 */
#include "xsave.h"

/* ---- nested: an L2 with AVX ---- */
static u64 l2_xcr0_seen, l2_ud_vector;
static bool l2_regs_ok;

static void l2_avx(void)
{
    load_avx();
    for (int i = 0; i < 10; i++)
        l2_vmcall(1);                   /* exits to L1, which resumes */
    l2_regs_ok = avx_intact();
    u64 v = 3;
    __asm__ __volatile__("xsetbv" :: "c"(0), "a"((u32)v), "d"(0) : "memory");
    l2_xcr0_seen = xgetbv_raw();
    v = xcr0_full;
    __asm__ __volatile__("xsetbv" :: "c"(0), "a"((u32)v), "d"(0) : "memory");
}

static u32 xsetbv_exits;
static u64 xsetbv_values[2];

static void init_avx(void)
{
    xsetbv_exits = 0;
    l2_regs_ok = false;
    l2_xcr0_seen = 0;
    fill(&pat[0][0], sizeof(pat), 11);
    fill(&zpat[0][0], sizeof(zpat), 12);
    fill((u8 *)kpat, sizeof(kpat), 13);
}

static enum vmx_action exit_avx(struct vmx_exit *e)
{
    if (e->status == VMX_OK && e->reason == EXIT_REASON_VMCALL && e->regs->rax == 1) {
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    if (e->status == VMX_OK && e->reason == EXIT_REASON_XSETBV) {
        /* L1 emulates L2's XSETBV by loading it itself: XCR0 is not in the VMCS. */
        if (xsetbv_exits < 2)
            xsetbv_values[xsetbv_exits] = (u32)e->regs->rax | (u64)(u32)e->regs->rdx << 32;
        xsetbv_exits++;
        xsetbv_safe((u32)e->regs->rcx, (u32)e->regs->rax | (u64)(u32)e->regs->rdx << 32);
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("L2 AVX", e);
        return VMX_STOP;
    }
    report(l2_regs_ok, "L2's AVX registers keep their values across its exits to L1");
    report(xsetbv_exits == 2 && xsetbv_values[0] == 3 && xsetbv_values[1] == xcr0_full,
           "L2's XSETBV exits to L1 (reason 55) with its value (%u exits)", xsetbv_exits);
    report(l2_xcr0_seen == 3, "L2 reads the XCR0 L1 loaded for it (%#lx)", (unsigned long)l2_xcr0_seen);
    report(xgetbv0() == xcr0_full, "L1 sees the XCR0 L2 loaded after the exit");
    return VMX_STOP;
}

/* L1 loads XCR0 = 3 before the entry: L2's VEX instruction is #UD. */
static void l2_vex(void)
{
    l2_event_reset();
    __asm__ __volatile__("leaq 1f(%%rip), %%rax\n\tmovq %%rax, %0\n\tvxorps %%ymm1, %%ymm1, %%ymm1\n1:"
                         : "=m"(l2_event.fixup_rip) :: "rax", "memory");
    l2_ud_vector = l2_event.count == 1 ? l2_event.vector : ~0ull;
    l2_xcr0_seen = xgetbv_raw();
}

static void init_vex(void)
{
    l2_ud_vector = 0;
    xsetbv_safe(0, 3);
}

static enum vmx_action exit_vex(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("L2 VEX", e);
        return VMX_STOP;
    }
    report(l2_xcr0_seen == 3 && l2_ud_vector == X86_UD,
           "L2 runs with the XCR0 L1 set before VMLAUNCH: AVX off, VEX is #UD (vector %lu)",
           (unsigned long)l2_ud_vector);
    xsetbv_safe(0, xcr0_full);
    return VMX_STOP;
}

static bool avx_there(void) { return has_avx; }

/* ---- nested: INVPCID in L2 as vmcs12's controls allow it ---- */
static u64 l2_invpcid_vector;

static void l2_invpcid(void)
{
    static struct { u64 pcid, addr; } desc;
    l2_event_reset();
    __asm__ __volatile__("leaq 1f(%%rip), %%rax\n\tmovq %%rax, %0\n\tinvpcid %1, %2\n1:"
                         : "=m"(l2_event.fixup_rip) : "m"(desc), "r"(2ull) : "rax", "memory");
    l2_invpcid_vector = l2_event.count ? l2_event.vector : ~0ull;
}

static bool invpcid_there(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_INVPCID); }

static void set_invpcid(bool enable, bool invlpg_exiting)
{
    l2_invpcid_vector = 0;
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    if (enable)
        vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_INVPCID);
    else
        vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_INVPCID);
    if (invlpg_exiting)
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INVLPG_EXITING);
}

static void init_invpcid_off(void) { set_invpcid(false, false); }
static void init_invpcid_on(void) { set_invpcid(true, false); }
static void init_invpcid_exit(void) { set_invpcid(true, true); }

static enum vmx_action exit_invpcid_off(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("L2 INVPCID", e);
        return VMX_STOP;
    }
    report(l2_invpcid_vector == X86_UD, "L2 INVPCID without \"enable INVPCID\" raises #UD (vector %lu)",
           (unsigned long)l2_invpcid_vector);
    return VMX_STOP;
}

static enum vmx_action exit_invpcid_on(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("L2 INVPCID", e);
        return VMX_STOP;
    }
    report(l2_invpcid_vector == ~0ull, "L2 INVPCID with \"enable INVPCID\" runs without a fault or exit");
    return VMX_STOP;
}

static enum vmx_action exit_invpcid_exit(struct vmx_exit *e)
{
    if (e->status == VMX_OK && e->reason == EXIT_REASON_INVPCID) {
        report(e->instr_len >= 5 && e->instr_len <= 15,
               "L2 INVPCID with INVLPG exiting exits to L1 (reason 58, length %u)", e->instr_len);
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("L2 INVPCID exiting", e);
    return VMX_STOP;
}

const struct vmx_test xsave_l2_tests[] = {
    { "L2 AVX", avx_there, NULL, init_avx, l2_avx, exit_avx },
    { "L2 VEX with XCR0=3", avx_there, NULL, init_vex, l2_vex, exit_vex },
    { "L2 INVPCID off", invpcid_there, NULL, init_invpcid_off, l2_invpcid, exit_invpcid_off },
    { "L2 INVPCID on", invpcid_there, NULL, init_invpcid_on, l2_invpcid, exit_invpcid_on },
    { "L2 INVPCID exiting", invpcid_there, NULL, init_invpcid_exit, l2_invpcid, exit_invpcid_exit },
};
const size_t n_xsave_l2_tests = ARRAY_SIZE(xsave_l2_tests);
