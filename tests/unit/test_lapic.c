/*
 * Host unit test of the local APIC model, vmx/dev/lapic*.c: reset values
 * of every register, read-only and reserved behaviour through the xAPIC
 * page and the x2APIC MSRs, IA32_APIC_BASE mode transitions and their
 * #GP cases, TPR/PPR/APR, priority ordering, EOI and its level-triggered
 * broadcast, the ICR (self, shorthands, INIT de-assert, illegal vectors),
 * ESR latching, software disable, LINT inputs, logical destination
 * matching, and the timer in one-shot, periodic and TSC-deadline modes
 * with every divide value. This file: registers, modes and their rules;
 * test_lapic_irq.c the interrupt side, test_lapic_timer.c the timer,
 * lapic_fixture.c the APIC and bus they share.
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

static void test_reset_values(void **st)
{
	(void)st;
	setup();
	assert_int_equal(rdmsr_ok(MSR_IA32_APIC_BASE), 0xfee00000 | APIC_BASE_EN | APIC_BASE_BSP);
	assert_int_equal(rd(APIC_ID), 0x03000000);
	assert_int_equal(rd(APIC_VERSION), 0x00050014);
	assert_int_equal(rd(APIC_TPR), 0);
	assert_int_equal(rd(APIC_APR), 0);
	assert_int_equal(rd(APIC_PPR), 0);
	assert_int_equal(rd(APIC_EOI), 0);
	assert_int_equal(rd(APIC_LDR), 0);
	assert_int_equal(rd(APIC_DFR), 0xffffffff);
	assert_int_equal(rd(APIC_SVR), 0xff);
	for (u32 i = 0; i < 8; i++) {
		assert_int_equal(rd(APIC_ISR + i * 16), 0);
		assert_int_equal(rd(APIC_TMR + i * 16), 0);
		assert_int_equal(rd(APIC_IRR + i * 16), 0);
	}
	assert_int_equal(rd(APIC_ESR), 0);
	assert_int_equal(rd(APIC_ICR), 0);
	assert_int_equal(rd(APIC_ICR2), 0);
	for (u32 r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 16)
		assert_int_equal(rd(r), APIC_LVT_MASKED);
	assert_int_equal(rd(APIC_TIMER_ICR), 0);
	assert_int_equal(rd(APIC_TIMER_CCR), 0);
	assert_int_equal(rd(APIC_TIMER_DCR), 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_DEADLINE), 0);
	assert_true(lapic_mmio_enabled(&L));
	assert_false(lapic_x2apic(&L));
	assert_false(lapic_sw_enabled(&L));
	assert_int_equal(lapic_mmio_base(&L), 0xfee00000);
	assert_int_equal(lapic_next_deadline(&L), NONE);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(esr(), 0);

	setup_id(1, false);
	assert_int_equal(rdmsr_ok(MSR_IA32_APIC_BASE), 0xfee00000 | APIC_BASE_EN);
	assert_int_equal(rd(APIC_ID), 0x01000000);
}

static void test_xapic_access_rules(void **st)
{
	u64 v;

	(void)st;
	setup();
	enable();
	/* Read-only registers ignore writes, without an error. */
	wr(APIC_VERSION, 0);
	wr(APIC_PPR, 0xff);
	wr(APIC_APR, 0xff);
	wr(APIC_ISR + 0x10, ~0u);
	wr(APIC_TMR, ~0u);
	wr(APIC_IRR + 0x70, ~0u);
	wr(APIC_TIMER_CCR, 1234);
	assert_int_equal(rd(APIC_VERSION), 0x00050014);
	assert_int_equal(rd(APIC_PPR), 0);
	assert_int_equal(rd(APIC_ISR + 0x10), 0);
	assert_int_equal(rd(APIC_IRR + 0x70), 0);
	assert_int_equal(rd(APIC_TIMER_CCR), 0);
	assert_int_equal(esr(), 0);
	/* Reserved offsets: read 0 and flag "illegal register address". */
	assert_int_equal(rd(0x040), 0);
	assert_int_equal(esr(), APIC_ESR_ILLEGAL_REG);
	assert_int_equal(esr(), 0);
	wr(APIC_LVT_CMCI, 0x30);
	assert_int_equal(esr(), APIC_ESR_ILLEGAL_REG);
	wr(APIC_SELF_IPI, 0x30);          /* x2APIC only */
	assert_int_equal(esr(), APIC_ESR_ILLEGAL_REG);
	assert_int_equal(lapic_pending_vector(&L), -1);
	wr(APIC_RRD, 0);
	assert_int_equal(esr(), APIC_ESR_ILLEGAL_REG);
	/* Writable bits. */
	wr(APIC_ID, 0xffffffff);
	assert_int_equal(rd(APIC_ID), 0xff000000);
	wr(APIC_ID, 0x03000000);
	wr(APIC_TPR, 0xffffffff);
	assert_int_equal(rd(APIC_TPR), 0xff);
	wr(APIC_TPR, 0);
	wr(APIC_LDR, 0xffffffff);
	assert_int_equal(rd(APIC_LDR), 0xff000000);
	wr(APIC_DFR, 0x0);
	assert_int_equal(rd(APIC_DFR), 0x0fffffff);
	wr(APIC_SVR, 0xffffffff);
	assert_int_equal(rd(APIC_SVR), 0x3ff);
	wr(APIC_ICR2, 0xffffffff);
	assert_int_equal(rd(APIC_ICR2), 0xff000000);
	wr(APIC_TIMER_DCR, 0xffffffff);
	assert_int_equal(rd(APIC_TIMER_DCR), 0xb);
	wr(APIC_LVT_TIMER, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_TIMER), 0x000700ff);
	wr(APIC_LVT_THERMAL, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_THERMAL), 0x000107ff);
	wr(APIC_LVT_PERF, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_PERF), 0x000107ff);
	wr(APIC_LVT_LINT0, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_LINT0), 0x0001a7ff);
	wr(APIC_LVT_LINT1, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_LINT1), 0x0001a7ff);
	wr(APIC_LVT_ERROR, 0xffffffff);
	assert_int_equal(rd(APIC_LVT_ERROR), 0x000100ff);
	/* Narrow and misaligned accesses: reads see bytes of the low dword,
	 * writes are dropped. */
	wr(APIC_TPR, 0x5a);
	assert_int_equal(lapic_mmio_read(&L, 0, APIC_ID + 3, 1, &v), LAPIC_OK);
	assert_int_equal(v, 0x03);
	assert_int_equal(lapic_mmio_read(&L, 0, APIC_VERSION + 2, 2, &v), LAPIC_OK);
	assert_int_equal(v, 0x0005);
	lapic_mmio_write(&L, 0, APIC_TPR, 1, 0x10);
	lapic_mmio_write(&L, 0, APIC_TPR, 2, 0x10);
	lapic_mmio_write(&L, 0, APIC_TPR + 4, 4, 0x10);
	lapic_mmio_write(&L, 0, APIC_TPR, 8, 0x10);
	assert_int_equal(rd(APIC_TPR), 0x5a);
	/* The page is not the APIC in x2APIC mode. */
	to_x2apic();
	assert_false(lapic_mmio_enabled(&L));
	lapic_mmio_write(&L, 0, APIC_TPR, 4, 0x20);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_TPR)), 0x5a);
}

