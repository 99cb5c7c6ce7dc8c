/*
 * vmx_suite: exits for CR, I/O and MSR accesses (entries of exit_tests[] in
 * vmx_suite_exits.c, which describes how they run). CR3-load and -store
 * exiting and their absence; the CR0 and CR4 guest/host masks and read
 * shadows (CLTS, MOV to CR0/CR4 changing an owned bit); unconditional I/O
 * exiting and the I/O bitmaps (qualification: port, size, direction,
 * string, REP, immediate); the MSR bitmaps, and RDMSR without them.
 *
 * Qualifications: SDM Vol. 3C 28.2, Tables 28-3 (CR access) and 28-5 (I/O).
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

/* ---- CR3 exiting, CR0/CR4 guest/host masks and read shadows ---- */

static unsigned long l1_cr3;                    /* L2 must not read CR3 before loading it */

void l2_cr3(void)
{
    __asm__ __volatile__("mov %0, %%cr3" :: "b"(l1_cr3) : "memory");     /* RBX */
    __asm__ __volatile__("mov %%cr3, %0" : "=d"(exit_seen[0]));               /* RDX */
}

bool has_cr3_exiting(void)
{
    return vmx_has_proc(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

void init_cr3(void)
{
    l1_cr3 = read_cr3();
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

enum vmx_action cr3_exit(struct vmx_exit *e)
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
        report(vmx_is_l2_done(e) && exit_seen[0] == 0xabc000, "L2 sees the CR3 value L1 emulated");
        return VMX_STOP;
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

bool cr3_exiting_optional(void)
{
    return !(vmx_ctl_required(vmx_caps.proc) & (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING));
}

void init_no_cr3(void)
{
    l1_cr3 = read_cr3();
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
}

enum vmx_action no_cr3_exit(struct vmx_exit *e)
{
    report(vmx_is_l2_done(e) && exit_seen[0] == read_cr3(), "MOV to/from CR3 without CR3 exiting does not exit");
    return VMX_STOP;
}

/* CR0 guest/host mask and read shadow (SDM 26.3, 26.1.3): L1 owns CR0.TS. */
void l2_cr0(void)
{
    unsigned long cr0 = read_cr0();

    exit_seen[0] = cr0;                                      /* shadow TS = 1 */
    __asm__ __volatile__("clts" ::: "memory");          /* exits: TS owned by L1, shadow 1 */
    __asm__ __volatile__("mov %0, %%cr0" :: "a"(cr0) : "memory");   /* = shadow: no exit */
    __asm__ __volatile__("mov %0, %%cr0" :: "c"(cr0 & ~X86_CR0_TS) : "memory");  /* exits */
    exit_seen[1] = read_cr0();                               /* the new shadow: TS = 0 */
}

void init_cr0(void)
{
    vmcs_write(CR0_GUEST_HOST_MASK, X86_CR0_TS);
    vmcs_write(CR0_READ_SHADOW, read_cr0() | X86_CR0_TS);
}

enum vmx_action cr0_exit(struct vmx_exit *e)
{
    const char *t = "CR0 shadow";

    switch (e->count) {
    case 0:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(0, CR_TYPE_CLTS, 0),
               "CLTS with CR0.TS owned by L1 and set in the shadow exits: qualification type 2");
        report(exit_seen[0] & X86_CR0_TS, "L2 reads CR0.TS from the read shadow");
        break;
    case 1:
        report(exit_is(t, e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(0, CR_TYPE_MOV_TO, REG_RCX),
               "MOV to CR0 changing an owned bit exits: qualification MOV to CR0 from RCX");
        report(!(vmcs_read(GUEST_CR0) & X86_CR0_TS),
               "MOV to CR0 matching the shadow did not exit and left the owned bit alone");
        vmcs_clear_bits(CR0_READ_SHADOW, X86_CR0_TS);
        break;
    default:
        report(vmx_is_l2_done(e) && !(exit_seen[1] & X86_CR0_TS), "L2 sees the read shadow L1 updated");
        return VMX_STOP;
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

void l2_cr4(void)
{
    unsigned long cr4 = read_cr4();
    exit_seen[0] = cr4;
    __asm__ __volatile__("mov %0, %%cr4" :: "d"(cr4 & ~X86_CR4_PCE) : "memory");
}

void init_cr4(void)
{
    vmcs_write(CR4_GUEST_HOST_MASK, X86_CR4_PCE);
    vmcs_write(CR4_READ_SHADOW, read_cr4() | X86_CR4_PCE);
}

enum vmx_action cr4_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_seen[0] & X86_CR4_PCE, "L2 reads CR4.PCE from the read shadow");
        report(exit_is("CR4 shadow", e, EXIT_REASON_CR_ACCESS) && e->qual == CR_QUAL(4, CR_TYPE_MOV_TO, REG_RDX),
               "MOV to CR4 changing an owned bit exits: qualification MOV to CR4 from RDX");
        vmx_skip_instruction(e);
        return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
    }
    return expect_done("CR4 shadow", e);
}

/* ---- I/O ---- */

void l2_io_uncond(void)
{
    u8 buf[1] = { 0x5a };
    u32 v;

    __asm__ __volatile__("outb %%al, $0x80" :: "a"(0x12));
    __asm__ __volatile__("inl %%dx, %%eax" : "=a"(v) : "d"(IO_PORT_EXIT));
    exit_seen[0] = v;
    __asm__ __volatile__("rep outsb" :: "S"(buf), "c"(1), "d"(IO_PORT_EXIT + 1) : "memory");
}

bool has_uncond_io(void) { return vmx_has_proc(CPU_BASED_UNCOND_IO_EXITING); }

void init_io_uncond(void)
{
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING);
}

enum vmx_action io_uncond_exit(struct vmx_exit *e)
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
        report(exit_seen[0] == 0xcafe, "L2 sees the IN value L1 emulated");
        break;
    default:
        return expect_done(t, e);
    }
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

