/*
 * Host unit test of the ACPI PM1a blocks and PM timer, vmx/dev/acpi_pm.c,
 * and of the reset paths, vmx/dev/reset.c: the timer's rate, monotonicity
 * and wrap (24 and 32 bits), TMR_STS and the SCI with its deadline,
 * PM1_STS write-1-to-clear, PM1_EN, SCI_EN, the sleep request with its
 * SLP_TYP (S5 power-off), byte and word accesses; 0xcf9, port 0x92 and
 * requests from other devices (the 8042).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/dev/acpi_pm.h"
#include "vmx/dev/reset.h"

#define KHZ         3579545     /* TSC = 1000 cycles per timer tick */
#define BASE        1234ULL
#define EVT         ACPI_PM1A_EVT_DEFAULT
#define CNT         ACPI_PM1A_CNT_DEFAULT
#define TMR         ACPI_PM_TMR_DEFAULT

static struct acpi_pm pm;
static bool sci;
static int sci_rises;

static void sci_cb(void *ctx, u32 pin, bool level)
{
    assert_ptr_equal(ctx, &pm);
    assert_int_equal(pin, 9);
    sci_rises += level && !sci;
    sci = level;
}

static void reset(u32 khz, bool bits32, bool acpi_only)
{
    struct irq_line l = { .set = sci_cb, .ctx = &pm, .pin = 9 };
    struct acpi_pm_config c = { .evt_port = EVT, .cnt_port = CNT, .tmr_port = TMR,
                                .tmr_32bit = bits32, .acpi_mode_only = acpi_only,
                                .tsc_khz = khz };

    sci = false;
    sci_rises = 0;
    acpi_pm_reset(&pm, &l, &c, BASE);
}

static void test_timer_rate_and_wrap(void **state)
{
    (void)state;
    /* 2.4 GHz TSC: one second of TSC is 3579545 ticks, exactly */
    reset(2400000, false, false);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, BASE), 0);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, BASE + 2400000000ULL), 3579545);
    u32 last = 0;
    for (u64 t = BASE; t < BASE + 24000000ULL; t += 7919) {
        u32 v = acpi_pm_io_read(&pm, TMR, 4, t);
        assert_true(v >= last);
        last = v;
    }
    /* 24-bit wrap after 2^24 ticks (4.69 s) */
    reset(KHZ, false, false);
    u64 wrap = BASE + (1ULL << 24) * 1000;
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, wrap - 1000), 0xffffff);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, wrap), 0);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, wrap + 5000), 5);
    /* 32-bit counter keeps going past 2^24, wraps at 2^32 */
    reset(KHZ, true, false);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 4, wrap), 0x1000000);
    assert_int_equal(acpi_pm_timer(&pm, BASE + (1ULL << 32) * 1000 + 3000), 3);
    /* byte reads see the bytes of the value; writes are ignored */
    acpi_pm_io_write(&pm, TMR, 4, 0x12345678, wrap);
    assert_int_equal(acpi_pm_io_read(&pm, TMR + 3, 1, wrap), 0x01);
    assert_int_equal(acpi_pm_io_read(&pm, TMR, 1, wrap), 0x00);
}

