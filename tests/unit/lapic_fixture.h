/*
 * The local APIC under test in test_lapic.c, test_lapic_irq.c and
 * test_lapic_timer.c, the bus that records what it sends, and the
 * register helpers they share.
 */
#ifndef TURTLE_TESTS_LAPIC_FIXTURE_H
#define TURTLE_TESTS_LAPIC_FIXTURE_H

#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

#define NONE        DEV_NO_DEADLINE
#define RATIO       4           /* TSC ticks per APIC timer tick */

/* What the LAPIC sent on the bus, and the EOIs it broadcast. */
extern struct apic_msg sent[16];
extern int nsent;
extern int eois[16];
extern int neoi;
extern struct lapic L;

/* L reset with APIC ID id (setup(): 3, the BSP), the bus records cleared. */
void setup_id(u32 id, bool bsp);
void setup(void);
/* xAPIC page and x2APIC MSR accesses at time 0; rd, wr and rdmsr_ok
 * assert that the access succeeds. */
u32 rd(u32 off);
void wr(u32 off, u32 val);
u64 rdmsr_ok(u32 msr);
int rdmsr_rc(u32 msr);
int wrmsr(u32 msr, u64 v);
/* Latches and returns the ESR (write, then read). */
u32 esr(void);
/* Software-enables L (SVR). */
void enable(void);
/* Switches L to x2APIC mode through IA32_APIC_BASE. */
void to_x2apic(void);
/* Delivers a fixed interrupt to L. */
void fixed(u8 vector, bool level);
/* Injects the pending vector as the CPU would; returns it (-1: none). */
int take(void);

/* test_lapic_irq.c */
void test_tpr_ppr(void **st);
void test_priority_order_and_eoi(void **st);
void test_icr(void **st);
void test_esr_illegal_vector(void **st);
void test_logical_destination(void **st);
void test_lint(void **st);

/* test_lapic_timer.c */
void test_timer_oneshot(void **st);
void test_timer_periodic(void **st);
void test_timer_divide(void **st);
void test_timer_tsc_deadline(void **st);

#endif
