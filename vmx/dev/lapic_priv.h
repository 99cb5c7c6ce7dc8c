/*
 * Internals shared by the LAPIC model's files (lapic.c: state, priorities,
 * delivery, EOI, ICR; lapic_access.c: the register file; lapic_timer.c:
 * the timer). Not for the platform: it uses lapic.h.
 */
#ifndef TURTLE_DEV_LAPIC_PRIV_H
#define TURTLE_DEV_LAPIC_PRIV_H

#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

/* 256-bit vector sets (IRR, ISR, TMR). */
static inline bool vec_test(const u32 *r, u8 v)
{
    return (r[v >> 5] >> (v & 31)) & 1;
}

static inline void vec_set(u32 *r, u8 v)
{
    r[v >> 5] |= (u32)1 << (v & 31);
}

static inline void vec_clear(u32 *r, u8 v)
{
    r[v >> 5] &= ~((u32)1 << (v & 31));
}

/* Highest set vector, or -1. */
int lapic_vec_highest(const u32 *r);

/* Records errors in the ESR (visible after the next ESR write) and
 * signals the error LVT when a new error bit appears. */
void lapic_error(struct lapic *l, u32 bits);
/* Delivers the interrupt an LVT entry describes (if unmasked). */
void lapic_deliver_lvt(struct lapic *l, u32 idx);
/* EOI register write: retires the highest ISR vector. */
void lapic_eoi(struct lapic *l);
/* Sends the IPI described by an ICR value (x2APIC: dest in bits 63:32,
 * xAPIC: in 63:56). */
void lapic_send_ipi(struct lapic *l, u32 lo, u32 hi);
/* SVR write (value already checked): software enable/disable. */
void lapic_write_svr(struct lapic *l, u32 val);
/* Writable bits of each LVT entry. */
extern const u32 lapic_lvt_writable[LAPIC_NR_LVT];
/* LVT write, value masked to the entry's writable bits. */
void lapic_write_lvt(struct lapic *l, u32 idx, u32 val);
/* IA32_APIC_BASE write: LAPIC_OK or LAPIC_GP. */
int lapic_write_apic_base(struct lapic *l, u64 val);

/* Timer (lapic_timer.c). */
bool lapic_timer_deadline_mode(const struct lapic *l);
u64 lapic_timer_tick_tsc(const struct lapic *l);
void lapic_timer_disarm(struct lapic *l);
void lapic_timer_write_icr(struct lapic *l, u64 now, u32 val);
void lapic_timer_write_dcr(struct lapic *l, u64 now, u32 val);
u32 lapic_timer_ccr(const struct lapic *l, u64 now);
void lapic_timer_write_deadline(struct lapic *l, u64 now, u64 val);
u64 lapic_timer_read_deadline(const struct lapic *l);

#endif
