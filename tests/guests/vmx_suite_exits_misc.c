/*
 * vmx_suite: the exiting controls vmx_suite_exits.c leaves out — MONITOR
 * and MWAIT, RDRAND and RDSEED, CR8 load and store, and NMI exiting with
 * an NMI that arrives while L2 runs (SDM 26.1.3, 26.2; exit information
 * 28.2.1, Tables 28-3 and 28-14).
 *
 * The instructions run in L2 whether or not CPUID shows them to L1: the
 * control exits before the instruction would look at anything, and each
 * test asks only the capability MSRs. The NMI is one L2 sends itself
 * through L1's local APIC (xAPIC ICR, to its own APIC ID: the "self"
 * shorthand takes fixed interrupts only): L2 runs on L1's page tables, so
 * its store reaches L1's APIC page as L1's own would.
 */
#include "vmx_suite.h"

#define REG_RAX             0
#define APIC_BASE_MSR       0x1b
#define APIC_BASE_X2APIC    BIT(10)
#define APIC_PAGE           0xfee00000ull
#define APIC_SVR            0xf0
#define APIC_SVR_ENABLE     BIT(8)
#define APIC_ID             0x20
#define APIC_ICR            0x300
#define APIC_ICR_HIGH       0x310
#define ICR_NMI             (4u << 8 | 1u << 14)            /* NMI, assert, physical destination */
#define NMI_EXIT_INFO       (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | X86_NMI)
#define RDRAND_INFO_MASK    (0xfu << 3 | 3u << 11)            /* register, operand size */
#define RDRAND_INFO_RAX64   (REG_RAX << 3 | 2u << 11)
#define CR8_TPR_VALUE       5

/* ---- MONITOR and MWAIT exiting ---- */

static void l2_monitor_mwait(void)
{
    u64 addr = (u64)(uintptr_t)&exit_seen[0];
    __asm__ __volatile__("monitor" :: "a"(addr), "c"(0), "d"(0) : "memory");
    __asm__ __volatile__("mwait" :: "a"(0), "c"(0) : "memory");
}

static bool has_monitor_mwait_exiting(void)
{
    return vmx_has_proc(CPU_BASED_MONITOR_EXITING | CPU_BASED_MWAIT_EXITING);
}

static void init_monitor_mwait(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_EXITING | CPU_BASED_MWAIT_EXITING);
}

/* MONITOR exited, so nothing armed the monitor: MWAIT's qualification
 * bit 0 ("monitoring hardware armed") is clear. */
static enum vmx_action monitor_mwait_exit(struct vmx_exit *e)
{
    const char *t = "MONITOR/MWAIT exiting";

