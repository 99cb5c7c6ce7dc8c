/*
 * vmx_suite: L2 running — instruction exits, CR guest/host masks and read
 * shadows, I/O and MSR bitmaps, the guest-state round trip, MSR lists
 * (exceptions and events are in vmx_suite_events.c). Each table entry runs
 * one L2 function under the runner's default VMCS (lib/vmx.c: 64-bit L2 on
 * L1's page tables, MSR bitmaps all clear, no other exiting control beyond
 * the must-be-1 bits), adjusted by its init; the exit handler checks every
 * exit it sees (reason, qualification, instruction length, guest state) and
 * decides whether L2 goes on. L2 functions report what they saw through
 * globals (L1 and L2 share the address space); L1 checks them when L2 is
 * done (VMCALL VMX_L2_DONE).
 *
 * Parts: this file has the instruction exits (VMCALL, CPUID, the exiting
 * controls for HLT, RDTSC, descriptor tables, INVLPG, MOV DR, PAUSE,
 * WBINVD and RDPMC, TSC offsetting, the instructions that always exit) and
 * exit_tests[]; vmx_suite_exits_access.c the CR, I/O and MSR-bitmap exits;
 * vmx_suite_exits_state.c the guest-state round trip, MSR lists and EFER.
 *
 * Exit reasons, qualifications and information formats: SDM Vol. 3C 26.1
 * (which instructions exit), 28.2 (exit information), Tables 28-3/28-4/28-5
 * (CR access, MOV DR, I/O qualifications).
 */
#include "vmx_suite.h"

#define REG_RAX 0
#define TSC_OFFSET_VALUE        (1ull << 40)
#define VMCALL_LEN              3

u64 exit_seen[8];                               /* what L2 reports back */

bool exit_is(const char *test, const struct vmx_exit *e, u32 reason)
{
    if (e->status == VMX_OK && e->reason == reason)
        return true;
    vmx_report_unexpected(test, e);
    return false;
}

enum vmx_action expect_done(const char *test, const struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected(test, e);
    return VMX_STOP;
}

/* ---- VMCALL, VMRESUME, GPRs ---- */

static void l2_two_vmcalls(void)
{
    exit_seen[0] = l2_vmcall(1);
    exit_seen[1] = l2_vmcall(2);
}

static enum vmx_action vmcall_exit(struct vmx_exit *e)
{
    const char *t = "VMCALL";

    switch (e->count) {
    case 0:
        if (!exit_is(t, e, EXIT_REASON_VMCALL) || e->regs->rax != 1)
            return VMX_STOP;
        report(e->qual == 0 && e->instr_len == VMCALL_LEN,
               "VMCALL exit: reason 18, qualification 0, instruction length 3");
        e->regs->rax = 0x1111;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    case 1:
        report(exit_is(t, e, EXIT_REASON_VMCALL) && e->regs->rax == 2,
               "VMRESUME after advancing GUEST_RIP continues L2 after the VMCALL");
        vmx_skip_instruction(e);
        return VMX_RESUME;
    default:
        report(vmx_is_l2_done(e) && exit_seen[0] == 0x1111, "L2 sees the RAX L1 set before VMRESUME");
        return VMX_STOP;
    }
}

static void l2_cpuid(void)
{
    struct cpuid_regs r = cpuid(0);
    exit_seen[0] = r.eax, exit_seen[1] = r.ebx, exit_seen[2] = r.ecx, exit_seen[3] = r.edx;
}

static enum vmx_action cpuid_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!exit_is("CPUID", e, EXIT_REASON_CPUID))
            return VMX_STOP;
        report(e->instr_len == 2 && e->regs->rax == 0, "CPUID exits unconditionally: reason 10, length 2");
        e->regs->rax = 0x11, e->regs->rbx = 0x22, e->regs->rcx = 0x33, e->regs->rdx = 0x44;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && exit_seen[0] == 0x11 && exit_seen[1] == 0x22 && exit_seen[2] == 0x33 &&
           exit_seen[3] == 0x44, "L2 sees the CPUID results L1 emulated");
    return VMX_STOP;
}

/* ---- instructions that exit when a control says so ---- */

static void l2_hlt(void) { __asm__ __volatile__("hlt"); }
static bool has_hlt_exiting(void) { return vmx_has_proc(CPU_BASED_HLT_EXITING); }
static void init_hlt(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_HLT_EXITING); }

static enum vmx_action hlt_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("HLT", e, EXIT_REASON_HLT) && e->instr_len == 1, "HLT exiting: reason 12, length 1");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("HLT exiting", e);
}

static void l2_rdtsc(void) { exit_seen[0] = rdtsc(); }
static bool has_rdtsc_exiting(void) { return vmx_has_proc(CPU_BASED_RDTSC_EXITING); }
static void init_rdtsc(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDTSC_EXITING); }

static enum vmx_action rdtsc_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        if (!exit_is("RDTSC exiting", e, EXIT_REASON_RDTSC))
            return VMX_STOP;
        report(e->instr_len == 2, "RDTSC exiting: reason 16, length 2");
        e->regs->rax = 0x1234, e->regs->rdx = 0x5678;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && exit_seen[0] == 0x0000567800001234ull, "L2 sees the TSC L1 emulated");
    return VMX_STOP;
}

