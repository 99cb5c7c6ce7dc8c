/*
 * The debug-exit port (QEMU's isa-debug-exit at 0xf4, 4 ports): a write
 * at its first port ends the VM with the value written as its exit status
 * (0 = passed). Reads float. ctx is the struct vm.
 */
#ifndef TURTLE_DEV_DEBUG_EXIT_H
#define TURTLE_DEV_DEBUG_EXIT_H

#include "kernel/types.h"

#define DEBUG_EXIT_PORT     0xf4
#define DEBUG_EXIT_PORTS    4

void debug_exit_bus_write(void *ctx, u64 offset, u32 size, u64 val);

#endif
