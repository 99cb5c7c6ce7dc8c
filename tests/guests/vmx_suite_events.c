/*
 * vmx_suite: events in L2 — exceptions and the exception bitmap (SDM 26.2,
 * #PF error-code mask/match), triple fault, event injection (SDM 27.6),
 * interrupt-window exiting (SDM 26.7.5), the VMX preemption timer (SDM
 * 26.5.1) and monitor trap flag. Same table shape as vmx_suite_exits.c:
 * each entry runs one L2 function under the runner's default VMCS, and its
 * exit handler checks every exit. L2 takes exceptions through its own IDT
 * (lib/vmx_stub.asm), which records them in l2_event.
 */
#include "vmx_suite.h"

#define INTR_INFO(type, vector, errcode) \
    (INTR_INFO_VALID_MASK | (type) | (vector) | ((errcode) ? INTR_INFO_DELIVER_CODE_MASK : 0))
#define UNMAPPED_LINEAR         (64ull << 30)   /* beyond the 4 GiB L1's page tables map */
#define PFEC_P                  BIT(0)
#define VMCALL_LEN              3

/* ---- exceptions (SDM 26.2: exception bitmap, #PF error-code mask/match) ---- */

static void l2_ud2(void) { __asm__ __volatile__("ud2"); }

static void init_ud_bitmap(void) { vmcs_write(EXCEPTION_BITMAP, BIT(X86_UD)); }

static enum vmx_action ud_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("exception bitmap #UD", e, EXIT_REASON_EXCEPTION_NMI) &&
               e->intr_info == INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_UD, 0) && e->qual == 0,
               "#UD with exception-bitmap bit 6: reason 0, interruption info 0x80000306");
        report(l2_event.count == 0, "an intercepted #UD is not delivered to L2");
        e->guest_rip += 2;                          /* UD2 */
        vmcs_write(GUEST_RIP, e->guest_rip);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("exception bitmap #UD", e);
}

/* L2 faults and recovers through its own IDT (lib/vmx_stub.asm fixup). */
static void l2_ud2_fixup(void)
{
    __asm__ __volatile__("lea 1f(%%rip), %%rax\n\t"
                         "mov %%rax, %0\n\t"
                         "ud2\n"
                         "1:" : "=m"(l2_event.fixup_rip) :: "rax", "memory");
}

static enum vmx_action ud_l2_exit(struct vmx_exit *e)
{
    report(vmx_is_l2_done(e) && l2_event.count == 1 && l2_event.vector == X86_UD,
           "#UD with exception-bitmap bit 6 clear is delivered through L2's IDT");
    return VMX_STOP;
}

static void l2_int3(void) { __asm__ __volatile__("int3"); }
static void init_bp_bitmap(void) { vmcs_write(EXCEPTION_BITMAP, BIT(X86_BP)); }

static enum vmx_action bp_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("exception bitmap #BP", e, EXIT_REASON_EXCEPTION_NMI) &&
               e->intr_info == INTR_INFO(INTR_TYPE_SOFT_EXCEPTION, X86_BP, 0) && e->instr_len == 1,
               "INT3 with exception-bitmap bit 3: interruption info 0x80000603, length 1");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("exception bitmap #BP", e);
}

/* Reads UNMAPPED_LINEAR: #PF (not present, supervisor read: error code 0). */
static void l2_page_fault(void)
{
    u64 v;
    __asm__ __volatile__("lea 1f(%%rip), %%rax\n\t"
                         "mov %%rax, %1\n\t"
                         "mov (%2), %0\n"
                         "1:" : "=r"(v), "=m"(l2_event.fixup_rip) : "r"(UNMAPPED_LINEAR) : "rax", "memory");
    (void)v;
}

static void init_pf_all(void)
{
    vmcs_write(EXCEPTION_BITMAP, BIT(X86_PF));
    vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
}

static enum vmx_action pf_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("#PF exiting", e, EXIT_REASON_EXCEPTION_NMI) &&
               e->intr_info == INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_PF, 1) && e->intr_error == 0 &&
               e->qual == UNMAPPED_LINEAR,
               "#PF with bit 14 and PFEC mask 0: exit, info 0x80000b0e, error code 0, qualification = address");
        /* Resume after the faulting load, as L2's handler would. */
        vmcs_write(GUEST_RIP, l2_event.fixup_rip);
        l2_event.fixup_rip = 0;
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("#PF exiting", e);
}

static void init_pf_mismatch(void)
{
    vmcs_write(EXCEPTION_BITMAP, BIT(X86_PF));
    vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, PFEC_P);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, PFEC_P);
}

