/*
 * The AML body of turtle's DSDT (ACPI 6.0 chapter 20, "ACPI Machine
 * Language Specification"; the resource descriptors of 6.4): \_S5 (the
 * SLP_TYP values of soft-off), and when the platform has an 8042 the two
 * PS/2 devices a PC's DSDT describes, under \_SB:
 *   Device (PS2K) { _HID EISAID("PNP0303"), _CRS: IO 0x60, IO 0x64, IRQ 1 }
 *   Device (PS2M) { _HID EISAID("PNP0F13"), _CRS: IRQ 12 }
 * Linux's i8042 driver finds the controller through them (its "PNP:" line)
 * as on a PC; without them it probes the ports on the FADT's word alone.
 * Pure logic, run on the host by tests/unit/test_acpi_tables.c.
 */
#ifndef TURTLE_DEV_ACPI_DSDT_H
#define TURTLE_DEV_ACPI_DSDT_H

#include "kernel/types.h"

#define ACPI_DSDT_AML_MAX       128         /* room for everything below */

/* Writes the AML into aml (ACPI_DSDT_AML_MAX bytes) and returns its length. */
u32 acpi_dsdt_aml(u8 s5_slp_typ, bool i8042, u8 *aml);

#endif
