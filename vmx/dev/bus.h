/*
 * An address-decoding bus: each VM has one for I/O ports and one for
 * MMIO (struct vm). A device claims [base, base + len); an access must lie
 * inside one device, and goes to it as (offset, size). On the I/O-port
 * bus a wider access that no one device holds, or that reaches a byte-wide
 * (8-bit ISA) device, becomes byte cycles at consecutive ports, as the
 * chipset splits it; bytes no device claims read as all ones (open bus).
 * An access nobody claims at all is the caller's to answer. MMIO users
 * look up one device with bus_find() and never split. Registration refuses overlaps, so the
 * lookup is a binary search over sorted, disjoint ranges. Pure logic:
 * tests/unit/test_bus.c runs it on the host.
 */
#ifndef TURTLE_DEV_BUS_H
#define TURTLE_DEV_BUS_H

#include "kernel/types.h"

#define BUS_MAX_DEVICES     16

struct bus_device {
    const char *name;
    u64 base, len;
    bool byte_wide;             /* 8-bit device: wider accesses become byte cycles */
    /* size is 1, 2, 4 (or 8 on MMIO); offset + size <= len. A read fills
     * *val with size bytes (the caller ignores bits above them). */
    void (*read)(void *ctx, u64 offset, u32 size, u64 *val);
    void (*write)(void *ctx, u64 offset, u32 size, u64 val);
    void *ctx;
};

struct io_bus {
    u32 n;
    struct bus_device devices[BUS_MAX_DEVICES];    /* sorted by base, disjoint */
};

/* Adds a device. False if the range is empty, wraps, overlaps another
 * device's, or the bus is full. */
bool bus_register(struct io_bus *bus, const struct bus_device *dev);
/* The device whose range holds all of [addr, addr + size), or NULL. */
const struct bus_device *bus_find(const struct io_bus *bus, u64 addr, u32 size);
/* A port access through the bus, split into bytes where the hardware
 * splits it: false if no device claims any byte of it. */
bool bus_read(const struct io_bus *bus, u64 addr, u32 size, u64 *val);
bool bus_write(const struct io_bus *bus, u64 addr, u32 size, u64 val);

#endif
