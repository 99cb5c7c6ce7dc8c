/*
 * Host unit test of the address-decoding bus, vmx/dev/bus.c: registration
 * (sorted, overlaps and wrap-around refused, capacity), lookup of whole
 * accesses at range edges, offsets passed to devices, the split of wide
 * port accesses into byte cycles (byte-wide devices, accesses straddling
 * two devices or a hole), open-bus bytes, and a random model check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vmx/dev/bus.h"

/* A device of byte registers that records its last access. */
struct regs {
    u8 r[64];
    u64 last_offset;
    u32 last_size;
    u32 accesses;
};

static void regs_read(void *ctx, u64 offset, u32 size, u64 *val)
{
    struct regs *d = ctx;
    *val = 0;
    for (u32 i = 0; i < size; i++)
        *val |= (u64)d->r[offset + i] << (8 * i);
    d->last_offset = offset;
    d->last_size = size;
    d->accesses++;
}

static void regs_write(void *ctx, u64 offset, u32 size, u64 val)
{
    struct regs *d = ctx;
    for (u32 i = 0; i < size; i++)
        d->r[offset + i] = (u8)(val >> (8 * i));
    d->last_offset = offset;
    d->last_size = size;
    d->accesses++;
}

static struct bus_device dev(const char *name, u64 base, u64 len, bool byte_wide, struct regs *r)
{
    return (struct bus_device){ name, base, len, byte_wide, regs_read, regs_write, r };
}

static void test_register(void **state)
{
    (void)state;
    struct io_bus bus = { 0 };
    struct regs a = { 0 };

    assert_true(bus_register(&bus, &(struct bus_device){ "b", 0x40, 4, false, NULL, NULL, NULL }));
    assert_true(bus_register(&bus, &(struct bus_device){ "a", 0x20, 2, false, NULL, NULL, NULL }));
    assert_true(bus_register(&bus, &(struct bus_device){ "c", 0x44, 1, false, NULL, NULL, NULL }));
    assert_int_equal(bus.n, 3);
    assert_int_equal(bus.devices[0].base, 0x20);        /* kept sorted */
    assert_int_equal(bus.devices[1].base, 0x40);
    assert_int_equal(bus.devices[2].base, 0x44);
    /* Overlaps on either side, inside, around; empty and wrapping ranges. */
    assert_false(bus_register(&bus, &(struct bus_device){ "x", 0x43, 1, false, NULL, NULL, NULL }));
    assert_false(bus_register(&bus, &(struct bus_device){ "x", 0x1f, 2, false, NULL, NULL, NULL }));
    assert_false(bus_register(&bus, &(struct bus_device){ "x", 0x10, 0x100, false, NULL, NULL, NULL }));
    assert_false(bus_register(&bus, &(struct bus_device){ "x", 0x50, 0, false, NULL, NULL, NULL }));
    assert_false(bus_register(&bus, &(struct bus_device){ "x", ~0ULL - 1, 4, false, NULL, NULL, NULL }));
    assert_int_equal(bus.n, 3);
    /* Adjacent is fine. */
    assert_true(bus_register(&bus, &(struct bus_device){ "d", 0x22, 0x1e, false, NULL, NULL, NULL }));
    /* Capacity. */
    struct io_bus full = { 0 };
    for (u32 i = 0; i < BUS_MAX_DEVICES; i++)
        assert_true(bus_register(&full, &(struct bus_device){ "n", 0x1000 + i * 8, 8, false, NULL, NULL, &a }));
    assert_false(bus_register(&full, &(struct bus_device){ "n", 0x10, 8, false, NULL, NULL, &a }));
}

static void test_find(void **state)
{
    (void)state;
    struct io_bus bus = { 0 };
    struct regs a = { 0 }, b = { 0 };
    struct bus_device da = dev("a", 0x3f8, 8, true, &a), db = dev("b", 0xfee00000, 0x1000, false, &b);

    assert_true(bus_register(&bus, &da));
    assert_true(bus_register(&bus, &db));
    assert_null(bus_find(&bus, 0x3f7, 1));
    assert_ptr_equal(bus_find(&bus, 0x3f8, 1)->ctx, &a);
    assert_ptr_equal(bus_find(&bus, 0x3ff, 1)->ctx, &a);
    assert_null(bus_find(&bus, 0x3ff, 2));              /* runs past the device */
    assert_null(bus_find(&bus, 0x400, 1));
    assert_ptr_equal(bus_find(&bus, 0xfee00ff8, 8)->ctx, &b);
    assert_null(bus_find(&bus, 0xfee00ffc, 8));
    assert_null(bus_find(&bus, 0xfee00000, 0));
    assert_null(bus_find(&bus, ~0ULL - 1, 4));          /* wraps */
    assert_null(bus_find(&bus, 0, 1));
}

