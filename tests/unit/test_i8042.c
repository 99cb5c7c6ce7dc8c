/*
 * Host unit test of the 8042 keyboard controller, vmx/dev/i8042.c, with
 * nothing plugged in: the state firmware leaves, the self-test and the
 * interface tests, the command byte and RAM, the aux loopback with IRQ 12
 * and the keyboard-side loopback with IRQ 1 (raised while the buffer is
 * full and enabled, lowered by the read), the time-outs of bytes sent to
 * the missing keyboard and mouse, the output port, the reset line (pulse
 * and output-port write), and the probe Linux's i8042 driver runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/dev/i8042.h"

static struct i8042 k;
static bool level[16];
static int rises[16];

static void irq_cb(void *ctx, u32 pin, bool l)
{
    assert_ptr_equal(ctx, &k);
    assert_true(pin == 1 || pin == 12);
    if (l && !level[pin])
        rises[pin]++;
    level[pin] = l;
}

static void reset(void)
{
    struct irq_line kbd = { irq_cb, &k, 1 }, aux = { irq_cb, &k, 12 };

    for (int i = 0; i < 16; i++) {
        level[i] = false;
        rises[i] = 0;
    }
    i8042_reset(&k, &kbd, &aux);
}

static u8 status(void) { return i8042_io_read(&k, 0x64); }
static u8 data(void) { return i8042_io_read(&k, 0x60); }
static void cmd(u8 c) { i8042_io_write(&k, 0x64, c); }
static void put(u8 d) { i8042_io_write(&k, 0x60, d); }

/* A command with a one-byte answer: the answer, checking OBF around it. */
static u8 ask(u8 c)
{
    cmd(c);
    assert_true(status() & I8042_STR_OBF);
    u8 v = data();
    assert_false(status() & I8042_STR_OBF);
    return v;
}

static void test_after_reset(void **state)
{
    (void)state;
    reset();
    /* SYS set, not inhibited, nothing to read, input buffer empty */
    assert_int_equal(status(), I8042_STR_SYS | I8042_STR_UNLOCKED);
    assert_int_equal(ask(0x20), 0x45);
    assert_false(i8042_take_reset(&k));
    assert_false(level[1] || level[12]);
}

static void test_self_and_interface_tests(void **state)
{
    (void)state;
    reset();
    assert_int_equal(ask(0xaa), 0x55);
    assert_true(status() & I8042_STR_SYS);
    assert_int_equal(ask(0xab), 0x00);          /* keyboard clock/data lines good */
    assert_int_equal(ask(0xa9), 0x00);          /* aux lines good */
    assert_int_equal(ask(0xe0), 0x03);          /* T0/T1 high */
    assert_int_equal(status() & I8042_STR_CMD, I8042_STR_CMD);
    assert_int_equal(status() & I8042_STR_IBF, 0);
}

static void test_command_byte_and_ram(void **state)
{
    (void)state;
    reset();
    cmd(0x60);
    put(0x00);                                  /* no interrupts, SYS cleared */
    assert_int_equal(status() & I8042_STR_CMD, 0);
    assert_int_equal(ask(0x20), 0x00);
    assert_false(status() & I8042_STR_SYS);
    cmd(0x60);
    put(0x47);
    assert_int_equal(ask(0x20), 0x47);
    assert_true(status() & I8042_STR_SYS);
    cmd(0xa7);                                  /* disable aux: CTR bit 5 */
    assert_int_equal(ask(0x20), 0x67);
    cmd(0xa8);
    assert_int_equal(ask(0x20), 0x47);
    cmd(0xad);                                  /* disable keyboard: bit 4 */
    assert_int_equal(ask(0x20), 0x57);
    cmd(0xae);
    assert_int_equal(ask(0x20), 0x47);
    /* RAM bytes 1-31 */
    cmd(0x61 + 4);
    put(0x9c);
    assert_int_equal(ask(0x21 + 4), 0x9c);
    assert_int_equal(ask(0x3f), 0x00);
    /* a command replaces one still waiting for its data byte */
    cmd(0x60);
    cmd(0xaa);
    assert_int_equal(data(), 0x55);
    assert_int_equal(ask(0x20), 0x47);
}

static void test_aux_loopback_irq12(void **state)
{
    (void)state;
    reset();
    cmd(0xd3);
    put(0x5a);                                  /* aux interrupt off: no IRQ */
    assert_int_equal(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF | I8042_STR_AUXDATA);
    assert_int_equal(rises[12], 0);
    assert_int_equal(data(), 0x5a);
    cmd(0x60);
    put(0x47);                                  /* KBDINT | AUXINT | SYS | XLATE */
    cmd(0xd3);
    put(0xa5);
    assert_true(level[12]);
    assert_int_equal(rises[12], 1);
    assert_false(level[1]);
    assert_int_equal(data(), 0xa5);
    assert_false(level[12]);
    /* disabling the interrupt in the command byte lowers the line */
    cmd(0xd3);
    put(0x11);
    assert_true(level[12]);
    cmd(0x60);
    put(0x45);
    assert_false(level[12]);
    assert_true(status() & I8042_STR_OBF);
    assert_int_equal(data(), 0x11);
}

