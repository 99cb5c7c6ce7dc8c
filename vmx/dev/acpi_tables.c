/*
 * Building an L1's ACPI tables (ACPI 6.0, chapter 5). Layout of the tables
 * area, from cfg->tables_gpa, each table 16-byte aligned:
 *   FACS (64-byte aligned, first), DSDT, FADT, MADT, XSDT, RSDT;
 * the RSDP goes separately to cfg->rsdp_gpa in the BIOS area. Every table
 * is built in a local structure and copied, so the buffers need no
 * alignment. Validate the config first, then write.
 */
#include "kernel/acpi_defs.h"
#include "kernel/mm.h"
#include "vmx/dev/acpi_dsdt.h"
#include "vmx/dev/acpi_tables.h"

/* Warning: these structures are read by guest operating systems; their
 * layout is the ACPI specification's, pinned below. */


struct acpi_fadt {                          /* ACPI 6.0 Table 5-34 */
    struct acpi_header h;
    u32 firmware_ctrl;
    u32 dsdt;
    u8 reserved0;
    u8 preferred_pm_profile;
    u16 sci_int;
    u32 smi_cmd;
    u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
    u32 pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
    u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
    u8 gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
    u16 p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
    u16 iapc_boot_arch;
    u8 reserved1;
    u32 flags;
    struct acpi_gas reset_reg;
    u8 reset_value;
    u16 arm_boot_arch;
    u8 fadt_minor_version;
    u64 x_firmware_ctrl;
    u64 x_dsdt;
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
    struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
    struct acpi_gas sleep_control_reg, sleep_status_reg;
    u64 hypervisor_vendor_identity;
} __packed;
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT.SCI_INT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT.PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT.PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT.PM1_EVT_LEN");
_Static_assert(offsetof(struct acpi_fadt, century) == 108, "FADT.CENTURY");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT.IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT.Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT.RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, reset_value) == 128, "FADT.RESET_VALUE");
_Static_assert(offsetof(struct acpi_fadt, fadt_minor_version) == 131, "FADT minor version");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT.X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT.X_PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT.X_PM_TMR_BLK");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT.SLEEP_CONTROL_REG");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_identity) == 268, "FADT hypervisor");

struct acpi_facs {                          /* ACPI 5.2.10, Table 5-37 */
    char signature[4];
    u32 length;
    u32 hardware_signature;
    u32 firmware_waking_vector;
    u32 global_lock;
    u32 flags;
    u64 x_firmware_waking_vector;
    u8 version;
    u8 reserved0[3];
    u32 ospm_flags;
    u8 reserved1[24];
} __packed;
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(offsetof(struct acpi_facs, version) == 32, "FACS.Version");

struct acpi_madt {                          /* ACPI 5.2.12, Table 5-43 */
    struct acpi_header h;
    u32 lapic_address;
    u32 flags;
} __packed;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");

struct madt_lapic {                         /* Processor Local APIC, Table 5-46 */
    u8 type, length, processor_uid, apic_id;
    u32 flags;
} __packed;
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC");

struct madt_ioapic {                        /* I/O APIC, Table 5-48 */
    u8 type, length, ioapic_id, reserved;
    u32 address;
    u32 gsi_base;
} __packed;
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");

struct madt_iso {                           /* Interrupt Source Override, Table 5-49 */
    u8 type, length, bus, source;
    u32 gsi;
    u16 flags;
} __packed;
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt source override");

struct madt_lapic_nmi {                     /* Local APIC NMI, Table 5-53 */
    u8 type, length, processor_uid;
    u16 flags;
    u8 lint;
} __packed;
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

#define ACPI_OEM_ID             "TURTLE"
#define ACPI_OEM_TABLE_ID       "TURTLEVM"
#define ACPI_CREATOR_ID         "TRTL"

