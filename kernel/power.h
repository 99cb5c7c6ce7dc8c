/* Ending a run: the verdict line, then power-off on every platform turtle
 * is tested on. */
#ifndef TURTLE_POWER_H
#define TURTLE_POWER_H

#include "kernel/types.h"

/* QEMU's isa-debug-exit device (iobase 0xf4, iosize 4): QEMU exits with
 * status (value << 1) | 1. */
#define QEMU_DEBUG_EXIT_PORT    0xf4
#define BOCHS_SHUTDOWN_PORT     0x8900      /* "Shutdown" written byte by byte */

void power_init(u64 rsdp_phys, u32 rsdp_size);
/* Powers off with failed != 0 reported through isa-debug-exit when present.
 * Falls back to ACPI (FADT PM1a control block, then the well-known ports),
 * then halts. */
__noreturn void power_off(bool failed);

#endif
