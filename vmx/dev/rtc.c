/*
 * The CMOS RTC. Facts from the Motorola MC146818A datasheet ("Address
 * map", "Register A-D", "Update cycle", "Interrupts") and the Intel PIIX4
 * datasheet (RTC registers, NMI enable in port 0x70 bit 7). The NVRAM
 * layout is the IBM PC/AT one BIOSes and OSes read.
 *
 * Time is derived, not stepped: the 32.768 kHz divider chain started at
 * div_base_tsc; a second ends (an update cycle) every tsc_hz TSC cycles
 * from there, and the periodic interrupt fires every 2^(RS-1) chain
 * ticks. The time registers are regenerated from "seconds since 1970"
 * whenever they are read, in the format register B asks for. While SET
 * is 1 they are plain bytes the guest writes; clearing SET starts the
 * clock from them. Flags (register C) are brought up to date lazily on
 * every access and when the platform calls rtc_update at a deadline;
 * if several updates passed unseen, the alarm is compared at the last.
 */
#include "vmx/dev/rtc.h"
#include "vmx/dev/calendar.h"
#include "vmx/dev/timebase.h"

#define REG_SEC             0x00
#define REG_SEC_ALARM       0x01
#define REG_MIN             0x02
#define REG_MIN_ALARM       0x03
#define REG_HOUR            0x04
#define REG_HOUR_ALARM      0x05
#define REG_WDAY            0x06
#define REG_DAY             0x07
#define REG_MONTH           0x08
#define REG_YEAR            0x09
#define REG_A               0x0a
#define REG_B               0x0b
#define REG_C               0x0c
#define REG_D               0x0d
/* NVRAM (IBM PC/AT layout) */
#define NV_FLOPPY           0x10
#define NV_DISK             0x12
#define NV_EQUIPMENT        0x14
#define NV_BASE_KB          0x15    /* 0x15-0x16: conventional memory, KB */
#define NV_EXT_KB           0x17    /* 0x17-0x18: memory above 1 MiB, KB */
#define NV_CHECKSUM         0x2e    /* 0x2e-0x2f: sum of 0x10-0x2d, MSB first */
#define NV_EXT_KB2          0x30    /* 0x30-0x31: the same, as POST found it */
#define NV_CENTURY          0x32
#define NV_HIGH_64K         0x34    /* 0x34-0x35: memory above 16 MiB, 64 KiB */
/* Register A */
#define A_UIP               0x80    /* update in progress (read-only) */
#define A_DV_RESET          0x60    /* DV 11x: divider chain held in reset */
#define A_RS                0x0f    /* periodic rate select */
#define A_RESET_VALUE       0x26    /* DV 010 (32.768 kHz), RS 0110 (1024 Hz) */
/* Register B */
#define B_SET               0x80
#define B_PIE               0x40
#define B_AIE               0x20
#define B_UIE               0x10
#define B_SQWE              0x08    /* no SQW pin: stored only */
#define B_DM_BINARY         0x04
#define B_24H               0x02
#define B_DSE               0x01    /* stored only: no DST switching */
#define B_RESET_VALUE       0x02    /* BCD, 24-hour */
/* Register C */
#define C_IRQF              0x80
#define C_PF                0x40
#define C_AF                0x20
#define C_UF                0x10
/* Register D */
#define D_VRT               0x80    /* valid RAM and time */
#define HOUR_PM             0x80    /* 12-hour mode */
#define ALARM_DONT_CARE     0xc0
#define RTC_HZ              32768
#define UIP_USEC            244     /* UIP rises this long before an update */
#define FLOATING_BUS        0xff

static u64 tsc_hz(const struct rtc *r)
{
    return (u64)r->tsc_khz * 1000;
}

static bool running(const struct rtc *r)
{
    return (r->cmos[REG_A] & A_DV_RESET) != A_DV_RESET;
}

static bool set_mode(const struct rtc *r)
{
    return r->cmos[REG_B] & B_SET;
}

static u64 chain_tsc(const struct rtc *r, u64 now)
{
    return now > r->div_base_tsc ? now - r->div_base_tsc : 0;
}

/* Update cycles since the divider chain started. */
static u64 sec_idx(const struct rtc *r, u64 now)
{
    return chain_tsc(r, now) / tsc_hz(r);
}

/* log2 of the periodic interval in 32.768 kHz ticks (RS 1, 2 = RS 8, 9). */
static u32 period_shift(const struct rtc *r)
{
    u32 rs = r->cmos[REG_A] & A_RS;
    return (rs <= 2 ? rs + 7 : rs) - 1;
}

static u64 period_idx(const struct rtc *r, u64 now)
{
    return dev_tsc_to_ticks(chain_tsc(r, now), RTC_HZ, r->tsc_khz) >> period_shift(r);
}

u64 rtc_time(struct rtc *r, u64 now)
{
    if (!running(r))
        return r->base_secs;
    return r->base_secs + sec_idx(r, now) - r->base_idx;
}

