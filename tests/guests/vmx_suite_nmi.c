/*
 * vmx_suite: virtual NMIs and NMI-window exiting (SDM 26.3 "virtual NMIs",
 * 26.7.6 "NMI-window exiting", 27.2.1.1 and 27.3.1.5 their entry checks).
 *
 * With "virtual NMIs", blocking by NMI in L2's interruptibility state is
 * virtual-NMI blocking: an injected NMI sets it, L2's IRET clears it, and
 * an NMI-window exit comes at the first instruction boundary without it.
 * Each test asks the capability MSRs whether the controls exist.
 */
#include "vmx_suite.h"

#define ENTRY_FAIL_GUEST    (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE)
#define PIN_VNMI            (PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS)
#define NMI_INFO            (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | X86_NMI)
#define VMCALL_LEN          3

static bool has_vnmi(void) { return vmx_has_pin(PIN_VNMI); }
static bool has_nmi_window(void) { return has_vnmi() && vmx_has_proc(CPU_BASED_NMI_WINDOW_EXITING); }

static void nmi_entry_marker(void) { }

/* VMCALL (code 1); then IRETQ to the next instruction, which ends any
 * virtual-NMI blocking (SDM 26.3); then return (VMX_L2_DONE). */
void l2_nmi_iret_guest(void);
extern char l2_nmi_after_iret[];
__asm__(".pushsection .text\n"
        "l2_nmi_iret_guest:\n\t"
        "mov $1, %eax\n\t"
        "vmcall\n\t"
        "mov %rsp, %rcx\n\t"
        "xor %eax, %eax\n\t"
        "mov %ss, %ax\n\t"
        "push %rax\n\t"
        "push %rcx\n\t"
        "pushfq\n\t"
        "mov %cs, %ax\n\t"
        "push %rax\n\t"
        "lea l2_nmi_after_iret(%rip), %rax\n\t"
        "push %rax\n\t"
        "iretq\n"
        "l2_nmi_after_iret:\n\t"
        "ret\n"
        ".popsection");

static void l2_nmi_vmcall_once(void) { l2_vmcall(1); }

static u32 interruptibility(void) { return (u32)vmcs_read(GUEST_INTERRUPTIBILITY_INFO); }

/* ---- entry checks (SDM 27.2.1.1, 27.3.1.5) ---- */

static void init_vnmi_without_nmi_exiting(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL,
               (vmx_default_pin() | PIN_BASED_VIRTUAL_NMIS) & ~(u32)PIN_BASED_NMI_EXITING);
}

static enum vmx_action vnmi_without_nmi_exiting_exit(struct vmx_exit *e)
{
    expect_fail_valid(e->status, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                      "virtual NMIs without NMI exiting: VMfailValid 7");
    return VMX_STOP;
}

static void init_window_without_vnmi(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_BASED_NMI_EXITING);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
}

static enum vmx_action window_without_vnmi_exit(struct vmx_exit *e)
{
    expect_fail_valid(e->status, VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                      "NMI-window exiting without virtual NMIs: VMfailValid 7");
    return VMX_STOP;
}

static void init_inject_nmi_blocked(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_VNMI);
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
}

/* Bochs 2.7 does not make this check (it enters L2 and delivers the NMI):
 * a Bochs deviation, so the test runs under turtle only. */
static bool has_vnmi_turtle(void) { return has_vnmi() && on_turtle(); }

static enum vmx_action inject_nmi_blocked_exit(struct vmx_exit *e)
{
    report(e->status == VMX_OK && e->reason == ENTRY_FAIL_GUEST,
           "turtle injecting an NMI under virtual-NMI blocking: VM-entry failure 0x80000021");
    return VMX_STOP;
}

/* The same blocking without an NMI to inject is a valid state. */
static void init_vnmi_blocked(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_VNMI);
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
}

static enum vmx_action vnmi_blocked_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("virtual-NMI blocking kept", e, EXIT_REASON_VMCALL) &&
               (interruptibility() & GUEST_INTR_STATE_NMI),
               "virtual-NMI blocking set at entry is saved at the next exit (interruptibility bit 3)");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("virtual-NMI blocking kept", e);
}

/* The blocking belongs to the VMCS that had it: the next VM entry, of a
 * VMCS without it, starts L2 unblocked (SDM 27.3.1.5 loads blocking by
 * NMI from the guest interruptibility state at every entry). Bochs 2.7
 * sets its virtual-NMI mask at an entry with the blocking and clears it
 * only at an IRET: after "virtual-NMI blocking kept" its next L2 exits
 * blocked (a Bochs deviation). turtle clears what no entry loaded
 * (nested/vnmi.c), so the test runs under turtle only. */
static void init_vnmi_unblocked(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_VNMI);
}