static void test_kbd_loopback_irq1(void **state)
{
    (void)state;
    reset();
    cmd(0xd2);
    put(0x1c);
    assert_true(level[1]);
    assert_int_equal(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
    assert_int_equal(data(), 0x1c);
    assert_false(level[1]);
    assert_int_equal(rises[1], 1);
    /* a controller answer also raises IRQ 1 when it is enabled */
    assert_int_equal(ask(0xaa), 0x55);
    assert_int_equal(rises[1], 2);
}

static void test_no_keyboard_no_mouse(void **state)
{
    (void)state;
    reset();
    put(0xf2);                                  /* GET ID to the keyboard */
    assert_int_equal(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
                     I8042_STR_OBF | I8042_STR_TIMEOUT);
    assert_true(level[1]);
    assert_int_equal(data(), 0xfe);
    assert_false(level[1]);
    cmd(0x60);
    put(0x47);
    cmd(0xd4);
    put(0xf2);                                  /* GET ID to the mouse */
    assert_int_equal(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
                     I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA);
    assert_true(level[12]);
    assert_int_equal(data(), 0xfe);
    /* the next good byte clears TIMEOUT */
    assert_int_equal(ask(0xab), 0x00);
    assert_false(status() & I8042_STR_TIMEOUT);
}

static void test_output_port_and_reset(void **state)
{
    (void)state;
    reset();
    assert_int_equal(ask(0xd0) & 0x03, 0x03);  /* not in reset, A20 on */
    cmd(0xd1);
    put(0x01);                                  /* A20 off */
    assert_int_equal(ask(0xd0) & 0x03, 0x01);
    assert_false(i8042_take_reset(&k));
    cmd(0xff);                                  /* pulse nothing */
    cmd(0xfd);                                  /* pulse bit 1 only */
    assert_false(i8042_take_reset(&k));
    cmd(0xfe);                                  /* pulse the reset line */
    assert_true(i8042_take_reset(&k));
    assert_false(i8042_take_reset(&k));
    cmd(0xf0);                                  /* all four lines */
    assert_true(i8042_take_reset(&k));
    cmd(0xd1);
    put(0x02);                                  /* reset line written low */
    assert_true(i8042_take_reset(&k));
    /* other ports are not the controller's */
    assert_int_equal(i8042_io_read(&k, 0x61), 0xff);
}

/* The probe of Linux's i8042 driver (drivers/input/serio/i8042.c, read
 * for its sequence): flush, self-test, CTR read/write, the aux loopback
 * and the active-multiplexing check (which must find no MUX: the third
 * loopback byte comes back unchanged), then the keyboard and mouse
 * commands that time out. Every step answers at once. */
static void test_linux_probe(void **state)
{
    (void)state;
    reset();
    while (status() & I8042_STR_OBF)
        data();
    assert_int_equal(ask(0xaa), 0x55);
    u8 ctr = ask(0x20);
    cmd(0x60);
    put(ctr & ~0x03);                           /* interrupts off during the probe */
    cmd(0xd3);
    put(0x5a);
    assert_true(status() & I8042_STR_AUXDATA);
    assert_int_equal(data(), 0x5a);
    static const u8 mux[] = { 0xf0, 0x56, 0xa4 };
    for (unsigned i = 0; i < 3; i++) {
        cmd(0xd3);
        put(mux[i]);
        assert_int_equal(data(), mux[i]);       /* 0xa4 back: not a MUX */
    }
    assert_false(level[1] || level[12]);
    cmd(0x60);
    put(ctr | 0x03);
    int before = rises[1];
    put(0xf5);                                  /* keyboard: disable scanning */
    assert_true(status() & I8042_STR_TIMEOUT);
    assert_int_equal(rises[1], before + 1);
    assert_int_equal(data(), 0xfe);             /* PS/2 NAK: the driver gives up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_reset),
        cmocka_unit_test(test_self_and_interface_tests),
        cmocka_unit_test(test_command_byte_and_ram),
        cmocka_unit_test(test_aux_loopback_irq12),
        cmocka_unit_test(test_kbd_loopback_irq1),
        cmocka_unit_test(test_no_keyboard_no_mouse),
        cmocka_unit_test(test_output_port_and_reset),
        cmocka_unit_test(test_linux_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
