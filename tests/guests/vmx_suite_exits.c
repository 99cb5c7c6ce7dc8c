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
 * Exit reasons, qualifications and information formats: SDM Vol. 3C 26.1
 * (which instructions exit), 28.2 (exit information), Tables 28-3/28-4/28-5
 * (CR access, MOV DR, I/O qualifications).
 */
#include "vmx_suite.h"

#define X86_CR0_TS              BIT(3)
#define X86_CR4_PCE             BIT(8)
#define CR_QUAL(cr, type, reg)  ((cr) | (type) << 4 | (u64)(reg) << 8)
#define CR_TYPE_MOV_TO          0
#define CR_TYPE_MOV_FROM        1
#define CR_TYPE_CLTS            2
#define REG_RAX 0
#define REG_RCX 1
#define REG_RDX 2
#define REG_RBX 3
#define IO_QUAL(port, size, in, string, rep, imm) \
    ((u64)(port) << 16 | ((size) - 1) | (in) << 3 | (string) << 4 | (rep) << 5 | (imm) << 6)
#define MSR_UNLISTED            0x2000          /* outside both MSR-bitmap ranges */
#define IO_PORT_EXIT            0x1234
#define IO_PORT_EXIT_B          0x8123
#define IO_PORT_QUIET           0x80            /* harmless: POST port / open bus */
#define TSC_OFFSET_VALUE        (1ull << 40)
#define VMCALL_LEN              3

static u64 seen[8];                             /* what L2 reports back */

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
    seen[0] = l2_vmcall(1);
    seen[1] = l2_vmcall(2);
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
        report(vmx_is_l2_done(e) && seen[0] == 0x1111, "L2 sees the RAX L1 set before VMRESUME");
        return VMX_STOP;
    }
}

static void l2_cpuid(void)
{
    struct cpuid_regs r = cpuid(0);
    seen[0] = r.eax, seen[1] = r.ebx, seen[2] = r.ecx, seen[3] = r.edx;
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
    report(vmx_is_l2_done(e) && seen[0] == 0x11 && seen[1] == 0x22 && seen[2] == 0x33 && seen[3] == 0x44,
           "L2 sees the CPUID results L1 emulated");
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

static void l2_rdtsc(void) { seen[0] = rdtsc(); }
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
    report(vmx_is_l2_done(e) && seen[0] == 0x0000567800001234ull, "L2 sees the TSC L1 emulated");
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
    u64 after = rdtsc(), l2 = seen[0] - TSC_OFFSET_VALUE;
    if (!report(vmx_is_l2_done(e) && l2 > tsc_before && l2 < after,
                "RDTSC without exiting does not exit and adds TSC_OFFSET"))
        printf("  L2 read %#lx, L1 %#lx .. %#lx\n", (unsigned long)seen[0], (unsigned long)tsc_before,
               (unsigned long)after);
    return VMX_STOP;
}

static unsigned long l1_cr3;                    /* L2 must not read CR3 before loading it */

static void l2_cr3(void)
{
    __asm__ __volatile__("mov %0, %%cr3" :: "b"(l1_cr3) : "memory");     /* RBX */
    __asm__ __volatile__("mov %%cr3, %0" : "=d"(seen[0]));               /* RDX */
}

