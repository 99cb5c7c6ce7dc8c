/*
 * lapic: the local APIC seen from inside a guest, with interrupts off
 * (RFLAGS.IF=0): deliveries are observed in IRR, never taken. Checks
 * reset values, read-only registers, writable bits, software disable,
 * ESR on an illegal vector, self-IPI, TPR/PPR, the timer in one-shot,
 * periodic and TSC-deadline modes and its divider, then x2APIC mode and
 * its #GP cases, and last the global disable. INFO lines give measured
 * values (TSC ticks per timer tick) for comparison between platforms, and
 * the checks where Bochs 2.7 departs from the SDM print the measured value
 * beside the SDM's instead of a verdict:
 * - LVT writes keep the read-only delivery-status and remote-IRR bits;
 * - a self IPI with vector 0-15 sets "receive" (0x40), not "send" (0x20);
 * - the TSC-deadline timer fires late and IA32_TSC_DEADLINE keeps its
 *   value after firing (SDM 11.5.4.1: cleared);
 * - entering x2APIC mode leaves LDR 0 (SDM 11.12.10.2: derived from the ID);
 * - once IA32_APIC_BASE.EN is cleared, later writes to it are ignored.
 * The firmware (the BIOS before GRUB) may leave the APIC software-enabled,
 * so SVR is shown, not checked.
 *   options: none
 */
#include "lib/guest.h"

#define APIC_BASE_MSR       0x1b
#define TSC_DEADLINE_MSR    0x6e0
#define X2APIC_MSR(off)     (0x800 + ((off) >> 4))
#define BASE_BSP            (1ull << 8)
#define BASE_EXTD           (1ull << 10)
#define BASE_EN             (1ull << 11)
#define APIC_PAGE           0xfee00000ull

#define R_ID        0x20
#define R_VER       0x30
#define R_TPR       0x80
#define R_PPR       0xa0
#define R_EOI       0xb0
#define R_LDR       0xd0
#define R_DFR       0xe0
#define R_SVR       0xf0
#define R_IRR       0x200
#define R_ESR       0x280
#define R_ICR       0x300
#define R_ICR2      0x310
#define R_LVT_TIMER 0x320
#define R_LVT_LINT0 0x350
#define R_LVT_LINT1 0x360
#define R_LVT_ERR   0x370
#define R_TICR      0x380
#define R_TCCR      0x390
#define R_TDCR      0x3e0
#define R_SELF_IPI  0x3f0

#define LVT_MASKED  (1u << 16)
#define TIMER_PERIODIC (1u << 17)
#define TIMER_TSCDL (2u << 17)

static u32 rd(u32 off)
{
    return *(volatile u32 *)(uintptr_t)(APIC_PAGE + off);
}

static void wr(u32 off, u32 v)
{
    *(volatile u32 *)(uintptr_t)(APIC_PAGE + off) = v;
}

static bool irr(u8 v)
{
    return (rd(R_IRR + (v >> 5) * 16) >> (v & 31)) & 1;
}

static u32 esr(void)
{
    wr(R_ESR, 0);
    return rd(R_ESR);
}

/* Waits (bounded) for vector v in IRR; returns the TSC when seen, 0 if never. */
static u64 wait_irr(u8 v, u64 limit)
{
    u64 start = rdtsc(), t;

    do {
        t = rdtsc();
        if (irr(v))
            return t;
    } while (t - start < limit);
    return 0;
}

static void test_reset(void)
{
    u64 base = rdmsr(APIC_BASE_MSR);
    bool lvts = true;

    report((base & ~0xfffull) == APIC_PAGE && (base & BASE_EN) && !(base & BASE_EXTD),
           "IA32_APIC_BASE enabled, xAPIC, at 0xfee00000");
    report(base & BASE_BSP, "IA32_APIC_BASE BSP bit");
    printf("INFO: version %#x\n", rd(R_VER));
    report((rd(R_VER) & 0xff) >= 0x10 && ((rd(R_VER) >> 16) & 0xff) >= 5, "version: integrated APIC, 6+ LVTs");
    report(rd(R_TPR) == 0 && rd(R_PPR) == 0, "TPR and PPR reset to 0");
    printf("INFO: SVR at entry %#x\n", rd(R_SVR));
    report(rd(R_DFR) == 0xffffffff && rd(R_LDR) == 0, "DFR all ones, LDR 0");
    /* LINT0/LINT1 are the firmware's choice (PC firmware often leaves
     * "virtual wire": LINT0 ExtINT, LINT1 NMI); the others reset masked. */
    for (u32 r = R_LVT_TIMER; r <= R_LVT_ERR; r += 16)
        if (r != R_LVT_LINT0 && r != R_LVT_LINT1)
            lvts &= rd(r) == LVT_MASKED;
    printf("INFO: LINT0 %#x, LINT1 %#x at entry\n", rd(R_LVT_LINT0), rd(R_LVT_LINT1));
    report(lvts, "timer, thermal, perf and error LVTs reset to masked");
    report(rd(R_TICR) == 0 && rd(R_TCCR) == 0 && rd(R_TDCR) == 0, "timer registers reset to 0");
    report(esr() == 0, "ESR 0");
}