#define ACPI_FADT_REVISION      6
#define ACPI_FADT_MINOR         0           /* ACPI 6.0 */
#define ACPI_MADT_REVISION      4           /* ACPI 6.0 */
#define ACPI_DSDT_REVISION      2           /* 64-bit AML integers */
#define ACPI_FACS_VERSION       2
#define ACPI_RSDP_REVISION      2           /* ACPI 2.0+: XSDT present */

#define GAS_SYSTEM_IO           1
#define GAS_ACCESS_BYTE         1
#define GAS_ACCESS_WORD         2
#define GAS_ACCESS_DWORD        3

/* FADT Flags (Table 5-35). */
#define FADT_WBINVD             BIT(0)      /* WBINVD flushes caches */
#define FADT_PROC_C1            BIT(2)      /* C1 (HLT) on every processor */
#define FADT_PWR_BUTTON         BIT(4)      /* no fixed-feature power button */
#define FADT_SLP_BUTTON         BIT(5)      /* no fixed-feature sleep button */
#define FADT_FIX_RTC            BIT(6)      /* no RTC wake status in the fixed registers */
#define FADT_TMR_VAL_EXT        BIT(8)      /* 32-bit PM timer */
#define FADT_RESET_REG_SUP      BIT(10)     /* RESET_REG is valid */

/* IAPC_BOOT_ARCH (Table 5-36). */
#define BOOT_LEGACY_DEVICES     BIT(0)
#define BOOT_8042               BIT(1)
#define BOOT_VGA_NOT_PRESENT    BIT(2)
#define BOOT_CMOS_RTC_NOT_PRESENT BIT(5)

#define FADT_C2_NOT_SUPPORTED   101         /* P_LVL2_LAT > 100 */
#define FADT_C3_NOT_SUPPORTED   1001        /* P_LVL3_LAT > 1000 */
#define PM1_EVT_LEN             4
#define PM1_CNT_LEN             2
#define PM_TMR_LEN              4

/* MADT. */
#define MADT_PCAT_COMPAT        BIT(0)      /* dual 8259s present */
#define MADT_TYPE_LAPIC         0
#define MADT_TYPE_IOAPIC        1
#define MADT_TYPE_ISO           2
#define MADT_TYPE_LAPIC_NMI     4
#define MADT_LAPIC_ENABLED      BIT(0)
#define MADT_ALL_PROCESSORS     0xff
#define MPS_INTI_HIGH           0x1         /* polarity: active high */
#define MPS_INTI_EDGE           (0x1 << 2)  /* trigger: edge */
#define MPS_INTI_LEVEL          (0x3 << 2)  /* trigger: level */
#define ISA_BUS                 0
#define PIT_IRQ                 0
#define PIT_GSI                 2
#define LINT1                   1

#define TABLE_ALIGN             16

/* Offsets of the tables in the tables area. */
struct layout {
    u32 facs, dsdt, fadt, madt, xsdt, rsdt, end;
    u32 madt_len;
};

static void plan(u32 ncpus, struct layout *l)
{
    l->facs = 0;
    l->dsdt = ALIGN_UP(l->facs + sizeof(struct acpi_facs), TABLE_ALIGN);
    l->fadt = ALIGN_UP(l->dsdt + sizeof(struct acpi_header) + ACPI_DSDT_AML_MAX, TABLE_ALIGN);
    l->madt = ALIGN_UP(l->fadt + sizeof(struct acpi_fadt), TABLE_ALIGN);
    l->madt_len = sizeof(struct acpi_madt) + ncpus * sizeof(struct madt_lapic) +
                  sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
                  sizeof(struct madt_lapic_nmi);
    l->xsdt = ALIGN_UP(l->madt + l->madt_len, TABLE_ALIGN);
    l->rsdt = ALIGN_UP(l->xsdt + sizeof(struct acpi_header) + 2 * sizeof(u64), TABLE_ALIGN);
    l->end = l->rsdt + sizeof(struct acpi_header) + 2 * sizeof(u32);
}