static bool has_cr3_exiting(void)
{
    return vmx_has_proc(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

static void init_cr3(void)
{
    l1_cr3 = read_cr3();
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

static enum vmx_action cr3_exit(struct vmx_exit *e)
{
    switch (e->count) {
    case 0:
        report(exit_is("CR3 exiting", e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(3, CR_TYPE_MOV_TO, REG_RBX),
               "CR3-load exiting: reason 28, qualification MOV to CR3 from RBX");
        break;
    case 1:
        report(exit_is("CR3 exiting", e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(3, CR_TYPE_MOV_FROM, REG_RDX),
               "CR3-store exiting: reason 28, qualification MOV from CR3 to RDX");
        e->regs->rdx = 0xabc000;
        break;
    default:
        report(vmx_is_l2_done(e) && seen[0] == 0xabc000, "L2 sees the CR3 value L1 emulated");
        return VMX_STOP;
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

static bool cr3_exiting_optional(void)
{
    return !(vmx_ctl_required(vmx_caps.proc) & (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING));
}

static void init_no_cr3(void)
{
    l1_cr3 = read_cr3();
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

static enum vmx_action no_cr3_exit(struct vmx_exit *e)
{
    report(vmx_is_l2_done(e) && seen[0] == read_cr3(), "MOV to/from CR3 without CR3 exiting does not exit");
    return VMX_STOP;
}

/* CR0 guest/host mask and read shadow (SDM 26.3, 26.1.3): L1 owns CR0.TS. */
static void l2_cr0(void)
{
    unsigned long cr0 = read_cr0();

    seen[0] = cr0;                                      /* shadow TS = 1 */
    __asm__ __volatile__("clts" ::: "memory");          /* exits: TS owned by L1, shadow 1 */
    __asm__ __volatile__("mov %0, %%cr0" :: "a"(cr0) : "memory");   /* = shadow: no exit */
    __asm__ __volatile__("mov %0, %%cr0" :: "c"(cr0 & ~X86_CR0_TS) : "memory");  /* exits */
    seen[1] = read_cr0();                               /* the new shadow: TS = 0 */
}

static void init_cr0(void)
{
    vmcs_write(CR0_GUEST_HOST_MASK, X86_CR0_TS);
    vmcs_write(CR0_READ_SHADOW, read_cr0() | X86_CR0_TS);
}

static enum vmx_action cr0_exit(struct vmx_exit *e)
{
    const char *t = "CR0 shadow";

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(0, CR_TYPE_CLTS, 0),
               "CLTS with CR0.TS owned by L1 and set in the shadow exits: qualification type 2");
        report(seen[0] & X86_CR0_TS, "L2 reads CR0.TS from the read shadow");
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(0, CR_TYPE_MOV_TO, REG_RCX),
               "MOV to CR0 changing an owned bit exits: qualification MOV to CR0 from RCX");
        report(!(vmcs_read(GUEST_CR0) & X86_CR0_TS),
               "MOV to CR0 matching the shadow did not exit and left the owned bit alone");
        vmcs_clear_bits(CR0_READ_SHADOW, X86_CR0_TS);
        break;
    default:
        report(vmx_is_l2_done(e) && !(seen[1] & X86_CR0_TS), "L2 sees the read shadow L1 updated");
        return VMX_STOP;
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

static void l2_cr4(void)
{
    unsigned long cr4 = read_cr4();
    seen[0] = cr4;
    __asm__ __volatile__("mov %0, %%cr4" :: "d"(cr4 & ~X86_CR4_PCE) : "memory");
}

static void init_cr4(void)
{
    vmcs_write(CR4_GUEST_HOST_MASK, X86_CR4_PCE);
    vmcs_write(CR4_READ_SHADOW, read_cr4() | X86_CR4_PCE);
}

static enum vmx_action cr4_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(seen[0] & X86_CR4_PCE, "L2 reads CR4.PCE from the read shadow");
        report(exit_is("CR4 shadow", e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(4, CR_TYPE_MOV_TO, REG_RDX),
               "MOV to CR4 changing an owned bit exits: qualification MOV to CR4 from RDX");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("CR4 shadow", e);
}

/* ---- I/O ---- */

static void l2_io_uncond(void)
{
    u8 buf[1] = { 0x5a };
    u32 v;

    __asm__ __volatile__("outb %%al, $0x80" :: "a"(0x12));
    __asm__ __volatile__("inl %%dx, %%eax" : "=a"(v) : "d"(IO_PORT_EXIT));
    seen[0] = v;
    __asm__ __volatile__("rep outsb" :: "S"(buf), "c"(1), "d"(IO_PORT_EXIT + 1) : "memory");
}

static bool has_uncond_io(void) { return vmx_has_proc(CPU_BASED_UNCOND_IO_EXITING); }

static void init_io_uncond(void)
{
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING);
}

static enum vmx_action io_uncond_exit(struct vmx_exit *e)
{
    const char *t = "unconditional I/O exiting";

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && e->qual == IO_QUAL(IO_PORT_QUIET, 1, 0, 0, 0, 1) &&
               e->instr_len == 2, "OUT imm8 exits: reason 30, port 0x80, byte, out, immediate, length 2");
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && e->qual == IO_QUAL(IO_PORT_EXIT, 4, 1, 0, 0, 0) &&
               e->instr_len == 1, "IN from DX exits: port 0x1234, dword, in, DX operand, length 1");
        e->regs->rax = 0xcafe;
        break;
    case 2:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && e->qual == IO_QUAL(IO_PORT_EXIT + 1, 1, 0, 1, 1, 0),
               "REP OUTSB exits: string and REP bits set");
        report(seen[0] == 0xcafe, "L2 sees the IN value L1 emulated");
        break;
    default:
        return expect_done(t, e);
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

static void l2_io_bitmap(void)
{
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_QUIET));     /* not in the bitmap */
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_EXIT));      /* bitmap A */
    __asm__ __volatile__("outw %%ax, %%dx" :: "a"(0), "d"(IO_PORT_EXIT - 1));  /* second byte in A */
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_EXIT_B));    /* bitmap B */
}

