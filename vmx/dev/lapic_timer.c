/*
 * The LAPIC timer (SDM Vol. 3A 11.5.4): one-shot, periodic and
 * TSC-deadline modes. The count is never stored: it is derived from the
 * TSC at which it was loaded (timer_start), the divide configuration and
 * the platform's ratio of TSC ticks per APIC timer tick, so reading the
 * current count costs one division and the timer needs a wake-up only at
 * its expiry (timer_next). 64-bit arithmetic only: count (2^32) x divisor
 * (2^7) x ratio (2^16) stays below 2^55.
 */
#include "vmx/dev/lapic_priv.h"

/* DCR bits 3,1,0 (11.5.4, figure 11-10): 000 = 2, 001 = 4 ... 110 = 128,
 * 111 = 1. */
static u64 divisor(u32 dcr)
{
    u32 v = (dcr & 3) | ((dcr & 8) >> 1);

    return v == 7 ? 1 : (u64)2 << v;
}

static u64 tick_tsc(const struct lapic *l)
{
    return (u64)l->cfg.tsc_per_tick * divisor(l->s.timer_dcr);
}

static bool periodic(const struct lapic *l)
{
    return (l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE) == APIC_LVT_TIMER_PERIODIC;
}

/* TSC cycles per tick of the count at the current divide configuration. */
u64 lapic_timer_tick_tsc(const struct lapic *l)
{
    return tick_tsc(l);
}

/* Bit 18 selects TSC-deadline mode; mode 3 is reserved (x2APIC writes of
 * it #GP) and, written through the xAPIC page, behaves as TSC-deadline. */
bool lapic_timer_deadline_mode(const struct lapic *l)
{
    return l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_TSCDEADLINE;
}

void lapic_timer_disarm(struct lapic *l)
{
    l->s.timer_next = DEV_NO_DEADLINE;
    l->s.tsc_deadline = 0;
}

/* Initial-count write: (re)starts counting from `val`; 0 stops the timer.
 * Ignored in TSC-deadline mode. */
void lapic_timer_write_icr(struct lapic *l, u64 now, u32 val)
{
    if (lapic_timer_deadline_mode(l))
        return;
    l->s.timer_initial = val;
    l->s.timer_start = now;
    l->s.timer_next = val ? now + (u64)val * tick_tsc(l) : DEV_NO_DEADLINE;
}

/* Ticks counted down since the last load, within the current period. */
static u64 elapsed_ticks(const struct lapic *l, u64 now)
{
    u64 t = (now - l->s.timer_start) / tick_tsc(l);

    if (periodic(l))
        t %= l->s.timer_initial;
    return t;
}

u32 lapic_timer_ccr(const struct lapic *l, u64 now)
{
    u64 t;

    if (lapic_timer_deadline_mode(l) || l->s.timer_next == DEV_NO_DEADLINE ||
        l->s.timer_initial == 0)
        return 0;
    t = elapsed_ticks(l, now);
    return t >= l->s.timer_initial ? 0 : l->s.timer_initial - (u32)t;
}

/* A new divisor takes effect from now: the count keeps its value and
 * continues at the new rate. */
void lapic_timer_write_dcr(struct lapic *l, u64 now, u32 val)
{
    u64 t = 0;
    bool running = !lapic_timer_deadline_mode(l) && l->s.timer_initial &&
                   l->s.timer_next != DEV_NO_DEADLINE;

    if (running)
        t = elapsed_ticks(l, now);
    l->s.timer_dcr = val & APIC_DCR_WRITABLE;
    if (!running)
        return;
    l->s.timer_start = now - t * tick_tsc(l);
    l->s.timer_next = l->s.timer_start + (u64)l->s.timer_initial * tick_tsc(l);
}

void lapic_timer_write_deadline(struct lapic *l, u64 now, u64 val)
{
    if (!lapic_timer_deadline_mode(l))
        return;
    l->s.tsc_deadline = val;
    lapic_advance(l, now);
}

u64 lapic_timer_read_deadline(const struct lapic *l)
{
    return lapic_timer_deadline_mode(l) ? l->s.tsc_deadline : 0;
}

u64 lapic_next_deadline(const struct lapic *l)
{
    if (l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_MASKED)
        return DEV_NO_DEADLINE;
    if (lapic_timer_deadline_mode(l))
        return l->s.tsc_deadline ? l->s.tsc_deadline : DEV_NO_DEADLINE;
    return l->s.timer_next;
}

/*
 * Fires what is due at `now`. A masked timer still counts and expires
 * (so unmasking later does not deliver old expiries); only delivery is
 * suppressed. The TSC-deadline timer disarms itself and clears the MSR.
 */
void lapic_advance(struct lapic *l, u64 now)
{
    if (lapic_timer_deadline_mode(l)) {
        if (l->s.tsc_deadline && now >= l->s.tsc_deadline) {
            l->s.tsc_deadline = 0;
            lapic_deliver_lvt(l, LAPIC_LVT_TIMER);
        }
        return;
    }
    if (l->s.timer_next == DEV_NO_DEADLINE || now < l->s.timer_next)
        return;
    lapic_deliver_lvt(l, LAPIC_LVT_TIMER);
    if (periodic(l) && l->s.timer_initial) {
        u64 period = (u64)l->s.timer_initial * tick_tsc(l);

        l->s.timer_next += ((now - l->s.timer_next) / period + 1) * period;
    } else {
        l->s.timer_next = DEV_NO_DEADLINE;
    }
}
