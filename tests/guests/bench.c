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
 *   BENCH: x2apic_rdmsr N RDMSR of the x2APIC version register (0x803),
 *                     after switching the APIC to x2APIC mode (last: it
 *                     stays there)
 * On Bochs the TSC advances by one per emulated instruction, so the figures
 * are deterministic instruction counts (docs/benchmarks.md). No tests:
 * "SUMMARY: 0 tests, 0 failures", exit status 0.
 */
#include "lib/guest.h"

#define ITERATIONS          1000
#define BENCH_PORT          0x80
#define XAPIC_BASE          0xfee00000UL
#define XAPIC_VERSION       0x30
#define XAPIC_TPR           0x80
#define MSR_APIC_BASE       0x1b
#define APIC_BASE_EXTD      (1u << 10)
#define X2APIC_VERSION_MSR  0x803

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

    volatile u32 *apic = (volatile u32 *)XAPIC_BASE;
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
