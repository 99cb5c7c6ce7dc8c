/*
 * Host unit test of the 8254 model, vmx/dev/pit.c, and of the exact time
 * conversion in vmx/dev/timebase.h: Linux's two calibration loops (OUT2
 * through port 0x61 in mode 0, and the MSB-watching quick calibration),
 * mode 2 as the periodic tick with IRQ 0 edges and deadlines, modes 0, 1,
 * 3, 4 and 5, reload rules, gates, count 0 = 65536, LSB/MSB access modes,
 * latch and read-back commands, BCD and the port 0x61 bits.
 * Most tests run the TSC at exactly 1000 cycles per PIT clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/dev/pit.h"
#include "vmx/dev/timebase.h"

#define BASE        5000ULL             /* TSC at reset */
#define KHZ_EXACT   1193182             /* 1000 TSC cycles per PIT clock */

static struct pit pit;
static u64 now;
static int rises;
static bool level;

static void irq_cb(void *ctx, u32 pin, bool l)
{
    assert_ptr_equal(ctx, &pit);
    assert_int_equal(pin, 0);
    if (l && !level)
        rises++;
    level = l;
}

static void reset(u32 khz)
{
    struct irq_line l = { .set = irq_cb, .ctx = &pit, .pin = 0 };

    now = BASE;
    rises = 0;
    level = false;
    pit_reset(&pit, &l, now, khz);
}

static void at(u64 ticks) { now = BASE + ticks * 1000; }
static void outb(u16 port, u8 v) { pit_io_write(&pit, port, 1, v, now); }
static u8 inb(u16 port) { return (u8)pit_io_read(&pit, port, 1, now); }
static u16 read16(u16 port) { u8 lo = inb(port); return (u16)(lo | inb(port) << 8); }

static void test_timebase_exact(void **state)
{
    (void)state;
    /* a TSC of 2.4 GHz: 1e9 cycles = 497159.1666 PIT clocks, floor */
    assert_int_equal(dev_tsc_to_ticks(1000000000ULL, PIT_HZ, 2400000), 497159);
    assert_int_equal(dev_ticks_to_tsc(497159, PIT_HZ, 2400000), 999999665ULL);
    /* near 2^64 TSC cycles nothing overflows an intermediate */
    u64 big = ~0ULL / 2;
    u64 t = dev_tsc_to_ticks(big, PIT_HZ, 4000000);
    assert_true(dev_ticks_to_tsc(t, PIT_HZ, 4000000) <= big);
    assert_true(dev_ticks_to_tsc(t + 1, PIT_HZ, 4000000) > big);
    assert_int_equal(dev_tsc_to_ticks(dev_ticks_to_tsc(12345, 3579545, 2400000),
                                      3579545, 2400000), 12345);
}

/* Linux pit_calibrate_tsc(): gate on, speaker off, channel 2 mode 0 with
 * a 10 ms count, spin until OUT2 (port 0x61 bit 5) rises. */
static void test_linux_calibration_out2(void **state)
{
    const u32 khz = 2400000;            /* 2.4 GHz */
    const u32 latch = PIT_HZ / 100;
    (void)state;
    reset(khz);
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, latch & 0xff);
    outb(0x42, latch >> 8);
    assert_int_equal(inb(0x61) & 0x20, 0);
    u64 t0 = now, loops = 0;
    while (!(inb(0x61) & 0x20)) {
        now += 997;                     /* one poll, some cycles */
        loops++;
    }
    u64 tsc = now - t0;
    /* OUT2 rises N+1 clocks after the write: 11932 clocks of 2011.43 cycles */
    u64 want = dev_ticks_to_tsc(latch + 1, PIT_HZ, khz);
    assert_true(tsc >= want && tsc < want + 997);
    assert_true(loops > 20000);
    /* the calibrated frequency is right to better than 0.01% */
    u64 khz_measured = tsc * PIT_HZ / (latch + 1) / 1000;
    assert_true(khz_measured >= khz - 240 && khz_measured <= khz + 240);
}

/* Linux quick_pit_calibrate(): mode 0, count 0xffff, read LSB then MSB
 * of the live count and watch the MSB step down every 256 clocks. */
static void test_linux_quick_calibration(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    for (u32 i = 1; i < 200; i++) {
        at(1 + 256 * i);                /* the CE was loaded at tick 1 */
        inb(0x42);
        assert_int_equal(inb(0x42), (u8)(0xff - i));
        assert_int_equal(read16(0x42), (u16)(0xffff - 256 * i));
    }
}