u32 acpi_tables_size(u32 ncpus)
{
    struct layout l;

    plan(ncpus, &l);
    return l.end;
}

static u8 checksum(const u8 *p, u32 len)
{
    u8 sum = 0;

    while (len--)
        sum += *p++;
    return (u8)-sum;
}

static void header(struct acpi_header *h, const char *sig, u32 len, u8 rev)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->signature, sig, 4);
    h->length = len;
    h->revision = rev;
    memcpy(h->oem_id, ACPI_OEM_ID, 6);
    memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
    h->creator_revision = 1;
}

/* Sets the checksum of the table at t (length from its header). */
static void seal(u8 *t)
{
    struct acpi_header h;

    memcpy(&h, t, sizeof(h));
    t[offsetof(struct acpi_header, checksum)] = 0;
    t[offsetof(struct acpi_header, checksum)] = checksum(t, h.length);
}

static struct acpi_gas io_gas(u16 port, u8 len, u8 access)
{
    return (struct acpi_gas){ GAS_SYSTEM_IO, (u8)(8 * len), 0, access, port };
}

static bool port_ok(u16 port, u32 len)
{
    return port != 0 && (u32)port + len <= 0x10000;
}

static bool config_ok(const struct acpi_config *c, u32 end)
{
    u64 rsdp_end = c->rsdp_gpa + ACPI_RSDP_SIZE, tables_end = c->tables_gpa + end;

    if (c->ncpus == 0 || c->ncpus > ACPI_MAX_APIC_ID + 1)
        return false;
    for (u32 i = 0; c->apic_ids && i < c->ncpus; i++) {
        if (c->apic_ids[i] > ACPI_MAX_APIC_ID)
            return false;
        for (u32 j = 0; j < i; j++)
            if (c->apic_ids[j] == c->apic_ids[i])
                return false;
    }
    if (!IS_ALIGNED(c->rsdp_gpa, 16) || c->rsdp_gpa < ACPI_RSDP_AREA_START ||
        rsdp_end > ACPI_RSDP_AREA_END)
        return false;
    if (!IS_ALIGNED(c->tables_gpa, ACPI_TABLES_ALIGN) || c->tables_gpa == 0 ||
        tables_end > BIT(32) || tables_end < c->tables_gpa)
        return false;                       /* RSDT entries are 32-bit */
    if (c->rsdp_gpa < tables_end && c->tables_gpa < rsdp_end)
        return false;                       /* overlap */
    if (!port_ok(c->pm1a_evt_port, PM1_EVT_LEN) || !port_ok(c->pm1a_cnt_port, PM1_CNT_LEN) ||
        !port_ok(c->pm_tmr_port, PM_TMR_LEN))
        return false;
    if (c->s5_slp_typ > 7 || (c->no_cmos_rtc && c->century) || c->century >= 128)
        return false;
    return true;
}

void acpi_config_default(struct acpi_config *c, u32 ncpus, u64 rsdp_gpa, u64 tables_gpa)
{
    memset(c, 0, sizeof(*c));
    c->ncpus = ncpus;
    c->ioapic_id = (u8)MIN(ncpus, ACPI_MAX_APIC_ID);
    c->rsdp_gpa = rsdp_gpa;
    c->tables_gpa = tables_gpa;
    c->pm1a_evt_port = ACPI_PM1A_EVT_PORT;
    c->pm1a_cnt_port = ACPI_PM1A_CNT_PORT;
    c->pm_tmr_port = ACPI_PM_TMR_PORT;
    c->legacy_devices = true;
    c->i8042 = true;
    c->century = ACPI_CMOS_CENTURY;
}

static void build_facs(u8 *t)
{
    struct acpi_facs f;

    memset(&f, 0, sizeof(f));
    memcpy(f.signature, "FACS", 4);
    f.length = sizeof(f);
    f.version = ACPI_FACS_VERSION;
    memcpy(t, &f, sizeof(f));               /* the FACS has no checksum */
}

