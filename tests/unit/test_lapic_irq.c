/*
 * The local APIC model's interrupt side (vmx/dev/lapic*.c): TPR/PPR/APR,
 * priority ordering, EOI and its level-triggered broadcast, the ICR,
 * ESR latching of illegal vectors, logical destination matching and the
 * LINT inputs. The rest: test_lapic.c, test_lapic_timer.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

#include "tests/unit/lapic_fixture.h"

void test_tpr_ppr(void **st)
{
	(void)st;
	setup();
	enable();
	fixed(0x45, false);
	/* TPR class 4 masks class-4 vectors. */
	wr(APIC_TPR, 0x40);
	assert_int_equal(rd(APIC_PPR), 0x40);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_TPR, 0x3f);
	assert_int_equal(rd(APIC_PPR), 0x3f);
	assert_int_equal(lapic_pending_vector(&L), 0x45);
	/* PPR = ISR class when it is above TPR's. */
	assert_int_equal(take(), 0x45);
	assert_int_equal(rd(APIC_PPR), 0x40);
	wr(APIC_TPR, 0x52);
	assert_int_equal(rd(APIC_PPR), 0x52);
	wr(APIC_TPR, 0x4f);
	assert_int_equal(rd(APIC_PPR), 0x4f);   /* same class: TPR wins */
	/* CR8 is TPR[7:4]. */
	assert_int_equal(lapic_read_cr8(&L), 4);
	lapic_write_cr8(&L, 0x9);
	assert_int_equal(rd(APIC_TPR), 0x90);
	assert_int_equal(rd(APIC_PPR), 0x90);
	/* APR: TPR if it is at least IRR's class and above ISR's; else the
	 * highest class of the three. */
	wr(APIC_TPR, 0x21);
	assert_int_equal(rd(APIC_APR), 0x40);          /* ISR class 4 */
	fixed(0x61, false);
	assert_int_equal(rd(APIC_APR), 0x60);          /* IRR class 6 */
	wr(APIC_TPR, 0x75);
	assert_int_equal(rd(APIC_APR), 0x75);
}

void test_priority_order_and_eoi(void **st)
{
	(void)st;
	setup();
	enable();
	fixed(0x31, false);
	fixed(0x85, true);
	fixed(0x40, false);
	fixed(0x86, false);
	assert_int_equal(rd(APIC_TMR + 0x40), BIT(5));
	assert_int_equal(take(), 0x86);
	/* 0x85 is in the same class as the one in service: held. */
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_EOI, 0);
	assert_int_equal(neoi, 0);              /* edge: no broadcast */
	assert_int_equal(take(), 0x85);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_EOI, 0);
	assert_int_equal(neoi, 1);              /* level: broadcast to IOAPICs */
	assert_int_equal(eois[0], 0x85);
	/* Nested: 0x40 in service, 0x31 below it; EOI retires the highest. */
	assert_int_equal(take(), 0x40);
	fixed(0x90, false);
	assert_int_equal(take(), 0x90);
	assert_int_equal(rd(APIC_ISR + 0x40), BIT(0x10));
	assert_int_equal(rd(APIC_ISR + 0x20), BIT(0));
	wr(APIC_EOI, 0);
	assert_int_equal(rd(APIC_ISR + 0x40), 0);
	assert_int_equal(rd(APIC_ISR + 0x20), 1);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_EOI, 0);
	assert_int_equal(take(), 0x31);
	wr(APIC_EOI, 0);
	wr(APIC_EOI, 0);                        /* EOI with nothing in service */
	assert_int_equal(neoi, 1);
	assert_int_equal(lapic_pending_vector(&L), -1);
	/* Vector 0xff, the highest. */
	fixed(0xff, false);
	assert_int_equal(take(), 0xff);
	assert_int_equal(rd(APIC_PPR), 0xf0);
}

