/*
 * cpuid_msr: CPUID and MSR behaviour a guest may rely on (docs/guests.md
 * "CPUID and MSRs", "VMCALL interface"), plus the boot contract of the
 * entry it came through and the library's own fault catching.
 *
 * Tests without a prefix run on bare hardware and under turtle and must
 * print the same PASS lines in both places. Tests named "turtle ..." run
 * only under turtle (on_turtle()).
 *   options: nested  (the guest's module has `nested`: VT-x is visible)
 */
#include "lib/guest.h"

/* CPUID leaf 1 EDX: features turtle passes through from the host. */
#define CPUID_1_EDX_FPU         BIT(0)
#define CPUID_1_EDX_TSC         BIT(4)
#define CPUID_1_EDX_MSR         BIT(5)
#define CPUID_1_EDX_PAE         BIT(6)
#define CPUID_1_EDX_CX8         BIT(8)
#define CPUID_1_EDX_SEP         BIT(11)
#define CPUID_1_EDX_PGE         BIT(13)
#define CPUID_1_EDX_CMOV        BIT(15)
#define CPUID_1_EDX_PAT         BIT(16)
#define CPUID_1_EDX_FXSR        BIT(24)
#define CPUID_1_EDX_SSE         BIT(25)
#define CPUID_1_EDX_SSE2        BIT(26)
#define CPUID_1_EDX_BASIC       (CPUID_1_EDX_FPU | CPUID_1_EDX_TSC | CPUID_1_EDX_MSR | \
                                 CPUID_1_EDX_PAE | CPUID_1_EDX_CX8 | CPUID_1_EDX_SEP | \
                                 CPUID_1_EDX_PGE | CPUID_1_EDX_CMOV | CPUID_1_EDX_PAT | \
                                 CPUID_1_EDX_FXSR | CPUID_1_EDX_SSE | CPUID_1_EDX_SSE2)
/* CPUID leaf 1 ECX: what turtle hides, shows by its own rules, and sets. */
#define CPUID_1_ECX_MONITOR     BIT(3)
#define CPUID_1_ECX_VMX         BIT(5)
#define CPUID_1_ECX_PCID        BIT(17)
#define CPUID_1_ECX_X2APIC      BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE BIT(24)
#define CPUID_1_ECX_XSAVE       BIT(26)
#define CPUID_1_ECX_OSXSAVE     BIT(27)
#define CPUID_1_ECX_AVX         BIT(28)
#define CPUID_1_ECX_HYPERVISOR  BIT(31)
#define CPUID_1_ECX_APIC_TIMERS (CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE)
#define CPUID_1_EDX_APIC        BIT(9)
#define CPUID_7_EBX_INVPCID     BIT(10)
#define CPUID_EXT_EDX_LM        BIT(29)
#define CPUID_EXT_EDX_RDTSCP    BIT(27)

#define MSR_MISSING             0x12345678u     /* no CPU implements it */
#define PAT_DEFAULT_PA7_WC      0x0107040600070406ull  /* power-on PAT with PA7 = WC */
#define NONCANONICAL            0x0000800000000000ull
#define UNMAPPED_ADDR           (64ull << 30)   /* beyond the 4 GiB the library maps */
#define VMCALL_UNKNOWN_NR       0x7fff
#define VMCALL_BAD_GPA          (1ull << 40)    /* far beyond any guest's RAM */
#define VMCALL_MAX_WRITE        4096
#define TIME_SPIN               10000
/* DR7 (SDM 18.2.4): bit 10 reads 1; L0, LE and GE set: an execute
 * breakpoint on DR0, which points at code that never runs. */
#define DR7_FIXED               0x400ul
#define DR7_TEST                (DR7_FIXED | BIT(0) | BIT(8) | BIT(9))
/* IA32_DEBUGCTL (SDM Vol. 4, 0x1d9): BTF (single-step on branches) has
 * no effect while RFLAGS.TF is clear; bits 5:3 are reserved. */
#define DEBUGCTL_LBR            BIT(0)
#define DEBUGCTL_BTF            BIT(1)
#define DEBUGCTL_RESERVED_3     BIT(3)
#define EXITS                   20      /* CPUIDs: exits under turtle */