static void test_registers(void)
{
    u32 ver = rd(R_VER);

    wr(R_SVR, 0x0ff);
    wr(R_VER, 0);
    wr(R_PPR, 0xff);
    report(rd(R_VER) == ver && rd(R_PPR) == 0, "version and PPR are read-only");
    wr(R_LVT_LINT0, 0x30);
    report(rd(R_LVT_LINT0) == (LVT_MASKED | 0x30), "LVT stays masked while software-disabled");
    wr(R_SVR, 0x1ff);
    report(rd(R_SVR) == 0x1ff, "SVR software enable");
    wr(R_LVT_LINT0, 0xffffffff);
    printf("INFO: LVT LINT0 written all ones reads %#x (SDM: 0x1a7ff)\n", rd(R_LVT_LINT0));
    report((rd(R_LVT_LINT0) & ~(u32)0x5000) == 0x1a7ff, "LVT LINT0 writable bits");
    wr(R_LVT_LINT0, LVT_MASKED);
    wr(R_ICR2, 0xffffffff);
    report(rd(R_ICR2) == 0xff000000, "ICR high: destination bits only");
    wr(R_TDCR, 0xffffffff);
    report(rd(R_TDCR) == 0xb, "divide configuration: bits 0, 1, 3");
    wr(R_TDCR, 0xb);
    wr(R_SVR, 0x0ff);
    report((rd(R_LVT_TIMER) & LVT_MASKED) && (rd(R_LVT_LINT0) & LVT_MASKED),
           "software disable masks the LVTs");
    wr(R_SVR, 0x1ff);
}

static void test_ipi_and_priority(void)
{
    u32 e;

    wr(R_ICR, (1u << 18) | 0x4050);             /* self, fixed, vector 0x50 */
    report(irr(0x50), "self IPI sets IRR");
    report(!(rd(R_ICR) & (1u << 12)), "ICR delivery status idle");
    wr(R_ICR, (1u << 18) | 0x4005);             /* illegal vector */
    e = esr();
    printf("INFO: ESR after a self IPI with vector 5: %#x (SDM 11.5.3 send illegal vector: 0x20)\n", e);
    report(e != 0 && (e & ~0x60u) == 0, "ESR reports the illegal vector");
    report(!irr(0x05), "illegal vector not in IRR");
    report(esr() == 0, "ESR cleared by the next write");
    wr(R_TPR, 0x40);
    report(rd(R_PPR) == 0x40, "PPR follows TPR");
    wr(R_TPR, 0);
}

static void test_timer(void)
{
    u64 t0, t1, ratio1, ratio16;
    u32 c0, c1, prev, wraps = 0;

    /* One-shot, divide by 1: count down, IRR at zero. */
    wr(R_LVT_TIMER, 0x60);
    wr(R_TDCR, 0xb);
    t0 = rdtsc();
    wr(R_TICR, 200000);
    c0 = rd(R_TCCR);
    t1 = wait_irr(0x60, 50000000);
    c1 = rd(R_TCCR);
    report(c0 <= 200000 && c0 > 190000, "one-shot counts down from the initial count");
    report(t1 != 0 && c1 == 0, "one-shot fires and stops at 0");
    ratio1 = t1 ? (t1 - t0) / 200000 : 0;
    printf("INFO: one-shot: %llu TSC ticks per timer tick at divide 1\n", (unsigned long long)ratio1);
    /* Divide by 16. */
    wr(R_LVT_TIMER, 0x61);
    wr(R_TDCR, 0x3);
    t0 = rdtsc();
    wr(R_TICR, 20000);
    t1 = wait_irr(0x61, 50000000);
    ratio16 = t1 ? (t1 - t0) / 20000 : 0;
    printf("INFO: divide 16: %llu TSC ticks per timer tick\n", (unsigned long long)ratio16);
    report(t1 && ratio16 >= 15 * ratio1 && ratio16 <= 17 * ratio1 + 1, "divide by 16 is 16 times slower");
    /* Periodic: the count reloads. */
    wr(R_TDCR, 0xb);
    wr(R_LVT_TIMER, TIMER_PERIODIC | 0x62);
    wr(R_TICR, 5000);
    prev = rd(R_TCCR);
    t0 = rdtsc();
    while (rdtsc() - t0 < 60000) {
        u32 c = rd(R_TCCR);
        if (c > prev)
            wraps++;
        prev = c;
    }
    printf("INFO: periodic 5000 counts: %u reloads in 60000 TSC ticks\n", wraps);
    report(wraps >= 60000 / (5000 * ratio1 + 1) - 1 && wraps <= 60000 / (5000 * ratio1) + 1,
           "periodic reloads at its rate");
    report(irr(0x62), "periodic fires");
    wr(R_TICR, 0);
    report(rd(R_TCCR) == 0, "initial count 0 stops the timer");
}

