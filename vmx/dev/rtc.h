/*
 * The PC's CMOS RAM and real-time clock (Motorola MC146818A, as in the
 * Intel PIIX4 "Real time clock" function) at ports 0x70 (index, bit 7
 * disables NMI) and 0x71 (data). 128 bytes: time, alarm and date
 * registers 0x00-0x09, status registers A-D at 0x0a-0x0d, NVRAM after.
 * The periodic, alarm and update-ended interrupts drive IRQ 8.
 */
#ifndef TURTLE_DEV_RTC_H
#define TURTLE_DEV_RTC_H

#include "vmx/dev/irq.h"

#define RTC_PORT_INDEX      0x70
#define RTC_PORT_DATA       0x71
#define RTC_CMOS_SIZE       128

/* What the platform decides at reset. */
struct rtc_config {
    u64 epoch;          /* the time at reset, in seconds since 1970 (UTC):
                         * the host clock, or a fixed value under test */
    u32 tsc_khz;        /* guest TSC frequency, not 0 */
    u64 ram_below_4g;   /* bytes of RAM from address 0 (for the NVRAM
                         * memory-size bytes) */
    u8 equipment;       /* NVRAM 0x14, e.g. 0x02 (FPU, VGA, no floppy) */
};

struct rtc {
    u8 cmos[RTC_CMOS_SIZE];
    u8 index;
    bool nmi_disabled;
    u32 tsc_khz;
    u64 div_base_tsc;   /* origin of the 32.768 kHz divider chain */
    u64 base_secs;      /* the time when base_idx seconds had passed */
    u64 base_idx;
    u64 last_idx;       /* seconds (updates) already processed */
    u64 last_period;    /* periodic ticks already processed */
    struct irq_line irq;
    bool irq_level;
};

void rtc_reset(struct rtc *r, const struct irq_line *irq8, const struct rtc_config *cfg, u64 now);

/* Ports 0x70-0x71, byte registers (a wider access is split into bytes;
 * other ports read 0xff). 0x70 is write-only and reads 0xff. */
u32 rtc_io_read(struct rtc *r, u16 port, u32 size, u64 now);
void rtc_io_write(struct rtc *r, u16 port, u32 size, u32 val, u64 now);

/* Bring the flags and IRQ 8 up to `now`. */
void rtc_update(struct rtc *r, u64 now);

/* The TSC value at which IRQ 8 would next be raised, or DEV_NO_DEADLINE. */
u64 rtc_next_deadline(struct rtc *r, u64 now);

/* Has the guest set bit 7 of port 0x70 (NMI disabled)? */
static inline bool rtc_nmi_disabled(const struct rtc *r)
{
    return r->nmi_disabled;
}

/* The RTC time (seconds since 1970) as the guest has set it. */
u64 rtc_time(struct rtc *r, u64 now);

#endif