void l2_io_bitmap(void)
{
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_QUIET));     /* not in the bitmap */
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_EXIT));      /* bitmap A */
    __asm__ __volatile__("outw %%ax, %%dx" :: "a"(0), "d"(IO_PORT_EXIT - 1));  /* second byte in A */
    __asm__ __volatile__("outb %%al, %%dx" :: "a"(0), "d"(IO_PORT_EXIT_B));    /* bitmap B */
}

bool has_io_bitmaps(void) { return vmx_has_proc(CPU_BASED_USE_IO_BITMAPS); }

void init_io_bitmap(void)
{
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_UNCOND_IO_EXITING);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
    vmx_io_bitmap_a[IO_PORT_EXIT / 8] |= 1u << (IO_PORT_EXIT % 8);
    vmx_io_bitmap_b[(IO_PORT_EXIT_B - 0x8000) / 8] |= 1u << (IO_PORT_EXIT_B % 8);
}

enum vmx_action io_bitmap_exit(struct vmx_exit *e)
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

void l2_msr_bitmap(void)
{
    exit_seen[0] = rdmsr(MSR_IA32_SYSENTER_CS);          /* read bit set: exits */
    exit_seen[1] = rdmsr(MSR_IA32_SYSENTER_ESP);         /* clear: the guest-state value */
    wrmsr(MSR_KERNEL_GS_BASE, 0x5000);              /* write bit set: exits */
    exit_seen[2] = rdmsr(MSR_UNLISTED);                  /* outside both ranges: exits */
}

bool has_msr_bitmaps(void) { return vmx_has_proc(CPU_BASED_USE_MSR_BITMAPS); }

void init_msr_bitmap(void)
{
    /* Read low at 0, read high at 1024, write low at 2048, write high at 3072. */
    vmx_msr_bitmap[MSR_IA32_SYSENTER_CS / 8] |= 1u << (MSR_IA32_SYSENTER_CS % 8);
    vmx_msr_bitmap[3072 + (MSR_KERNEL_GS_BASE & 0x1fff) / 8] |= 1u << (MSR_KERNEL_GS_BASE % 8);
    vmcs_write(GUEST_SYSENTER_ESP, 0x12340000);
}

enum vmx_action msr_bitmap_exit(struct vmx_exit *e)
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
        report(exit_seen[0] == 0x77 && exit_seen[1] == 0x12340000,
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

/* An MSR inside the low bitmap range that no CPU model here implements:
 * with its read bit clear, RDMSR does not exit but raises #GP in L2,
 * which L1 intercepts through its exception bitmap (SDM 26.1.3, 26.2). */
#define MSR_ABSENT_IN_RANGE     0x1ff0

void l2_rdmsr_absent(void) { exit_seen[0] = rdmsr(MSR_ABSENT_IN_RANGE); }

void init_msr_gp_intercept(void)
{
    vmcs_write(EXCEPTION_BITMAP, vmcs_read(EXCEPTION_BITMAP) | (1u << 13));
}

enum vmx_action msr_gp_intercept_exit(struct vmx_exit *e)
{
    if (e->count == 0) {
        report(exit_is("MSR #GP", e, EXIT_REASON_EXCEPTION_NMI) && e->intr_info == 0x80000b0d &&
               e->intr_error == 0 && e->regs->rcx == MSR_ABSENT_IN_RANGE,
               "RDMSR of an absent MSR with its bitmap bit clear: #GP reaches L1's exception bitmap (0x80000b0d)");
    }
    return VMX_STOP;
}

void l2_rdmsr_esp(void) { exit_seen[0] = rdmsr(MSR_IA32_SYSENTER_ESP); }
bool msr_bitmaps_optional(void) { return !(vmx_ctl_required(vmx_caps.proc) & CPU_BASED_USE_MSR_BITMAPS); }
void init_no_msr_bitmap(void) { vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_MSR_BITMAPS); }

enum vmx_action no_msr_bitmap_exit(struct vmx_exit *e)
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
