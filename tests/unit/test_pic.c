/*
 * Host unit test of the 8259A pair model, vmx/dev/pic.c: initialisation as
 * Linux and a BIOS do it, masking, priorities and nesting, the cascade,
 * specific / non-specific / rotating EOI, set priority, automatic EOI,
 * OCW3 reads, poll mode, special mask mode, ELCR and level inputs, the
 * spurious IRQ7 when a request vanishes before INTA, and the INT output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/dev/pic.h"

static struct pic pic;
static int intr_changes;
static bool intr_now;

static void intr_cb(void *ctx, u32 pin, bool level)
{
    assert_ptr_equal(ctx, &pic);
    assert_int_equal(pin, 0);
    intr_changes++;
    intr_now = level;
}

static void outb(u16 port, u8 v) { pic_io_write(&pic, port, 1, v); }
static u8 inb(u16 port) { return (u8)pic_io_read(&pic, port, 1); }
static void irq(u32 n, bool level) { pic_set_irq(&pic, n, level); }

/* An edge: the line goes high and back low after INTA (pulse_ack). */
static void raise(u32 n) { irq(n, false); irq(n, true); }

/* Linux's init_8259A(): vectors 0x30/0x38, cascade on IR2, 8086 mode. */
static void init_linux(bool aeoi)
{
    struct irq_line l = { .set = intr_cb, .ctx = &pic, .pin = 0 };

    pic_reset(&pic, &l);
    intr_changes = 0;
    intr_now = false;
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    outb(0x20, 0x11);           /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x30);           /* ICW2 */
    outb(0x21, 0x04);           /* ICW3: slave on IR2 */
    outb(0x21, aeoi ? 0x03 : 0x01);
    outb(0xa0, 0x11);
    outb(0xa1, 0x38);
    outb(0xa1, 0x02);           /* ICW3: slave ID 2 */
    outb(0xa1, 0x01);
    outb(0x21, 0xfb);           /* all masked but the cascade */
    outb(0xa1, 0xff);
}

static void test_linux_init_and_irq0(void **state)
{
    (void)state;
    init_linux(false);
    assert_int_equal(inb(0x21), 0xfb);
    assert_int_equal(inb(0xa1), 0xff);
    raise(0);
    assert_false(pic_intr_pending(&pic));       /* masked */
    assert_int_equal(inb(0x20), 0x01);          /* but requested */
    outb(0x21, 0xfa);
    assert_true(pic_intr_pending(&pic));
    assert_true(intr_now);
    assert_int_equal(pic_acknowledge(&pic), 0x30);
    assert_false(pic_intr_pending(&pic));
    assert_false(intr_now);
    outb(0x20, 0x0b);                           /* OCW3: read ISR */
    assert_int_equal(inb(0x20), 0x01);
    raise(0);                                   /* same level: blocked */
    assert_false(pic_intr_pending(&pic));
    outb(0x20, 0x20);                           /* non-specific EOI */
    assert_int_equal(inb(0x20), 0x00);
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(pic_acknowledge(&pic), 0x30);
    outb(0x20, 0x60);                           /* specific EOI 0 */
    assert_int_equal(inb(0x20), 0x00);
    outb(0x20, 0x0a);                           /* back to IRR */
    assert_int_equal(inb(0x20), 0x00);          /* edge consumed, line high */
    assert_true(intr_changes >= 3);
}

/* A BIOS programs 0x08/0x70, no special modes, then unmasks everything. */
static void test_bios_init_and_cascade(void **state)
{
    (void)state;
    pic_reset(&pic, NULL);
    outb(0x20, 0x11); outb(0x21, 0x08); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xa0, 0x11); outb(0xa1, 0x70); outb(0xa1, 0x02); outb(0xa1, 0x01);
    outb(0x21, 0x00); outb(0xa1, 0x00);
    raise(8);
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(inb(0x20) & 0x04, 0x04);   /* master IRR2 */
    assert_int_equal(pic_acknowledge(&pic), 0x70);
    outb(0x20, 0x0b); outb(0xa0, 0x0b);
    assert_int_equal(inb(0x20), 0x04);          /* master: cascade in service */
    assert_int_equal(inb(0xa0), 0x01);
    raise(14);                                  /* lower than 8 on the slave */
    assert_false(pic_intr_pending(&pic));
    raise(1);                                   /* higher than IR2 on the master */
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(pic_acknowledge(&pic), 0x09);
    outb(0x20, 0x20);                           /* EOI IRQ1 */
    outb(0xa0, 0x20);                           /* EOI IRQ8 on the slave */
    assert_false(pic_intr_pending(&pic));       /* master IR2 still in service */
    outb(0x20, 0x20);
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(pic_acknowledge(&pic), 0x76);
    irq(2, true);                               /* the cascade pin is not an input */
    assert_int_equal(inb(0xa0), 0x40);
}

