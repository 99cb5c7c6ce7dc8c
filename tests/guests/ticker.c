/*
 * ticker: a periodic local APIC timer (xAPIC, divide by 1, `period=`
 * timer counts, default 50000) taken through an IDT with EOI while the
 * guest sleeps in `sti; hlt`; it records the TSC of every interrupt and
 * prints "ticker: tick N" every 20. After `ticks=` interrupts (default
 * 200) it reports that no three came within half the period it measured
 * over the first ten. A timer that keeps counting while its interrupt is
 * not taken (hardware, or a guest paused at turtle's console) delivers
 * one late interrupt and then the next on its own phase, which may be
 * close: two, never three; a timer that replayed every period it missed
 * would deliver a burst. It prints the longest gap in periods (a console
 * test expects its pause there). The 8259A is masked: only the APIC
 * timer interrupts.
 */
#include "lib/guest.h"
#include "lib/irq.h"

#define XAPIC_BASE          0xfee00000UL
#define XAPIC_EOI           0xb0
#define XAPIC_SVR           0xf0
#define XAPIC_LVT_TIMER     0x320
#define XAPIC_TIMER_INIT    0x380
#define XAPIC_TIMER_DIV     0x3e0
#define TIMER_VECTOR        0x40
#define LVT_PERIODIC        (1u << 17)
#define LVT_MASKED          (1u << 16)
#define MAX_TICKS           1000
#define CALIBRATE           10

static volatile u32 *const apic = (volatile u32 *)XAPIC_BASE;
static volatile u64 when[MAX_TICKS];
static volatile u32 n_ticks;

static void on_irq(u8 vector)
{
    if (vector != TIMER_VECTOR)
        return;
    if (n_ticks < MAX_TICKS)
        when[n_ticks] = rdtsc();
    n_ticks++;
    apic[XAPIC_EOI / 4] = 0;
}

void guest_main(const struct boot_params *bp)
{
    u64 period = 50000, ticks = 200;

    cmdline_u64(bp->cmdline, "period", &period);
    cmdline_u64(bp->cmdline, "ticks", &ticks);
    if (ticks > MAX_TICKS)
        ticks = MAX_TICKS;
    if (ticks <= CALIBRATE + 1 || !period || period > 0xffffffffu) {
        report(false, "ticker: options ticks=%u..%u, period=1..2^32-1", CALIBRATE + 2, MAX_TICKS);
        guest_exit(1);
    }
    outb(0x21, 0xff);                               /* both 8259As masked */
    outb(0xa1, 0xff);
    irq_init();
    irq_hook = on_irq;
    apic[XAPIC_SVR / 4] = 0x1ff;                    /* software-enabled */
    apic[XAPIC_TIMER_DIV / 4] = 0xb;                /* divide by 1 */
    apic[XAPIC_LVT_TIMER / 4] = TIMER_VECTOR | LVT_PERIODIC;
    apic[XAPIC_TIMER_INIT / 4] = (u32)period;
    printf("ticker: ready\n");
    u32 shown = 0;
    while (n_ticks < ticks) {
        sti_hlt();
        cli();
        for (; shown + 20 <= n_ticks; shown += 20)
            printf("ticker: tick %u\n", shown + 20);
    }
    apic[XAPIC_LVT_TIMER / 4] = LVT_MASKED;

    u64 per = (when[CALIBRATE] - when[0]) / CALIBRATE, min_pair = ~0ull, max_gap = 0;
    for (u32 i = 1; i < ticks; i++) {
        u64 gap = when[i] - when[i - 1];
        max_gap = gap > max_gap ? gap : max_gap;
        if (i >= 2 && when[i] - when[i - 2] < min_pair)
            min_pair = when[i] - when[i - 2];
    }
    printf("ticker: period %lu TSC, shortest two gaps %lu, longest gap %lu periods\n", per, min_pair,
           per ? max_gap / per : 0);
    report(per && min_pair >= per / 2, "no three timer interrupts within half a period (%lu of %lu)",
           min_pair, per);
    guest_exit(report_summary() ? 1 : 0);
}