static enum vmx_action vnmi_unblocked_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("virtual-NMI blocking not inherited", e, EXIT_REASON_VMCALL) &&
               !(interruptibility() & GUEST_INTR_STATE_NMI),
               "turtle virtual-NMI blocking not inherited: after an L2 left blocked, the next VMCS exits unblocked");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("virtual-NMI blocking not inherited", e);
}

/* ---- NMI-window exiting (SDM 26.7.6) ----
 * Without virtual-NMI blocking the exit is due before L2's first
 * instruction, but Bochs 2.7 looks at the window only when an IRET ends
 * virtual-NMI blocking: an entry without blocking runs L2 on (a Bochs
 * deviation, which the CPU under turtle's vmcs02 shares). So every test
 * here opens the window with an IRET. */

static void init_nmi_window_open(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_VNMI);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
}

/* Virtual-NMI blocking holds the window shut until L2's IRET. */
static void init_nmi_window_iret(void)
{
    init_nmi_window_open();
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
}

static enum vmx_action nmi_window_iret_exit(struct vmx_exit *e)
{
    const char *name = "NMI window after IRET";

    if (e->count == 0) {
        report(exit_is(name, e, EXIT_REASON_VMCALL) && (interruptibility() & GUEST_INTR_STATE_NMI),
               "NMI-window exiting under virtual-NMI blocking: no exit before IRET, blocking still set");
        vmx_skip_instruction(e);
        return e->status == VMX_OK && e->reason == EXIT_REASON_VMCALL ? VMX_RESUME : VMX_STOP;
    }
    if (e->count == 1) {
        bool ok = exit_is(name, e, EXIT_REASON_NMI_WINDOW);
        if (!report(ok && e->guest_rip == (u64)(uintptr_t)l2_nmi_after_iret &&
                    !(interruptibility() & GUEST_INTR_STATE_NMI),
                    "IRET ends virtual-NMI blocking: NMI-window exit 8 at the next instruction"))
            printf("  rip %#lx (want %#lx) interruptibility %#x\n", (unsigned long)e->guest_rip,
                   (unsigned long)(uintptr_t)l2_nmi_after_iret, interruptibility());
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok && e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done(name, e);
}

/* An NMI L1 injects sets virtual-NMI blocking: the window opens only when
 * L2's NMI handler returns with IRET. */
static u64 vnmi_vmcall_rip;

static void init_inject_vnmi(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_VNMI);
}

static enum vmx_action inject_vnmi_exit(struct vmx_exit *e)
{
    const char *name = "injected NMI with virtual NMIs";

    if (e->count == 0) {
        if (!exit_is(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        vnmi_vmcall_rip = e->guest_rip;
        vmx_skip_instruction(e);
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, NMI_INFO);
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return VMX_RESUME;
    }
    if (e->count == 1) {
        bool ok = exit_is(name, e, EXIT_REASON_NMI_WINDOW);
        u64 want = vnmi_vmcall_rip + VMCALL_LEN;
        if (!report(ok && e->guest_rip == want && l2_event.count == 1 && l2_event.vector == X86_NMI &&
                    l2_event.rip == want,
                    "injected NMI blocks virtual NMIs until its handler's IRET: NMI-window exit after it"))
            printf("  rip %#lx (want %#lx) events %lu vector %lu\n", (unsigned long)e->guest_rip,
                   (unsigned long)want, (unsigned long)l2_event.count, (unsigned long)l2_event.vector);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok && e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done(name, e);
}

const struct vmx_test nmi_tests[] = {
    { "virtual NMIs without NMI exiting", has_vnmi, NULL, init_vnmi_without_nmi_exiting, nmi_entry_marker,
      vnmi_without_nmi_exiting_exit },
    { "NMI window without virtual NMIs", has_nmi_window, NULL, init_window_without_vnmi, nmi_entry_marker,
      window_without_vnmi_exit },
    { "inject NMI under virtual-NMI blocking", has_vnmi_turtle, NULL, init_inject_nmi_blocked, nmi_entry_marker,
      inject_nmi_blocked_exit },
    { "virtual-NMI blocking kept", has_vnmi, NULL, init_vnmi_blocked, l2_nmi_vmcall_once, vnmi_blocked_exit },
    { "virtual-NMI blocking not inherited", has_vnmi_turtle, NULL, init_vnmi_unblocked, l2_nmi_vmcall_once,
      vnmi_unblocked_exit },
    { "NMI window after IRET", has_nmi_window, NULL, init_nmi_window_iret, l2_nmi_iret_guest,
      nmi_window_iret_exit },
    { "injected NMI with virtual NMIs", has_nmi_window, NULL, init_inject_vnmi, l2_nmi_vmcall_once,
      inject_vnmi_exit },
};
const size_t n_nmi_tests = ARRAY_SIZE(nmi_tests);
