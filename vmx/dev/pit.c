/*
 * The 8254 PIT. Facts from the Intel 8254 datasheet (order 231164):
 * "Control word format", "Counter latch command", "Read-back command",
 * "Mode definitions" (modes 0-5), and from the PIIX4 datasheet for port
 * 0x61 (NMI status and control register).
 *
 * A channel is evaluated, never stepped: d ticks after its counting element
 * (CE) was loaded with count N, each mode's count and OUT are closed-form in
 * d (mode_eval). "Loaded" is one clock after the count write, as in the
 * datasheet's timing diagrams (so mode 0's OUT rises N+1 clocks after the
 * write). For IRQ 0 the line follows OUT0 up to a detail: every rising edge
 * of OUT0 (terminal count in modes 0/1, each period in modes 2/3, after the
 * strobe in modes 4/5) is signalled as a low-high pulse that leaves the line
 * high, so an edge-triggered PIC or IOAPIC input latches exactly one
 * request per edge however late the platform calls in; edges that passed
 * between two calls are coalesced into one, as a real PIC would lose them.
 */
#include "vmx/dev/pit.h"
#include "vmx/dev/timebase.h"

/* Control word (port 0x43) */
#define CW_SC(v)            (((v) >> 6) & 3)    /* select counter */
#define CW_SC_READ_BACK     3
#define CW_RW(v)            (((v) >> 4) & 3)    /* read/write access */
#define CW_RW_LATCH         0                   /* counter latch command */
#define CW_RW_LSB           1
#define CW_RW_MSB           2
#define CW_RW_LSB_MSB       3
#define CW_MODE(v)          (((v) >> 1) & 7)
#define CW_BCD              0x01
/* Read-back command: 11 COUNT# STATUS# CNT2 CNT1 CNT0 0 */
#define RB_NO_COUNT         0x20
#define RB_NO_STATUS        0x10
#define RB_CHANNEL(i)       (0x02 << (i))
/* Status byte */
#define ST_OUT              0x80
#define ST_NULL_COUNT       0x40
/* Port 0x61 */
#define NMI_SC_GATE2        0x01    /* TIM_CNT2_EN */
#define NMI_SC_SPKR         0x02    /* SPKR_DAT_EN */
#define NMI_SC_WRITABLE     0x0f    /* also PCI SERR# and IOCHK# enables */
#define NMI_SC_REFRESH      0x10    /* REF_TOGGLE */
#define NMI_SC_OUT2         0x20
/* The refresh request toggles every 15.085 us, 18 PIT clocks (the count
 * BIOSes gave channel 1 for DRAM refresh). */
#define REFRESH_TICKS       18
#define FLOATING_BUS        0xff

static u64 ticks(const struct pit *p, u64 now)
{
    if (now < p->base_tsc)
        return 0;
    return dev_tsc_to_ticks(now - p->base_tsc, PIT_HZ, p->tsc_khz);
}

static u32 modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 65536;
}

/* Ticks counted at tick t, for a running channel. */
static u64 elapsed(const struct pit_channel *c, u64 t)
{
    if (c->frozen)
        return c->frozen_d;
    return t > c->load_tick ? t - c->load_tick : 0;
}

/* Count and OUT d ticks after the CE was loaded with n (datasheet "Mode
 * definitions"). Counts are reduced modulo 65536 (10000 in BCD); 0 there
 * reads as 0, which the hardware also shows for the full count. */
static void mode_eval(const struct pit_channel *c, u64 d, u32 *count, bool *out)
{
    u32 n = c->n, m = modulus(c);
    u64 p = d % n;

    switch (c->mode) {
    case 0:                     /* interrupt on terminal count */
    case 1:                     /* hardware retriggerable one-shot */
        *out = d >= n;
        *count = (u32)((n + m - d % m) % m);
        break;
    case 2:                     /* rate generator: low for the last clock */
        *out = p != n - 1 || n == 1;
        *count = (u32)(n - p) % m;
        break;
    case 3: {                   /* square wave: high (N+1)/2, low N/2 */
        u64 high = (n + 1) / 2;
        u64 q = p < high ? p : p - high;
        *out = p < high;
        *count = (u32)((n - 2 * q) & 0xfffe) % m;
        break;
    }
    default:                    /* 4, 5: strobe, low for one clock at TC */
        *out = d != n;
        *count = (u32)((n + m - d % m) % m);
        break;
    }
}

/* Rising edges of OUT in the first d ticks after loading. */
static u64 mode_edges(const struct pit_channel *c, u64 d)
{
    switch (c->mode) {
    case 0:
    case 1:
        return d >= c->n;
    case 2:
    case 3:
        return d / c->n;
    default:
        return d >= (u64)c->n + 1;
    }
}

static bool out_at(const struct pit_channel *c, u64 t, u32 *count)
{
    u32 dummy;
    bool out;

    if (!count)
        count = &dummy;
    if (c->state != PIT_RUNNING || t < c->load_tick) {
        *count = c->state == PIT_IDLE ? 0 : c->cr % modulus(c);
        return c->mode != 0;            /* mode 0: low until TC */
    }
    mode_eval(c, elapsed(c, t), count, &out);
    if (c->frozen && (c->mode == 2 || c->mode == 3))
        out = true;                     /* gate low forces OUT high */
    return out;
}