static u64 tsc_before;
static bool has_tsc_offsetting(void) { return vmx_has_proc(CPU_BASED_USE_TSC_OFFSETTING); }

static void init_tsc_offset(void)
{
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDTSC_EXITING);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_TSC_OFFSETTING);
    vmcs_write(TSC_OFFSET, TSC_OFFSET_VALUE);
    tsc_before = rdtsc();
}

static enum vmx_action tsc_offset_exit(struct vmx_exit *e)
{
    u64 after = rdtsc(), l2 = exit_seen[0] - TSC_OFFSET_VALUE;
    if (!report(vmx_is_l2_done(e) && l2 > tsc_before && l2 < after,
                "RDTSC without exiting does not exit and adds TSC_OFFSET"))
        printf("  L2 read %#lx, L1 %#lx .. %#lx\n", (unsigned long)exit_seen[0], (unsigned long)tsc_before,
               (unsigned long)after);
    return VMX_STOP;
}

/* ---- more instruction exits ---- */

static void l2_desc(void)
{
    struct { u16 limit; u64 base; } __packed d;
    u16 sel;
    __asm__ __volatile__("sgdt %0" : "=m"(d));
    __asm__ __volatile__("sidt %0" : "=m"(d));
    __asm__ __volatile__("sldt %0" : "=r"(sel));
    __asm__ __volatile__("str %0" : "=r"(sel));
}

static bool has_desc_exiting(void) { return vmx_has_proc2(SECONDARY_EXEC_DESC); }

static void init_desc(void) { vmcs_set_proc2(SECONDARY_EXEC_DESC); }

/* VMX_INSTRUCTION_INFO bits 29:28: the instruction identity (SDM 28.2.5, Tables 28-10/28-11). */
static u32 insn_identity(const struct vmx_exit *e) { return (e->instr_info >> 28) & 3; }

static enum vmx_action desc_exit(struct vmx_exit *e)
{
    static const u32 reasons[4] = { EXIT_REASON_GDTR_IDTR, EXIT_REASON_GDTR_IDTR, EXIT_REASON_LDTR_TR,
                                    EXIT_REASON_LDTR_TR };
    static const u32 ids[4] = { 0, 1, 0, 1 };       /* SGDT, SIDT, SLDT, STR */
    static const char *const names[4] = {
        "descriptor-table exiting: SGDT exits (reason 46, identity 0)",
        "descriptor-table exiting: SIDT exits (reason 46, identity 1)",
        "descriptor-table exiting: SLDT exits (reason 47, identity 0)",
        "descriptor-table exiting: STR exits (reason 47, identity 1)",
    };

    if (e->count < 4) {
        report(exit_is("descriptor-table exiting", e, reasons[e->count]) && insn_identity(e) == ids[e->count],
               "%s", names[e->count]);
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("descriptor-table exiting", e);
}

static void l2_invlpg(void) { __asm__ __volatile__("invlpg (%0)" :: "r"(0x123000ull) : "memory"); }
static bool has_invlpg_exiting(void) { return vmx_has_proc(CPU_BASED_INVLPG_EXITING); }
static void init_invlpg(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INVLPG_EXITING); }

static enum vmx_action invlpg_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("INVLPG exiting", e, EXIT_REASON_INVLPG) && e->qual == 0x123000,
               "INVLPG exiting: reason 14, qualification = linear address");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("INVLPG exiting", e);
}

static void l2_mov_dr(void)
{
    u64 v;
    __asm__ __volatile__("mov %%dr7, %0" : "=a"(v));
    (void)v;
}

static bool has_mov_dr_exiting(void) { return vmx_has_proc(CPU_BASED_MOV_DR_EXITING); }
static void init_mov_dr(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MOV_DR_EXITING); }

static enum vmx_action mov_dr_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        /* DR number 7, direction 1 (MOV from DR), register RAX (SDM Table 28-4). */
        report(exit_is("MOV-DR exiting", e, EXIT_REASON_DR_ACCESS) && e->qual == (7 | 1 << 4 | REG_RAX << 8),
               "MOV-DR exiting: reason 29, qualification MOV from DR7 to RAX");
        e->regs->rax = 0x400;
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("MOV-DR exiting", e);
}

static void l2_pause(void) { __asm__ __volatile__("pause"); }
static bool has_pause_exiting(void) { return vmx_has_proc(CPU_BASED_PAUSE_EXITING); }
static void init_pause(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_PAUSE_EXITING); }

static enum vmx_action pause_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("PAUSE exiting", e, EXIT_REASON_PAUSE_INSTRUCTION) && e->instr_len == 2,
               "PAUSE exiting: reason 40, length 2");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("PAUSE exiting", e);
}

static void l2_wbinvd(void) { __asm__ __volatile__("wbinvd" ::: "memory"); }
static bool has_wbinvd_exiting(void) { return vmx_has_proc2(SECONDARY_EXEC_WBINVD_EXITING); }

