/*
 * The TSC's frequency, measured once at boot against the PIT (channel 2,
 * gated through port 0x61, as PC firmware and kernels do), or taken from
 * CPUID leaf 0x15/0x16 when there is no PIT to measure against.
 */
#ifndef TURTLE_TSC_H
#define TURTLE_TSC_H

#include "kernel/types.h"

/* kHz, 0 until tsc_calibrate() ran. */
extern u32 tsc_khz;

/* Measures tsc_khz; prints how it was found. */
void tsc_calibrate(void);

#endif
