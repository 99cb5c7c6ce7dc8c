/*
 * Host unit test of the CMOS RTC model, vmx/dev/rtc.c, and the calendar,
 * vmx/dev/calendar.c (checked against the C library's gmtime): the time
 * from a fixed epoch in BCD and binary, 24- and 12-hour modes, SET and
 * setting the clock (leap day), UIP before each update, the periodic
 * interrupt at its rates, update-ended and alarm interrupts, register C
 * read-to-clear and IRQ 8, divider reset, the NVRAM bytes and port 0x70.
 * The TSC runs at 1 MHz here: one cycle is one microsecond.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "vmx/dev/calendar.h"
#include "vmx/dev/rtc.h"

#define KHZ         1000                /* 1 MHz: 1 cycle = 1 us */
#define SEC         1000000ULL
#define BASE        777ULL              /* TSC at reset */
#define EPOCH       1796132279ULL       /* Tue 2026-12-01 13:37:59 UTC */

static struct rtc rtc;
static u64 now;
static int rises;
static bool level;

static void irq_cb(void *ctx, u32 pin, bool l)
{
    assert_ptr_equal(ctx, &rtc);
    assert_int_equal(pin, 8);
    if (l && !level)
        rises++;
    level = l;
}

static void reset_ram(u64 ram)
{
    struct irq_line l = { .set = irq_cb, .ctx = &rtc, .pin = 8 };
    struct rtc_config cfg = { .epoch = EPOCH, .tsc_khz = KHZ,
                              .ram_below_4g = ram, .equipment = 0x02 };

    now = BASE;
    rises = 0;
    level = false;
    rtc_reset(&rtc, &l, &cfg, now);
}

static void reset(void) { reset_ram(128ULL << 20); }
static u8 rd(u8 reg) { rtc_io_write(&rtc, 0x70, 1, reg, now); return (u8)rtc_io_read(&rtc, 0x71, 1, now); }
static void wr(u8 reg, u8 v) { rtc_io_write(&rtc, 0x70, 1, reg, now); rtc_io_write(&rtc, 0x71, 1, v, now); }

static void test_calendar_vs_gmtime(void **state)
{
    (void)state;
    for (u64 s = 0; s < 8000000000ULL; s += 86399ULL * 37 + 12345) {
        time_t tt = (time_t)s;
        struct tm tm;
        struct cal_time c;
        gmtime_r(&tt, &tm);
        cal_from_epoch(s, &c);
        assert_int_equal(c.year, tm.tm_year + 1900);
        assert_int_equal(c.month, tm.tm_mon + 1);
        assert_int_equal(c.day, tm.tm_mday);
        assert_int_equal(c.hour, tm.tm_hour);
        assert_int_equal(c.min, tm.tm_min);
        assert_int_equal(c.sec, tm.tm_sec);
        assert_int_equal(c.wday, tm.tm_wday + 1);
        assert_int_equal(cal_to_epoch(&c), s);
    }
    struct cal_time before = { .year = 1969, .month = 12, .day = 31 };
    assert_int_equal(cal_to_epoch(&before), 0);
    struct cal_time odd = { .year = 2026, .month = 13, .day = 40, .hour = 30 };
    assert_true(cal_to_epoch(&odd) > EPOCH);    /* no crash, carries on */
}

static void test_time_bcd_binary_12h(void **state)
{
    (void)state;
    reset();
    assert_int_equal(rd(0x00), 0x59);
    assert_int_equal(rd(0x02), 0x37);
    assert_int_equal(rd(0x04), 0x13);
    assert_int_equal(rd(0x06), 3);          /* Tuesday */
    assert_int_equal(rd(0x07), 0x01);
    assert_int_equal(rd(0x08), 0x12);
    assert_int_equal(rd(0x09), 0x26);
    assert_int_equal(rd(0x32), 0x20);
    now = BASE + SEC;
    assert_int_equal(rd(0x00), 0x00);
    assert_int_equal(rd(0x02), 0x38);
    wr(0x0b, 0x06);                         /* binary, 24 h */
    assert_int_equal(rd(0x00), 0);
    assert_int_equal(rd(0x02), 38);
    assert_int_equal(rd(0x04), 13);
    assert_int_equal(rd(0x08), 12);
    assert_int_equal(rd(0x32), 20);
    wr(0x0b, 0x04);                         /* binary, 12 h */
    assert_int_equal(rd(0x04), 0x80 | 1);   /* 1 PM */
    wr(0x0b, 0x00);                         /* BCD, 12 h */
    assert_int_equal(rd(0x04), 0x81);
    now = BASE + SEC * (10 * 3600 + 22 * 60 + 1);  /* 00:00:00 next day */
    assert_int_equal(rd(0x04), 0x12);       /* 12 AM */
    assert_int_equal(rd(0x07), 0x02);
    assert_int_equal(rd(0x06), 4);
    now += 12 * 3600 * SEC;
    assert_int_equal(rd(0x04), 0x92);       /* 12 PM */
    assert_int_equal(rtc_time(&rtc, now), EPOCH + (u64)(now - BASE) / SEC);
}