static u8 enc(const struct rtc *r, u32 v)
{
    if (r->cmos[REG_B] & B_DM_BINARY)
        return (u8)v;
    return (u8)((v / 10 % 10) << 4 | v % 10);
}

static u32 dec(const struct rtc *r, u8 v)
{
    if (r->cmos[REG_B] & B_DM_BINARY)
        return v;
    return (v >> 4) * 10 + (v & 0xf);
}

/* Write the time registers from the clock (not while SET holds them). */
static void regen(struct rtc *r, u64 now)
{
    struct cal_time t;

    if (set_mode(r))
        return;
    cal_from_epoch(rtc_time(r, now), &t);
    r->cmos[REG_SEC] = enc(r, t.sec);
    r->cmos[REG_MIN] = enc(r, t.min);
    if (r->cmos[REG_B] & B_24H)
        r->cmos[REG_HOUR] = enc(r, t.hour);
    else
        r->cmos[REG_HOUR] = enc(r, t.hour % 12 ? t.hour % 12 : 12) |
                            (t.hour >= 12 ? HOUR_PM : 0);
    r->cmos[REG_WDAY] = enc(r, t.wday);
    r->cmos[REG_DAY] = enc(r, t.day);
    r->cmos[REG_MONTH] = enc(r, t.month);
    r->cmos[REG_YEAR] = enc(r, t.year % 100);
    r->cmos[NV_CENTURY] = enc(r, t.year / 100 % 100);
}

/* The time the registers hold (whatever the guest wrote into them). */
static u64 parse(const struct rtc *r)
{
    struct cal_time t;
    u8 h = r->cmos[REG_HOUR];

    t.sec = dec(r, r->cmos[REG_SEC]);
    t.min = dec(r, r->cmos[REG_MIN]);
    if (r->cmos[REG_B] & B_24H)
        t.hour = dec(r, h);
    else
        t.hour = dec(r, h & ~HOUR_PM) % 12 + (h & HOUR_PM ? 12 : 0);
    t.day = dec(r, r->cmos[REG_DAY]);
    t.month = dec(r, r->cmos[REG_MONTH]);
    t.year = dec(r, r->cmos[NV_CENTURY]) * 100 + dec(r, r->cmos[REG_YEAR]);
    return cal_to_epoch(&t);
}

/* Restart the clock from the registers, keeping the divider phase. */
static void set_time_from_regs(struct rtc *r, u64 now)
{
    r->base_secs = parse(r);
    r->base_idx = sec_idx(r, now);
    r->last_idx = r->base_idx;
}

static bool alarm_field(const struct rtc *r, u32 reg)
{
    u8 a = r->cmos[reg + 1];
    return (a & ALARM_DONT_CARE) == ALARM_DONT_CARE || a == r->cmos[reg];
}

static void set_line(struct rtc *r)
{
    u8 b = r->cmos[REG_B], c = r->cmos[REG_C];
    bool irqf = (c & C_PF && b & B_PIE) || (c & C_AF && b & B_AIE) ||
                (c & C_UF && b & B_UIE);

    if (irqf != r->irq_level) {
        r->irq_level = irqf;
        irq_line_set(&r->irq, irqf);
    }
}

void rtc_update(struct rtc *r, u64 now)
{
    if (running(r)) {
        u64 idx = sec_idx(r, now);
        if (idx != r->last_idx) {
            r->last_idx = idx;
            if (!set_mode(r)) {
                regen(r, now);
                r->cmos[REG_C] |= C_UF;
                if (alarm_field(r, REG_SEC) && alarm_field(r, REG_MIN) &&
                    alarm_field(r, REG_HOUR))
                    r->cmos[REG_C] |= C_AF;
            }
        }
        if (r->cmos[REG_A] & A_RS) {
            u64 p = period_idx(r, now);
            if (p != r->last_period) {
                r->last_period = p;
                r->cmos[REG_C] |= C_PF;     /* set whatever PIE says */
            }
        }
    }
    set_line(r);
}

u64 rtc_next_deadline(struct rtc *r, u64 now)
{
    u64 dl = DEV_NO_DEADLINE;

    rtc_update(r, now);
    if (r->irq_level || !running(r))
        return DEV_NO_DEADLINE;
    if ((r->cmos[REG_B] & B_PIE) && (r->cmos[REG_A] & A_RS)) {
        u64 tick = (period_idx(r, now) + 1) << period_shift(r);
        dl = r->div_base_tsc + dev_ticks_to_tsc(tick, RTC_HZ, r->tsc_khz);
    }
    if ((r->cmos[REG_B] & (B_UIE | B_AIE)) && !set_mode(r))
        dl = MIN(dl, r->div_base_tsc + (sec_idx(r, now) + 1) * tsc_hz(r));
    return dl;
}

static bool uip(const struct rtc *r, u64 now)
{
    u64 window = (u64)r->tsc_khz * UIP_USEC / 1000;

    if (!running(r) || set_mode(r))
        return false;
    return chain_tsc(r, now) % tsc_hz(r) >= tsc_hz(r) - window;
}