    if (e->count == 0) {
        report(exit_is(t, e, EXIT_REASON_MONITOR_INSTRUCTION) && e->instr_len == 3,
               "MONITOR exiting: reason 39, length 3");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    if (e->count == 1) {
        report(exit_is(t, e, EXIT_REASON_MWAIT_INSTRUCTION) && e->instr_len == 3 && e->qual == 0,
               "MWAIT exiting: reason 36, length 3, qualification 0 (no monitor armed)");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done(t, e);
}

/* ---- RDRAND and RDSEED exiting ---- */

static void l2_rdrand(void)
{
    u64 v = 0;
    __asm__ __volatile__("rdrand %0" : "+a"(v) :: "cc");
    exit_seen[0] = v;
}

static void l2_rdseed(void)
{
    u64 v = 0;
    __asm__ __volatile__("rdseed %0" : "+a"(v) :: "cc");
    exit_seen[0] = v;
}

static bool has_rdrand_exiting(void) { return vmx_has_proc2(SECONDARY_EXEC_RDRAND_EXITING); }
static bool has_rdseed_exiting(void) { return vmx_has_proc2(SECONDARY_EXEC_RDSEED_EXITING); }

static void init_rdrand(void) { vmcs_set_proc2(SECONDARY_EXEC_RDRAND_EXITING); }
static void init_rdseed(void) { vmcs_set_proc2(SECONDARY_EXEC_RDSEED_EXITING); }

/* L1 answers for the instruction: the value it puts in RAX is what L2 sees. */
static enum vmx_action random_exit(struct vmx_exit *e, const char *t, u32 reason, const char *name)
{
    if (e->count == 0) {
        report(exit_is(t, e, reason) && e->instr_len == 4 &&
               (e->instr_info & RDRAND_INFO_MASK) == RDRAND_INFO_RAX64, "%s", name);
        e->regs->rax = 0x5eed;
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    if (vmx_is_l2_done(e))
        report(exit_seen[0] == 0x5eed, "%s: L2 reads the value L1 gave", t);
    return expect_done(t, e);
}

static enum vmx_action rdrand_exit(struct vmx_exit *e)
{
    return random_exit(e, "RDRAND exiting", EXIT_REASON_RDRAND,
                       "RDRAND exiting: reason 57, length 4, destination RAX, 64-bit operand");
}

static enum vmx_action rdseed_exit(struct vmx_exit *e)
{
    return random_exit(e, "RDSEED exiting", EXIT_REASON_RDSEED,
                       "RDSEED exiting: reason 61, length 4, destination RAX, 64-bit operand");
}

/* ---- CR8 load and store exiting ---- */

static void l2_cr8(void)
{
    u64 v = CR8_TPR_VALUE, r = 0;
    __asm__ __volatile__("mov %0, %%cr8" :: "a"(v) : "memory");
    __asm__ __volatile__("mov %%cr8, %0" : "=a"(r) :: "memory");
    exit_seen[0] = r;
    v = 0;
    __asm__ __volatile__("mov %0, %%cr8" :: "a"(v) : "memory");
}

static bool has_cr8_exiting(void)
{
    return vmx_has_proc(CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING);
}

static void init_cr8(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING);
}

/* Qualification (Table 28-3): CR number 8, access type 0 (MOV to CR) or
 * 1 (MOV from CR), general register RAX. L1 emulates a TPR of its own. */
static enum vmx_action cr8_exit(struct vmx_exit *e)
{
    const char *t = "CR8 exiting";
    static u64 tpr12;

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == (8 | REG_RAX << 8) &&
               e->regs->rax == CR8_TPR_VALUE && e->instr_len == 4,
               "CR8-load exiting: reason 28, qualification MOV to CR8 from RAX");
        tpr12 = e->regs->rax + 1;
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == (8 | 1 << 4 | REG_RAX << 8) && e->instr_len == 4,
               "CR8-store exiting: reason 28, qualification MOV from CR8 to RAX");
        e->regs->rax = tpr12;
        break;
    case 2:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == (8 | REG_RAX << 8) && e->regs->rax == 0,
               "CR8-load exiting: the second MOV to CR8 exits too");
        break;
    default:
        if (vmx_is_l2_done(e))
            report(exit_seen[0] == CR8_TPR_VALUE + 1, "CR8-store exiting: L2 reads the value L1 gave");
        return expect_done(t, e);
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

/* Without the controls, MOV to and from CR8 reach the TPR: no exit. */
static enum vmx_action no_cr8_exit(struct vmx_exit *e)
{
    if (vmx_is_l2_done(e))
        report(exit_seen[0] == CR8_TPR_VALUE, "no CR8 exiting: L2 reads back the TPR it wrote, no exit");
    return expect_done("no CR8 exiting", e);
}

static bool cr8_exiting_optional(void)
{
    return !(vmx_ctl_required(vmx_caps.proc) & (CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING));
}

/* ---- NMI exiting (SDM 26.2: an NMI that arrives while L2 runs) ---- */

/* Sends the NMI (L1 put its APIC ID in ICR[63:32]); the exit comes at
 * the next instruction boundary. */
void l2_self_nmi(void);
extern char l2_self_nmi_after[];
__asm__(".pushsection .text\n"
        "l2_self_nmi:\n\t"
        "mov $0xfee00300, %rax\n\t"
        "movl $0x4400, (%rax)\n"
        "l2_self_nmi_after:\n\t"
        "ret\n"
        ".popsection");