/* Linux's periodic tick: channel 0 mode 2, LATCH for HZ=100. */
static void test_mode2_periodic_irq0(void **state)
{
    const u32 latch = (PIT_HZ + 50) / 100;
    (void)state;
    reset(KHZ_EXACT);
    assert_int_equal(pit_next_deadline(&pit, now), DEV_NO_DEADLINE);
    outb(0x43, 0x34);
    outb(0x40, latch & 0xff);
    outb(0x40, latch >> 8);
    assert_true(level);                 /* OUT0 high in mode 2: an edge */
    assert_int_equal(rises, 1);
    rises = 0;
    for (u32 k = 1; k <= 50; k++) {
        u64 dl = pit_next_deadline(&pit, now);
        assert_int_equal(dl, BASE + (1 + (u64)k * latch) * 1000);
        now = dl - 1;
        pit_update(&pit, now);
        assert_int_equal(rises, k - 1);
        now = dl;
        pit_update(&pit, now);
        assert_int_equal(rises, k);
    }
    /* late by five periods: one coalesced edge */
    now += 5 * (u64)latch * 1000;
    pit_update(&pit, now);
    assert_int_equal(rises, 51);
    assert_int_equal(pit_next_deadline(&pit, now), BASE + (1 + 56ULL * latch) * 1000);
    /* the count runs N..1: one clock before reload it reads 1 */
    at(1 + 60ULL * latch - 1);
    assert_int_equal(read16(0x40), 1);
    at(1 + 60ULL * latch);
    assert_int_equal(read16(0x40), latch);
}

/* Mode 2 and 3 reload rule: a new count waits for the end of the period. */
static void test_reload_at_period_end(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x43, 0x34);
    outb(0x40, 100);
    outb(0x40, 0);
    at(1 + 250);                            /* mid third period */
    outb(0x40, 10);
    outb(0x40, 0);
    assert_int_equal(read16(0x40), 50);     /* still the old period */
    assert_int_equal(pit_next_deadline(&pit, now), BASE + (1 + 300) * 1000);
    at(1 + 300);
    assert_int_equal(read16(0x40), 10);
    assert_int_equal(pit_next_deadline(&pit, now), BASE + (1 + 310) * 1000);
    assert_int_equal(rises, 3);
}

static void test_mode0_terminal_count(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x43, 0x30);
    assert_false(level);                    /* OUT low after the mode word */
    outb(0x40, 0xe8);
    outb(0x40, 0x03);                       /* 1000 */
    assert_int_equal(pit_next_deadline(&pit, now), BASE + 1001 * 1000);
    at(1000);
    pit_update(&pit, now);
    assert_int_equal(rises, 0);
    assert_int_equal(read16(0x40), 1);
    at(1001);
    pit_update(&pit, now);
    assert_int_equal(rises, 1);
    assert_int_equal(read16(0x40), 0);
    at(1003);
    assert_int_equal(read16(0x40), 0xfffe);  /* keeps counting, wraps */
    assert_int_equal(pit_next_deadline(&pit, now), DEV_NO_DEADLINE);
    /* the first byte of a new count stops it and drops OUT */
    outb(0x40, 0x10);
    outb(0x43, 0xe2);                       /* read-back status of 0 */
    assert_int_equal(inb(0x40) & 0x80, 0x00);
    outb(0x40, 0x00);
    at(1003 + 17);
    pit_update(&pit, now);
    assert_int_equal(rises, 2);
}

static void test_mode3_square_wave_on_out2(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x61, 0x01);
    outb(0x43, 0xb6);                       /* channel 2, mode 3 */
    outb(0x42, 100);
    outb(0x42, 0);
    at(1);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    assert_int_equal(read16(0x42), 100);
    at(11);
    assert_int_equal(read16(0x42), 80);     /* counts by two */
    at(50);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    at(51);
    assert_int_equal(inb(0x61) & 0x20, 0x00);   /* low for the second half */
    at(100);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
    at(101);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    /* odd count 5: high 3 clocks, low 2 */
    outb(0x42, 5);
    outb(0x42, 0);
    at(201);                                /* the reload happens at 201 */
    int highs = 0;
    for (int i = 0; i < 5; i++) {
        at(201 + i);
        highs += !!(inb(0x61) & 0x20);
    }
    assert_int_equal(highs, 3);
    /* gate low forces OUT high and stops; gate high restarts the period */
    at(204);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
    outb(0x61, 0x00);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    at(300);
    outb(0x61, 0x01);
    at(301 + 3);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
}