static bool has_io_bitmaps(void) { return vmx_has_proc(CPU_BASED_USE_IO_BITMAPS); }

static void init_io_bitmap(void)
{
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
    vmx_io_bitmap_a[IO_PORT_EXIT / 8] |= 1u << (IO_PORT_EXIT % 8);
    vmx_io_bitmap_b[(IO_PORT_EXIT_B - 0x8000) / 8] |= 1u << (IO_PORT_EXIT_B % 8);
}

static enum vmx_action io_bitmap_exit(struct vmx_exit *e)
{
    const char *t = "I/O bitmaps";

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && (e->qual >> 16) == IO_PORT_EXIT,
               "I/O bitmaps: a port clear in the bitmap does not exit, a port set in bitmap A exits");
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && e->qual == IO_QUAL(IO_PORT_EXIT - 1, 2, 0, 0, 0, 0),
               "I/O bitmaps: a word access whose second port is set exits");
        break;
    case 2:
        report(exit_is(t, e, EXIT_REASON_IO_INSTRUCTION) && (e->qual >> 16) == IO_PORT_EXIT_B,
               "I/O bitmaps: a port set in bitmap B exits");
        break;
    default:
        return expect_done(t, e);
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

/* ---- MSR bitmaps (SDM 25.6.9) ---- */

static void l2_msr_bitmap(void)
{
    seen[0] = rdmsr(MSR_IA32_SYSENTER_CS);          /* read bit set: exits */
    seen[1] = rdmsr(MSR_IA32_SYSENTER_ESP);         /* clear: the guest-state value */
    wrmsr(MSR_KERNEL_GS_BASE, 0x5000);              /* write bit set: exits */
    seen[2] = rdmsr(MSR_UNLISTED);                  /* outside both ranges: exits */
}

static bool has_msr_bitmaps(void) { return vmx_has_proc(CPU_BASED_USE_MSR_BITMAPS); }

static void init_msr_bitmap(void)
{
    /* Read low at 0, read high at 1024, write low at 2048, write high at 3072. */
    vmx_msr_bitmap[MSR_IA32_SYSENTER_CS / 8] |= 1u << (MSR_IA32_SYSENTER_CS % 8);
    vmx_msr_bitmap[3072 + (MSR_KERNEL_GS_BASE & 0x1fff) / 8] |= 1u << (MSR_KERNEL_GS_BASE % 8);
    vmcs_write(GUEST_SYSENTER_ESP, 0x12340000);
}