static void test_boot_contract(const struct boot_params *bp)
{
    if (bp->entry == GUEST_ENTRY_MB2) {
        report(bp->magic == MB2_BOOTLOADER_MAGIC, "multiboot2 entry: EAX magic");
        report((bp->entry_cr0 & X86_CR0_PE) && !(bp->entry_cr0 & X86_CR0_PG),
               "multiboot2 entry: CR0.PE set, CR0.PG clear");
        report(!(bp->entry_rflags & (X86_RFLAGS_IF | X86_RFLAGS_VM)),
               "multiboot2 entry: EFLAGS.IF and EFLAGS.VM clear");
    } else {
        report(bp->magic == MB2_BOOTLOADER_MAGIC, "ELF64 entry: RSI magic");
        report((bp->entry_efer & EFER_LMA) && (bp->entry_cr0 & X86_CR0_PG) &&
               (bp->entry_cr4 & X86_CR4_PAE), "ELF64 entry: long mode, paging on");
    }
    report(bp->info_error == NULL, "boot information parses");
    /* The smallest guest (mem=2M) has 639 KiB + 1 MiB available. */
    report(bp->mem_available >= (3u << 19), "memory map: at least 1.5 MiB available");
}

static void test_fault_catching(void)
{
    u64 v;

    report(ud2_safe() == X86_UD, "ud2 raises #UD");
    report(read_u64_safe(NONCANONICAL, &v) == X86_GP, "non-canonical read raises #GP");
    report(read_u64_safe(UNMAPPED_ADDR, &v) == X86_PF, "read of an unmapped address raises #PF");
    report(read_u64_safe((u64)(uintptr_t)&v, &v) == -1, "read of a mapped address does not fault");
}

static void test_cpuid(void)
{
    struct cpuid_regs r = cpuid(0);
    u32 vendor[3] = { r.ebx, r.edx, r.ecx };

    report(memcmp(vendor, "GenuineIntel", 12) == 0, "cpuid vendor GenuineIntel");
    r = cpuid(1);
    report((r.edx & CPUID_1_EDX_BASIC) == CPUID_1_EDX_BASIC,
           "cpuid 1 EDX basic features (FPU TSC MSR PAE CX8 SEP PGE CMOV PAT FXSR SSE SSE2)");
    r = cpuid(0x80000001);
    report(r.edx & CPUID_EXT_EDX_LM, "cpuid 0x80000001 EDX long mode");
}

/*
 * CPUID's two paths under turtle: most leaves are answered from a cache
 * right after the exit, but with RFLAGS.TF set the full path runs (the
 * single-step trap after the instruction). Every leaf that needs no
 * subleaf must answer the same both ways, and for any ECX; the #DB comes
 * right after the CPUID; a prefixed CPUID is skipped whole; leaf 1's
 * OSXSAVE follows CR4 each time. The same holds on bare hardware.
 */
#define X86_CR4_OSXSAVE         BIT(18)
#define VECTOR_DB               1
#define IDT_GATE_SIZE           16

__asm__(".text\n"
        "cpuid_db_handler:\n"
        "    push %rax\n"
        "    mov 8(%rsp), %rax\n"              /* the trap's RIP */
        "    mov %rax, cpuid_db_rip(%rip)\n"
        "    andq $~0x100, 24(%rsp)\n"         /* RFLAGS.TF off in the frame */
        "    incl cpuid_db_count(%rip)\n"
        "    pop %rax\n"
        "    iretq\n");
void cpuid_db_handler(void);
volatile u64 cpuid_db_rip;
volatile u32 cpuid_db_count;

/* CPUID with RFLAGS.TF set by POPF: the trap follows the CPUID (SDM Vol. 3
 * 18.3.1.4); *after is the address the trap should report. */
static struct cpuid_regs cpuid_stepped(u32 leaf, u32 subleaf, u64 *after)
{
    struct cpuid_regs r;

    __asm__ __volatile__("pushfq\n\t"
                         "orq $0x100, (%%rsp)\n\t"
                         "popfq\n\t"
                         "cpuid\n"
                         "1:\n\t"
                         "lea 1b(%%rip), %%rsi\n\t"
                         : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx), "=S"(*after)
                         : "a"(leaf), "c"(subleaf) : "memory", "cc");
    return r;
}

static void write_cr4(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory");
}

static bool same(struct cpuid_regs a, struct cpuid_regs b)
{
    return a.eax == b.eax && a.ebx == b.ebx && a.ecx == b.ecx && a.edx == b.edx;
}