static void init_wbinvd(void) { vmcs_set_proc2(SECONDARY_EXEC_WBINVD_EXITING); }

static enum vmx_action wbinvd_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("WBINVD exiting", e, EXIT_REASON_WBINVD) && e->instr_len == 2,
               "WBINVD exiting: reason 54, length 2");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("WBINVD exiting", e);
}

static void l2_rdpmc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdpmc" : "=a"(lo), "=d"(hi) : "c"(0));
}

static bool has_rdpmc_exiting(void) { return vmx_has_proc(CPU_BASED_RDPMC_EXITING); }
static void init_rdpmc(void) { vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_RDPMC_EXITING); }

static enum vmx_action rdpmc_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("RDPMC exiting", e, EXIT_REASON_RDPMC) && e->instr_len == 2,
               "RDPMC exiting: reason 15, length 2");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("RDPMC exiting", e);
}

/* Instructions that always exit from VMX non-root operation (SDM 26.1.2). */
static void l2_always(void)
{
    u64 v = 0;
    __asm__ __volatile__("invd" ::: "memory");
    __asm__ __volatile__("vmread %1, %0" : "=r"(v) : "r"((u64)GUEST_RIP) : "cc");
    __asm__ __volatile__("vmxoff" ::: "cc", "memory");
    (void)v;
}

static enum vmx_action always_exit(struct vmx_exit *e)
{
    static const u32 reasons[3] = { EXIT_REASON_INVD, EXIT_REASON_VMREAD, EXIT_REASON_VMOFF };
    static const char *const names[3] = {
        "INVD in L2 exits (reason 13)",
        "VMREAD in L2 exits (reason 23)",
        "VMXOFF in L2 exits (reason 26)",
    };

    if (e->count < 3) {
        report(exit_is("unconditional exits", e, reasons[e->count]), "%s", names[e->count]);
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("unconditional exits", e);
}

const struct vmx_test exit_tests[] = {
    { "VMCALL", NULL, NULL, NULL, l2_two_vmcalls, vmcall_exit },
    { "CPUID", NULL, NULL, NULL, l2_cpuid, cpuid_exit },
    { "HLT exiting", has_hlt_exiting, NULL, init_hlt, l2_hlt, hlt_exit },
    { "RDTSC exiting", has_rdtsc_exiting, NULL, init_rdtsc, l2_rdtsc, rdtsc_exit },
    { "TSC offsetting", has_tsc_offsetting, NULL, init_tsc_offset, l2_rdtsc, tsc_offset_exit },
    { "CR3 exiting", has_cr3_exiting, NULL, init_cr3, l2_cr3, cr3_exit },
    { "no CR3 exiting", cr3_exiting_optional, NULL, init_no_cr3, l2_cr3, no_cr3_exit },
    { "CR0 shadow", NULL, NULL, init_cr0, l2_cr0, cr0_exit },
    { "CR4 shadow", NULL, NULL, init_cr4, l2_cr4, cr4_exit },
    { "unconditional I/O exiting", has_uncond_io, NULL, init_io_uncond, l2_io_uncond, io_uncond_exit },
    { "I/O bitmaps", has_io_bitmaps, NULL, init_io_bitmap, l2_io_bitmap, io_bitmap_exit },
    { "MSR bitmaps", has_msr_bitmaps, NULL, init_msr_bitmap, l2_msr_bitmap, msr_bitmap_exit },
    { "no MSR bitmaps", msr_bitmaps_optional, NULL, init_no_msr_bitmap, l2_rdmsr_esp, no_msr_bitmap_exit },
    { "MSR #GP", has_msr_bitmaps, NULL, init_msr_gp_intercept, l2_rdmsr_absent, msr_gp_intercept_exit },
    { "descriptor-table exiting", has_desc_exiting, NULL, init_desc, l2_desc, desc_exit },
    { "INVLPG exiting", has_invlpg_exiting, NULL, init_invlpg, l2_invlpg, invlpg_exit },
    { "MOV-DR exiting", has_mov_dr_exiting, NULL, init_mov_dr, l2_mov_dr, mov_dr_exit },
    { "PAUSE exiting", has_pause_exiting, NULL, init_pause, l2_pause, pause_exit },
    { "WBINVD exiting", has_wbinvd_exiting, NULL, init_wbinvd, l2_wbinvd, wbinvd_exit },
    { "RDPMC exiting", has_rdpmc_exiting, NULL, init_rdpmc, l2_rdpmc, rdpmc_exit },
    { "unconditional exits", NULL, NULL, NULL, l2_always, always_exit },
    { "guest state", NULL, NULL, init_state, l2_state_guest, state_exit },
    { "MSR lists", NULL, NULL, init_msr_lists, l2_msr_lists, msr_lists_exit },
    { "EFER save/load", has_efer_save, NULL, init_efer, l2_efer, efer_exit },
    { "DR7 load", has_debug_controls, NULL, init_dr7_load, l2_dr7, dr7_load_exit },
    { "DR7 kept", debug_load_optional, NULL, init_dr7_keep, l2_dr7, dr7_keep_exit },
};
const size_t n_exit_tests = ARRAY_SIZE(exit_tests);
