/*
 * bench: the cost of an L1 round trip to turtle, in TSC cycles.
 *
 * Each figure is the average over ITERATIONS of one operation inside a
 * counted loop, minus the loop's own cost per iteration (measured alone):
 *   BENCH: loop N     the empty loop, per iteration
 *   BENCH: cpuid N    CPUID leaf 0 (always exits under turtle)
 *   BENCH: outb N     OUT to port 0x80 (exits under turtle: an open-bus port)
 *   BENCH: rdmsr N    RDMSR IA32_EFER (exits under turtle; a plain RDMSR on
 *                     bare hardware)
 *   BENCH: vmcall N   turtle only: VMCALL 3 (read time), the cheapest call
 *   BENCH: xapic_read N   MOV from the xAPIC version register (MMIO,
 *                     emulated under turtle)
 *   BENCH: xapic_write N  MOV to the xAPIC TPR (MMIO)
 *   BENCH: lapic_timer_irq N  one-shot LAPIC timer (count 1) to its handler
 *                     and the EOI, per interrupt (loop cost not subtracted:
 *                     each iteration waits for the interrupt)
 *   BENCH: idle_exits_per_sec N  turtle only: VM exits per second of
 *                     virtual time while the guest sleeps in HLT, woken
 *                     by a 100 Hz LAPIC timer (the rate from CPUID 0x15)
 *   BENCH: x2apic_rdmsr N RDMSR of the x2APIC version register (0x803),
 *                     after switching the APIC to x2APIC mode (last: it
 *                     stays there)
 * On Bochs the TSC advances by one per emulated instruction, so the figures
 * are deterministic instruction counts (docs/benchmarks.md). No tests:
 * "SUMMARY: 0 tests, 0 failures", exit status 0.
 */
#include "lib/guest.h"
#include "lib/irq.h"

#define ITERATIONS          1000
#define BENCH_PORT          0x80
#define XAPIC_BASE          0xfee00000UL
#define XAPIC_VERSION       0x30
#define XAPIC_TPR           0x80
#define MSR_APIC_BASE       0x1b
#define APIC_BASE_EXTD      (1u << 10)
#define X2APIC_VERSION_MSR  0x803
#define XAPIC_EOI           0xb0
#define XAPIC_SVR           0xf0
#define XAPIC_LVT_TIMER     0x320
#define XAPIC_TIMER_INIT    0x380
#define XAPIC_TIMER_DIV     0x3e0
#define TIMER_VECTOR        0x40
#define LVT_PERIODIC        (1u << 17)
#define LVT_MASKED          (1u << 16)
#define IRQ_ITERATIONS      100
#define IDLE_TICKS          20

static volatile u32 *const apic = (volatile u32 *)XAPIC_BASE;

static void eoi(u8 vector)
{
    (void)vector;
    apic[XAPIC_EOI / 4] = 0;
}

static u64 exit_count(void)
{
    long a = VMCALL_EXIT_COUNT, b = 0, c = 0;
    __asm__ __volatile__("vmcall" : "+a"(a), "+b"(b), "+c"(c) :: "memory");
    return (u64)b;
}

/* The LAPIC timer as an interrupt source: one-shot count 1 (divide by 1),
 * from the write of the count to the handler's EOI. */