void test_icr(void **st)
{
	(void)st;
	setup();
	enable();
	/* Physical destination from ICR2; delivery status reads idle. */
	wr(APIC_ICR2, 0x07000000);
	wr(APIC_ICR, 0x1000 | 0x4000 | 0x8000 | 0x0800 | 0x0130);   /* lowest, logical, level */
	assert_int_equal(rd(APIC_ICR), 0xc930);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].dest, 7);
	assert_int_equal(sent[0].vector, 0x30);
	assert_int_equal(sent[0].delivery_mode, APIC_DM_LOWEST);
	assert_true(sent[0].dest_logical);
	assert_true(sent[0].level);
	assert_false(sent[0].all_but_self);
	/* Self: delivered here, not on the bus. */
	wr(APIC_ICR, (APIC_ICR_SH_SELF << 18) | 0x4041);
	assert_int_equal(nsent, 1);
	assert_int_equal(lapic_pending_vector(&L), 0x41);
	/* All excluding self: a broadcast that skips the sender. */
	wr(APIC_ICR, (APIC_ICR_SH_OTHERS << 18) | 0x4042);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].dest, 0xff);
	assert_false(sent[1].dest_logical);
	assert_true(sent[1].all_but_self);
	assert_int_equal(rd(APIC_IRR + 0x20), BIT(1));
	/* All including self: self now, the others through the bus. */
	wr(APIC_ICR, (APIC_ICR_SH_ALL << 18) | 0x4043);
	assert_int_equal(nsent, 3);
	assert_true(sent[2].all_but_self);
	assert_int_equal(rd(APIC_IRR + 0x20), BIT(1) | BIT(3));
	/* NMI to self; INIT level de-assert goes nowhere; INIT and SIPI. */
	wr(APIC_ICR, (APIC_ICR_SH_SELF << 18) | 0x4400);
	assert_true(lapic_take_nmi(&L));
	wr(APIC_ICR, 0x8500);
	assert_int_equal(nsent, 3);
	wr(APIC_ICR, 0x4500);
	assert_int_equal(nsent, 4);
	assert_int_equal(sent[3].delivery_mode, APIC_DM_INIT);
	wr(APIC_ICR, 0x4609);
	assert_int_equal(sent[4].delivery_mode, APIC_DM_STARTUP);
	assert_int_equal(sent[4].vector, 9);
	/* Received by a LAPIC: INIT and SIPI wait for the vCPU. */
	assert_true(lapic_accept(&L, &sent[3]));
	assert_true(lapic_accept(&L, &sent[4]));
	assert_true(lapic_take_init(&L));
	assert_int_equal(lapic_take_sipi(&L), 9);
	assert_int_equal(lapic_take_sipi(&L), -1);
	{
		struct apic_msg smi = { .delivery_mode = APIC_DM_SMI };
		struct apic_msg ext = { .delivery_mode = APIC_DM_EXTINT };
		assert_false(lapic_accept(&L, &smi));
		assert_true(lapic_accept(&L, &ext));
		assert_true(lapic_take_extint(&L));
	}
}

void test_esr_illegal_vector(void **st)
{
	(void)st;
	setup();
	enable();
	/* Send side: not sent, "send illegal vector" after the next write. */
	wr(APIC_ICR, 0x4005);
	assert_int_equal(nsent, 0);
	assert_int_equal(rd(APIC_ESR), 0);
	assert_int_equal(esr(), APIC_ESR_SEND_ILLEGAL);
	assert_int_equal(esr(), 0);
	wr(APIC_ICR, (APIC_ICR_SH_SELF << 18) | 0x400f);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(esr(), APIC_ESR_SEND_ILLEGAL);
	/* Receive side. */
	{
		struct apic_msg m = { .vector = 3, .delivery_mode = APIC_DM_FIXED };
		assert_false(lapic_accept(&L, &m));
	}
	assert_int_equal(rd(APIC_IRR), 0);
	assert_int_equal(esr(), APIC_ESR_RECV_ILLEGAL);
	/* Vector 16 is legal. */
	fixed(16, false);
	assert_int_equal(esr(), 0);
	assert_int_equal(take(), 16);
	wr(APIC_EOI, 0);
	/* An unmasked error LVT interrupts on a new error. */
	wr(APIC_LVT_ERROR, 0xe0);
	wr(APIC_ICR, 0x4001);
	assert_int_equal(lapic_pending_vector(&L), 0xe0);
	/* A timer LVT with an illegal vector: receive error, no IRR. */
	wr(APIC_LVT_TIMER, 0x02);
	wr(APIC_TIMER_DCR, 0xb);
	wr(APIC_TIMER_ICR, 1);
	lapic_advance(&L, 10);
	assert_int_equal(rd(APIC_IRR), 0);
	assert_int_equal(esr(), APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL);
}

