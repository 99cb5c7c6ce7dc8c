/*
 * The Intel 8254 programmable interval timer of a PC at ports 0x40-0x43
 * (clock 1.193182 MHz; channel 0 drives IRQ 0, channel 1 is the old DRAM
 * refresh timer, channel 2 feeds the speaker and is the one clock
 * calibration uses) and the PIIX4 NMI status and control port 0x61 (channel
 * 2 gate and speaker enable, OUT2 and the refresh toggle).
 * Time is the guest TSC `now`, converted exactly (vmx/dev/timebase.h).
 */
#ifndef TURTLE_DEV_PIT_H
#define TURTLE_DEV_PIT_H

#include "vmx/dev/irq.h"

#define PIT_HZ              1193182
#define PIT_PORT_BASE       0x40    /* counters 0-2 at 0x40-0x42 */
#define PIT_PORT_CONTROL    0x43
#define PIT_PORT_NMI_SC     0x61
#define PIT_CHANNELS        3

enum pit_state {
    PIT_IDLE,           /* control word written, no count yet */
    PIT_WAIT_TRIGGER,   /* modes 1 and 5: count written, no gate edge yet */
    PIT_RUNNING,        /* the CE counts from load_tick */
};

struct pit_channel {
    u8 ctrl;            /* control word bits 5:0 (RW, M, BCD), for status */
    u8 mode;            /* 0-5 (6 and 7 are 2 and 3) */
    u8 rw;              /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    enum pit_state state;
    u32 cr;             /* count register as a count (0 stored as 65536) */
    u32 n;              /* the count the CE was loaded with */
    u64 load_tick;      /* tick at which the CE was loaded */
    bool gate;
    bool frozen;        /* gate low in modes 0/2/3/4: not counting */
    u64 frozen_d;       /* ticks counted when frozen */
    bool pending;       /* modes 2/3: cr loads at the end of the period */
    u64 pending_tick;
    bool write_msb;     /* next count byte written is the MSB */
    u8 write_lsb;
    bool read_msb;      /* next unlatched read returns the MSB */
    u8 latch_left;      /* latched count bytes still to read (0-2) */
    u16 latched;
    bool status_latched;
    u8 status;
    u64 edges;          /* rising OUT edges signalled since load_tick */
};

struct pit {
    struct pit_channel ch[PIT_CHANNELS];
    struct irq_line irq0;       /* OUT0 */
    bool irq0_level;
    u8 nmi_sc;                  /* port 0x61 bits 3:0 */
    u64 base_tsc;               /* `now` of tick 0 */
    u32 tsc_khz;
};

/* Power-on state at `now`: counters idle, gates of 0 and 1 high, gate 2
 * low (port 0x61 = 0). irq0 may be NULL. tsc_khz must not be 0. */
void pit_reset(struct pit *p, const struct irq_line *irq0, u64 now, u32 tsc_khz);

/* Ports 0x40-0x43 and 0x61, byte registers (a wider access is split into
 * bytes at consecutive ports; others read 0xff). Every access first brings
 * the model up to `now`, which must not go backwards. */
u32 pit_io_read(struct pit *p, u16 port, u32 size, u64 now);
void pit_io_write(struct pit *p, u16 port, u32 size, u32 val, u64 now);

/* Bring IRQ 0 up to `now` (at or after a deadline). */
void pit_update(struct pit *p, u64 now);

/* The TSC value of the next rising edge of OUT0, or DEV_NO_DEADLINE. */
u64 pit_next_deadline(struct pit *p, u64 now);

#endif