static void timer_benchmarks(void)
{
    irq_init();
    irq_hook = eoi;
    apic[XAPIC_SVR / 4] = 0x1ff;                    /* software-enabled */
    apic[XAPIC_TIMER_DIV / 4] = 0xb;                /* divide by 1 */
    apic[XAPIC_LVT_TIMER / 4] = TIMER_VECTOR;       /* one-shot */
    u64 t0 = rdtsc();
    for (u32 i = 0; i < IRQ_ITERATIONS; i++) {
        u32 before = irq_count[TIMER_VECTOR];
        apic[XAPIC_TIMER_INIT / 4] = 1;
        sti();
        while (irq_count[TIMER_VECTOR] == before)
            ;
        cli();
    }
    printf("BENCH: lapic_timer_irq %lu\n", (unsigned long)((rdtsc() - t0) / IRQ_ITERATIONS));

    if (on_turtle() && cpuid(0).eax >= 0x15 && cpuid(0x15).ecx) {
        u64 crystal_hz = cpuid(0x15).ecx, period = crystal_hz / 100;    /* 100 Hz */
        apic[XAPIC_LVT_TIMER / 4] = TIMER_VECTOR | LVT_PERIODIC;
        apic[XAPIC_TIMER_INIT / 4] = (u32)period;
        u32 start = irq_count[TIMER_VECTOR];
        u64 e0 = exit_count();
        while (irq_count[TIMER_VECTOR] - start < IDLE_TICKS)
            sti_hlt();
        cli();
        u64 exits = exit_count() - e0;
        apic[XAPIC_LVT_TIMER / 4] = LVT_MASKED;
        printf("BENCH: idle_exits_per_sec %lu\n", (unsigned long)(exits * 100 / IDLE_TICKS));
    }
    apic[XAPIC_LVT_TIMER / 4] = LVT_MASKED;
}

/* One timed loop: `body` is an asm statement run ITERATIONS times. */
#define TIMED_LOOP(result, ...)                                         \
    do {                                                                \
        u64 t0_ = rdtsc();                                              \
        for (unsigned i_ = 0; i_ < ITERATIONS; i_++) {                  \
            __VA_ARGS__;                                                \
        }                                                               \
        (result) = rdtsc() - t0_;                                       \
    } while (0)

static u64 per_op(u64 total, u64 loop_total)
{
    u64 net = total > loop_total ? total - loop_total : 0;
    return (net + ITERATIONS / 2) / ITERATIONS;
}

void guest_main(const struct boot_params *bp)
{
    u64 loop, t;
    (void)bp;

    printf("bench: %s, %u iterations each\n", on_turtle() ? "on turtle" : "bare", ITERATIONS);
    TIMED_LOOP(loop, __asm__ __volatile__("" ::: "memory"));
    printf("BENCH: loop %lu\n", (unsigned long)((loop + ITERATIONS / 2) / ITERATIONS));

    TIMED_LOOP(t, {
        u32 a = 0, b, c = 0, d;
        __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) :: "memory");
    });
    printf("BENCH: cpuid %lu\n", (unsigned long)per_op(t, loop));

    TIMED_LOOP(t, __asm__ __volatile__("outb %%al, %0" :: "i"(BENCH_PORT), "a"(0) : "memory"));
    printf("BENCH: outb %lu\n", (unsigned long)per_op(t, loop));

    TIMED_LOOP(t, {
        u32 lo, hi;
        __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_IA32_EFER) : "memory");
    });
    printf("BENCH: rdmsr %lu\n", (unsigned long)per_op(t, loop));

    timer_benchmarks();
    TIMED_LOOP(t, (void)apic[XAPIC_VERSION / 4]);
    printf("BENCH: xapic_read %lu\n", (unsigned long)per_op(t, loop));
    TIMED_LOOP(t, apic[XAPIC_TPR / 4] = 0);
    printf("BENCH: xapic_write %lu\n", (unsigned long)per_op(t, loop));
    {
        u32 lo, hi;
        __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_APIC_BASE));
        lo |= APIC_BASE_EXTD;
        __asm__ __volatile__("wrmsr" :: "a"(lo), "d"(hi), "c"(MSR_APIC_BASE) : "memory");
    }
    TIMED_LOOP(t, {
        u32 lo, hi;
        __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(X2APIC_VERSION_MSR) : "memory");
    });
    printf("BENCH: x2apic_rdmsr %lu\n", (unsigned long)per_op(t, loop));

    if (on_turtle()) {
        TIMED_LOOP(t, {
            long a = VMCALL_READ_TIME, b = 0, c = 0;
            __asm__ __volatile__("vmcall" : "+a"(a), "+b"(b), "+c"(c) :: "memory");
        });
        printf("BENCH: vmcall %lu\n", (unsigned long)per_op(t, loop));
    }
}
