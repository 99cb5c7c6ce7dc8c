/*
 * Host unit test of the ACPI table builder, vmx/dev/acpi_tables.c. The
 * tables are copied into a model of guest-physical memory and walked as an
 * OS walks them: scan the BIOS area for the RSDP, follow the XSDT and the
 * RSDT, find the FADT and MADT, from the FADT the FACS and the DSDT. Every
 * field is read at its offset in the ACPI 6.0 specification (not through
 * the builder's structures), every checksum and length is checked. Bad
 * configurations and short buffers are refused. When the host has ACPICA's
 * iasl, each table is also disassembled (and recompiled) by it and must
 * give no error or warning.
 */
#define _POSIX_C_SOURCE 200809L     /* popen, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmx/dev/acpi_tables.h"

#define GUEST_MEM       (2u << 20)
#define RSDP_GPA        0xf0000
#define TABLES_GPA      0xe0000

static u8 *guest;               /* guest-physical 0 .. 2 MiB */

static u8 rd8(u64 gpa) { assert_true(gpa < GUEST_MEM); return guest[gpa]; }
static u16 rd16(u64 gpa) { return rd8(gpa) | (u16)rd8(gpa + 1) << 8; }
static u32 rd32(u64 gpa) { return rd16(gpa) | (u32)rd16(gpa + 2) << 16; }
static u64 rd64(u64 gpa) { return rd32(gpa) | (u64)rd32(gpa + 4) << 32; }

static u8 sum(u64 gpa, u32 len)
{
    u8 s = 0;

    assert_true(gpa + len <= GUEST_MEM);
    for (u32 i = 0; i < len; i++)
        s += guest[gpa + i];
    return s;
}

/* Builds cfg's tables into fresh guest memory; returns the tables' size. */
static u32 build(const struct acpi_config *cfg)
{
    u8 rsdp[ACPI_RSDP_SIZE], *tables;
    u32 size = acpi_tables_size(cfg->ncpus);
    int n;

    tables = malloc(size);              /* exactly sized: ASan sees any overrun */
    memset(guest, 0xa5, GUEST_MEM);
    n = acpi_build_tables(cfg, rsdp, tables, size);
    assert_int_equal(n, size);
    memcpy(guest + cfg->rsdp_gpa, rsdp, sizeof(rsdp));
    memcpy(guest + cfg->tables_gpa, tables, size);
    free(tables);
    return size;
}

/* The standard SDT header checks; returns the table's length. */
static u32 check_sdt(u64 gpa, const char *sig, u8 revision)
{
    u32 len = rd32(gpa + 4);

    assert_memory_equal(guest + gpa, sig, 4);
    assert_true(len >= 36 && gpa + len <= GUEST_MEM);
    assert_int_equal(rd8(gpa + 8), revision);
    assert_int_equal(sum(gpa, len), 0);
    assert_memory_equal(guest + gpa + 10, "TURTLE", 6);
    return len;
}

/* The RSDP, found by scanning 0xe0000-0xfffff on 16-byte boundaries. */
static u64 find_rsdp(void)
{
    for (u64 a = ACPI_RSDP_AREA_START; a < ACPI_RSDP_AREA_END; a += 16)
        if (!memcmp(guest + a, "RSD PTR ", 8) && sum(a, 20) == 0)
            return a;
    return 0;
}

struct found {
    u64 fadt, madt, facs, dsdt;
};

/* Walks RSDP -> XSDT and RSDT, which must list the same tables. */
static struct found walk(const struct acpi_config *cfg)
{
    struct found f = { 0 };
    u64 rsdp = find_rsdp(), xsdt, rsdt;
    u32 xlen, rlen, n;

    assert_int_equal(rsdp, cfg->rsdp_gpa);
    assert_int_equal(rd8(rsdp + 15), 2);                    /* revision */
    assert_memory_equal(guest + rsdp + 9, "TURTLE", 6);
    assert_int_equal(rd32(rsdp + 20), ACPI_RSDP_SIZE);      /* length */
    assert_int_equal(sum(rsdp, ACPI_RSDP_SIZE), 0);         /* extended checksum */
    xsdt = rd64(rsdp + 24);
    rsdt = rd32(rsdp + 16);
    xlen = check_sdt(xsdt, "XSDT", 1);
    rlen = check_sdt(rsdt, "RSDT", 1);
    assert_int_equal((xlen - 36) % 8, 0);
    assert_int_equal((rlen - 36) % 4, 0);
    n = (xlen - 36) / 8;
    assert_int_equal(n, (rlen - 36) / 4);
    assert_int_equal(n, 2);                                 /* FADT, MADT: no HPET */
    for (u32 i = 0; i < n; i++) {
        u64 t = rd64(xsdt + 36 + 8 * i);

        assert_int_equal(t, rd32(rsdt + 36 + 4 * i));
        if (!memcmp(guest + t, "FACP", 4)) {
            assert_int_equal(f.fadt, 0);
            f.fadt = t;
        } else if (!memcmp(guest + t, "APIC", 4)) {
            assert_int_equal(f.madt, 0);
            f.madt = t;
        } else {
            fail_msg("unexpected table %.4s", (const char *)guest + t);
        }
    }
    assert_true(f.fadt && f.madt);
    return f;
}