static void test_apic_base_transitions(void **st)
{
	u64 base;

	(void)st;
	setup();
	base = rdmsr_ok(MSR_IA32_APIC_BASE);
	/* Reserved bits, EN=0 with EXTD=1. */
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, base | 1), LAPIC_GP);
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, base | BIT(9)), LAPIC_GP);
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, base | BIT(36)), LAPIC_GP);
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EXTD), LAPIC_GP);
	assert_int_equal(rdmsr_ok(MSR_IA32_APIC_BASE), base);
	/* x2APIC MSRs #GP in xAPIC mode. */
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_ID)), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TPR), 0), LAPIC_GP);
	/* xAPIC -> x2APIC: 32-bit ID, LDR derived from it; state kept. */
	wr(APIC_TPR, 0x20);
	to_x2apic();
	assert_true(lapic_x2apic(&L));
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ID)), 3);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_LDR)), 0x00000008);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_TPR)), 0x20);
	/* x2APIC -> xAPIC is illegal; x2APIC -> disabled is fine. */
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN), LAPIC_GP);
	assert_true(lapic_x2apic(&L));
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfee00000), LAPIC_OK);
	assert_false(lapic_hw_enabled(&L));
	assert_false(lapic_mmio_enabled(&L));
	assert_int_equal(rdmsr_ok(MSR_IA32_APIC_BASE), 0xfee00000 | APIC_BASE_BSP);
	/* Disabled -> x2APIC is illegal; disabled -> xAPIC gives reset state. */
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN | APIC_BASE_EXTD),
			 LAPIC_GP);
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_EN), LAPIC_OK);
	assert_int_equal(rd(APIC_TPR), 0);
	assert_int_equal(rd(APIC_ID), 0x03000000);
	assert_int_equal(rd(APIC_SVR), 0xff);
	assert_int_equal(rd(APIC_DFR), 0xffffffff);
	/* Relocation; the BSP bit is the platform's. */
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfed00000 | APIC_BASE_EN), LAPIC_OK);
	assert_int_equal(lapic_mmio_base(&L), 0xfed00000);
	assert_int_equal(rdmsr_ok(MSR_IA32_APIC_BASE), 0xfed00000 | APIC_BASE_EN | APIC_BASE_BSP);
	/* A disabled APIC accepts nothing and matches nothing; the PIC's
	 * INTR and LINT1 (NMI) go straight to the CPU. */
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, 0xfed00000), LAPIC_OK);
	assert_false(lapic_match_dest(&L, 3, false));
	{
		struct apic_msg m = { .vector = 0x40, .delivery_mode = APIC_DM_NMI };
		assert_false(lapic_accept(&L, &m));
	}
	assert_true(lapic_accepts_pic(&L));
	lapic_set_lint(&L, 1, true);
	assert_true(lapic_take_nmi(&L));
	assert_false(lapic_take_nmi(&L));
}

