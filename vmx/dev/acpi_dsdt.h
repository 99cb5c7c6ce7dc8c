/*
 * The AML body of turtle's DSDT (ACPI 6.0 chapter 20, "ACPI Machine
 * Language Specification"; the resource descriptors of 6.4): \_S5 (the
 * SLP_TYP values of soft-off), and under \_SB the ISA devices a PC's DSDT
 * describes, those the platform has:
 *   Device (RTC_) { _HID EISAID("PNP0B00"), _CRS: IO 0x70-0x71, IRQ 8 }
 *   Device (KBD_) { _HID EISAID("PNP0303"), _CRS: IO 0x60, IO 0x64, IRQ 1 }
 *   Device (MOU_) { _HID EISAID("PNP0F13"), _CRS: IRQ 12 }
 * Linux's rtc_cmos and i8042 drivers find them through PNP as on a PC
 * (without them rtc_cmos registers a platform device and i8042 probes the
 * ports on the FADT's word alone).
 * Pure logic, run on the host by tests/unit/test_acpi_tables.c.
 */
#ifndef TURTLE_DEV_ACPI_DSDT_H
#define TURTLE_DEV_ACPI_DSDT_H

#include "kernel/types.h"

#define ACPI_DSDT_AML_MAX       160         /* room for everything below */

/* Writes the AML into aml (ACPI_DSDT_AML_MAX bytes) and returns its length:
 * the RTC's device if rtc, the 8042's if i8042. */
u32 acpi_dsdt_aml(u8 s5_slp_typ, bool rtc, bool i8042, u8 *aml);

#endif