static void test_priorities_and_nesting(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x00);
    raise(5);
    raise(3);
    assert_int_equal(pic_acknowledge(&pic), 0x33);
    assert_false(pic_intr_pending(&pic));       /* 5 below 3 in service */
    raise(1);
    assert_true(pic_intr_pending(&pic));        /* 1 above: nests */
    assert_int_equal(pic_acknowledge(&pic), 0x31);
    outb(0x20, 0x20);                           /* clears 1, the highest */
    outb(0x20, 0x0b);
    assert_int_equal(inb(0x20), 0x08);
    outb(0x20, 0x20);
    assert_int_equal(pic_acknowledge(&pic), 0x35);
    outb(0x20, 0x65);
    assert_int_equal(inb(0x20), 0x00);
}

static void test_rotation(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x00);
    raise(1);
    raise(3);
    assert_int_equal(pic_acknowledge(&pic), 0x31);
    outb(0x20, 0xa0);               /* rotate on non-specific EOI: 1 lowest */
    raise(1);
    assert_int_equal(pic_acknowledge(&pic), 0x33);  /* 3 now beats 1 */
    outb(0x20, 0xe3);               /* rotate on specific EOI 3: 3 lowest */
    assert_int_equal(pic_acknowledge(&pic), 0x31);  /* order 4..7,0,1,2,3 */
    outb(0x20, 0x61);
    outb(0x20, 0xc4);               /* set priority: 4 lowest, 5 highest */
    raise(0);
    raise(5);
    raise(4);
    assert_int_equal(pic_acknowledge(&pic), 0x35);
    assert_false(pic_intr_pending(&pic));   /* 0 and 4 rank below 5 */
    outb(0x20, 0x20);
    assert_int_equal(pic_acknowledge(&pic), 0x30);
    outb(0x20, 0x20);
    assert_int_equal(pic_acknowledge(&pic), 0x34);
}

static void test_auto_eoi(void **state)
{
    (void)state;
    init_linux(true);
    outb(0x21, 0x00);
    raise(4);
    assert_int_equal(pic_acknowledge(&pic), 0x34);
    outb(0x20, 0x0b);
    assert_int_equal(inb(0x20), 0x00);      /* never in service */
    raise(4);
    assert_true(pic_intr_pending(&pic));
    outb(0x20, 0x80);                       /* rotate in AEOI mode */
    raise(6);
    assert_int_equal(pic_acknowledge(&pic), 0x34);  /* 4 is now lowest */
    raise(4);
    assert_int_equal(pic_acknowledge(&pic), 0x36);
    outb(0x20, 0x00);                       /* rotation off again */
    assert_int_equal(pic_acknowledge(&pic), 0x34);
}

static void test_spurious_irq7(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x00);
    irq(5, true);
    assert_true(pic_intr_pending(&pic));
    irq(5, false);                          /* request gone before INTA ... */
    assert_true(pic_intr_pending(&pic));    /* ... but INT stays latched */
    assert_int_equal(pic_acknowledge(&pic), 0x37);
    assert_false(pic_intr_pending(&pic));
    outb(0x20, 0x0b);
    assert_int_equal(inb(0x20), 0x00);      /* a spurious IRQ7 is not in service */
    /* masking a request after INT rose gives the same */
    raise(4);
    outb(0x21, 0x10);
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(pic_acknowledge(&pic), 0x37);
    assert_int_equal(inb(0x20), 0x00);
    outb(0x21, 0x00);                       /* IRQ4's edge is still in IRR */
    assert_int_equal(pic_acknowledge(&pic), 0x34);
    outb(0x20, 0x20);
    /* through the slave: spurious IRQ15, the master's IR2 in service */
    outb(0xa1, 0x00);
    irq(12, true);
    assert_true(pic_intr_pending(&pic));
    irq(12, false);
    assert_int_equal(pic_acknowledge(&pic), 0x3f);
    outb(0xa0, 0x0b);
    assert_int_equal(inb(0xa0), 0x00);
    assert_int_equal(inb(0x20), 0x04);
    outb(0x20, 0x20);
    assert_int_equal(inb(0x20), 0x00);
    assert_false(pic_intr_pending(&pic));
    /* real IRQ7 is in service, a spurious one is not */
    raise(7);
    assert_int_equal(pic_acknowledge(&pic), 0x37);
    assert_int_equal(inb(0x20), 0x80);
}