static void test_x2apic_rules(void **st)
{
	(void)st;
	setup_id(0x23, true);
	to_x2apic();
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_VERSION)), 0x00050014);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_LDR)), 0x00020008);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_SVR)), 0xff);
	/* Write-only, absent and reserved MSRs. */
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_EOI)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_SELF_IPI)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_APR)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_DFR)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_ICR2)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_RRD)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(APIC_MSR(APIC_LVT_CMCI)), LAPIC_GP);
	assert_int_equal(rdmsr_rc(0x801), LAPIC_GP);
	assert_int_equal(rdmsr_rc(0x8ff), LAPIC_GP);
	assert_int_equal(wrmsr(0x8ff, 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_DFR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_ICR2), 0), LAPIC_GP);
	/* Read-only registers. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_ID), 0x23), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_VERSION), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_LDR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_PPR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_ISR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TMR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_IRR), 0), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TIMER_CCR), 0), LAPIC_GP);
	/* Reserved bits. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_TPR), 0x100), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TPR), BIT(32)), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_EOI), 1), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_ESR), 1), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_SVR), BIT(12)), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TIMER_DCR), 0x4), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_LVT_TIMER), APIC_LVT_TIMER_MODE | 0x40), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_LVT_ERROR), 0x700 | 0x40), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_ICR), BIT(13) | 0x40), LAPIC_GP);
	assert_int_equal(wrmsr(APIC_MSR(APIC_SELF_IPI), 0x140), LAPIC_GP);
	assert_int_equal(nsent, 0);
	/* Good writes. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_SVR), APIC_SVR_ENABLE | 0xf0), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_SVR)), 0x1f0);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TPR), 0x30), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_PPR)), 0x30);
	assert_int_equal(wrmsr(APIC_MSR(APIC_TPR), 0), LAPIC_OK);
	/* The ICR is one 64-bit register with a 32-bit destination. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_ICR), (0x12345ull << 32) | 0x4040), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ICR)), (0x12345ull << 32) | 0x4040);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].dest, 0x12345);
	assert_int_equal(sent[0].vector, 0x40);
	/* SELF IPI. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_SELF_IPI), 0x55), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_IRR + 0x20)), BIT(0x55 - 64));
	assert_int_equal(nsent, 1);
	assert_int_equal(take(), 0x55);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ISR + 0x20)), BIT(0x55 - 64));
	assert_int_equal(wrmsr(APIC_MSR(APIC_EOI), 0), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ISR + 0x20)), 0);
	/* ESR through the MSR: write 0 latches. */
	assert_int_equal(wrmsr(APIC_MSR(APIC_SELF_IPI), 0x05), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ESR)), 0);
	assert_int_equal(wrmsr(APIC_MSR(APIC_ESR), 0), LAPIC_OK);
	assert_int_equal(rdmsr_ok(APIC_MSR(APIC_ESR)), APIC_ESR_SEND_ILLEGAL);
	/* Physical and broadcast matching in x2APIC mode. */
	assert_true(lapic_match_dest(&L, 0x23, false));
	assert_false(lapic_match_dest(&L, 0x03, false));
	assert_true(lapic_match_dest(&L, 0xffffffff, false));
	assert_true(lapic_msr_owned(0x1b) && lapic_msr_owned(0x6e0) && lapic_msr_owned(0x8ff));
	assert_false(lapic_msr_owned(0x7ff) || lapic_msr_owned(0x900));
}