static void test_access_whole_and_split(void **state)
{
    (void)state;
    struct io_bus bus = { 0 };
    struct regs uart = { 0 }, wide = { 0 }, next = { 0 };
    u64 v;

    assert_true(bus_register(&bus, &(struct bus_device){ "uart", 0x3f8, 8, true, regs_read, regs_write, &uart }));
    assert_true(bus_register(&bus, &(struct bus_device){ "pm", 0x600, 12, false, regs_read, regs_write, &wide }));
    assert_true(bus_register(&bus, &(struct bus_device){ "next", 0x60c, 4, false, regs_read, regs_write, &next }));
    for (int i = 0; i < 8; i++)
        uart.r[i] = (u8)(0x10 + i);

    /* A byte-wide device sees byte cycles, in port order. */
    assert_true(bus_read(&bus, 0x3f9, 2, &v));
    assert_int_equal(v, 0x1211);
    assert_int_equal(uart.accesses, 2);
    assert_int_equal(uart.last_size, 1);
    assert_int_equal(uart.last_offset, 2);
    /* Straddling the device's end: the bytes beyond float. */
    assert_true(bus_read(&bus, 0x3fe, 4, &v));
    assert_int_equal(v, 0xffff1716);
    /* A word-wide device sees the whole access at its offset. */
    assert_true(bus_write(&bus, 0x608, 4, 0xa1b2c3d4));
    assert_int_equal(wide.last_offset, 8);
    assert_int_equal(wide.last_size, 4);
    assert_true(bus_read(&bus, 0x608, 4, &v));
    assert_int_equal(v, 0xa1b2c3d4);
    /* Across two devices: split into bytes, each to its owner. */
    assert_true(bus_write(&bus, 0x60a, 4, 0x44332211));
    assert_int_equal(wide.r[10], 0x11);
    assert_int_equal(wide.r[11], 0x22);
    assert_int_equal(next.r[0], 0x33);
    assert_int_equal(next.r[1], 0x44);
    /* Nobody there: false, the caller answers (open bus). */
    assert_false(bus_read(&bus, 0x80, 1, &v));
    assert_false(bus_write(&bus, 0x80, 4, 0));
    /* A device with no read callback floats. */
    assert_true(bus_register(&bus, &(struct bus_device){ "wo", 0xf4, 4, false, NULL, regs_write, &next }));
    assert_true(bus_read(&bus, 0xf4, 1, &v));
    assert_int_equal(v & 0xff, 0xff);
}

/* Random registrations and accesses against a byte-ownership model. */
static void test_random_model(void **state)
{
    (void)state;
    static struct regs devs[BUS_MAX_DEVICES];
    static int owner[0x400];
    struct io_bus bus = { 0 };

    srand(12345);
    memset(owner, -1, sizeof(owner));
    memset(devs, 0, sizeof(devs));
    for (int tries = 0; tries < 200 && bus.n < BUS_MAX_DEVICES; tries++) {
        u64 base = (u64)(rand() % 0x3c0), len = 1 + (u64)(rand() % 60);
        bool free_range = true;
        for (u64 p = base; p < base + len; p++)
            free_range &= owner[p] < 0;
        int id = (int)bus.n;
        bool ok = bus_register(&bus, &(struct bus_device){ "r", base, len, rand() & 1, regs_read, regs_write,
                                                           &devs[id] });
        assert_int_equal(ok, free_range);
        if (ok)
            for (u64 p = base; p < base + len; p++)
                owner[p] = id;
    }
    for (int i = 0; i < 20000; i++) {
        u64 port = (u64)(rand() % 0x3f8);
        u32 size = 1u << (rand() % 3);
        const struct bus_device *d = bus_find(&bus, port, size);
        bool expect = owner[port] >= 0;
        for (u32 k = 1; k < size; k++)
            expect &= owner[port + k] == owner[port];
        assert_int_equal(d != NULL, expect);
        u64 v = ((u64)rand() << 16) ^ (u64)rand();
        bool any = false;
        for (u32 k = 0; k < size; k++)
            any |= owner[port + k] >= 0;
        assert_int_equal(bus_write(&bus, port, size, v), any);
        u64 back;
        assert_int_equal(bus_read(&bus, port, size, &back), any);
        if (!any)
            continue;                   /* the caller answers: open bus */
        for (u32 k = 0; k < size; k++) {
            u8 byte = (u8)(back >> (8 * k));
            u8 want = owner[port + k] >= 0 ? (u8)(v >> (8 * k)) : 0xff;
            assert_int_equal(byte, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_access_whole_and_split),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