void test_logical_destination(void **st)
{
	(void)st;
	setup();
	/* Flat model. */
	wr(APIC_LDR, 0x05000000);
	assert_true(lapic_match_dest(&L, 0x01, true));
	assert_true(lapic_match_dest(&L, 0x04, true));
	assert_true(lapic_match_dest(&L, 0x0f, true));
	assert_false(lapic_match_dest(&L, 0x02, true));
	assert_false(lapic_match_dest(&L, 0xf0, true));
	assert_true(lapic_match_dest(&L, 0xff, true));
	/* Cluster model: high nibble cluster, low nibble members. */
	wr(APIC_DFR, 0x0fffffff);
	wr(APIC_LDR, 0x21000000);
	assert_true(lapic_match_dest(&L, 0x21, true));
	assert_true(lapic_match_dest(&L, 0x23, true));
	assert_false(lapic_match_dest(&L, 0x22, true));
	assert_false(lapic_match_dest(&L, 0x11, true));
	assert_false(lapic_match_dest(&L, 0x01, true));
	assert_true(lapic_match_dest(&L, 0xff, true));
	/* Physical. */
	assert_true(lapic_match_dest(&L, 3, false));
	assert_false(lapic_match_dest(&L, 2, false));
	assert_true(lapic_match_dest(&L, 0xff, false));
	/* x2APIC cluster: ID 0x23 is cluster 2, member bit 3. */
	setup_id(0x23, true);
	to_x2apic();
	assert_true(lapic_match_dest(&L, 0x00020008, true));
	assert_true(lapic_match_dest(&L, 0x0002000c, true));
	assert_false(lapic_match_dest(&L, 0x00020004, true));
	assert_false(lapic_match_dest(&L, 0x00010008, true));
	assert_true(lapic_match_dest(&L, 0xffffffff, true));
	assert_false(lapic_match_dest(&L, 0xff, false));
}

void test_lint(void **st)
{
	(void)st;
	setup();
	enable();
	assert_false(lapic_accepts_pic(&L));     /* LINT0 masked at reset */
	wr(APIC_LVT_LINT0, APIC_DM_EXTINT << 8);
	assert_true(lapic_accepts_pic(&L));
	wr(APIC_LVT_LINT0, APIC_LVT_MASKED | (APIC_DM_EXTINT << 8));
	assert_false(lapic_accepts_pic(&L));
	/* LINT1 as NMI: on the rising edge only. */
	wr(APIC_LVT_LINT1, APIC_DM_NMI << 8);
	lapic_set_lint(&L, 1, true);
	assert_true(lapic_take_nmi(&L));
	lapic_set_lint(&L, 1, true);
	assert_false(lapic_take_nmi(&L));
	lapic_set_lint(&L, 1, false);
	lapic_set_lint(&L, 1, true);
	assert_true(lapic_take_nmi(&L));
	/* LINT0 fixed edge. */
	wr(APIC_LVT_LINT0, 0x50);
	lapic_set_lint(&L, 0, true);
	assert_int_equal(take(), 0x50);
	lapic_set_lint(&L, 0, true);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_EOI, 0);
	lapic_set_lint(&L, 0, false);
	/* LINT0 fixed level: remote IRR until EOI, then again while high. */
	wr(APIC_LVT_LINT0, APIC_LVT_LEVEL | 0x51);
	lapic_set_lint(&L, 0, true);
	assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_LEVEL | APIC_LVT_REMOTE_IRR | 0x51);
	assert_int_equal(take(), 0x51);
	lapic_set_lint(&L, 0, true);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_EOI, 0);
	assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_LEVEL | 0x51);
	assert_int_equal(neoi, 1);
	lapic_set_lint(&L, 0, true);
	assert_int_equal(take(), 0x51);
	lapic_set_lint(&L, 7, true);            /* no such pin */
}