static void build_dsdt(const struct acpi_config *c, u8 *t)
{
    u8 aml[ACPI_DSDT_AML_MAX];
    u32 n = acpi_dsdt_aml(c->s5_slp_typ, !c->no_cmos_rtc, c->i8042, aml);
    struct acpi_header h;

    header(&h, "DSDT", sizeof(h) + n, ACPI_DSDT_REVISION);
    memcpy(t, &h, sizeof(h));
    memcpy(t + sizeof(h), aml, n);
    seal(t);
}

static void build_fadt(const struct acpi_config *c, const struct layout *l, u8 *t)
{
    struct acpi_fadt f;
    u32 base = (u32)c->tables_gpa;

    memset(&f, 0, sizeof(f));
    header(&f.h, "FACP", sizeof(f), ACPI_FADT_REVISION);
    f.firmware_ctrl = base + l->facs;       /* X_FIRMWARE_CTRL stays 0: below 4 GiB */
    f.dsdt = base + l->dsdt;
    f.x_dsdt = f.dsdt;
    f.sci_int = ACPI_SCI_IRQ;
    f.smi_cmd = 0;                          /* ACPI always enabled */
    f.pm1a_evt_blk = c->pm1a_evt_port;
    f.pm1a_cnt_blk = c->pm1a_cnt_port;
    f.pm_tmr_blk = c->pm_tmr_port;
    f.pm1_evt_len = PM1_EVT_LEN;
    f.pm1_cnt_len = PM1_CNT_LEN;
    f.pm_tmr_len = PM_TMR_LEN;
    f.p_lvl2_lat = FADT_C2_NOT_SUPPORTED;
    f.p_lvl3_lat = FADT_C3_NOT_SUPPORTED;
    f.century = c->century;
    f.iapc_boot_arch = BOOT_VGA_NOT_PRESENT |
                       (c->legacy_devices ? BOOT_LEGACY_DEVICES : 0) |
                       (c->i8042 ? BOOT_8042 : 0) |
                       (c->no_cmos_rtc ? BOOT_CMOS_RTC_NOT_PRESENT : 0);
    f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC |
              FADT_RESET_REG_SUP | (c->pm_tmr_32bit ? FADT_TMR_VAL_EXT : 0);
    f.reset_reg = io_gas(ACPI_RESET_PORT, 1, GAS_ACCESS_BYTE);
    f.reset_value = ACPI_RESET_VALUE;
    f.fadt_minor_version = ACPI_FADT_MINOR;
    f.x_pm1a_evt_blk = io_gas(c->pm1a_evt_port, PM1_EVT_LEN, GAS_ACCESS_WORD);
    f.x_pm1a_cnt_blk = io_gas(c->pm1a_cnt_port, PM1_CNT_LEN, GAS_ACCESS_WORD);
    f.x_pm_tmr_blk = io_gas(c->pm_tmr_port, PM_TMR_LEN, GAS_ACCESS_DWORD);
    memcpy(&f.hypervisor_vendor_identity, "TURTLE\0\0", 8);
    memcpy(t, &f, sizeof(f));
    seal(t);
}

static u32 put(u8 *t, u32 off, const void *entry, u32 len)
{
    memcpy(t + off, entry, len);
    return off + len;
}

