/*
 * apic_irq: local APIC interrupts taken through an IDT (RFLAGS.IF=1), the
 * counterpart of lapic.c, which watches IRR with interrupts off. Every
 * handler EOIs. Timer rates are checked against the ACPI PM timer (found
 * through the FADT) and the TSC; the tolerances are in the test names.
 *
 * Modes (command line):
 *   (none)              the suite: one-shot, periodic rate, TSC deadline, TPR
 *                       masking, priority of pending vectors, then a sleep of
 *                       100 timer ticks in `sti; hlt` (under turtle: its exit
 *                       count, VMCALL 4, must be O(100))
 *   sleep=N [period=P]  sleep N ticks of a periodic timer of P TSC
 *                       ticks (default 50000) in `sti; hlt`; every wake-up
 *                       must come within a quarter period of its time
 *                       (under turtle a wake-up may wait for another
 *                       guest's console line, which L0 prints in one go)
 *   flood=ipi [n=N]     N self-IPIs (default 5000), each taken at once
 *   flood=timer [n=N]   a periodic timer of 10 timer ticks (1 us at Bochs's
 *                       10 MHz) until N interrupts (default 2000): the
 *                       handler stops it
 *   garbage             (turtle only) writes garbage to every xAPIC, x2APIC
 *                       and IOAPIC register and MMIO offset and to the PIC,
 *                       PIT and port 0x61, with IF=0, then checks that turtle
 *                       still answers
 */
#include "lib/guest.h"
#include "lib/irq.h"

#define APIC_PAGE       0xfee00000ull
#define IOAPIC_PAGE     0xfec00000ull
#define APIC_BASE_MSR   0x1b
#define TSC_DEADLINE_MSR 0x6e0
#define BASE_EXTD       (1ull << 10)
#define PM_HZ           3579545ull

#define R_TPR       0x80
#define R_EOI       0xb0
#define R_SVR       0xf0
#define R_ISR       0x100
#define R_IRR       0x200
#define R_ICR       0x300
#define R_ICR2      0x310
#define R_LVT_TIMER 0x320
#define R_TICR      0x380
#define R_TCCR      0x390
#define R_TDCR      0x3e0

#define LVT_MASKED      (1u << 16)
#define TIMER_PERIODIC  (1u << 17)
#define TIMER_TSCDL     (2u << 17)
#define ICR_SELF        (1u << 18)      /* destination shorthand "self" */
#define TDCR_DIV1       0xb

#define VEC_ONESHOT     0x40
#define VEC_PERIODIC    0x41
#define VEC_DEADLINE    0x42
#define VEC_TPR         0x45
#define VEC_IPI         0x50
#define VEC_SLEEP       0x60
#define VEC_FLOOD       0x70

static u32 rd(u32 off) { return *(volatile u32 *)(uintptr_t)(APIC_PAGE + off); }
static void wr(u32 off, u32 v) { *(volatile u32 *)(uintptr_t)(APIC_PAGE + off) = v; }
static void eoi_hook(u8 v) { (void)v; wr(R_EOI, 0); }
static bool bit_set(u32 base, u8 v) { return (rd(base + (v >> 5) * 16) >> (v & 31)) & 1; }
static void self_ipi(u8 v) { wr(R_ICR2, 0); wr(R_ICR, ICR_SELF | v); }

static bool isr_clear(void)
{
    for (u32 i = 0; i < 8; i++)
        if (rd(R_ISR + i * 16))
            return false;
    return true;
}

static void timer_stop(void)
{
    wr(R_LVT_TIMER, LVT_MASKED);
    wr(R_TICR, 0);
}

/* ---- the ACPI PM timer, through RSDP -> RSDT -> FADT ---- */
static u16 pm_port;
static u32 pm_mask = 0xffffff;

