/*
 * Exact tick arithmetic for the device models without 128-bit division
 * (the kernel links no libgcc). A device's clock is a fixed frequency in Hz
 * (1193182 for the 8254, 3579545 for the ACPI PM timer, 32768 for the RTC
 * divider chain); the guest's TSC runs at tsc_khz * 1000 Hz.
 */
#ifndef TURTLE_DEV_TIMEBASE_H
#define TURTLE_DEV_TIMEBASE_H

#include "kernel/types.h"

/*
 * floor(a * mul / div), exactly. With a = q * div + r (r < div):
 * a * mul / div = q * mul + r * mul / div, and q * mul is an integer, so the
 * floor is q * mul + floor(r * mul / div). The only product, r * mul, stays
 * below div * mul, so the result is exact (error 0) whenever
 * div * mul < 2^64 and the result fits 64 bits. All device clocks are below
 * 2^22 Hz, so any TSC up to 2^42 Hz (4 THz) qualifies. div must not be 0.
 */
static inline u64 dev_muldiv(u64 a, u64 mul, u64 div)
{
    return (a / div) * mul + (a % div) * mul / div;
}

/* ceil(a * mul / div), exactly, under the same bounds (plus div). */
static inline u64 dev_muldiv_up(u64 a, u64 mul, u64 div)
{
    return (a / div) * mul + ((a % div) * mul + div - 1) / div;
}

/* Device clock ticks in `tsc` TSC cycles (floor). */
static inline u64 dev_tsc_to_ticks(u64 tsc, u64 hz, u32 tsc_khz)
{
    return dev_muldiv(tsc, hz, (u64)tsc_khz * 1000);
}

/* The first TSC offset at which `ticks` device ticks have elapsed (ceil),
 * the inverse of dev_tsc_to_ticks: dev_tsc_to_ticks(result) >= ticks. */
static inline u64 dev_ticks_to_tsc(u64 ticks, u64 hz, u32 tsc_khz)
{
    return dev_muldiv_up(ticks, (u64)tsc_khz * 1000, hz);
}

#endif