_Static_assert(APIC_PAGE + APIC_ICR == 0xfee00300 && ICR_NMI == 0x4400, "l2_self_nmi's constants");

static u32 apic_read(u32 off) { return *(volatile u32 *)(uintptr_t)(APIC_PAGE + off); }
static void apic_write(u32 off, u32 v) { *(volatile u32 *)(uintptr_t)(APIC_PAGE + off) = v; }
static u32 saved_svr;

/* An xAPIC at its reset address, software-enabled for the test. */
static bool has_nmi_exiting_xapic(void)
{
    u64 base = rdmsr(APIC_BASE_MSR);
    return vmx_has_pin(PIN_BASED_NMI_EXITING) && !(base & APIC_BASE_X2APIC) &&
           (base & ~0xfffull & 0xffffffffull) == APIC_PAGE;
}

static void init_nmi_exiting(void)
{
    saved_svr = apic_read(APIC_SVR);
    apic_write(APIC_SVR, saved_svr | APIC_SVR_ENABLE);
    apic_write(APIC_ICR_HIGH, apic_read(APIC_ID) & 0xff000000u);
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin() | PIN_BASED_NMI_EXITING);
}

/* L1 ends any blocking by NMI the exit left it (an IRET to itself). */
static void l1_iret(void)
{
    __asm__ __volatile__("mov %%rsp, %%rcx\n\t"
                         "xor %%eax, %%eax\n\t"
                         "mov %%ss, %%ax\n\t"
                         "push %%rax\n\t"
                         "push %%rcx\n\t"
                         "pushfq\n\t"
                         "mov %%cs, %%ax\n\t"
                         "push %%rax\n\t"
                         "lea 1f(%%rip), %%rax\n\t"
                         "push %%rax\n\t"
                         "iretq\n"
                         "1:" ::: "rax", "rcx", "memory", "cc");
}

static enum vmx_action nmi_exiting_exit(struct vmx_exit *e)
{
    const char *t = "NMI exiting";

    if (e->count == 0) {
        bool ok = exit_is(t, e, EXIT_REASON_EXCEPTION_NMI);
        if (!report(ok && e->intr_info == NMI_EXIT_INFO && e->guest_rip == (u64)(uintptr_t)l2_self_nmi_after &&
                    e->qual == 0 && l2_event.count == 0,
                    "NMI exiting: an NMI L2 sends itself through L1's APIC exits 0, NMI type, after the store"))
            printf("  info %#x rip %#lx (want %#lx) L2 events %lu\n", e->intr_info, (unsigned long)e->guest_rip,
                   (unsigned long)(uintptr_t)l2_self_nmi_after, (unsigned long)l2_event.count);
        l1_iret();
        return ok && e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    apic_write(APIC_SVR, saved_svr);
    if (vmx_is_l2_done(e))
        report(l2_event.count == 0, "NMI exiting: the NMI does not reach L2's IDT");
    return expect_done(t, e);
}

const struct vmx_test exit_misc_tests[] = {
    { "MONITOR/MWAIT exiting", has_monitor_mwait_exiting, NULL, init_monitor_mwait, l2_monitor_mwait,
      monitor_mwait_exit },
    { "RDRAND exiting", has_rdrand_exiting, NULL, init_rdrand, l2_rdrand, rdrand_exit },
    { "RDSEED exiting", has_rdseed_exiting, NULL, init_rdseed, l2_rdseed, rdseed_exit },
    { "CR8 exiting", has_cr8_exiting, NULL, init_cr8, l2_cr8, cr8_exit },
    { "no CR8 exiting", cr8_exiting_optional, NULL, NULL, l2_cr8, no_cr8_exit },
    { "NMI exiting", has_nmi_exiting_xapic, NULL, init_nmi_exiting, l2_self_nmi, nmi_exiting_exit },
};
const size_t n_exit_misc_tests = ARRAY_SIZE(exit_misc_tests);