static enum vmx_action pf_l2_exit(struct vmx_exit *e)
{
    report(vmx_is_l2_done(e) && l2_event.count == 1 && l2_event.vector == X86_PF && l2_event.error == 0 &&
           l2_event.cr2 == UNMAPPED_LINEAR,
           "#PF with bit 14 and a PFEC mismatch is delivered to L2 (CR2, error code)");
    return VMX_STOP;
}

static void init_pf_clear_mismatch(void)
{
    /* Bit 14 clear: exit when (PFEC & MASK) != MATCH (SDM 26.2). */
    vmcs_write(EXCEPTION_BITMAP, 0);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, PFEC_P);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, PFEC_P);
}

static enum vmx_action pf_clear_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("#PF bit 14 clear", e, EXIT_REASON_EXCEPTION_NMI) &&
               e->intr_info == INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_PF, 1),
               "#PF with bit 14 clear and a PFEC mismatch exits");
        vmcs_write(GUEST_RIP, l2_event.fixup_rip);
        l2_event.fixup_rip = 0;
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("#PF bit 14 clear", e);
}

/* L2 with a zero-limit IDT: #UD cannot be delivered -> #GP -> #DF -> triple fault. */
static void init_triple(void) { vmcs_write(GUEST_IDTR_LIMIT, 0); }

static enum vmx_action triple_exit(struct vmx_exit *e)
{
    report(exit_is("triple fault", e, EXIT_REASON_TRIPLE_FAULT), "L2 triple fault: exit reason 2");
    return VMX_STOP;
}

/* ---- event injection (SDM 27.6) ---- */

/* L1 injects at the first VMCALL without advancing RIP; the handler records it. */
static u32 inject_info, inject_error, inject_len;
static u32 inject_activity;             /* the activity state L2 is injected in */
static u64 inject_vmcall_rip;

static void l2_vmcall_once(void) { l2_vmcall(1); }

static enum vmx_action inject_exit(struct vmx_exit *e, const char *name, bool returns_after)
{
    if (e->count == 0) {
        if (!exit_is(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        inject_vmcall_rip = e->guest_rip;
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, inject_info);
        vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, inject_error);
        vmcs_write(VM_ENTRY_INSTRUCTION_LEN, inject_len);
        if ((inject_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_EXT_INTR)
            vmcs_write(GUEST_RFLAGS, e->guest_rflags | X86_RFLAGS_IF);
        vmcs_write(GUEST_ACTIVITY_STATE, inject_activity);
        inject_activity = GUEST_ACTIVITY_ACTIVE;
        return VMX_RESUME;
    }
    if (e->count == 1) {
        /* Either L2 is done (the event returned past the VMCALL) or it re-executed it. */
        u64 want_rip = returns_after ? inject_vmcall_rip + VMCALL_LEN : inject_vmcall_rip;
        bool ok = e->status == VMX_OK && e->reason == EXIT_REASON_VMCALL && l2_event.count == 1 &&
                  l2_event.vector == (inject_info & INTR_INFO_VECTOR_MASK) && l2_event.rip == want_rip;
        if (inject_info & INTR_INFO_DELIVER_CODE_MASK)
            ok = ok && l2_event.error == inject_error;
        if (!report(ok, "%s", name))
            printf("  reason %#x events %lu vector %#lx error %#lx rip %#lx (want %#lx)\n", e->reason,
                   (unsigned long)l2_event.count, (unsigned long)l2_event.vector, (unsigned long)l2_event.error,
                   (unsigned long)l2_event.rip, (unsigned long)want_rip);
        if (vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK)
            report(false, "%s: VM-entry interruption info still valid after the exit", name);
        if (vmx_is_l2_done(e))
            return VMX_STOP;
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done(name, e);
}

static enum vmx_action inject_ud_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_UD, 0), inject_error = 0, inject_len = 0;
    return inject_exit(e, "injected #UD runs L2's handler with RIP = GUEST_RIP", false);
}

static enum vmx_action inject_gp_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_GP, 1), inject_error = 0x1234, inject_len = 0;
    return inject_exit(e, "injected #GP delivers its error code to L2's handler", false);
}

/* SDM 27.2.1.3: only bits 31:16 of the error code are reserved. */
static enum vmx_action inject_gp_bit15_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_HARD_EXCEPTION, X86_GP, 1), inject_error = 0x8000, inject_len = 0;
    return inject_exit(e, "injected #GP with error code 0x8000 (bit 15) delivers it to L2's handler", false);
}

/* SDM 27.3.1.5: an NMI may be injected in the HLT state; delivering it
 * makes L2 active. */