static void test_elcr_level(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x00);
    outb(0xa1, 0x00);
    pic_io_write(&pic, 0x4d0, 2, 0xffff);
    assert_int_equal(inb(0x4d0), 0xf8);     /* IRQ 0-2 edge only */
    assert_int_equal(inb(0x4d1), 0xde);     /* IRQ 8, 13 edge only */
    outb(0x4d0, 0x00);
    outb(0x4d1, 0x02);                      /* IRQ 9 level */
    irq(9, true);
    assert_int_equal(pic_acknowledge(&pic), 0x39);
    assert_false(pic_intr_pending(&pic));
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    assert_true(pic_intr_pending(&pic));    /* still high: again */
    assert_int_equal(pic_acknowledge(&pic), 0x39);
    irq(9, false);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    assert_false(pic_intr_pending(&pic));
    /* an edge IRQ with the line held high fires once */
    irq(10, true);
    assert_int_equal(pic_acknowledge(&pic), 0x3a);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    assert_false(pic_intr_pending(&pic));
    /* switching a high line to level requests at once */
    outb(0x4d1, 0x04);
    assert_true(pic_intr_pending(&pic));
    /* ICW1.LTIM makes every input level */
    irq(3, true);
    outb(0x20, 0x19); outb(0x21, 0x30); outb(0x21, 0x04); outb(0x21, 0x01);
    assert_int_equal(inb(0x20) & 0x08, 0x08);
}

static void test_poll_and_special_mask(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x00);
    outb(0x20, 0x0c);                       /* poll, nothing pending */
    assert_int_equal(inb(0x20), 0x00);
    raise(6);
    outb(0x20, 0x0c);
    assert_int_equal(inb(0x20), 0x86);
    outb(0x20, 0x0b);
    assert_int_equal(inb(0x20), 0x40);      /* poll put it in service */
    outb(0x20, 0x20);
    raise(3);
    assert_int_equal(pic_acknowledge(&pic), 0x33);
    raise(5);
    assert_false(pic_intr_pending(&pic));
    outb(0x21, 0x08);                       /* mask IR3 ... */
    assert_false(pic_intr_pending(&pic));
    outb(0x20, 0x68);                       /* ... and enter special mask mode */
    assert_true(pic_intr_pending(&pic));
    assert_int_equal(pic_acknowledge(&pic), 0x35);
    outb(0x20, 0x65);
    outb(0x20, 0x48);                       /* leave special mask mode */
    raise(5);
    assert_false(pic_intr_pending(&pic));
    outb(0x20, 0x63);
    assert_true(pic_intr_pending(&pic));
}

static void test_wide_and_unknown_ports(void **state)
{
    (void)state;
    init_linux(false);
    outb(0x21, 0x5a);
    raise(0);
    assert_int_equal(pic_io_read(&pic, 0x20, 2), 0x5a01);
    assert_int_equal(pic_io_read(&pic, 0x21, 2), 0xff5a);  /* 0x22 floats */
    pic_io_write(&pic, 0xa0, 2, 0x0000);    /* 0xa0: OCW2 0, 0xa1: IMR 0 */
    assert_int_equal(inb(0xa1), 0x00);
    /* a slave that is not ID 2 leaves the bus floating at INTA */
    outb(0xa0, 0x11); outb(0xa1, 0x38); outb(0xa1, 0x05); outb(0xa1, 0x01);
    outb(0x21, 0x00);
    assert_int_equal(pic_acknowledge(&pic), 0x30);  /* IRQ0 from above */
    outb(0x20, 0x20);
    raise(11);
    assert_int_equal(pic_acknowledge(&pic), 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_init_and_irq0),
        cmocka_unit_test(test_bios_init_and_cascade),
        cmocka_unit_test(test_priorities_and_nesting),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_auto_eoi),
        cmocka_unit_test(test_spurious_irq7),
        cmocka_unit_test(test_elcr_level),
        cmocka_unit_test(test_poll_and_special_mask),
        cmocka_unit_test(test_wide_and_unknown_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