static void test_tsc_deadline(void)
{
    u64 dl, t;

    if (!(cpuid(1).ecx & (1u << 24))) {
        printf("INFO: no TSC-deadline timer\n");
        return;
    }
    wr(R_LVT_TIMER, TIMER_TSCDL | 0x63);
    wr(R_TICR, 1000);
    report(rd(R_TCCR) == 0, "TSC-deadline mode: current count reads 0");
    dl = rdtsc() + 20000;
    wrmsr(TSC_DEADLINE_MSR, dl);
    report(rdmsr(TSC_DEADLINE_MSR) == dl, "IA32_TSC_DEADLINE reads back");
    t = wait_irr(0x63, 10000000);
    report(t != 0 && t >= dl, "TSC deadline fires, not before the deadline");
    printf("INFO: TSC deadline seen %lld ticks after the deadline (SDM: at it)\n",
           (long long)(t - dl));
    printf("INFO: IA32_TSC_DEADLINE after firing %#llx (SDM: 0)\n",
           (unsigned long long)rdmsr(TSC_DEADLINE_MSR));
    wrmsr(TSC_DEADLINE_MSR, rdtsc() + 1000000);
    wr(R_LVT_TIMER, 0x63);
    report(rdmsr(TSC_DEADLINE_MSR) == 0, "leaving TSC-deadline mode disarms");
}

static void test_x2apic(void)
{
    u64 base = rdmsr(APIC_BASE_MSR), v;

    if (!(cpuid(1).ecx & (1u << 21))) {
        printf("INFO: no x2APIC\n");
        return;
    }
    report(rdmsr_safe(X2APIC_MSR(R_TPR), &v) == 13, "x2APIC MSR in xAPIC mode: #GP");
    report(wrmsr_safe(APIC_BASE_MSR, base | (1ull << 9)) == 13, "IA32_APIC_BASE reserved bit: #GP");
    report(wrmsr_safe(APIC_BASE_MSR, (base & ~BASE_EN) | BASE_EXTD) == 13, "EN=0 EXTD=1: #GP");
    report(wrmsr_safe(APIC_BASE_MSR, base | BASE_EXTD) == -1, "xAPIC -> x2APIC");
    report(rdmsr(X2APIC_MSR(R_ID)) == (cpuid(1).ebx >> 24), "x2APIC ID is the initial APIC ID");
    v = rdmsr(X2APIC_MSR(R_ID));
    printf("INFO: x2APIC LDR %#llx (SDM: %#llx)\n", (unsigned long long)rdmsr(X2APIC_MSR(R_LDR)),
           (unsigned long long)(((v >> 4) << 16) | (1u << (v & 15))));
    report(rdmsr_safe(X2APIC_MSR(R_EOI), &v) == 13, "x2APIC EOI read: #GP");
    report(rdmsr_safe(X2APIC_MSR(R_DFR), &v) == 13, "x2APIC DFR: #GP");
    report(wrmsr_safe(X2APIC_MSR(R_LDR), 0) == 13, "x2APIC LDR write: #GP");
    report(wrmsr_safe(X2APIC_MSR(R_ID), 0) == 13, "x2APIC ID write: #GP");
    report(wrmsr_safe(X2APIC_MSR(R_TPR), 0x100) == 13, "x2APIC TPR reserved bits: #GP");
    report(wrmsr_safe(X2APIC_MSR(R_EOI), 1) == 13, "x2APIC EOI non-zero: #GP");
    report(wrmsr_safe(X2APIC_MSR(R_SELF_IPI), 0x70) == -1 && (rdmsr(X2APIC_MSR(R_IRR + 0x30)) & (1u << 16)),
           "x2APIC SELF IPI sets IRR");
    report(wrmsr_safe(X2APIC_MSR(R_ICR), (1ull << 18) | 0x4071) == -1 &&
           (rdmsr(X2APIC_MSR(R_IRR + 0x30)) & (1u << 17)), "x2APIC ICR self IPI");
    report(wrmsr_safe(APIC_BASE_MSR, base & ~BASE_EXTD) == 13, "x2APIC -> xAPIC: #GP");
    report(wrmsr_safe(APIC_BASE_MSR, base & ~(BASE_EN | BASE_EXTD)) == -1, "x2APIC -> disabled");
    printf("INFO: disabled -> x2APIC: vector %d (SDM: #GP, 13)\n",
           wrmsr_safe(APIC_BASE_MSR, base | BASE_EXTD));
    report(wrmsr_safe(APIC_BASE_MSR, base) == -1, "disabled -> xAPIC: no fault");
    v = rdmsr(APIC_BASE_MSR);
    printf("INFO: IA32_APIC_BASE after re-enabling: %#llx (SDM: %#llx)\n", (unsigned long long)v,
           (unsigned long long)base);
    if (v & BASE_EN)
        report(rd(R_SVR) == 0xff && rd(R_TPR) == 0, "re-enabled APIC is in its reset state");
}

void guest_main(const struct boot_params *bp)
{
    (void)bp;
    test_reset();
    test_registers();
    test_ipi_and_priority();
    test_timer();
    test_tsc_deadline();
    test_x2apic();
    guest_exit(report_summary() ? 1 : 0);
}