/* Linux's mc146818_get_time(): wait for UIP to clear, then read. */
static void test_uip(void **state)
{
    (void)state;
    reset();
    now = BASE + SEC - 245;
    assert_int_equal(rd(0x0a), 0x26);
    now = BASE + SEC - 244;
    assert_int_equal(rd(0x0a), 0xa6);
    assert_int_equal(rd(0x00), 0x59);       /* not updated yet */
    u32 polls = 0;
    while (rd(0x0a) & 0x80) {
        now += 10;
        polls++;
    }
    assert_int_equal(polls, 25);
    assert_int_equal(rd(0x00), 0x00);       /* the new second */
    wr(0x0b, 0x82);                         /* SET: no updates, no UIP */
    now = BASE + 2 * SEC - 100;
    assert_int_equal(rd(0x0a), 0x26);
}

static void test_set_clock_leap_day(void **state)
{
    (void)state;
    reset();
    wr(0x0b, 0x12);                         /* UIE */
    wr(0x0b, 0x92);                         /* SET clears UIE */
    assert_int_equal(rd(0x0b), 0x82);
    wr(0x00, 0x58); wr(0x02, 0x59); wr(0x04, 0x23);
    wr(0x07, 0x29); wr(0x08, 0x02); wr(0x09, 0x00); wr(0x32, 0x20);
    now += 5 * SEC;                         /* frozen while SET */
    assert_int_equal(rd(0x00), 0x58);
    wr(0x0b, 0x02);
    assert_int_equal(rtc_time(&rtc, now), 951868798ULL);
    now += 2 * SEC;
    assert_int_equal(rd(0x00), 0x00);
    assert_int_equal(rd(0x04), 0x00);
    assert_int_equal(rd(0x07), 0x01);
    assert_int_equal(rd(0x08), 0x03);
    assert_int_equal(rd(0x06), 4);          /* Wednesday */
    /* a write without SET moves the time, keeping the second's phase */
    wr(0x02, 0x10);
    assert_int_equal(rd(0x02), 0x10);
    assert_int_equal(rd(0x04), 0x00);
    /* garbage in the registers does not break the model */
    wr(0x0b, 0x82);
    wr(0x08, 0xff); wr(0x07, 0xff); wr(0x32, 0x00); wr(0x09, 0x00);
    wr(0x0b, 0x02);
    now += SEC;
    rd(0x00);
}

static void test_periodic_rates(void **state)
{
    static const struct { u8 rs; u32 hz; } rates[] = {
        { 3, 8192 }, { 6, 1024 }, { 7, 512 }, { 1, 256 }, { 2, 128 },
        { 8, 256 }, { 11, 32 }, { 15, 2 },
    };
    (void)state;
    for (u32 i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        reset();
        wr(0x0a, 0x20 | rates[i].rs);
        wr(0x0b, 0x42);                     /* PIE */
        u32 n = 0;
        u64 end = now + 2 * SEC;
        for (;;) {
            u64 dl = rtc_next_deadline(&rtc, now);
            assert_true(dl > now);
            if (dl > end)
                break;
            now = dl;
            rtc_update(&rtc, now);
            assert_true(level);
            assert_int_equal(rd(0x0c) & 0xc0, 0xc0);   /* UF may be set too */
            assert_false(level);
            n++;
        }
        /* 2 s of periods; the first starts with the chain, not with PIE */
        assert_in_range(n, 2 * rates[i].hz - 1, 2 * rates[i].hz);
        assert_int_equal(rises, n);
    }
    /* PF is set without PIE, without an interrupt */
    reset();
    now += 2000;
    assert_int_equal(rd(0x0c), 0x40);
    assert_int_equal(rises, 0);
    assert_int_equal(rtc_next_deadline(&rtc, now), DEV_NO_DEADLINE);
    /* RS = 0: no periodic flag at all */
    wr(0x0a, 0x20);
    now += SEC / 2;
    assert_int_equal(rd(0x0c), 0x00);
    /* enabling PIE with PF pending raises IRQ 8 at once */
    wr(0x0a, 0x26);
    now += 2000;
    wr(0x0b, 0x42);
    assert_true(level);
    assert_int_equal(rd(0x0c), 0xc0);
    assert_int_equal(rd(0x0c), 0x00);
}