static void check_gas(u64 gpa, u8 space, u8 bits, u64 addr)
{
    assert_int_equal(rd8(gpa), space);
    assert_int_equal(rd8(gpa + 1), bits);
    assert_int_equal(rd8(gpa + 2), 0);                      /* bit offset */
    assert_int_equal(rd64(gpa + 4), addr);
}

static void check_fadt(const struct acpi_config *cfg, struct found *f)
{
    u64 t = f->fadt;
    u32 flags, boot;

    assert_int_equal(check_sdt(t, "FACP", 6), 276);
    assert_int_equal(rd8(t + 131), 0);                      /* minor version: 6.0 */
    f->facs = rd32(t + 36);
    f->dsdt = rd32(t + 40);
    assert_int_equal(rd64(t + 132), 0);                     /* X_FIRMWARE_CTRL: FACS is < 4G */
    assert_int_equal(rd64(t + 140), f->dsdt);               /* X_DSDT == DSDT */
    assert_int_equal(rd16(t + 46), 9);                      /* SCI_INT */
    assert_int_equal(rd32(t + 48), 0);                      /* SMI_CMD: always in ACPI mode */
    assert_int_equal(rd8(t + 52), 0);
    assert_int_equal(rd8(t + 53), 0);
    assert_int_equal(rd32(t + 56), cfg->pm1a_evt_port);
    assert_int_equal(rd32(t + 60), 0);                      /* PM1b */
    assert_int_equal(rd32(t + 64), cfg->pm1a_cnt_port);
    assert_int_equal(rd32(t + 68), 0);
    assert_int_equal(rd32(t + 72), 0);                      /* PM2 */
    assert_int_equal(rd32(t + 76), cfg->pm_tmr_port);
    assert_int_equal(rd32(t + 80), 0);                      /* no GPE blocks */
    assert_int_equal(rd32(t + 84), 0);
    assert_int_equal(rd8(t + 88), 4);                       /* PM1_EVT_LEN */
    assert_int_equal(rd8(t + 89), 2);                       /* PM1_CNT_LEN */
    assert_int_equal(rd8(t + 91), 4);                       /* PM_TMR_LEN */
    assert_int_equal(rd8(t + 92), 0);
    assert_true(rd16(t + 96) > 100 && rd16(t + 98) > 1000); /* no C2, no C3 */
    assert_int_equal(rd8(t + 108), cfg->century);
    boot = rd16(t + 109);
    assert_int_equal(boot & 0x1, cfg->legacy_devices);      /* LEGACY_DEVICES */
    assert_int_equal(!!(boot & 0x2), cfg->i8042);           /* 8042 */
    assert_true(boot & 0x4);                                /* VGA not present */
    assert_int_equal(!!(boot & 0x20), cfg->no_cmos_rtc);    /* CMOS RTC not present */
    assert_int_equal(boot & ~0x27u, 0);
    flags = rd32(t + 112);
    assert_true(flags & (1u << 10));                        /* RESET_REG_SUP */
    assert_int_equal(!!(flags & (1u << 8)), cfg->pm_tmr_32bit);  /* TMR_VAL_EXT */
    assert_int_equal(flags & (1u << 20), 0);                /* not HW_REDUCED_ACPI */
    check_gas(t + 116, 1, 8, 0xcf9);                        /* RESET_REG: I/O 0xcf9 */
    assert_int_equal(rd8(t + 128), 0x06);                   /* RESET_VALUE */
    /* The X_ blocks match the 32-bit ones: same port, length * 8 bits. */
    check_gas(t + 148, 1, 32, cfg->pm1a_evt_port);
    check_gas(t + 160, 0, 0, 0);
    check_gas(t + 172, 1, 16, cfg->pm1a_cnt_port);
    check_gas(t + 184, 0, 0, 0);
    check_gas(t + 196, 0, 0, 0);
    check_gas(t + 208, 1, 32, cfg->pm_tmr_port);
    check_gas(t + 220, 0, 0, 0);
    check_gas(t + 232, 0, 0, 0);
    check_gas(t + 244, 0, 0, 0);                            /* no sleep registers */
    check_gas(t + 256, 0, 0, 0);

    /* FACS: 64 bytes, 64-byte aligned, no checksum. */
    assert_int_equal(f->facs % 64, 0);
    assert_memory_equal(guest + f->facs, "FACS", 4);
    assert_int_equal(rd32(f->facs + 4), 64);
    assert_int_equal(rd8(f->facs + 32), 2);                 /* version */
    assert_int_equal(rd32(f->facs + 12), 0);                /* no waking vector */
}