static u32 inl(u16 port) { u32 v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void pm_find(void)
{
    for (u64 p = 0xe0000; p < 0x100000 && !pm_port; p += 16) {
        const u8 *r = (const u8 *)(uintptr_t)p;
        if (memcmp(r, "RSD PTR ", 8))
            continue;
        const u8 *rsdt = (const u8 *)(uintptr_t)*(const u32 *)(r + 16);
        u32 len = *(const u32 *)(rsdt + 4);
        for (u32 off = 36; off + 4 <= len; off += 4) {
            const u8 *t = (const u8 *)(uintptr_t)*(const u32 *)(rsdt + off);
            if (!memcmp(t, "FACP", 4)) {
                pm_port = (u16)*(const u32 *)(t + 76);
                if (*(const u32 *)(t + 112) & BIT(8))
                    pm_mask = 0xffffffff;
            }
        }
    }
}

static u32 pm_read(void) { return inl(pm_port) & pm_mask; }
static u32 pm_since(u32 start) { return (pm_read() - start) & pm_mask; }

/* Spins with interrupts on until vector v has arrived `want` times or the
 * TSC budget runs out. Returns whether it arrived. */
static bool wait_count(u8 v, u32 want, u64 budget)
{
    u64 t0 = rdtsc();
    bool ok;

    sti();
    while (irq_count[v] < want && rdtsc() - t0 < budget)
        cpu_relax();
    cli();
    ok = irq_count[v] >= want;
    return ok;
}

/* TSC ticks per APIC timer tick at divide 1, from the current count. */
static u64 timer_ratio(void)
{
    wr(R_TDCR, TDCR_DIV1);
    wr(R_LVT_TIMER, LVT_MASKED);
    wr(R_TICR, 0xffffffff);
    u64 t0 = rdtsc();
    u32 c0 = rd(R_TCCR);
    busy_loop(20000);
    u32 c1 = rd(R_TCCR);
    u64 t1 = rdtsc();
    timer_stop();
    return c0 > c1 ? ((t1 - t0) + (c0 - c1) / 2) / (c0 - c1) : 0;
}

static u64 ratio;

static void test_oneshot(void)
{
    const u32 count = 50000;

    irq_reset();
    wr(R_TDCR, TDCR_DIV1);
    wr(R_LVT_TIMER, VEC_ONESHOT);
    u64 t0 = rdtsc();
    wr(R_TICR, count);
    bool got = wait_count(VEC_ONESHOT, 1, 40 * count * ratio);
    u64 late = irq_last_tsc - t0;
    report(got && isr_clear(), "one-shot timer: interrupt taken through the IDT, EOI clears ISR");
    printf("INFO: one-shot of %u ticks delivered after %llu TSC ticks\n", count, (unsigned long long)late);
    report(got && late >= count * ratio && late <= count * ratio * 11 / 10,
           "one-shot timer: not before its count, within 10%% after it");
    wait_count(VEC_ONESHOT, 2, 3 * count * ratio);
    report(irq_count[VEC_ONESHOT] == 1 && rd(R_TCCR) == 0, "one-shot timer: fires once");
    timer_stop();
}

static void test_periodic(void)
{
    const u32 period = 20000, n = 20;
    u32 pm0 = 0, pm1;
    u64 tsc0 = 0, tsc1;

    /* The timer's own rate against the PM timer: a countdown over ~10 ms. */
    wr(R_TDCR, TDCR_DIV1);
    wr(R_LVT_TIMER, LVT_MASKED);
    wr(R_TICR, 0xffffffff);
    u32 c0 = rd(R_TCCR), p0 = pm_read();
    while (pm_since(p0) < PM_HZ / 100)
        ;
    u32 c1 = rd(R_TCCR), dp = pm_since(p0);
    u64 timer_hz = (u64)(c0 - c1) * PM_HZ / dp;
    printf("INFO: APIC timer %llu Hz (against the PM timer)\n", (unsigned long long)timer_hz);
    timer_stop();

    irq_reset();
    wr(R_LVT_TIMER, TIMER_PERIODIC | VEC_PERIODIC);
    wr(R_TICR, period);
    /* From the first interrupt to the (n+1)-th: n periods. */
    bool got = wait_count(VEC_PERIODIC, 1, 40ull * period * ratio);
    if (got) {
        pm0 = pm_read();
        tsc0 = irq_last_tsc;
    }
    got = got && wait_count(VEC_PERIODIC, n + 1, 40ull * n * period * ratio);
    pm1 = pm_read();
    tsc1 = irq_last_tsc;
    timer_stop();
    u64 want_pm = (u64)n * period * PM_HZ / (timer_hz ? timer_hz : 1);
    u64 got_pm = (pm1 - pm0) & pm_mask;
    printf("INFO: %u periods of %u: %llu PM ticks (expected %llu), %llu TSC ticks\n", n, period,
           (unsigned long long)got_pm, (unsigned long long)want_pm, (unsigned long long)(tsc1 - tsc0));
    report(got && isr_clear(), "periodic timer: %u interrupts taken", n + 1);
    report(got && got_pm * 100 >= want_pm * 95 && got_pm * 100 <= want_pm * 105,
           "periodic timer: rate against the PM timer within 5%%");
    u64 want_tsc = (u64)n * period * ratio;
    report(got && (tsc1 - tsc0) * 100 >= want_tsc * 98 && (tsc1 - tsc0) * 100 <= want_tsc * 102,
           "periodic timer: %u periods take %u counts of TSC within 2%%", n, n * period);
}

static void test_deadline(void)
{
    const u64 delta = 100000, tolerance = 5000;

    if (!(cpuid(1).ecx & (1u << 24))) {
        report(false, "TSC-deadline timer advertised");
        return;
    }
    irq_reset();
    wr(R_LVT_TIMER, TIMER_TSCDL | VEC_DEADLINE);
    u64 dl = rdtsc() + delta;
    wrmsr(TSC_DEADLINE_MSR, dl);
    bool got = wait_count(VEC_DEADLINE, 1, 20 * delta);
    s64 late = (s64)(irq_last_tsc - dl);
    printf("INFO: TSC deadline taken %lld TSC ticks after the deadline\n", (long long)late);
    report(got && isr_clear(), "TSC-deadline timer: interrupt taken, EOI clears ISR");
    report(got && late >= 0 && (u64)late <= tolerance,
           "TSC-deadline timer: fires at the deadline + 0..%llu TSC ticks", (unsigned long long)tolerance);
    wait_count(VEC_DEADLINE, 2, 2 * delta);
    report(irq_count[VEC_DEADLINE] == 1, "TSC-deadline timer: fires once");
    timer_stop();
}

static void test_tpr(void)
{
    const u32 count = 20000;

    irq_reset();
    wr(R_TPR, 0x50);                    /* class 5 blocks class 4 (0x45) */
    wr(R_LVT_TIMER, VEC_TPR);
    wr(R_TICR, count);
    wait_count(VEC_TPR, 1, 4 * count * ratio);
    report(irq_count[VEC_TPR] == 0 && bit_set(R_IRR, VEC_TPR),
           "TPR 0x50 holds a pending timer vector 0x45 in IRR");
    wr(R_TPR, 0x40);                    /* same class: still blocked */
    wait_count(VEC_TPR, 1, 1000);
    report(irq_count[VEC_TPR] == 0, "TPR 0x40 still holds vector 0x45");
    wr(R_TPR, 0x30);
    bool got = wait_count(VEC_TPR, 1, 100000);
    report(got && irq_count[VEC_TPR] == 1 && !bit_set(R_IRR, VEC_TPR) && isr_clear(),
           "lowering TPR to 0x30 delivers vector 0x45");
    wr(R_TPR, 0);
    timer_stop();
}

static void test_priority(void)
{
    static const u8 sent[] = { 0x61, 0xa1, 0x52, 0x81 };

    irq_reset();
    for (u32 i = 0; i < ARRAY_SIZE(sent); i++)
        self_ipi(sent[i]);
    bool pending = true;
    for (u32 i = 0; i < ARRAY_SIZE(sent); i++)
        pending &= bit_set(R_IRR, sent[i]);
    report(pending && irq_total == 0, "four self-IPIs pending in IRR with IF=0");
    sti();
    busy_loop(1000);
    cli();
    report(irq_total == 4 && irq_log[0] == 0xa1 && irq_log[1] == 0x81 && irq_log[2] == 0x61 &&
           irq_log[3] == 0x52, "pending vectors delivered highest first (%#x %#x %#x %#x)",
           irq_log[0], irq_log[1], irq_log[2], irq_log[3]);
    report(isr_clear(), "ISR clear after their EOIs");
}

/* Sleeps n periodic ticks in `sti; hlt`. Returns the worst lateness of a
 * wake-up (TSC ticks after k * period), or -1 if the ticks did not come. */
static s64 sleep_ticks(u32 n, u32 period, u64 *elapsed)
{
    s64 worst = 0;

    irq_reset();
    wr(R_TDCR, TDCR_DIV1);
    wr(R_LVT_TIMER, TIMER_PERIODIC | VEC_SLEEP);
    u64 t0 = rdtsc();
    wr(R_TICR, period);
    for (u32 k = 1; k <= n; k++) {
        u64 guard = rdtsc();
        while (irq_count[VEC_SLEEP] < k) {
            sti_hlt();
            cli();
            if (rdtsc() - guard > 50ull * period * ratio) {
                timer_stop();
                return -1;
            }
        }
        s64 late = (s64)(irq_last_tsc - t0) - (s64)((u64)k * period * ratio);
        worst = late > worst ? late : worst;
    }
    *elapsed = irq_last_tsc - t0;
    timer_stop();
    return worst;
}

static void test_sleep(void)
{
    const u32 period = 20000, n = 100;
    struct vmcall_regs r0 = { VMCALL_EXIT_COUNT, 0, 0 }, r1 = r0;
    bool turtle = on_turtle();
    u64 elapsed = 0;

    if (turtle)
        vmcall_regs(&r0);
    s64 worst = sleep_ticks(n, period, &elapsed);
    if (turtle)
        vmcall_regs(&r1);
    u64 want = (u64)n * period * ratio;
    printf("INFO: %u ticks of sleep: %llu TSC ticks (expected %llu), worst wake-up %lld late\n", n,
           (unsigned long long)elapsed, (unsigned long long)want, (long long)worst);
    report(worst >= 0 && elapsed * 100 >= want * 98 && elapsed * 100 <= want * 102,
           "sti; hlt sleeps %u timer ticks in %u periods within 2%%", n, n);
    if (turtle) {
        u64 exits = (u64)(r1.rbx - r0.rbx);
        report(exits <= 5ull * n, "turtle sleeping %u ticks in HLT costs at most %u exits (%llu)", n, 5 * n,
               (unsigned long long)exits);
    }
}

/* ---- modes ---- */
static void mode_sleep(const char *cmdline)
{
    u64 n = 50, period = 50000, elapsed = 0;

    cmdline_u64(cmdline, "sleep", &n);
    cmdline_u64(cmdline, "period", &period);
    s64 worst = sleep_ticks((u32)n, (u32)period, &elapsed);
    printf("INFO: slept %llu ticks of %llu: worst wake-up %lld TSC ticks late\n", (unsigned long long)n,
           (unsigned long long)period, (long long)worst);
    report(worst >= 0, "sleeper: %llu timer ticks woke it", (unsigned long long)n);
    report(worst >= 0 && (u64)worst <= period * ratio / 4, "sleeper: every wake-up within a quarter period");
}

static volatile u32 flood_left;

static void flood_timer_hook(u8 v)
{
    if (v == VEC_FLOOD && flood_left && --flood_left == 0)
        timer_stop();
    wr(R_EOI, 0);
}

static void mode_flood(const char *kind, const char *cmdline)
{
    u64 n;

    irq_reset();
    if (!strcmp(kind, "ipi")) {
        n = 5000;
        cmdline_u64(cmdline, "n", &n);
        sti();
        for (u64 i = 0; i < n; i++)
            self_ipi(VEC_FLOOD);
        busy_loop(100);
        cli();
        report(irq_count[VEC_FLOOD] == n, "self-IPI flood: every one of %llu taken (%u)",
               (unsigned long long)n, irq_count[VEC_FLOOD]);
    } else if (!strcmp(kind, "timer")) {
        n = 2000;
        cmdline_u64(cmdline, "n", &n);
        flood_left = (u32)n;
        irq_hook = flood_timer_hook;
        wr(R_TDCR, TDCR_DIV1);
        wr(R_LVT_TIMER, TIMER_PERIODIC | VEC_FLOOD);
        wr(R_TICR, 10);
        u64 t0 = rdtsc();
        sti();
        while (flood_left && rdtsc() - t0 < 1000000000ull)
            cpu_relax();
        cli();
        irq_hook = eoi_hook;
        /* One more may have been pending in IRR when the handler stopped it. */
        u32 got = irq_count[VEC_FLOOD];
        report(flood_left == 0 && got >= n && got <= n + 1, "1 us periodic timer: %llu interrupts taken (%u)",
               (unsigned long long)n, got);
        busy_loop(10000);
        report(irq_count[VEC_FLOOD] == got && rd(R_TICR) == 0, "1 us periodic timer: stopped by its handler");
    } else {
        report(false, "flood=%s is ipi or timer", kind);
    }
    report(isr_clear(), "flood: ISR clear at the end");
}

static u64 garbage_state = 0x9e3779b97f4a7c15ull;

static u64 garbage(void)
{
    garbage_state ^= garbage_state << 13;
    garbage_state ^= garbage_state >> 7;
    garbage_state ^= garbage_state << 17;
    return garbage_state;
}

static void mode_garbage(void)
{
    volatile u8 *apic = (volatile u8 *)(uintptr_t)APIC_PAGE, *io = (volatile u8 *)(uintptr_t)IOAPIC_PAGE;
    volatile u32 sink = 0;
    struct vmcall_regs r0 = { VMCALL_EXIT_COUNT, 0, 0 }, r1 = r0, t = { VMCALL_READ_TIME, 0, 0 };
    static const u16 ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61 };

    if (!report(on_turtle(), "turtle garbage: running under turtle"))
        return;
    vmcall_regs(&r0);
    /* Every offset of the xAPIC page: dword reads and writes, byte writes. */
    for (u32 off = 0; off < 4096; off += 4) {
        sink += *(volatile u32 *)(apic + off);
        *(volatile u32 *)(apic + off) = (u32)garbage();
    }
    for (u32 off = 0; off < 4096; off += 1)
        apic[off] = (u8)garbage();
    /* The IOAPIC: every register through the index window, every offset. */
    for (u32 reg = 0; reg < 256; reg++) {
        *(volatile u32 *)io = reg;
        sink += *(volatile u32 *)(io + 0x10);
        *(volatile u32 *)io = reg;
        *(volatile u32 *)(io + 0x10) = (u32)garbage();
    }
    for (u32 off = 0; off < 4096; off += 4) {
        sink += *(volatile u32 *)(io + off);
        *(volatile u32 *)(io + off) = (u32)garbage();
    }
    /* The legacy ports, many times over (ICW sequences, latches, modes). */
    for (u32 i = 0; i < 4000; i++) {
        u16 p = ports[garbage() % ARRAY_SIZE(ports)];
        if (garbage() & 1)
            outb(p, (u8)garbage());
        else
            sink += inb(p);
    }
    /* x2APIC: every MSR of the range, faults caught. */
    u64 base = rdmsr(APIC_BASE_MSR), v;
    if ((cpuid(1).ecx & (1u << 21)) && wrmsr_safe(APIC_BASE_MSR, base | BASE_EXTD | (1ull << 11)) == -1) {
        for (u32 msr = 0x800; msr < 0x900; msr++) {
            rdmsr_safe(msr, &v);
            wrmsr_safe(msr, garbage());
        }
    }
    vmcall_regs(&r1);
    report(r1.rax == 0 && r1.rbx > r0.rbx + 4096, "turtle garbage: turtle answers VMCALL 4 afterwards (%llu exits)",
           (unsigned long long)(r1.rbx - r0.rbx));
    u64 before = rdtsc();
    report(vmcall_regs(&t) == 0 && (u64)t.rbx >= before, "turtle garbage: turtle answers VMCALL 3 afterwards");
    printf("garbage: done (%u NMIs, %u interrupts taken, sink %#x)\n", irq_count[X86_NMI], irq_total, sink);
}

void guest_main(const struct boot_params *bp)
{
    char kind[16];

    irq_init();
    irq_hook = eoi_hook;
    pm_find();
    /* Nothing but the APIC may interrupt: the PIC is masked. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    wr(R_SVR, 0x1ff);                   /* software-enabled, spurious vector 0xff */
    wr(R_TPR, 0);
    if (cmdline_has_word(bp->cmdline, "garbage")) {
        mode_garbage();
        guest_exit(report_summary() ? 1 : 0);
    }
    ratio = timer_ratio();
    printf("INFO: %llu TSC ticks per APIC timer tick\n", (unsigned long long)ratio);
    if (!report(ratio >= 1 && pm_port, "APIC timer counts; PM timer found")) {
        guest_exit(report_summary() ? 1 : 0);
    }
    if (cmdline_value(bp->cmdline, "flood", kind, sizeof(kind))) {
        mode_flood(kind, bp->cmdline);
    } else if (cmdline_value(bp->cmdline, "sleep", kind, sizeof(kind))) {
        mode_sleep(bp->cmdline);
    } else {
        test_oneshot();
        test_periodic();
        test_deadline();
        test_tpr();
        test_priority();
        test_sleep();
    }
    guest_exit(report_summary() ? 1 : 0);
}
