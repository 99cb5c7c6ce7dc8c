/*
 * Host unit test of PCI configuration mechanism #1 and the host bridge,
 * vmx/dev/pci.c: CONFIG_ADDRESS only as a dword at 0xcf8 (reserved bits
 * read 0), the host bridge's identity and header at 00:00.0 through byte,
 * word and dword reads at every offset of CONFIG_DATA, all ones for every
 * other device and function and with the enable bit clear, the writable
 * command bits and nothing else, and the checks Linux's pci_check_type1()
 * and pci_check_type2() make.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmx/dev/pci.h"

static struct pci_host p;

static u32 cfg_read(u32 bdf, u32 reg, u32 size)
{
    pci_io_write(&p, 0xcf8, 4, 0x80000000u | bdf << 8 | (reg & 0xfc));
    return pci_io_read(&p, (u16)(0xcfc + (reg & 3)), size);
}

static void cfg_write(u32 bdf, u32 reg, u32 size, u32 v)
{
    pci_io_write(&p, 0xcf8, 4, 0x80000000u | bdf << 8 | (reg & 0xfc));
    pci_io_write(&p, (u16)(0xcfc + (reg & 3)), size, v);
}

static void test_config_address(void **state)
{
    (void)state;
    pci_host_reset(&p);
    assert_int_equal(pci_io_read(&p, 0xcf8, 4), 0);
    pci_io_write(&p, 0xcf8, 4, 0xffffffff);
    assert_int_equal(pci_io_read(&p, 0xcf8, 4), 0x80fffffc);   /* 30:24 and 1:0 read 0 */
    /* bytes and words at 0xcf8-0xcfb are not CONFIG_ADDRESS */
    pci_io_write(&p, 0xcf8, 1, 0x00);
    pci_io_write(&p, 0xcfa, 2, 0x0000);
    assert_int_equal(pci_io_read(&p, 0xcf8, 4), 0x80fffffc);
    assert_int_equal(pci_io_read(&p, 0xcf8, 1), 0xff);
    assert_int_equal(pci_io_read(&p, 0xcfa, 1), 0xff);
    assert_int_equal(pci_io_read(&p, 0xcfa, 2), 0xffff);
}

static void test_host_bridge(void **state)
{
    (void)state;
    pci_host_reset(&p);
    assert_int_equal(cfg_read(0, 0x00, 4), 0x12378086);
    assert_int_equal(cfg_read(0, 0x00, 2), 0x8086);
    assert_int_equal(cfg_read(0, 0x02, 2), 0x1237);
    assert_int_equal(cfg_read(0, 0x03, 1), 0x12);
    assert_int_equal(cfg_read(0, 0x08, 4), 0x06000002);         /* class 06/00/00, revision 2 */
    assert_int_equal(cfg_read(0, 0x0b, 1), 0x06);
    assert_int_equal(cfg_read(0, 0x0a, 1), 0x00);
    assert_int_equal(cfg_read(0, 0x0e, 1), 0x00);               /* header type 0, one function */
    for (u32 bar = 0x10; bar <= 0x24; bar += 4) {               /* no BARs: sizing reads 0 */
        cfg_write(0, bar, 4, 0xffffffff);
        assert_int_equal(cfg_read(0, bar, 4), 0);
    }
    assert_int_equal(cfg_read(0, 0x34, 1), 0);                  /* no capabilities */
    assert_int_equal(cfg_read(0, 0x3d, 1), 0);                  /* no interrupt pin */
    assert_int_equal(cfg_read(0, 0xfc, 4), 0);
    assert_int_equal(cfg_read(0, 0x06, 2) & 0x0010, 0);        /* status: no capability list */
}

static void test_command_register(void **state)
{
    (void)state;
    pci_host_reset(&p);
    assert_int_equal(cfg_read(0, 0x04, 2), 0x0006);
    cfg_write(0, 0x04, 2, 0xffff);
    assert_int_equal(cfg_read(0, 0x04, 2), 0x0007);             /* I/O, memory, bus master only */
    cfg_write(0, 0x04, 4, 0xffff0000);                          /* status RW1C, command 0 */
    assert_int_equal(cfg_read(0, 0x04, 4), 0x02000000);
    cfg_write(0, 0x05, 1, 0xff);                                /* the high byte: fixed */
    assert_int_equal(cfg_read(0, 0x04, 2), 0x0000);
    cfg_write(0, 0x04, 1, 0x02);
    assert_int_equal(cfg_read(0, 0x04, 2), 0x0002);
    cfg_write(0, 0x00, 4, 0);                                   /* the ID is read-only */
    assert_int_equal(cfg_read(0, 0x00, 4), 0x12378086);
}

static void test_absent_functions(void **state)
{
    (void)state;
    pci_host_reset(&p);
    for (u32 dev = 0; dev < 32; dev++)
        for (u32 fn = 0; fn < 8; fn++) {
            if (!dev && !fn)
                continue;
            assert_int_equal(cfg_read(dev << 3 | fn, 0, 4), 0xffffffff);
            assert_int_equal(cfg_read(dev << 3 | fn, 0, 2), 0xffff);
        }
    assert_int_equal(cfg_read(1 << 8, 0, 4), 0xffffffff);       /* bus 1 */
    assert_int_equal(cfg_read(0xff << 8, 0, 1), 0xff);
    cfg_write(0x08, 0x04, 2, 0x7);                              /* goes nowhere */
    assert_int_equal(cfg_read(0, 0x04, 2), 0x0006);
    /* enable bit clear: no configuration cycle */
    pci_io_write(&p, 0xcf8, 4, 0x00000000);
    assert_int_equal(pci_io_read(&p, 0xcfc, 4), 0xffffffff);
}

/* Linux's pci_check_type1(): a byte to 0xcfb, then CONFIG_ADDRESS must
 * read back 0x80000000; pci_check_type2(): bytes at 0xcf8/0xcfa must read
 * back 0 (they float here, so mechanism #2 is not found). */
static void test_linux_detection(void **state)
{
    (void)state;
    pci_host_reset(&p);
    pci_io_write(&p, 0xcfb, 1, 0x01);
    u32 saved = pci_io_read(&p, 0xcf8, 4);
    pci_io_write(&p, 0xcf8, 4, 0x80000000);
    assert_int_equal(pci_io_read(&p, 0xcf8, 4), 0x80000000);
    pci_io_write(&p, 0xcf8, 4, saved);
    pci_io_write(&p, 0xcfb, 1, 0x00);
    pci_io_write(&p, 0xcf8, 1, 0x00);
    pci_io_write(&p, 0xcfa, 1, 0x00);
    assert_int_not_equal(pci_io_read(&p, 0xcf8, 1), 0x00);
    assert_int_not_equal(pci_io_read(&p, 0xcfa, 1), 0x00);
    /* the sanity check: some device on bus 0 is a host bridge */
    assert_int_equal(cfg_read(0, 0x0a, 2), 0x0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_address),
        cmocka_unit_test(test_host_bridge),
        cmocka_unit_test(test_command_register),
        cmocka_unit_test(test_absent_functions),
        cmocka_unit_test(test_linux_detection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