static void check_dsdt(const struct acpi_config *cfg, const struct found *f)
{
    const u8 s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                      0x0a, cfg->s5_slp_typ, 0x0a, cfg->s5_slp_typ, 0x00, 0x00 };
    /* Scope (\_SB) { Device (RTC_) {...} Device (KBD_) {...} Device (MOU_) {...} },
     * encoded by hand here (PkgLengths: 124 in two bytes, 37, 16, 45, 24, 29, 8). */
    const u8 devices[] = {
        0x10, 0x4c, 0x07, 0x5c, '_', 'S', 'B', '_',
        0x5b, 0x82, 0x25, 'R', 'T', 'C', '_',
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00,             /* PNP0B00 */
        0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
        0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,                     /* IO 0x70-0x71 */
        0x22, 0x00, 0x01, 0x79, 0x00,                                       /* IRQ 8, end */
        0x5b, 0x82, 0x2d, 'K', 'B', 'D', '_',
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03,             /* PNP0303 */
        0x08, '_', 'C', 'R', 'S', 0x11, 0x18, 0x0a, 0x15,
        0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,                     /* IO 0x60 */
        0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,                     /* IO 0x64 */
        0x22, 0x02, 0x00, 0x79, 0x00,                                       /* IRQ 1, end */
        0x5b, 0x82, 0x1d, 'M', 'O', 'U', '_',
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0f, 0x13,             /* PNP0F13 */
        0x08, '_', 'C', 'R', 'S', 0x11, 0x08, 0x0a, 0x05,
        0x22, 0x00, 0x10, 0x79, 0x00,                                       /* IRQ 12, end */
    };
    u32 len = check_sdt(f->dsdt, "DSDT", 2);

    assert_memory_equal(guest + f->dsdt + 36, s5, sizeof(s5));
    if (!cfg->i8042 && cfg->no_cmos_rtc) {
        assert_int_equal(len, 36 + sizeof(s5));             /* \_S5 and nothing else */
    } else if (cfg->i8042 && !cfg->no_cmos_rtc) {
        assert_int_equal(len, 36 + sizeof(s5) + sizeof(devices));
        assert_memory_equal(guest + f->dsdt + 36 + sizeof(s5), devices, sizeof(devices));
    } else {
        assert_true(len > 36 + sizeof(s5));                 /* one of them: iasl checks it */
    }
}

static void check_madt(const struct acpi_config *cfg, const struct found *f)
{
    u64 t = f->madt, p, end;
    u32 cpus = 0, ioapics = 0, isos = 0, nmis = 0;

    end = t + check_sdt(t, "APIC", 4);
    assert_int_equal(rd32(t + 36), 0xfee00000);             /* local APIC address */
    assert_int_equal(rd32(t + 40), 1);                      /* PCAT_COMPAT */
    for (p = t + 44; p < end; p += rd8(p + 1)) {
        u8 type = rd8(p), len = rd8(p + 1);

        assert_true(len >= 2 && p + len <= end);
        switch (type) {
        case 0:                                             /* processor local APIC */
            assert_int_equal(len, 8);
            assert_int_equal(rd8(p + 2), cpus);             /* processor UID */
            assert_int_equal(rd8(p + 3), cfg->apic_ids ? cfg->apic_ids[cpus] : cpus);
            assert_int_equal(rd32(p + 4), 1);               /* enabled */
            assert_int_equal(ioapics + isos + nmis, 0);     /* processors first */
            cpus++;
            break;
        case 1:                                             /* I/O APIC */
            assert_int_equal(len, 12);
            assert_int_equal(rd8(p + 2), cfg->ioapic_id);
            assert_int_equal(rd32(p + 4), 0xfec00000);
            assert_int_equal(rd32(p + 8), 0);               /* GSI base */
            ioapics++;
            break;
        case 2:                                             /* interrupt source override */
            assert_int_equal(len, 10);
            assert_int_equal(rd8(p + 2), 0);                /* ISA */
            if (rd8(p + 3) == 0) {
                assert_int_equal(rd32(p + 4), 2);           /* IRQ0 -> GSI2 */
                assert_int_equal(rd16(p + 8), 0);           /* conforming: edge, high */
            } else {
                assert_int_equal(rd8(p + 3), 9);            /* SCI */
                assert_int_equal(rd32(p + 4), 9);
                assert_int_equal(rd16(p + 8), 0xd);         /* level, active high */
            }
            isos++;
            break;
        case 4:                                             /* local APIC NMI */
            assert_int_equal(len, 6);
            assert_int_equal(rd8(p + 2), 0xff);             /* all processors */
            assert_int_equal(rd16(p + 3), 0x5);             /* edge, active high */
            assert_int_equal(rd8(p + 5), 1);                /* LINT1 */
            nmis++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", type);
        }
    }
    assert_int_equal(p, end);                               /* entries fill the table */
    assert_int_equal(cpus, cfg->ncpus);
    assert_int_equal(ioapics, 1);
    assert_int_equal(isos, 2);
    assert_int_equal(nmis, 1);
}