static void set_irq0(struct pit *p, bool level)
{
    if (p->irq0_level == level)
        return;
    p->irq0_level = level;
    irq_line_set(&p->irq0, level);
}

/* Signal channel 0's rising edges up to tick t. */
static void account_edges(struct pit *p, u64 t)
{
    struct pit_channel *c = &p->ch[0];

    if (c->state != PIT_RUNNING || t < c->load_tick)
        return;
    u64 e = mode_edges(c, elapsed(c, t));
    if (e > c->edges) {
        c->edges = e;
        set_irq0(p, false);
        set_irq0(p, true);
    }
}

/* Bring channel i to tick t: a count waiting for the end of the period
 * (modes 2 and 3) is loaded once that end has passed. */
static void sync(struct pit *p, u32 i, u64 t)
{
    struct pit_channel *c = &p->ch[i];

    if (c->pending && !c->frozen && t >= c->pending_tick) {
        if (i == 0)
            account_edges(p, c->pending_tick);
        c->load_tick = c->pending_tick;
        c->n = c->cr;
        c->edges = 0;
        c->pending = false;
    }
    if (i == 0)
        account_edges(p, t);
}

/* (Re)load the CE with the count register one clock after tick t. */
static void start(struct pit_channel *c, u64 t)
{
    c->state = PIT_RUNNING;
    c->n = c->cr;
    c->load_tick = t + 1;
    c->edges = 0;
    c->pending = false;
    c->frozen = false;
    if (!c->gate && c->mode != 1 && c->mode != 5) {
        c->frozen = true;
        c->frozen_d = 0;
    }
}

/* A complete count was written (datasheet: each mode's "new count" rule). */
static void count_written(struct pit_channel *c, u64 t)
{
    switch (c->mode) {
    case 1:
    case 5:                     /* waits for (or the next) gate trigger */
        if (c->state == PIT_IDLE)
            c->state = PIT_WAIT_TRIGGER;
        break;
    case 2:
    case 3:                     /* a running period finishes first */
        if (c->state == PIT_RUNNING && !c->frozen) {
            u64 d = elapsed(c, t);
            c->pending = true;
            c->pending_tick = c->load_tick + (d / c->n + 1) * c->n;
            break;
        }
        start(c, t);
        break;
    default:                    /* 0, 4: restart at once */
        start(c, t);
        break;
    }
}

static void set_gate(struct pit_channel *c, bool gate, u64 t)
{
    if (gate == c->gate)
        return;
    if (c->state == PIT_RUNNING && !gate && c->mode != 1 && c->mode != 5) {
        c->frozen_d = elapsed(c, t);
        c->frozen = true;
    }
    c->gate = gate;
    if (!gate)
        return;
    /* rising edge: 1/5 trigger, 2/3 reload, 0/4 resume */
    if (c->mode == 1 || c->mode == 5 || c->mode == 2 || c->mode == 3) {
        if (c->state != PIT_IDLE)
            start(c, t);
    } else if (c->frozen && c->state == PIT_RUNNING) {
        c->load_tick = t - MIN(t, c->frozen_d);
        c->frozen = false;
    }
}

static u16 to_bcd(u32 v)
{
    return (u16)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

static u32 from_bcd(u32 v)
{
    return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

static u16 read_count(const struct pit_channel *c, u64 t)
{
    u32 count;

    out_at(c, t, &count);
    return c->bcd ? to_bcd(count) : (u16)count;
}

static bool null_count(const struct pit_channel *c, u64 t)
{
    return c->state != PIT_RUNNING || c->pending || t < c->load_tick;
}

static void control_word(struct pit *p, u8 v, u64 t)
{
    if (CW_SC(v) == CW_SC_READ_BACK) {
        for (u32 i = 0; i < PIT_CHANNELS; i++) {
            struct pit_channel *c = &p->ch[i];
            if (!(v & RB_CHANNEL(i)))
                continue;
            if (!(v & RB_NO_COUNT) && !c->latch_left) {
                c->latched = read_count(c, t);
                c->latch_left = c->rw == CW_RW_LSB_MSB ? 2 : 1;
            }
            if (!(v & RB_NO_STATUS) && !c->status_latched) {
                c->status = c->ctrl | (out_at(c, t, NULL) ? ST_OUT : 0) |
                            (null_count(c, t) ? ST_NULL_COUNT : 0);
                c->status_latched = true;
            }
        }
        return;
    }
    struct pit_channel *c = &p->ch[CW_SC(v)];
    if (CW_RW(v) == CW_RW_LATCH) {
        if (!c->latch_left) {       /* a second latch is ignored */
            c->latched = read_count(c, t);
            c->latch_left = c->rw == CW_RW_LSB_MSB ? 2 : 1;
        }
        return;
    }
    c->ctrl = v & 0x3f;
    c->rw = CW_RW(v);
    c->mode = CW_MODE(v) > 5 ? CW_MODE(v) - 4 : CW_MODE(v);
    c->bcd = v & CW_BCD;
    c->state = PIT_IDLE;
    c->pending = false;
    c->frozen = false;
    c->write_msb = false;
    c->read_msb = false;
    c->latch_left = 0;
    c->status_latched = false;
    if (c == &p->ch[0])
        set_irq0(p, c->mode != 0);  /* OUT: low in mode 0, else high */
}

static void write_counter(struct pit_channel *c, u8 v, u64 t)
{
    u32 val;

    switch (c->rw) {
    case CW_RW_LSB:
        val = v;
        break;
    case CW_RW_MSB:
        val = (u32)v << 8;
        break;
    default:
        if (!c->write_msb) {
            c->write_lsb = v;
            c->write_msb = true;
            if (c->mode == 0)       /* the first byte stops mode 0 */
                c->state = PIT_IDLE;
            return;
        }
        c->write_msb = false;
        val = c->write_lsb | (u32)v << 8;
        break;
    }
    if (c->bcd)
        val = from_bcd(val);
    c->cr = val ? val : modulus(c);
    count_written(c, t);
}

static u8 read_counter(struct pit_channel *c, u64 t)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->latch_left) {
        u8 b = c->latched & 0xff;
        if (c->rw == CW_RW_MSB || (c->rw == CW_RW_LSB_MSB && c->latch_left == 1))
            b = c->latched >> 8;
        c->latch_left--;
        return b;
    }
    u16 count = read_count(c, t);
    switch (c->rw) {
    case CW_RW_LSB:
        return count & 0xff;
    case CW_RW_MSB:
        return count >> 8;
    default:
        c->read_msb = !c->read_msb;
        return c->read_msb ? count & 0xff : count >> 8;
    }
}

