/*
 * TSC calibration (kernel/tsc.h). The PIT's channel 2 counts down from a
 * known count at 1.193182 MHz with its gate on; its output (port 0x61
 * bit 5) rises at terminal count (8254 mode 0). TSC ticks over that time
 * give the frequency. In Bochs RDTSC counts instructions, so the figure is
 * the emulated rate (ips), which is also what Bochs's own PIT, APIC timer
 * and PM timer are measured in.
 */
#include "kernel/printf.h"
#include "kernel/tsc.h"
#include "kernel/x86.h"

#define PIT_HZ              1193182
#define PIT_CH2_DATA        0x42
#define PIT_MODE            0x43
#define PIT_CH2_MODE0_LOHI  0xb0        /* channel 2, lobyte/hibyte, mode 0, binary */
#define PORT_61             0x61
#define PORT_61_GATE2       BIT(0)
#define PORT_61_SPEAKER     BIT(1)
#define PORT_61_OUT2        BIT(5)
#define CALIBRATE_MS        10
#define CALIBRATE_COUNT     (PIT_HZ * CALIBRATE_MS / 1000)
#define MAX_POLLS           10000000    /* no PIT: give up */

u32 tsc_khz;

static u32 from_cpuid(void)
{
    if (cpuid(0).eax >= 0x15) {
        struct cpuid_regs r = cpuid(0x15);     /* TSC/crystal ratio, crystal Hz */
        if (r.eax && r.ebx && r.ecx)
            return (u32)((u64)r.ecx * r.ebx / r.eax / 1000);
    }
    if (cpuid(0).eax >= 0x16 && (cpuid(0x16).eax & 0xffff))
        return (cpuid(0x16).eax & 0xffff) * 1000;  /* base MHz */
    return 0;
}

void tsc_calibrate(void)
{
    u8 p61 = inb(PORT_61);
    u32 polls = 0;

    outb(PORT_61, (u8)((p61 & ~PORT_61_SPEAKER) | PORT_61_GATE2));
    outb(PIT_MODE, PIT_CH2_MODE0_LOHI);
    outb(PIT_CH2_DATA, CALIBRATE_COUNT & 0xff);
    outb(PIT_CH2_DATA, CALIBRATE_COUNT >> 8);
    u64 t0 = rdtsc();
    while (!(inb(PORT_61) & PORT_61_OUT2) && ++polls < MAX_POLLS)
        ;
    u64 t1 = rdtsc();
    outb(PORT_61, p61);
    if (polls < MAX_POLLS && polls > 1) {
        tsc_khz = (u32)((t1 - t0) / CALIBRATE_MS);
        kprintf("turtle: tsc: %u kHz (measured against the PIT)\n", tsc_khz);
        return;
    }
    tsc_khz = from_cpuid();
    if (tsc_khz) {
        kprintf("turtle: tsc: %u kHz (CPUID; no PIT answered)\n", tsc_khz);
        return;
    }
    tsc_khz = 1000000;
    kprintf("turtle: tsc: no PIT and no CPUID frequency; assuming %u kHz\n", tsc_khz);
}