static void check_all(const struct acpi_config *cfg)
{
    u32 size = build(cfg);
    struct found f = walk(cfg);

    check_fadt(cfg, &f);
    check_dsdt(cfg, &f);
    check_madt(cfg, &f);
    /* Every table lies inside the area the builder reported. */
    assert_true(f.facs >= cfg->tables_gpa && f.dsdt >= cfg->tables_gpa);
    assert_true(f.madt + rd32(f.madt + 4) <= cfg->tables_gpa + size);
}

static void test_default_platform(void **state)
{
    struct acpi_config cfg;

    (void)state;
    acpi_config_default(&cfg, 1, RSDP_GPA, TABLES_GPA);
    check_all(&cfg);
}

static void test_every_cpu_count(void **state)
{
    struct acpi_config cfg;
    u8 ids[255];

    (void)state;
    for (u32 i = 0; i < 255; i++)
        ids[i] = (u8)(254 - i);                             /* descending, not the index */
    for (u32 n = 1; n <= 255; n++) {
        acpi_config_default(&cfg, n, 0xe0000 + 16 * (n % 64), 0x100000 + 64 * n);
        cfg.apic_ids = n & 1 ? ids : NULL;
        check_all(&cfg);
    }
}

static void test_platform_options(void **state)
{
    struct acpi_config cfg;

    (void)state;
    acpi_config_default(&cfg, 4, 0xfffd0, 0x80000);
    cfg.pm1a_evt_port = 0xb000;
    cfg.pm1a_cnt_port = 0xb004;
    cfg.pm_tmr_port = 0xb008;
    cfg.pm_tmr_32bit = true;
    cfg.s5_slp_typ = 5;
    cfg.legacy_devices = false;
    cfg.i8042 = false;
    cfg.no_cmos_rtc = true;
    cfg.century = 0;
    cfg.ioapic_id = 9;
    check_all(&cfg);
    /* The tables may follow the RSDP directly. */
    acpi_config_default(&cfg, 2, 0xe0000, 0xe0040);
    check_all(&cfg);
}

static void test_refusals(void **state)
{
    struct acpi_config good, c;
    u8 rsdp[ACPI_RSDP_SIZE], *tables;
    u32 need;
    const u8 dup[2] = { 3, 3 }, bad_id[2] = { 0, 255 };

    (void)state;
    acpi_config_default(&good, 2, RSDP_GPA, TABLES_GPA);
    need = acpi_tables_size(2);
    tables = malloc(need);
    assert_int_equal(acpi_build_tables(&good, rsdp, tables, need), need);
    assert_int_equal(acpi_build_tables(&good, rsdp, tables, need - 1), ACPI_ERR_NO_SPACE);
    assert_int_equal(acpi_build_tables(&good, rsdp, tables, 0), ACPI_ERR_NO_SPACE);

#define REFUSED(change) do {                                                    \
        c = good;                                                               \
        change;                                                                 \
        assert_int_equal(acpi_build_tables(&c, rsdp, tables, need), ACPI_ERR_CONFIG); \
    } while (0)
    REFUSED(c.ncpus = 0);
    REFUSED(c.ncpus = 256);
    REFUSED(c.apic_ids = dup);
    REFUSED(c.apic_ids = bad_id);
    REFUSED(c.rsdp_gpa = RSDP_GPA + 8);                     /* not 16-byte aligned */
    REFUSED(c.rsdp_gpa = 0xdfff0);                          /* below the BIOS area */
    REFUSED(c.rsdp_gpa = 0xfffe0);                          /* runs past 1 MiB */
    REFUSED(c.rsdp_gpa = 0x100000);
    REFUSED(c.tables_gpa = TABLES_GPA + 16);                /* FACS needs 64 */
    REFUSED(c.tables_gpa = 0);
    REFUSED(c.tables_gpa = 0xffffffc0);                     /* past 4 GiB */
    REFUSED(c.tables_gpa = 1ULL << 32);
    REFUSED(c.tables_gpa = RSDP_GPA - 64);                  /* overlaps the RSDP */
    REFUSED(c.pm1a_evt_port = 0);
    REFUSED(c.pm1a_evt_port = 0xfffe);                      /* 4 bytes past 0xffff */
    REFUSED(c.pm1a_cnt_port = 0);
    REFUSED(c.pm_tmr_port = 0xfffd);
    REFUSED(c.s5_slp_typ = 8);
    REFUSED(c.no_cmos_rtc = true);                          /* with a century index */
    REFUSED(c.century = 0x80);