static enum vmx_action msr_bitmap_exit(struct vmx_exit *e)
{
    const char *t = "MSR bitmaps";

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_MSR_READ) && e->regs->rcx == MSR_IA32_SYSENTER_CS && e->instr_len == 2,
               "RDMSR of an MSR whose read bit is set exits: reason 31, length 2");
        e->regs->rax = 0x77, e->regs->rdx = 0;
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_MSR_WRITE) && e->regs->rcx == MSR_KERNEL_GS_BASE &&
               e->regs->rax == 0x5000 && e->regs->rdx == 0,
               "WRMSR of an MSR whose write bit is set exits: reason 32 with ECX, EDX:EAX");
        report(seen[0] == 0x77 && seen[1] == 0x12340000,
               "RDMSR with the read bit clear does not exit and reads the guest-state SYSENTER_ESP");
        break;
    case 2:
        report(exit_is(t, e, EXIT_REASON_MSR_READ) && e->regs->rcx == MSR_UNLISTED,
               "RDMSR of an MSR outside both bitmap ranges exits");
        e->regs->rax = 0, e->regs->rdx = 0;
        break;
    default:
        return expect_done(t, e);
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

static void l2_rdmsr_esp(void) { seen[0] = rdmsr(MSR_IA32_SYSENTER_ESP); }
static bool msr_bitmaps_optional(void) { return !(vmx_ctl_required(vmx_caps.proc) & CPU_BASED_USE_MSR_BITMAPS); }
static void init_no_msr_bitmap(void) { vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS); }

static enum vmx_action no_msr_bitmap_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("no MSR bitmaps", e, EXIT_REASON_MSR_READ) && e->regs->rcx == MSR_IA32_SYSENTER_ESP,
               "without MSR bitmaps every RDMSR exits");
        e->regs->rax = 0, e->regs->rdx = 0;
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("no MSR bitmaps", e);
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

static void init_desc(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_DESC);
}

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

static void init_wbinvd(void)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_WBINVD_EXITING);
}

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

/* ---- guest-state round trip (l2_state_guest in lib/vmx_stub.asm) ---- */

void l2_state_guest(void);                          /* lib/vmx_stub.asm */
extern char l2_state_guest_vmcall[];
extern u64 l2_state_rbx_after;
static u64 state_entry_rsp;

static void init_state(void) { state_entry_rsp = vmcs_read(GUEST_RSP); }

static enum vmx_action state_exit(struct vmx_exit *e)
{
    const struct vmx_gprs *r = e->regs;
    const u64 tag = 0x1111000000000000ull;
    struct { u16 limit; u64 base; } __packed gdtr;

    if (e->count > 0) {
        report(vmx_is_l2_done(e) && l2_state_rbx_after == 0x42, "L2 sees the RBX L1 set before VMRESUME");
        return VMX_STOP;
    }
    if (!exit_is("guest state", e, EXIT_REASON_VMCALL))
        return VMX_STOP;
    __asm__ __volatile__("sgdt %0" : "=m"(gdtr));
    report(e->guest_rip == (u64)(uintptr_t)l2_state_guest_vmcall, "exit saves GUEST_RIP of the VMCALL");
    report(e->guest_rsp == state_entry_rsp - 64, "exit saves L2's RSP in GUEST_RSP");
    report(e->guest_rflags == 0x3, "exit saves L2's RFLAGS (CF set) in GUEST_RFLAGS");
    report(r->rax == 0x5ca1ab1e && r->rbx == (tag | 3) && r->rcx == (tag | 1) && r->rdx == (tag | 2) &&
           r->rsi == (tag | 6) && r->rdi == (tag | 7) && r->rbp == (tag | 5) && r->r8 == (tag | 8) &&
           r->r9 == (tag | 9) && r->r10 == (tag | 10) && r->r11 == (tag | 11) && r->r12 == (tag | 12) &&
           r->r13 == (tag | 13) && r->r14 == (tag | 14) && r->r15 == (tag | 15),
           "L2's general registers reach L1 unchanged");
    report(vmcs_read(GUEST_CR3) == read_cr3() && vmcs_read(GUEST_CR0) == read_cr0() &&
           vmcs_read(GUEST_CR4) == read_cr4(), "exit saves GUEST_CR0/CR3/CR4");
    report(vmcs_read(GUEST_CS_SELECTOR) == 0x08 && vmcs_read(GUEST_SS_SELECTOR) == 0x10 &&
           vmcs_read(GUEST_DS_SELECTOR) == 0x10 && vmcs_read(GUEST_TR_SELECTOR) == 0x18,
           "exit saves the segment selectors");
    report(vmcs_read(GUEST_CS_AR_BYTES) == 0xa09b && vmcs_read(GUEST_SS_AR_BYTES) == 0xc093 &&
           vmcs_read(GUEST_TR_AR_BYTES) == 0x8b && (vmcs_read(GUEST_LDTR_AR_BYTES) & 0x10000),
           "exit saves the access rights (CS 0xa09b, SS 0xc093, TR 0x8b, LDTR unusable)");
    report(vmcs_read(GUEST_GDTR_BASE) == gdtr.base && vmcs_read(GUEST_GDTR_LIMIT) == gdtr.limit &&
           vmcs_read(GUEST_CS_LIMIT) == 0xffffffff, "exit saves GDTR and segment limits");
    u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO), act = vmcs_read(GUEST_ACTIVITY_STATE);
    if (!report(intr == 0 && act == GUEST_ACTIVITY_ACTIVE, "exit saves interruptibility 0 and activity state active"))
        printf("  interruptibility %#lx activity %lu\n", (unsigned long)intr, (unsigned long)act);
    report((vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) != 0, "IA-32e mode guest stays set after the exit");
    report(read_cs() == 0x08 && (rdmsr(MSR_IA32_EFER) & EFER_LMA), "L1 is back in 64-bit mode after the exit");
    e->regs->rbx = 0x42;
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

