/*
 * The address-decoding bus of vmx/dev/bus.h.
 */
#include "vmx/dev/bus.h"

bool bus_register(struct io_bus *bus, const struct bus_device *dev)
{
    u32 i = 0;

    if (!dev->len || dev->base + dev->len < dev->base || bus->n == BUS_MAX_DEVICES)
        return false;
    while (i < bus->n && bus->devices[i].base < dev->base)
        i++;
    /* Disjoint from the neighbours on both sides. */
    if (i > 0 && bus->devices[i - 1].base + bus->devices[i - 1].len > dev->base)
        return false;
    if (i < bus->n && dev->base + dev->len > bus->devices[i].base)
        return false;
    for (u32 k = bus->n; k > i; k--)
        bus->devices[k] = bus->devices[k - 1];
    bus->devices[i] = *dev;
    bus->n++;
    return true;
}

const struct bus_device *bus_find(const struct io_bus *bus, u64 addr, u32 size)
{
    u32 lo = 0, hi = bus->n;

    if (!size || addr + size < addr)
        return NULL;
    /* The last device with base <= addr. */
    while (lo < hi) {
        u32 mid = lo + (hi - lo) / 2;
        if (bus->devices[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    const struct bus_device *d = &bus->devices[lo - 1];
    u64 offset = addr - d->base;
    return offset < d->len && size <= d->len - offset ? d : NULL;
}

static bool whole(const struct bus_device *d, u32 size)
{
    return d && !(d->byte_wide && size > 1);
}

bool bus_read(const struct io_bus *bus, u64 addr, u32 size, u64 *val)
{
    const struct bus_device *d = bus_find(bus, addr, size);
    bool claimed = false;

    if (whole(d, size)) {
        *val = 0;
        if (d->read)
            d->read(d->ctx, addr - d->base, size, val);
        else
            *val = ~0ULL;               /* write-only device: reads float */
        return true;
    }
    *val = 0;
    for (u32 i = 0; i < size && size > 1; i++) {
        const struct bus_device *b = bus_find(bus, addr + i, 1);
        u64 byte = 0xff;
        if (b && b->read) {
            byte = 0;
            b->read(b->ctx, addr + i - b->base, 1, &byte);
        }
        claimed |= b != NULL;
        *val |= (byte & 0xff) << (8 * i);
    }
    return claimed;
}

bool bus_write(const struct io_bus *bus, u64 addr, u32 size, u64 val)
{
    const struct bus_device *d = bus_find(bus, addr, size);
    bool claimed = false;

    if (whole(d, size)) {
        if (d->write)
            d->write(d->ctx, addr - d->base, size, val);
        return true;
    }
    for (u32 i = 0; i < size && size > 1; i++) {
        const struct bus_device *b = bus_find(bus, addr + i, 1);
        if (b && b->write)
            b->write(b->ctx, addr + i - b->base, 1, (val >> (8 * i)) & 0xff);
        claimed |= b != NULL;
    }
    return claimed;
}