static u8 read8(struct pit *p, u16 port, u64 t)
{
    if (port >= PIT_PORT_BASE && port < PIT_PORT_BASE + PIT_CHANNELS)
        return read_counter(&p->ch[port - PIT_PORT_BASE], t);
    if (port == PIT_PORT_NMI_SC)
        return (u8)(p->nmi_sc | ((t / REFRESH_TICKS) & 1 ? NMI_SC_REFRESH : 0) |
                    (out_at(&p->ch[2], t, NULL) ? NMI_SC_OUT2 : 0));
    return FLOATING_BUS;    /* including 0x43: the control word is write-only */
}

static void write8(struct pit *p, u16 port, u8 v, u64 t)
{
    if (port >= PIT_PORT_BASE && port < PIT_PORT_BASE + PIT_CHANNELS) {
        write_counter(&p->ch[port - PIT_PORT_BASE], v, t);
    } else if (port == PIT_PORT_CONTROL) {
        control_word(p, v, t);
    } else if (port == PIT_PORT_NMI_SC) {
        p->nmi_sc = v & NMI_SC_WRITABLE;
        set_gate(&p->ch[2], v & NMI_SC_GATE2, t);
    }
}

void pit_reset(struct pit *p, const struct irq_line *irq0, u64 now, u32 tsc_khz)
{
    *p = (struct pit){ 0 };
    if (irq0)
        p->irq0 = *irq0;
    p->base_tsc = now;
    p->tsc_khz = tsc_khz ? tsc_khz : 1;
    for (u32 i = 0; i < PIT_CHANNELS; i++) {
        p->ch[i].gate = i != 2;
        p->ch[i].rw = CW_RW_LSB_MSB;
        p->ch[i].cr = 65536;
    }
}

void pit_update(struct pit *p, u64 now)
{
    u64 t = ticks(p, now);

    for (u32 i = 0; i < PIT_CHANNELS; i++)
        sync(p, i, t);
}

u32 pit_io_read(struct pit *p, u16 port, u32 size, u64 now)
{
    u64 t = ticks(p, now);
    u32 val = 0;

    pit_update(p, now);
    for (u32 i = 0; i < size && i < 4; i++)
        val |= (u32)read8(p, (u16)(port + i), t) << (8 * i);
    return val;
}

void pit_io_write(struct pit *p, u16 port, u32 size, u32 val, u64 now)
{
    u64 t = ticks(p, now);

    pit_update(p, now);
    for (u32 i = 0; i < size && i < 4; i++)
        write8(p, (u16)(port + i), (u8)(val >> (8 * i)), t);
    pit_update(p, now);
}

u64 pit_next_deadline(struct pit *p, u64 now)
{
    struct pit_channel *c = &p->ch[0];
    u64 tick;

    pit_update(p, now);
    if (!p->irq0.set || c->state != PIT_RUNNING || c->frozen)
        return DEV_NO_DEADLINE;
    switch (c->mode) {
    case 0:
    case 1:
        if (c->edges)
            return DEV_NO_DEADLINE;
        tick = c->load_tick + c->n;
        break;
    case 2:
    case 3:
        tick = c->load_tick + (c->edges + 1) * c->n;
        break;
    default:
        if (c->edges)
            return DEV_NO_DEADLINE;
        tick = c->load_tick + c->n + 1;
        break;
    }
    return p->base_tsc + dev_ticks_to_tsc(tick, PIT_HZ, p->tsc_khz);
}