static void test_cpuid_paths(void)
{
    static const u32 leaves[] = { 0, 1, 2, 3, 5, 6, 9, 0xa, 0x15, 0x16, 0x80000000, 0x80000001,
                                  0x80000002, 0x80000003, 0x80000004, 0x80000005, 0x80000006,
                                  0x80000007, 0x80000008 };
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr;
    u8 saved[IDT_GATE_SIZE];

    __asm__ __volatile__("sidt %0" : "=m"(idtr));
    u8 *gate = (u8 *)(uintptr_t)(idtr.base + VECTOR_DB * IDT_GATE_SIZE);
    u64 h = (u64)(uintptr_t)cpuid_db_handler;
    memcpy(saved, gate, sizeof(saved));
    gate[0] = (u8)h;                    /* offset 15:0, 31:16, 63:32; selector and type stay */
    gate[1] = (u8)(h >> 8);
    gate[6] = (u8)(h >> 16);
    gate[7] = (u8)(h >> 24);
    memcpy(gate + 8, (u8 *)&h + 4, 4);

    /* Past the last leaf of its range the CPU answers its last basic
     * leaf, which may take a subleaf: only leaves up to the last. */
    u32 max = cpuid(0).eax, max_ext = cpuid(0x80000000).eax;
    u32 bad = 0, first_bad = 0;
    for (u32 i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        u32 leaf = leaves[i], count = cpuid_db_count;
        if (leaf > (leaf < 0x80000000 ? max : max_ext))
            continue;
        u64 after = 0;
        struct cpuid_regs plain = cpuid_count(leaf, 0), other = cpuid_count(leaf, 7);
        struct cpuid_regs stepped = cpuid_stepped(leaf, 0, &after);
        if (!same(plain, other) || !same(plain, stepped) || cpuid_db_count != count + 1 ||
            cpuid_db_rip != after) {
            if (!bad++)
                first_bad = leaf;
        }
    }
    if (!report(!bad, "cpuid without subleaves: the same for any ECX and single-stepped, #DB after it"))
        printf("  %u leaves differ, the first %#x\n", bad, first_bad);

    /* A DS prefix: the instruction is 3 bytes; resuming inside it would
     * run A2 (MOV moffs8, AL) with the wrong meaning. */
    struct cpuid_regs r, p = cpuid(0);
    __asm__ __volatile__(".byte 0x3e\n\tcpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                         : "a"(0), "c"(0));
    report(same(r, p), "cpuid with a DS prefix answers as without it");

    /* Without XSAVE, CR4.OSXSAVE cannot be set (#GP) and OSXSAVE reads 0. */
    bool on = true, off = cpuid(1).ecx & CPUID_1_ECX_OSXSAVE;
    if (cpuid(1).ecx & CPUID_1_ECX_XSAVE) {
        unsigned long cr4 = read_cr4();
        write_cr4(cr4 | X86_CR4_OSXSAVE);
        on = cpuid(1).ecx & CPUID_1_ECX_OSXSAVE;
        write_cr4(cr4 & ~X86_CR4_OSXSAVE);
        off = cpuid(1).ecx & CPUID_1_ECX_OSXSAVE;
        write_cr4(cr4);
    }
    report(on && !off, "cpuid 1 ECX OSXSAVE follows CR4.OSXSAVE, set then cleared");
    memcpy(gate, saved, sizeof(saved));
}

/* Writes val, reads it back, restores the old value. */
static void msr_round_trip(const char *name, u32 msr, u64 val)
{
    u64 old = 0, back = 0;
    int rd = rdmsr_safe(msr, &old);
    int wr = wrmsr_safe(msr, val);
    int rd2 = rdmsr_safe(msr, &back);
    int restore = wrmsr_safe(msr, old);

    if (!report(rd < 0 && wr < 0 && rd2 < 0 && back == val && restore < 0, "msr round trip %s", name))
        printf("  %s (%#x): read %d write %d read-back %d = %#lx (wrote %#lx) restore %d\n",
               name, msr, rd, wr, rd2, back, val, restore);
}

static void test_msrs(void)
{
    u64 v, e, t1, t2;
    int vec;

    report(rdmsr_safe(MSR_MISSING, &v) == X86_GP, "rdmsr of a missing MSR raises #GP");
    report(wrmsr_safe(MSR_MISSING, 0) == X86_GP, "wrmsr of a missing MSR raises #GP");

    vec = rdmsr_safe(MSR_IA32_TSC, &t1);
    busy_loop(TIME_SPIN);
    rdmsr_safe(MSR_IA32_TSC, &t2);
    report(vec < 0 && t2 > t1, "rdmsr IA32_TSC increases");
    t1 = rdtsc();
    busy_loop(TIME_SPIN);
    report(rdtsc() > t1, "rdtsc increases");

    e = rdmsr(MSR_IA32_EFER);
    report((e & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "EFER.LME and EFER.LMA set");
    wrmsr(MSR_IA32_EFER, e | EFER_SCE);
    bool set = rdmsr(MSR_IA32_EFER) & EFER_SCE;
    wrmsr(MSR_IA32_EFER, e & ~EFER_SCE);
    bool clear = !(rdmsr(MSR_IA32_EFER) & EFER_SCE);
    wrmsr(MSR_IA32_EFER, e);
    report(set && clear && rdmsr(MSR_IA32_EFER) == e, "EFER.SCE set/clear round trip");
    report(wrmsr_safe(MSR_IA32_EFER, e | BIT(63)) == X86_GP, "EFER reserved bit write raises #GP");
    report(rdmsr(MSR_IA32_EFER) == e, "EFER unchanged after the refused write");

    msr_round_trip("IA32_SYSENTER_CS", MSR_IA32_SYSENTER_CS, 0x10);
    msr_round_trip("IA32_SYSENTER_ESP", MSR_IA32_SYSENTER_ESP, 0x00007fffdead0000ull);
    msr_round_trip("IA32_SYSENTER_EIP", MSR_IA32_SYSENTER_EIP, 0xffffffff81234560ull);
    msr_round_trip("STAR", MSR_STAR, 0x0023001000000000ull);
    msr_round_trip("LSTAR", MSR_LSTAR, 0xffffffff81000000ull);
    msr_round_trip("CSTAR", MSR_CSTAR, 0xffffffff81000100ull);
    msr_round_trip("SFMASK", MSR_SFMASK, 0x47700);
    msr_round_trip("FS_BASE", MSR_FS_BASE, 0x00007f0012345000ull);
    msr_round_trip("GS_BASE", MSR_GS_BASE, 0xffff888012340000ull);
    msr_round_trip("KERNEL_GS_BASE", MSR_KERNEL_GS_BASE, 0xffff888000100000ull);
    msr_round_trip("IA32_PAT", MSR_IA32_PAT, PAT_DEFAULT_PA7_WC);
    if (cpuid(0x80000001).edx & CPUID_EXT_EDX_RDTSCP)   /* TSC_AUX exists with RDTSCP */
        msr_round_trip("TSC_AUX", MSR_TSC_AUX, 0x123);
    report(wrmsr_safe(MSR_LSTAR, NONCANONICAL) == X86_GP, "non-canonical LSTAR write raises #GP");
}

static __attribute__((noinline)) void never_runs(void)
{
    __asm__ __volatile__("" ::: "memory");
}

/* Run code that exits to turtle (CPUID) and is preempted (the spin). */
static void exits_and_preemption(void)
{
    for (int i = 0; i < EXITS; i++)
        (void)cpuid(0);
    busy_loop(TIME_SPIN);
}

/* The debug registers and IA32_DEBUGCTL are the guest's: what it writes
 * stays there across exits and preemption (under turtle DR7 lives in the
 * VMCS, which must load and save it). */
static void test_debug_state(void)
{
    unsigned long target = (unsigned long)(uintptr_t)never_runs;

    report(read_dr7() == DR7_FIXED, "DR7 reads 0x400 at boot");
    write_dr0(target);
    write_dr7(DR7_TEST);
    exits_and_preemption();
    unsigned long dr7 = read_dr7(), dr0 = read_dr0();
    write_dr7(DR7_FIXED);
    if (!report(dr7 == DR7_TEST && dr0 == target, "DR7 and DR0 keep their values across exits"))
        printf("  DR7 %#lx (wrote %#lx), DR0 %#lx (wrote %#lx)\n", dr7, DR7_TEST, dr0, target);

    /* IA32_DEBUGCTL: Bochs 2.7 has no such MSR (every access #GP); a CPU
     * that has it takes LBR and BTF, where a guest's value stays across
     * exits. Either way reserved bits raise #GP. */
    u64 old = ~0ull, back = 0, lbr = 0;
    int rd = rdmsr_safe(MSR_IA32_DEBUGCTL, &old);
    int wr = wrmsr_safe(MSR_IA32_DEBUGCTL, DEBUGCTL_BTF);
    exits_and_preemption();
    int rd2 = rdmsr_safe(MSR_IA32_DEBUGCTL, &back);
    int wr0 = wrmsr_safe(MSR_IA32_DEBUGCTL, 0);
    int wrl = wrmsr_safe(MSR_IA32_DEBUGCTL, DEBUGCTL_LBR);
    int rdl = rdmsr_safe(MSR_IA32_DEBUGCTL, &lbr);
    wrmsr_safe(MSR_IA32_DEBUGCTL, 0);
    if (rd == X86_GP) {
        if (!report(wr == X86_GP && rd2 == X86_GP && wr0 == X86_GP && wrl == X86_GP && rdl == X86_GP,
                    "IA32_DEBUGCTL absent: every RDMSR and WRMSR raises #GP"))
            printf("  BTF write %d, read %d, clear %d, LBR write %d, read %d\n", wr, rd2, wr0, wrl, rdl);
    } else {
        report(rd < 0 && old == 0, "IA32_DEBUGCTL reads 0 at boot");
        report(wr0 < 0, "IA32_DEBUGCTL write of 0 succeeds");
        if (!report(wr == X86_GP || (wr < 0 && rd2 < 0 && back == DEBUGCTL_BTF),
                    "IA32_DEBUGCTL BTF keeps its value across exits (or #GP without BTF)"))
            printf("  BTF write %d, read %d = %#lx\n", wr, rd2, (unsigned long)back);
        if (!report(wrl == X86_GP || (wrl < 0 && rdl < 0 && lbr == DEBUGCTL_LBR),
                    "IA32_DEBUGCTL LBR reads back (or #GP without LBR)"))
            printf("  LBR write %d, read %d = %#lx\n", wrl, rdl, (unsigned long)lbr);
    }
    report(wrmsr_safe(MSR_IA32_DEBUGCTL, DEBUGCTL_RESERVED_3) == X86_GP &&
           wrmsr_safe(MSR_IA32_DEBUGCTL, BIT(63)) == X86_GP, "IA32_DEBUGCTL reserved bits 3 and 63 raise #GP");
}

static void test_turtle_cpuid(bool nested)
{
    struct cpuid_regs r = cpuid(1);

    report(r.ecx & CPUID_1_ECX_HYPERVISOR, "turtle cpuid 1 ECX hypervisor bit");
    report(!(r.ecx & CPUID_1_ECX_MONITOR), "turtle cpuid 1 ECX hides MONITOR");
    /* XSAVE, AVX and PCID where the CPU has them (the xsave guest tests
     * them); OSXSAVE follows CR4, which this guest leaves clear. */
    report(!(r.ecx & CPUID_1_ECX_OSXSAVE) && (!(r.ecx & CPUID_1_ECX_AVX) || (r.ecx & CPUID_1_ECX_XSAVE)),
           "turtle cpuid 1 ECX: OSXSAVE clear with CR4.OSXSAVE clear, AVX only with XSAVE");
    /* turtle emulates the local APIC, x2APIC mode and its TSC-deadline timer. */
    report((r.ecx & CPUID_1_ECX_APIC_TIMERS) == CPUID_1_ECX_APIC_TIMERS && (r.edx & CPUID_1_EDX_APIC) &&
           (r.ebx >> 24) == 0, "turtle cpuid 1 shows APIC, x2APIC and TSC-deadline, APIC ID 0");
    if (nested)
        report(r.ecx & CPUID_1_ECX_VMX, "turtle cpuid 1 ECX shows VMX (nested)");
    else
        report(!(r.ecx & CPUID_1_ECX_VMX), "turtle cpuid 1 ECX hides VMX");
    report(!(cpuid_count(7, 0).ebx & CPUID_7_EBX_INVPCID) || (r.ecx & CPUID_1_ECX_PCID),
           "turtle cpuid 7 EBX shows INVPCID only with PCID");
    bool xsave = r.ecx & CPUID_1_ECX_XSAVE;
    r = cpuid_count(0xd, 0);
    struct cpuid_regs r1 = cpuid_count(0xd, 1);
    if (xsave)
        report((r.eax & 3) == 3 && r.ebx == 576 && !(r1.eax & BIT(3)) && !r1.ecx && !r1.edx,
               "turtle cpuid 0xd: x87 and SSE, 576 bytes for XCR0=1, no XSAVES or IA32_XSS");
    else
        report(!(r.eax | r.ebx | r.ecx | r.edx | r1.eax | r1.ebx | r1.ecx | r1.edx),
               "turtle cpuid 0xd is zero without XSAVE");
    r = cpuid(0x40000000);
    u32 sig[3] = { r.ebx, r.ecx, r.edx };
    report(r.eax == 0x40000001 && memcmp(sig, "TurtleTurtle", 12) == 0,
           "turtle cpuid 0x40000000 signature TurtleTurtle, max leaf 0x40000001");
    report(cpuid(0x40000001).eax == 1, "turtle cpuid 0x40000001 VMCALL interface version 1");
}

static void test_turtle_msrs(bool nested)
{
    u64 v = ~0ull;
    int vec = rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &v);

    if (nested)
        report(vec < 0 && (v & (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_NO_SMX)) ==
               (FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_NO_SMX),
               "turtle IA32_FEATURE_CONTROL locked with VMX enabled (nested)");
    else
        report(vec < 0 && v == 0, "turtle IA32_FEATURE_CONTROL reads 0");
    report(wrmsr_safe(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK) == X86_GP,
           "turtle IA32_FEATURE_CONTROL write raises #GP");
    if (!nested)
        report(rdmsr_safe(MSR_IA32_VMX_BASIC, &v) == X86_GP, "turtle IA32_VMX_BASIC raises #GP");
    /* Bochs has no IA32_MISC_ENABLE (#GP): a turtle-only test. */
    u64 m1 = 0, m2 = 1;
    vec = rdmsr_safe(MSR_IA32_MISC_ENABLE, &m1);
    report(vec < 0 && rdmsr_safe(MSR_IA32_MISC_ENABLE, &m2) < 0 && m1 == m2,
           "turtle IA32_MISC_ENABLE reads a fixed value");
}

static const char console_msg[] = "cpuid_msr: written by vmcall console write\n";

static void test_turtle_vmcalls(const struct boot_params *bp)
{
    struct vmcall_regs r = { VMCALL_READ_TIME, 0, 0 };
    long ret = vmcall_regs(&r);
    u64 tsc1 = (u64)r.rbx, ticks1 = (u64)r.rcx;

    report(ret == 0 && tsc1 != 0, "turtle vmcall read time returns 0 and a TSC");
    busy_loop(TIME_SPIN);
    r = (struct vmcall_regs){ VMCALL_READ_TIME, 0, 0 };
    ret = vmcall_regs(&r);
    report(ret == 0 && (u64)r.rbx > tsc1 && (u64)r.rcx >= ticks1,
           "turtle vmcall read time: TSC increases, ticks do not go back");
    report(vmcall(VMCALL_YIELD, 0, 0) == 0, "turtle vmcall yield returns 0");
    report(vmcall(VMCALL_CONSOLE_WRITE, (long)(uintptr_t)console_msg, sizeof(console_msg) - 1) == 0,
           "turtle vmcall console write returns 0");
    report(vmcall(VMCALL_CONSOLE_WRITE, (long)VMCALL_BAD_GPA, 8) == VMCALL_ERR_BAD_ADDRESS,
           "turtle vmcall console write of a bad address returns -2");
    report(vmcall(VMCALL_CONSOLE_WRITE, (long)(uintptr_t)console_msg, VMCALL_MAX_WRITE + 1) ==
           VMCALL_ERR_BAD_ADDRESS, "turtle vmcall console write longer than 4096 returns -2");
    report(vmcall(VMCALL_CONSOLE_WRITE, (long)(bp->mem_top - 4), 8) == VMCALL_ERR_BAD_ADDRESS,
           "turtle vmcall console write crossing the end of RAM returns -2");
    report(vmcall(VMCALL_UNKNOWN_NR, 0, 0) == VMCALL_ERR_UNKNOWN, "turtle vmcall unknown function returns -1");
}

void guest_main(const struct boot_params *bp)
{
    bool nested = cmdline_has_word(bp->cmdline, "nested");

    printf("cpuid_msr: %s, %s entry\n", on_turtle() ? "on turtle" : "no turtle signature (bare hardware?)",
           bp->entry == GUEST_ENTRY_ELF64 ? "64-bit ELF" : "multiboot2");
    test_boot_contract(bp);
    test_fault_catching();
    test_cpuid();
    test_cpuid_paths();
    test_msrs();
    test_debug_state();
    if (on_turtle()) {
        test_turtle_cpuid(nested);
        test_turtle_msrs(nested);
        test_turtle_vmcalls(bp);
    }
    guest_exit(report_summary() ? 1 : 0);
}