static void build_madt(const struct acpi_config *c, const struct layout *l, u8 *t)
{
    struct acpi_madt m;
    struct madt_ioapic io = { MADT_TYPE_IOAPIC, sizeof(io), c->ioapic_id, 0,
                              ACPI_IOAPIC_BASE, 0 };
    struct madt_iso pit = { MADT_TYPE_ISO, sizeof(pit), ISA_BUS, PIT_IRQ, PIT_GSI, 0 };
    struct madt_iso sci = { MADT_TYPE_ISO, sizeof(sci), ISA_BUS, ACPI_SCI_IRQ, ACPI_SCI_IRQ,
                            MPS_INTI_HIGH | MPS_INTI_LEVEL };
    struct madt_lapic_nmi nmi = { MADT_TYPE_LAPIC_NMI, sizeof(nmi), MADT_ALL_PROCESSORS,
                                  MPS_INTI_HIGH | MPS_INTI_EDGE, LINT1 };
    u32 off = sizeof(m);

    memset(&m, 0, sizeof(m));
    header(&m.h, "APIC", l->madt_len, ACPI_MADT_REVISION);
    m.lapic_address = ACPI_LAPIC_BASE;
    m.flags = MADT_PCAT_COMPAT;
    memcpy(t, &m, sizeof(m));
    for (u32 i = 0; i < c->ncpus; i++) {
        struct madt_lapic cpu = { MADT_TYPE_LAPIC, sizeof(cpu), (u8)i,
                                  c->apic_ids ? c->apic_ids[i] : (u8)i, MADT_LAPIC_ENABLED };
        off = put(t, off, &cpu, sizeof(cpu));
    }
    off = put(t, off, &io, sizeof(io));
    off = put(t, off, &pit, sizeof(pit));
    off = put(t, off, &sci, sizeof(sci));
    off = put(t, off, &nmi, sizeof(nmi));
    seal(t);
}

/* XSDT and RSDT: the FADT first, as OSes expect, then the MADT. */
static void build_sdts(const struct acpi_config *c, const struct layout *l, u8 *tables)
{
    u32 base = (u32)c->tables_gpa;
    u64 x[2] = { base + l->fadt, base + l->madt };
    u32 r[2] = { base + l->fadt, base + l->madt };
    struct acpi_header h;

    header(&h, "XSDT", sizeof(h) + sizeof(x), 1);
    memcpy(tables + l->xsdt, &h, sizeof(h));
    memcpy(tables + l->xsdt + sizeof(h), x, sizeof(x));
    seal(tables + l->xsdt);
    header(&h, "RSDT", sizeof(h) + sizeof(r), 1);
    memcpy(tables + l->rsdt, &h, sizeof(h));
    memcpy(tables + l->rsdt + sizeof(h), r, sizeof(r));
    seal(tables + l->rsdt);
}

static void build_rsdp(const struct acpi_config *c, const struct layout *l, u8 *out)
{
    struct acpi_rsdp p;

    memset(&p, 0, sizeof(p));
    memcpy(p.signature, "RSD PTR ", 8);
    memcpy(p.oem_id, ACPI_OEM_ID, 6);
    p.revision = ACPI_RSDP_REVISION;
    p.rsdt_address = (u32)c->tables_gpa + l->rsdt;
    p.length = sizeof(p);
    p.xsdt_address = c->tables_gpa + l->xsdt;
    p.checksum = checksum((const u8 *)&p, 20);
    p.ext_checksum = checksum((const u8 *)&p, sizeof(p));
    memcpy(out, &p, sizeof(p));
}

int acpi_build_tables(const struct acpi_config *c, u8 rsdp[ACPI_RSDP_SIZE], u8 *tables, u32 size)
{
    struct layout l;

    if (c->ncpus == 0 || c->ncpus > ACPI_MAX_APIC_ID + 1)
        return ACPI_ERR_CONFIG;
    plan(c->ncpus, &l);
    if (!config_ok(c, l.end))
        return ACPI_ERR_CONFIG;
    if (size < l.end)
        return ACPI_ERR_NO_SPACE;
    memset(tables, 0, l.end);
    build_facs(tables + l.facs);
    build_dsdt(c, tables + l.dsdt);
    build_fadt(c, &l, tables + l.fadt);
    build_madt(c, &l, tables + l.madt);
    build_sdts(c, &l, tables);
    build_rsdp(c, &l, rsdp);
    return (int)l.end;
}