static enum vmx_action inject_nmi_hlt_exit(struct vmx_exit *e)
{
    if (e->count == 0)
        inject_activity = GUEST_ACTIVITY_HLT;
    inject_info = INTR_INFO(INTR_TYPE_NMI_INTR, X86_NMI, 0), inject_error = 0, inject_len = 0;
    return inject_exit(e, "injected NMI in the HLT state runs L2's vector 2 handler", false);
}

static bool has_hlt_state(void) { return vmx_caps.misc & VMX_MISC_ACTIVITY_HLT; }

static enum vmx_action inject_soft_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_SOFT_INTR, 0x80, 0), inject_error = 0, inject_len = VMCALL_LEN;
    return inject_exit(e, "injected INT 0x80 returns to GUEST_RIP + VM-entry instruction length", true);
}

static enum vmx_action inject_ext_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_EXT_INTR, 0x40, 0), inject_error = 0, inject_len = 0;
    return inject_exit(e, "injected external interrupt 0x40 runs L2's handler", false);
}

static enum vmx_action inject_nmi_exit(struct vmx_exit *e)
{
    inject_info = INTR_INFO(INTR_TYPE_NMI_INTR, X86_NMI, 0), inject_error = 0, inject_len = 0;
    return inject_exit(e, "injected NMI runs L2's vector 2 handler", false);
}

static void init_inject_ext_if0(void)
{
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO(INTR_TYPE_EXT_INTR, 0x40, 0));
}

static enum vmx_action inject_ext_if0_exit(struct vmx_exit *e)
{
    report(e->status == VMX_OK && e->reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE),
           "injecting an external interrupt with RFLAGS.IF clear: VM-entry failure 0x80000021");
    return VMX_STOP;
}

/* ---- interrupt window, preemption timer, MTF ---- */

static void guest_entry_marker(void) { }
static bool has_intr_window(void) { return vmx_has_proc(CPU_BASED_INTR_WINDOW_EXITING); }

static void init_intr_window_open(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
    vmcs_write(GUEST_RFLAGS, 0x2 | X86_RFLAGS_IF);
}

static enum vmx_action intr_window_open_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("interrupt window", e, EXIT_REASON_INTERRUPT_WINDOW) &&
               e->guest_rip == (u64)(uintptr_t)guest_entry_marker,
               "interrupt-window exiting with RFLAGS.IF = 1: exit 7 before L2's first instruction");
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("interrupt window", e);
}

/* STI; NOP; NOP: blocking by STI covers the first NOP (SDM 26.7.5). */
void l2_sti_guest(void);
extern char l2_sti_after_window[];
__asm__(".pushsection .text\n"
        "l2_sti_guest:\n\t"
        "sti\n\t"
        "nop\n"
        "l2_sti_after_window:\n\t"
        "nop\n\t"
        "cli\n\t"
        "ret\n"
        ".popsection");

static void init_intr_window_sti(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
}

static enum vmx_action intr_window_sti_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!report(exit_is("interrupt window after STI", e, EXIT_REASON_INTERRUPT_WINDOW) &&
                    e->guest_rip == (u64)(uintptr_t)l2_sti_after_window,
                    "interrupt-window exit after STI waits one instruction (blocking by STI)"))
            printf("  GUEST_RIP %#lx, STI at %#lx\n", (unsigned long)e->guest_rip,
                   (unsigned long)(uintptr_t)l2_sti_guest);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("interrupt window after STI", e);
}

/* Spins long enough for any preemption timer, then gives up (no hang). */
void l2_spin_guest(void);
extern char l2_spin_end[];
__asm__(".pushsection .text\n"
        "l2_spin_guest:\n\t"
        "mov $10000000, %ecx\n"
        "1:\n\t"
        "dec %ecx\n\t"
        "jnz 1b\n"
        "l2_spin_end:\n\t"
        "ret\n"
        ".popsection");

static bool has_preemption_timer(void) { return vmx_has_pin(PIN_BASED_VMX_PREEMPTION_TIMER); }

static void init_preemption(void)
{
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 100);
    if (vmx_has_exit(VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
        vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER);
}

static enum vmx_action preemption_exit(struct vmx_exit *e)
{
    report(exit_is("preemption timer", e, EXIT_REASON_PREEMPTION_TIMER) &&
           e->guest_rip >= (u64)(uintptr_t)l2_spin_guest && e->guest_rip < (u64)(uintptr_t)l2_spin_end,
           "VMX preemption timer: exit 52 while L2 spins");
    if (vmx_has_exit(VM_EXIT_SAVE_VMX_PREEMPTION_TIMER))
        report(vmcs_read(VMX_PREEMPTION_TIMER_VALUE) == 0, "the saved preemption-timer value is 0 after it fired");
    return VMX_STOP;
}

static void init_preemption_zero(void)
{
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0);
}

