/*
 * The ACPI tables turtle gives an L1 (ACPI 6.0): RSDP, RSDT, XSDT, FADT
 * (revision 6), FACS, MADT and a DSDT (vmx/dev/acpi_dsdt.h: \_S5 and the
 * PS/2 devices of the 8042 when there is one). Pure logic: the
 * builder writes into buffers the platform then copies into guest memory
 * at the guest-physical addresses it chose and passed in the config; every
 * pointer inside the tables is such a guest-physical address.
 *
 * The platform described: local APICs at 0xfee00000 (one per vCPU), one
 * IOAPIC (24 pins, GSI 0-23), the 8259 pair (PCAT_COMPAT), ISA IRQ 0 on
 * GSI 2, the SCI on IRQ 9 (level, active high), NMI on LINT1 of every
 * processor, the ACPI fixed hardware (PM1a event and control blocks, PM
 * timer) at I/O ports the platform chooses, ACPI always enabled (no SMI
 * command port), reset through I/O port 0xcf9. No HPET table, no GPE block.
 */
#ifndef TURTLE_DEV_ACPI_TABLES_H
#define TURTLE_DEV_ACPI_TABLES_H

#include "kernel/types.h"

#define ACPI_RSDP_SIZE          36          /* ACPI 2.0+ RSDP */
#define ACPI_RSDP_AREA_START    0xe0000     /* the BIOS area the OS scans (ACPI 5.2.5.1) */
#define ACPI_RSDP_AREA_END      0x100000
#define ACPI_TABLES_ALIGN       64          /* the FACS comes first and needs it */
#define ACPI_MAX_APIC_ID        254         /* 0xff is the broadcast ID: no xAPIC entry */

#define ACPI_LAPIC_BASE         0xfee00000
#define ACPI_IOAPIC_BASE        0xfec00000
#define ACPI_RESET_PORT         0x0cf9
#define ACPI_RESET_VALUE        0x06        /* reset CPU, full (hard) reset */
#define ACPI_SCI_IRQ            9

/* Suggested ports for the fixed hardware. */
#define ACPI_PM1A_EVT_PORT      0x600       /* 4 bytes: PM1_STS, PM1_EN */
#define ACPI_PM1A_CNT_PORT      0x604       /* 2 bytes: PM1_CNT */
#define ACPI_PM_TMR_PORT        0x608       /* 4 bytes: PM_TMR */
#define ACPI_CMOS_CENTURY       0x32        /* the CMOS index of the century */

/* Builder errors (negative returns). */
#define ACPI_ERR_CONFIG         (-1)        /* a config field out of range */
#define ACPI_ERR_NO_SPACE       (-2)        /* the tables buffer is too small */

struct acpi_config {
    u32 ncpus;                  /* 1 .. number of entries in apic_ids */
    const u8 *apic_ids;         /* ncpus distinct xAPIC IDs <= 254; NULL: 0 .. ncpus-1 */
    u8 ioapic_id;
    u64 rsdp_gpa;               /* 16-byte aligned, inside [0xe0000, 0x100000) */
    u64 tables_gpa;             /* 64-byte aligned; tables must end below 4 GiB */
    u16 pm1a_evt_port;
    u16 pm1a_cnt_port;
    u16 pm_tmr_port;
    bool pm_tmr_32bit;          /* the PM timer counts 32 bits (TMR_VAL_EXT), else 24 */
    u8 s5_slp_typ;              /* the SLP_TYP value PM1_CNT takes for S5 (0-7) */
    bool legacy_devices;        /* IAPC_BOOT_ARCH.LEGACY_DEVICES: ISA devices present */
    bool i8042;                 /* a keyboard controller at 0x60/0x64 */
    bool no_cmos_rtc;           /* no RTC at 0x70/0x71 (then no century either) */
    u8 century;                 /* CMOS index of the century byte, 0: none */
};

/* A config with the defaults above for ncpus vCPUs with APIC IDs 0 ..
 * ncpus-1, the RSDP at rsdp_gpa and the tables at tables_gpa. */
void acpi_config_default(struct acpi_config *cfg, u32 ncpus, u64 rsdp_gpa, u64 tables_gpa);

/*
 * Builds the tables for cfg: the 36-byte RSDP into rsdp (to be copied to
 * cfg->rsdp_gpa) and everything else into tables[0, size) (to be copied to
 * cfg->tables_gpa). Returns the number of bytes written to tables, or
 * ACPI_ERR_CONFIG / ACPI_ERR_NO_SPACE with nothing promised about the
 * buffers. acpi_tables_size() is the size a config needs.
 */
int acpi_build_tables(const struct acpi_config *cfg, u8 rsdp[ACPI_RSDP_SIZE],
                      u8 *tables, u32 size);
u32 acpi_tables_size(u32 ncpus);

#endif