/* ---- VM-entry MSR-load, VM-exit MSR-store and MSR-load lists (SDM 25.7.2, 25.8.2) ---- */

struct msr_entry {
    u32 index, reserved;
    u64 value;
};

static struct msr_entry entry_load[1] __attribute__((aligned(16)));
static struct msr_entry exit_store[1] __attribute__((aligned(16)));
static struct msr_entry exit_load[1] __attribute__((aligned(16)));
static u64 l1_kernel_gs;

static void l2_msr_lists(void)
{
    seen[0] = rdmsr(MSR_KERNEL_GS_BASE);
    wrmsr(MSR_KERNEL_GS_BASE, 0x2222000);
}

static void init_msr_lists(void)
{
    l1_kernel_gs = rdmsr(MSR_KERNEL_GS_BASE);
    entry_load[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x1111000 };
    exit_store[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0 };
    exit_load[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, l1_kernel_gs };
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(entry_load));
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
    vmcs_write(VM_EXIT_MSR_STORE_ADDR, vmx_pa(exit_store));
    vmcs_write(VM_EXIT_MSR_STORE_COUNT, 1);
    vmcs_write(VM_EXIT_MSR_LOAD_ADDR, vmx_pa(exit_load));
    vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 1);
}

static enum vmx_action msr_lists_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("MSR lists", e);
        return VMX_STOP;
    }
    report(seen[0] == 0x1111000, "VM-entry MSR-load list: L2 reads the loaded KERNEL_GS_BASE");
    report(exit_store[0].value == 0x2222000, "VM-exit MSR-store list captures L2's KERNEL_GS_BASE");
    report(rdmsr(MSR_KERNEL_GS_BASE) == l1_kernel_gs, "VM-exit MSR-load list restores L1's KERNEL_GS_BASE");
    return VMX_STOP;
}

/* EFER: saved on exit, host value loaded on exit (SDM 28.3.1, 28.5.1). */
static void l2_efer(void) { wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) ^ EFER_SCE); }
static u64 l1_efer;
static bool has_efer_save(void) { return vmx_has_exit(VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER); }

static void init_efer(void)
{
    l1_efer = rdmsr(MSR_IA32_EFER);
    vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_IA32_EFER);
}

static enum vmx_action efer_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("EFER", e);
        return VMX_STOP;
    }
    report(vmcs_read(GUEST_IA32_EFER) == (l1_efer ^ EFER_SCE), "save IA32_EFER on exit stores L2's EFER");
    report(rdmsr(MSR_IA32_EFER) == l1_efer, "load IA32_EFER on exit restores L1's EFER");
    return VMX_STOP;
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
};
const size_t n_exit_tests = ARRAY_SIZE(exit_tests);
