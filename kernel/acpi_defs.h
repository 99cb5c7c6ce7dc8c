/*
 * ACPI table layouts shared by turtle's reader of the firmware's tables
 * (kernel/acpi.c: power-off) and its builder of each L1's tables
 * (vmx/dev/acpi_tables.c). Layouts pinned by static asserts.
 */
#ifndef TURTLE_ACPI_DEFS_H
#define TURTLE_ACPI_DEFS_H

#include "kernel/types.h"

struct acpi_rsdp {                          /* ACPI 5.2.5.3 */
    char signature[8];
    u8 checksum;                            /* bytes 0-19 */
    char oem_id[6];
    u8 revision;
    u32 rsdt_address;
    u32 length;                             /* revision >= 2 */
    u64 xsdt_address;
    u8 ext_checksum;                        /* all 36 bytes */
    u8 reserved[3];
} __packed;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP (ACPI 5.2.5.3)");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "RSDP.XsdtAddress");

struct acpi_header {                        /* ACPI 5.2.6 */
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    char creator_id[4];
    u32 creator_revision;
} __packed;
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header (ACPI 5.2.6)");

struct acpi_gas {                           /* Generic Address Structure, ACPI 5.2.3.2 */
    u8 space_id;
    u8 bit_width;
    u8 bit_offset;
    u8 access_size;
    u64 address;
} __packed;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#endif