static void test_tmr_sts_and_sci(void **state)
{
    (void)state;
    reset(KHZ, false, false);
    u64 half = BASE + (1ULL << 23) * 1000;  /* bit 23 sets */
    assert_int_equal(acpi_pm_io_read(&pm, EVT, 2, half - 1), 0);
    assert_int_equal(acpi_pm_io_read(&pm, EVT, 2, half), ACPI_PM1_TMR);
    acpi_pm_io_write(&pm, EVT, 2, ACPI_PM1_TMR, half);
    assert_int_equal(acpi_pm_io_read(&pm, EVT, 2, half), 0);
    /* TMR_EN without SCI_EN: status but no SCI and no deadline */
    acpi_pm_io_write(&pm, EVT + 2, 2, ACPI_PM1_TMR, half);
    assert_int_equal(acpi_pm_io_read(&pm, EVT + 2, 2, half), ACPI_PM1_TMR);
    assert_int_equal(acpi_pm_next_deadline(&pm, half), DEV_NO_DEADLINE);
    acpi_pm_io_write(&pm, CNT, 2, ACPI_PM1_SCI_EN, half);
    u64 dl = acpi_pm_next_deadline(&pm, half);
    assert_int_equal(dl, BASE + (1ULL << 24) * 1000);   /* bit 23 clears */
    acpi_pm_update(&pm, dl - 1);
    assert_false(sci);
    acpi_pm_update(&pm, dl);
    assert_true(sci);
    assert_int_equal(acpi_pm_next_deadline(&pm, dl), DEV_NO_DEADLINE);
    acpi_pm_io_write(&pm, EVT, 1, 0x01, dl);            /* byte W1C */
    assert_false(sci);
    assert_int_equal(sci_rises, 1);
    /* writing 0 clears nothing; undefined bits stay 0 */
    acpi_pm_power_button(&pm, dl);
    assert_false(sci);                                  /* PWRBTN_EN off */
    acpi_pm_io_write(&pm, EVT, 2, 0x0000, dl);
    assert_int_equal(acpi_pm_io_read(&pm, EVT, 2, dl), ACPI_PM1_PWRBTN);
    acpi_pm_io_write(&pm, EVT + 2, 2, 0xffff, dl);
    assert_int_equal(acpi_pm_io_read(&pm, EVT + 2, 2, dl), 0x4721);
    assert_true(sci);                                   /* PWRBTN_EN on */
    acpi_pm_io_write(&pm, EVT, 4, 0x00000100, dl);      /* clear, EN = 0 */
    assert_false(sci);
    assert_int_equal(acpi_pm_io_read(&pm, EVT, 4, dl), 0);
    /* SCI_EN cleared: enabled events raise no SCI */
    acpi_pm_io_write(&pm, EVT + 2, 2, ACPI_PM1_PWRBTN, dl);
    acpi_pm_io_write(&pm, CNT, 2, 0, dl);
    acpi_pm_power_button(&pm, dl);
    assert_false(sci);
    acpi_pm_io_write(&pm, CNT, 1, ACPI_PM1_SCI_EN, dl);
    assert_true(sci);
}

static void test_sleep_request(void **state)
{
    u8 typ = 0xff;
    (void)state;
    reset(KHZ, false, true);
    assert_int_equal(acpi_pm_io_read(&pm, CNT, 2, BASE), ACPI_PM1_SCI_EN);
    acpi_pm_io_write(&pm, CNT, 2, 0, BASE);         /* cannot leave ACPI mode */
    assert_int_equal(acpi_pm_io_read(&pm, CNT, 2, BASE), ACPI_PM1_SCI_EN);
    assert_false(acpi_pm_take_sleep(&pm, &typ));
    /* SLP_TYP alone is no request */
    acpi_pm_io_write(&pm, CNT, 2, 5 << ACPI_PM1_SLP_TYP_SHIFT, BASE);
    assert_false(acpi_pm_take_sleep(&pm, &typ));
    assert_int_equal(acpi_pm_io_read(&pm, CNT, 2, BASE), 0x1401);
    /* Linux's S5: SLP_TYP, then SLP_TYP | SLP_EN; SLP_EN reads 0 */
    acpi_pm_io_write(&pm, CNT, 2, ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, BASE);
    assert_int_equal(acpi_pm_io_read(&pm, CNT, 2, BASE) & ACPI_PM1_SLP_EN, 0);
    assert_true(acpi_pm_take_sleep(&pm, &typ));
    assert_int_equal(typ, ACPI_SLP_TYP_S5);
    assert_false(acpi_pm_take_sleep(&pm, &typ));
    /* a byte write of the high byte (Bochs's 0x2000 power-off) works too */
    acpi_pm_io_write(&pm, CNT + 1, 1, (3 << 2) | 0x20, BASE);
    assert_true(acpi_pm_take_sleep(&pm, &typ));
    assert_int_equal(typ, 3);
    /* ports */
    assert_true(acpi_pm_claims(&pm, EVT + 3));
    assert_true(acpi_pm_claims(&pm, CNT + 1));
    assert_false(acpi_pm_claims(&pm, CNT + 2));
    assert_true(acpi_pm_claims(&pm, TMR + 3));
    assert_false(acpi_pm_claims(&pm, TMR + 4));
    assert_int_equal(acpi_pm_io_read(&pm, CNT + 1, 2, BASE), 0xff0c);
}