static enum vmx_action preemption_zero_exit(struct vmx_exit *e)
{
    report(exit_is("preemption timer 0", e, EXIT_REASON_PREEMPTION_TIMER) &&
           e->guest_rip == (u64)(uintptr_t)guest_entry_marker,
           "VMX preemption timer 0: exit 52 before L2's first instruction");
    return VMX_STOP;
}

static bool has_timer_hlt(void) { return has_preemption_timer() && (vmx_caps.misc & VMX_MISC_ACTIVITY_HLT); }

static void init_preemption_hlt(void)
{
    init_preemption();
    vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
}

static enum vmx_action preemption_hlt_exit(struct vmx_exit *e)
{
    report(exit_is("preemption timer in HLT", e, EXIT_REASON_PREEMPTION_TIMER) &&
           vmcs_read(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT,
           "entry in the HLT activity state: the preemption timer exits with activity state HLT");
    return VMX_STOP;
}

/*
 * Monitor trap flag. Bochs 2.7 never delivers the MTF VM exit that the
 * "monitor trap flag" control should cause after L2's first instruction
 * (SDM 26.5.2): L2 just runs on. So the test uses the other way to get an
 * MTF exit, which Bochs does implement: injecting a pending MTF (event
 * type 7 "other event", vector 0, SDM 27.6.2), which exits before L2's
 * first instruction; it does not need the control set. Without the MTF
 * capability type 7 is reserved (VMfailValid 7, SDM 27.2.1.3), but Bochs
 * 2.7 panics instead ("unsupported event injection type 7"): the test runs
 * only with the capability.
 */
static bool has_mtf(void) { return vmx_has_proc(CPU_BASED_MONITOR_TRAP_FLAG); }

static void init_mtf_injected(void)
{
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_OTHER_EVENT | 0);
}

static enum vmx_action mtf_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("MTF", e, EXIT_REASON_MONITOR_TRAP_FLAG) &&
               e->guest_rip == (u64)(uintptr_t)guest_entry_marker,
               "injected pending MTF: exit 37 before L2's first instruction");
        return e->status == VMX_OK && e->reason == EXIT_REASON_MONITOR_TRAP_FLAG ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("MTF", e);
}

const struct vmx_test event_tests[] = {
    { "exception bitmap #UD", NULL, NULL, init_ud_bitmap, l2_ud2, ud_exit },
    { "#UD to L2", NULL, NULL, NULL, l2_ud2_fixup, ud_l2_exit },
    { "exception bitmap #BP", NULL, NULL, init_bp_bitmap, l2_int3, bp_exit },
    { "#PF exiting", NULL, NULL, init_pf_all, l2_page_fault, pf_exit },
    { "#PF to L2", NULL, NULL, init_pf_mismatch, l2_page_fault, pf_l2_exit },
    { "#PF bit 14 clear", NULL, NULL, init_pf_clear_mismatch, l2_page_fault, pf_clear_exit },
    { "triple fault", NULL, NULL, init_triple, l2_ud2, triple_exit },
    { "inject #UD", NULL, NULL, NULL, l2_vmcall_once, inject_ud_exit },
    { "inject #GP", NULL, NULL, NULL, l2_vmcall_once, inject_gp_exit },
    { "inject INT 0x80", NULL, NULL, NULL, l2_vmcall_once, inject_soft_exit },
    { "inject external interrupt", NULL, NULL, NULL, l2_vmcall_once, inject_ext_exit },
    { "inject NMI", NULL, NULL, NULL, l2_vmcall_once, inject_nmi_exit },
    { "inject #GP error code bit 15", NULL, NULL, NULL, l2_vmcall_once, inject_gp_bit15_exit },
    { "inject NMI in HLT", has_hlt_state, NULL, NULL, l2_vmcall_once, inject_nmi_hlt_exit },
    { "inject with IF=0", NULL, NULL, init_inject_ext_if0, l2_vmcall_once, inject_ext_if0_exit },
    { "interrupt window", has_intr_window, NULL, init_intr_window_open, guest_entry_marker, intr_window_open_exit },
    { "interrupt window after STI", has_intr_window, NULL, init_intr_window_sti, l2_sti_guest,
      intr_window_sti_exit },
    { "preemption timer", has_preemption_timer, NULL, init_preemption, l2_spin_guest,
      preemption_exit },
    { "preemption timer 0", has_preemption_timer, NULL, init_preemption_zero, guest_entry_marker,
      preemption_zero_exit },
    { "preemption timer in HLT", has_timer_hlt, NULL, init_preemption_hlt, guest_entry_marker,
      preemption_hlt_exit },
    { "MTF", has_mtf, NULL, init_mtf_injected, guest_entry_marker, mtf_exit },
};
const size_t n_event_tests = ARRAY_SIZE(event_tests);