static void test_software_disable(void **st)
{
	struct apic_msg nmi = { .delivery_mode = APIC_DM_NMI };

	(void)st;
	setup();
	/* Disabled: LVT masks stick, fixed interrupts are dropped, NMI is not. */
	wr(APIC_LVT_LINT0, 0x30);
	assert_int_equal(rd(APIC_LVT_LINT0), APIC_LVT_MASKED | 0x30);
	{
		struct apic_msg m = { .vector = 0x40, .delivery_mode = APIC_DM_FIXED };
		assert_false(lapic_accept(&L, &m));
	}
	assert_int_equal(rd(APIC_IRR + 0x20), 0);
	assert_true(lapic_accept(&L, &nmi));
	assert_true(lapic_take_nmi(&L));
	/* Enabled: LVTs can be unmasked; disabling masks them all again. */
	enable();
	wr(APIC_LVT_LINT0, 0x30);
	wr(APIC_LVT_TIMER, 0x31);
	assert_int_equal(rd(APIC_LVT_LINT0), 0x30);
	fixed(0x40, false);
	assert_int_equal(lapic_pending_vector(&L), 0x40);
	wr(APIC_SVR, 0x0f);
	for (u32 r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 16)
		assert_true(rd(r) & APIC_LVT_MASKED);
	assert_int_equal(rd(APIC_SVR), 0x0f);
	/* IRR is held but nothing is offered while software-disabled. */
	assert_int_equal(rd(APIC_IRR + 0x20), 1);
	assert_int_equal(lapic_pending_vector(&L), -1);
	enable();
	assert_int_equal(lapic_pending_vector(&L), 0x40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_xapic_access_rules),
		cmocka_unit_test(test_apic_base_transitions),
		cmocka_unit_test(test_x2apic_rules),
		cmocka_unit_test(test_software_disable),
		cmocka_unit_test(test_tpr_ppr),
		cmocka_unit_test(test_priority_order_and_eoi),
		cmocka_unit_test(test_icr),
		cmocka_unit_test(test_esr_illegal_vector),
		cmocka_unit_test(test_logical_destination),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_timer_oneshot),
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_timer_divide),
		cmocka_unit_test(test_timer_tsc_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