static void test_update_and_alarm(void **state)
{
    (void)state;
    reset();
    wr(0x0a, 0x20);                         /* no periodic noise */
    wr(0x0b, 0x12);                         /* UIE */
    assert_int_equal(rtc_next_deadline(&rtc, now), BASE + SEC);
    now = BASE + SEC;
    rtc_update(&rtc, now);
    assert_true(level);
    assert_int_equal(rd(0x0c), 0x90);
    /* alarm at 13:38:05, minutes and hours "don't care" for the hours */
    wr(0x01, 0x05); wr(0x03, 0x38); wr(0x05, 0xc0);
    wr(0x0b, 0x22);                         /* AIE only */
    for (int s = 2; s <= 5; s++) {
        now = BASE + s * SEC;
        rtc_update(&rtc, now);
        assert_false(level);
    }
    now = BASE + 6 * SEC;                   /* 13:38:05 */
    assert_int_equal(rtc_next_deadline(&rtc, now - 1), now);
    rtc_update(&rtc, now);
    assert_true(level);
    assert_int_equal(rd(0x0c), 0xb0);       /* IRQF, AF and UF */
    now = BASE + 66 * SEC;                  /* 13:39:05: minute differs */
    rtc_update(&rtc, now);
    assert_false(level);
    assert_int_equal(rd(0x0c), 0x10);
}

static void test_divider_reset(void **state)
{
    (void)state;
    reset();
    now = BASE + SEC / 4;
    wr(0x0a, 0x76);                         /* DV 111: chain in reset */
    now += 10 * SEC;
    assert_int_equal(rd(0x00), 0x59);
    assert_int_equal(rd(0x0a), 0x76);       /* never UIP */
    wr(0x0a, 0x26);
    now += SEC / 2 - 1;
    assert_int_equal(rd(0x00), 0x59);
    now += 1;                               /* 500 ms after the restart */
    assert_int_equal(rd(0x00), 0x00);
}

static void test_nvram_and_ports(void **state)
{
    (void)state;
    reset();
    assert_int_equal(rd(0x0d), 0x80);
    wr(0x0d, 0x00);
    wr(0x0c, 0xff);
    assert_int_equal(rd(0x0d), 0x80);
    assert_int_equal(rd(0x0c) & 0x3f, 0x00);
    assert_int_equal(rd(0x14), 0x02);
    assert_int_equal(rd(0x15) | rd(0x16) << 8, 640);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xffff);    /* capped */
    assert_int_equal(rd(0x34) | rd(0x35) << 8, 112 * 16);
    u32 sum = 0;
    for (u8 i = 0x10; i < 0x2e; i++)
        sum += rd(i);
    assert_int_equal(rd(0x2e) << 8 | rd(0x2f), sum);
    reset_ram(32ULL << 20);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 31 * 1024);
    assert_int_equal(rd(0x30) | rd(0x31) << 8, 31 * 1024);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, 16 * 16);
    reset_ram(3ULL << 30);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xffff);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, 0xbf00);
    reset_ram(512 << 10);
    assert_int_equal(rd(0x15) | rd(0x16) << 8, 512);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0);
    /* plain NVRAM, the index port and the NMI bit */
    wr(0x40, 0x5a);
    assert_int_equal(rd(0x40), 0x5a);
    assert_int_equal(rtc_io_read(&rtc, 0x70, 1, now), 0xff);
    assert_false(rtc_nmi_disabled(&rtc));
    rtc_io_write(&rtc, 0x70, 1, 0xc0, now);     /* NMI off, index 0x40 */
    assert_true(rtc_nmi_disabled(&rtc));
    assert_int_equal(rtc_io_read(&rtc, 0x71, 1, now), 0x5a);
    rtc_io_write(&rtc, 0x70, 2, 0x7740, now);   /* 0x71 <- 0x77 at 0x40 */
    assert_int_equal(rd(0x40), 0x77);
    assert_int_equal(rtc_io_read(&rtc, 0x70, 2, now), 0x77ff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_vs_gmtime),
        cmocka_unit_test(test_time_bcd_binary_12h),
        cmocka_unit_test(test_uip),
        cmocka_unit_test(test_set_clock_leap_day),
        cmocka_unit_test(test_periodic_rates),
        cmocka_unit_test(test_update_and_alarm),
        cmocka_unit_test(test_divider_reset),
        cmocka_unit_test(test_nvram_and_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
