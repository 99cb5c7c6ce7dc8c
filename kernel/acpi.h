/* Just enough ACPI to power off: the FADT's PM1 control blocks and the \_S5
 * sleep type (ACPI 6.5, 5.2.9 and 7.4.2). */
#ifndef TURTLE_ACPI_H
#define TURTLE_ACPI_H

#include "kernel/types.h"

struct acpi_poweroff {
    u16 pm1a_cnt;               /* I/O port, 0 if unknown */
    u16 pm1b_cnt;
    u16 slp_typa, slp_typb;     /* SLP_TYP values for S5 */
};

/* Reads the tables through the RSDP copy (from the multiboot2 ACPI tag).
 * Returns false if anything is missing or malformed. */
bool acpi_find_poweroff(const void *rsdp, u32 rsdp_size, struct acpi_poweroff *out);

#endif