static void test_reset_paths(void **state)
{
    struct reset_ctl r;
    (void)state;
    reset_ctl_reset(&r);
    assert_int_equal(reset_ctl_take(&r), RESET_NONE);
    /* Linux reboot=pci: 0x02 then 0x06 */
    reset_ctl_io_write(&r, 0xcf9, 1, 0x02);
    assert_int_equal(reset_ctl_take(&r), RESET_NONE);
    assert_int_equal(reset_ctl_io_read(&r, 0xcf9, 1), 0x02);
    reset_ctl_io_write(&r, 0xcf9, 1, 0x06);
    assert_int_equal(reset_ctl_take(&r), RESET_HARD);
    assert_string_equal(reset_ctl_source(&r), "port 0xcf9");
    reset_ctl_io_write(&r, 0xcf9, 1, 0x06);        /* no new 0-to-1 edge */
    assert_int_equal(reset_ctl_take(&r), RESET_NONE);
    reset_ctl_io_write(&r, 0xcf9, 1, 0x00);
    reset_ctl_io_write(&r, 0xcf9, 1, 0x04);        /* SYS_RST 0: soft */
    assert_int_equal(reset_ctl_take(&r), RESET_SOFT);
    reset_ctl_io_write(&r, 0xcf9, 1, 0x00);
    reset_ctl_io_write(&r, 0xcf9, 1, 0x0c);        /* FULL_RST */
    assert_int_equal(reset_ctl_take(&r), RESET_HARD);
    /* a dword at 0xcf8 is PCI, not RST_CNT */
    assert_false(reset_ctl_claims(0xcf9, 4));
    assert_true(reset_ctl_claims(0xcf9, 1));
    reset_ctl_reset(&r);
    reset_ctl_io_write(&r, 0xcf9, 2, 0x0606);
    assert_int_equal(reset_ctl_take(&r), RESET_NONE);
    /* port 0x92 */
    assert_int_equal(reset_ctl_io_read(&r, 0x92, 1), 0x02);
    reset_ctl_io_write(&r, 0x92, 1, 0x03);
    assert_int_equal(reset_ctl_take(&r), RESET_SOFT);
    assert_string_equal(reset_ctl_source(&r), "port 0x92 fast init");
    /* 0x60/0x64 are the 8042's (test_i8042.c), which asks through
     * reset_ctl_request(); a request is never lowered by a smaller one,
     * nor is its source replaced */
    assert_false(reset_ctl_claims(0x64, 1));
    assert_false(reset_ctl_claims(0x60, 1));
    reset_ctl_request(&r, RESET_HARD, RESET_PORT_KBC_CMD);
    reset_ctl_request(&r, RESET_SOFT, RESET_PORT_SYSCTL_A);
    assert_int_equal(reset_ctl_take(&r), RESET_HARD);
    assert_string_equal(reset_ctl_source(&r), "8042 reset pulse, port 0x64");
    assert_int_equal(reset_ctl_take(&r), RESET_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_rate_and_wrap),
        cmocka_unit_test(test_tmr_sts_and_sci),
        cmocka_unit_test(test_sleep_request),
        cmocka_unit_test(test_reset_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