#undef REFUSED
    free(tables);
}

/* --- ACPICA's disassembler ---------------------------------------------- */

static bool have_iasl(void)
{
    return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* Runs cmd in dir; returns its exit status and whether its output names
 * an error or a warning (iasl's summary line "0 Errors" does not count). */
static int run_iasl(const char *dir, const char *cmd, bool *complained)
{
    char line[512], full[1024];
    FILE *p;
    int st;

    snprintf(full, sizeof(full), "cd %s && %s 2>&1", dir, cmd);
    p = popen(full, "r");
    assert_non_null(p);
    *complained = false;
    while (fgets(line, sizeof(line), p)) {
        if ((strstr(line, "Error") || strstr(line, "Warning") || strstr(line, "Invalid") ||
             strstr(line, "Incorrect") || strstr(line, "Remark")) &&
            !strstr(line, "Compilation successful") && !strstr(line, "0 Errors")) {
            *complained = true;
            fprintf(stderr, "iasl: %s", line);
        }
    }
    st = pclose(p);
    return st;
}

static void dump(const char *dir, const char *name, u64 gpa, u32 len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(guest + gpa, 1, len, f), len);
    fclose(f);
}

static void test_iasl_accepts(void **state)
{
    /* Not the RSDP: this iasl reads a table's length at offset 4, where the
     * RSDP has "PTR ". walk() checks it completely. */
    static const char *const names[] = { "xsdt", "rsdt", "facp", "apic", "facs", "dsdt" };
    char dir[] = "/tmp/turtle-acpi-XXXXXX", cmd[256];
    struct acpi_config cfg;
    struct found f;
    u64 rsdp;
    bool complained;

    (void)state;
    if (!have_iasl()) {
        printf("iasl not installed (Debian acpica-tools): disassembly check skipped\n");
        skip();
    }
    acpi_config_default(&cfg, 4, RSDP_GPA, TABLES_GPA);
    build(&cfg);
    f = walk(&cfg);
    check_fadt(&cfg, &f);
    rsdp = find_rsdp();
    assert_non_null(mkdtemp(dir));
    dump(dir, "xsdt", rd64(rsdp + 24), rd32(rd64(rsdp + 24) + 4));
    dump(dir, "rsdt", rd32(rsdp + 16), rd32(rd32(rsdp + 16) + 4));
    dump(dir, "facp", f.fadt, rd32(f.fadt + 4));
    dump(dir, "apic", f.madt, rd32(f.madt + 4));
    dump(dir, "facs", f.facs, 64);
    dump(dir, "dsdt", f.dsdt, rd32(f.dsdt + 4));
    for (u32 i = 0; i < ARRAY_SIZE(names); i++) {
        snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", names[i]);
        assert_int_equal(run_iasl(dir, cmd, &complained), 0);
        if (complained)
            fail_msg("iasl -d %s: errors or warnings", names[i]);
        /* What iasl disassembled must compile back without complaint. */
        snprintf(cmd, sizeof(cmd), "iasl -p %s-again %s.dsl", names[i], names[i]);
        assert_int_equal(run_iasl(dir, cmd, &complained), 0);
        if (complained)
            fail_msg("iasl %s.dsl: errors or warnings", names[i]);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    guest = malloc(GUEST_MEM);
    return guest ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(guest);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_platform),
        cmocka_unit_test(test_every_cpu_count),
        cmocka_unit_test(test_platform_options),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_iasl_accepts),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