static void test_gated_modes_1_4_5(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x43, 0xb2);                       /* channel 2, mode 1 */
    outb(0x42, 10);
    outb(0x42, 0);
    at(50);
    assert_int_equal(inb(0x61) & 0x20, 0x20);   /* waits for a trigger */
    outb(0x61, 0x01);                       /* gate rising edge: trigger */
    at(52);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
    at(61);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    outb(0x61, 0x00);                       /* retrigger */
    outb(0x61, 0x01);
    at(63);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
    outb(0x43, 0xb8);                       /* mode 4: software strobe */
    outb(0x42, 5);
    outb(0x42, 0);
    at(63 + 1 + 4);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    at(63 + 1 + 5);
    assert_int_equal(inb(0x61) & 0x20, 0x00);   /* one clock low */
    at(63 + 1 + 6);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    outb(0x61, 0x00);                       /* mode 4 gate low pauses */
    outb(0x43, 0xb8);
    outb(0x42, 5);
    outb(0x42, 0);
    at(200);
    assert_int_equal(read16(0x42), 5);
    outb(0x61, 0x01);
    at(203);
    assert_int_equal(read16(0x42), 2);
    outb(0x43, 0xba);                       /* mode 5: strobe after a trigger */
    outb(0x42, 5);
    outb(0x42, 0);
    at(300);
    assert_int_equal(inb(0x61) & 0x20, 0x20);
    outb(0x61, 0x00);
    outb(0x61, 0x01);
    at(300 + 1 + 5);
    assert_int_equal(inb(0x61) & 0x20, 0x00);
}

static void test_latch_and_read_back(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x10);                       /* 4096 */
    outb(0x43, 0xe2);                       /* status only, channel 0 */
    assert_int_equal(inb(0x40), 0x34 | 0x80 | 0x40);    /* null count */
    at(2);
    outb(0x43, 0x00);                       /* latch channel 0 */
    at(100);
    outb(0x43, 0x00);                       /* ignored: already latched */
    assert_int_equal(read16(0x40), 4095);
    assert_int_equal(read16(0x40), 4096 - 99);  /* live again */
    outb(0x43, 0xc2);                       /* status and count */
    at(500);
    assert_int_equal(inb(0x40), 0x34 | 0x80);
    assert_int_equal(read16(0x40), 4096 - 99);
    outb(0x43, 0xda);                       /* count of channels 0 and 2 only */
    assert_int_equal(read16(0x40), 4096 - 499);
    /* LSB-only and MSB-only access modes, count 0 = 65536 */
    outb(0x43, 0x54);                       /* channel 1, LSB only, mode 2 */
    outb(0x41, 0x20);
    at(500 + 1 + 0x10);
    assert_int_equal(inb(0x41), 0x10);
    at(600);
    outb(0x43, 0x64);                       /* channel 1, MSB only */
    outb(0x41, 0x00);                       /* 0 = 65536 */
    at(600 + 1 + 0x100);
    assert_int_equal(inb(0x41), 0xff);
    /* a 0x43 read floats */
    assert_int_equal(inb(0x43), 0xff);
}

static void test_bcd(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    outb(0x43, 0x31);                       /* mode 0, BCD */
    outb(0x40, 0x00);
    outb(0x40, 0x10);                       /* 1000 */
    at(11);
    assert_int_equal(read16(0x40), 0x0990);
    outb(0x43, 0x35);                       /* mode 2, BCD, count 0 = 10000 */
    outb(0x40, 0x00);
    outb(0x40, 0x00);
    at(11 + 1 + 1);
    assert_int_equal(read16(0x40), 0x9999);
    assert_int_equal(pit_next_deadline(&pit, now), BASE + (12 + 10000) * 1000);
}

static void test_port61(void **state)
{
    (void)state;
    reset(KHZ_EXACT);
    assert_int_equal(inb(0x61) & 0x0f, 0x00);
    outb(0x61, 0xff);
    assert_int_equal(inb(0x61) & 0xcf, 0x0f);   /* 6, 7 read 0 */
    int toggles = 0;
    u8 last = inb(0x61) & 0x10;
    for (u64 t = 0; t <= 18 * 10; t++) {
        at(t);
        u8 b = inb(0x61) & 0x10;
        toggles += b != last;
        last = b;
    }
    assert_int_equal(toggles, 10);           /* every 15.085 us */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timebase_exact),
        cmocka_unit_test(test_linux_calibration_out2),
        cmocka_unit_test(test_linux_quick_calibration),
        cmocka_unit_test(test_mode2_periodic_irq0),
        cmocka_unit_test(test_reload_at_period_end),
        cmocka_unit_test(test_mode0_terminal_count),
        cmocka_unit_test(test_mode3_square_wave_on_out2),
        cmocka_unit_test(test_gated_modes_1_4_5),
        cmocka_unit_test(test_latch_and_read_back),
        cmocka_unit_test(test_bcd),
        cmocka_unit_test(test_port61),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