static void write_a(struct rtc *r, u8 v, u64 now)
{
    bool was_running = running(r);

    if (was_running)
        r->base_secs = rtc_time(r, now);    /* freeze, or re-base below */
    r->cmos[REG_A] = v & ~A_UIP;
    if (!running(r))
        return;
    if (!was_running) {
        /* leaving divider reset: the first update comes 500 ms later */
        u64 half = tsc_hz(r) / 2;
        r->div_base_tsc = now >= half ? now - half : 0;
    }
    r->base_idx = sec_idx(r, now);
    r->last_idx = r->base_idx;
    r->last_period = period_idx(r, now);
}

static void write_b(struct rtc *r, u8 v, u64 now)
{
    bool was_set = set_mode(r);

    if (v & B_SET)
        v &= ~B_UIE;            /* MC146818A: SET clears UIE */
    if (!was_set)
        regen(r, now);
    r->cmos[REG_B] = v;
    if (was_set && !(v & B_SET))
        set_time_from_regs(r, now);
}

static bool is_time_reg(u32 i)
{
    return i == REG_SEC || i == REG_MIN || i == REG_HOUR ||
           (i >= REG_WDAY && i <= REG_YEAR) || i == NV_CENTURY;
}

static u8 read8(struct rtc *r, u16 port, u64 now)
{
    u8 i = r->index, v;

    if (port != RTC_PORT_DATA)
        return FLOATING_BUS;    /* 0x70 is write-only */
    if (is_time_reg(i))
        regen(r, now);
    switch (i) {
    case REG_A:
        return (r->cmos[REG_A] & ~A_UIP) | (uip(r, now) ? A_UIP : 0);
    case REG_C:
        v = r->cmos[REG_C] | (r->irq_level ? C_IRQF : 0);
        r->cmos[REG_C] = 0;
        set_line(r);
        return v;
    case REG_D:
        return D_VRT;
    }
    return r->cmos[i];
}

static void write8(struct rtc *r, u16 port, u8 v, u64 now)
{
    if (port == RTC_PORT_INDEX) {
        r->index = v & 0x7f;
        r->nmi_disabled = v & 0x80;
        return;
    }
    if (port != RTC_PORT_DATA)
        return;
    switch (r->index) {
    case REG_A:
        write_a(r, v, now);
        return;
    case REG_B:
        write_b(r, v, now);
        return;
    case REG_C:
    case REG_D:
        return;                 /* read-only */
    }
    if (is_time_reg(r->index) && !set_mode(r)) {
        regen(r, now);
        r->cmos[r->index] = v;
        if (running(r))
            set_time_from_regs(r, now);
        else
            r->base_secs = parse(r);
        return;
    }
    r->cmos[r->index] = v;
}

u32 rtc_io_read(struct rtc *r, u16 port, u32 size, u64 now)
{
    u32 val = 0;

    rtc_update(r, now);
    for (u32 i = 0; i < size && i < 4; i++)
        val |= (u32)read8(r, (u16)(port + i), now) << (8 * i);
    return val;
}

void rtc_io_write(struct rtc *r, u16 port, u32 size, u32 val, u64 now)
{
    rtc_update(r, now);
    for (u32 i = 0; i < size && i < 4; i++)
        write8(r, (u16)(port + i), (u8)(val >> (8 * i)), now);
    rtc_update(r, now);
}

static void put16(struct rtc *r, u32 at, u64 v)
{
    v = MIN(v, 0xffff);
    r->cmos[at] = (u8)v;
    r->cmos[at + 1] = (u8)(v >> 8);
}

void rtc_reset(struct rtc *r, const struct irq_line *irq8, const struct rtc_config *cfg, u64 now)
{
    const u64 mib = 1ULL << 20;
    u64 ram = cfg->ram_below_4g;
    u32 sum = 0;

    *r = (struct rtc){ 0 };
    if (irq8)
        r->irq = *irq8;
    r->tsc_khz = cfg->tsc_khz ? cfg->tsc_khz : 1;
    r->div_base_tsc = now;
    r->base_secs = cfg->epoch;
    r->cmos[REG_A] = A_RESET_VALUE;
    r->cmos[REG_B] = B_RESET_VALUE;
    r->cmos[NV_FLOPPY] = 0;
    r->cmos[NV_DISK] = 0;
    r->cmos[NV_EQUIPMENT] = cfg->equipment;
    put16(r, NV_BASE_KB, MIN(ram / 1024, 640));
    put16(r, NV_EXT_KB, ram > mib ? (ram - mib) / 1024 : 0);
    put16(r, NV_EXT_KB2, ram > mib ? (ram - mib) / 1024 : 0);
    put16(r, NV_HIGH_64K, ram > 16 * mib ? (ram - 16 * mib) >> 16 : 0);
    for (u32 i = NV_FLOPPY; i < NV_CHECKSUM; i++)
        sum += r->cmos[i];
    r->cmos[NV_CHECKSUM] = (u8)(sum >> 8);
    r->cmos[NV_CHECKSUM + 1] = (u8)sum;
    regen(r, now);
}
