/*
 * The local APIC model's timer (vmx/dev/lapic_timer.c) in one-shot,
 * periodic and TSC-deadline modes with every divide value. The rest:
 * test_lapic.c, test_lapic_irq.c.
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

/* --- timer --- */

static void timer_setup(u32 lvt, u32 dcr)
{
	setup();
	enable();
	wr(APIC_LVT_TIMER, lvt);
	wr(APIC_TIMER_DCR, dcr);
}

static u32 ccr_at(u64 now)
{
	u64 v;

	lapic_mmio_read(&L, now, APIC_TIMER_CCR, 4, &v);
	return (u32)v;
}

void test_timer_oneshot(void **st)
{
	(void)st;
	timer_setup(0x61, 0x0);                  /* divide by 2: 8 TSC per count */
	lapic_mmio_write(&L, 100, APIC_TIMER_ICR, 4, 1000);
	assert_int_equal(ccr_at(100), 1000);
	assert_int_equal(ccr_at(107), 1000);
	assert_int_equal(ccr_at(108), 999);
	assert_int_equal(ccr_at(100 + 8 * 600), 400);
	assert_int_equal(lapic_next_deadline(&L), 100 + 8000);
	lapic_advance(&L, 8099);
	assert_int_equal(lapic_pending_vector(&L), -1);
	lapic_advance(&L, 8100);
	assert_int_equal(lapic_pending_vector(&L), 0x61);
	assert_int_equal(ccr_at(8100), 0);
	assert_int_equal(ccr_at(100000), 0);
	assert_int_equal(lapic_next_deadline(&L), NONE);
	assert_int_equal(take(), 0x61);
	wr(APIC_EOI, 0);
	lapic_advance(&L, 1000000);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(rd(APIC_TIMER_ICR), 1000);
	/* Re-arming restarts from the new count; 0 stops. */
	lapic_mmio_write(&L, 200000, APIC_TIMER_ICR, 4, 10);
	assert_int_equal(lapic_next_deadline(&L), 200080);
	lapic_mmio_write(&L, 200040, APIC_TIMER_ICR, 4, 0);
	assert_int_equal(lapic_next_deadline(&L), NONE);
	assert_int_equal(ccr_at(200040), 0);
	lapic_advance(&L, 300000);
	assert_int_equal(lapic_pending_vector(&L), -1);
}

void test_timer_periodic(void **st)
{
	int fired = 0;

	(void)st;
	timer_setup(APIC_LVT_TIMER_PERIODIC | 0x62, 0xb);   /* divide by 1 */
	lapic_mmio_write(&L, 0, APIC_TIMER_ICR, 4, 100);    /* period 400 TSC */
	for (u64 now = 0; now <= 4000; now += 10) {
		lapic_advance(&L, now);
		if (take() == 0x62) {
			fired++;
			assert_int_equal(now % 400, 0);
			wr(APIC_EOI, 0);
		}
	}
	assert_int_equal(fired, 10);
	assert_int_equal(lapic_next_deadline(&L), 4400);
	assert_int_equal(ccr_at(4000), 100);
	assert_int_equal(ccr_at(4004), 99);
	assert_int_equal(ccr_at(4396), 1);
	/* Missed periods coalesce; the phase is kept. */
	lapic_advance(&L, 10000);
	assert_int_equal(take(), 0x62);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(lapic_next_deadline(&L), 10400);
	lapic_advance(&L, 10399);
	wr(APIC_EOI, 0);
	assert_int_equal(lapic_pending_vector(&L), -1);
	/* Masked: counts on, delivers nothing, asks for no wake-up. */
	lapic_mmio_write(&L, 10399, APIC_LVT_TIMER, 4, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0x62);
	assert_int_equal(lapic_next_deadline(&L), NONE);
	lapic_advance(&L, 20000);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(ccr_at(20000), 100);
	/* Unmasked later: the next expiry is ahead, old ones are gone. */
	lapic_mmio_write(&L, 20100, APIC_LVT_TIMER, 4, APIC_LVT_TIMER_PERIODIC | 0x62);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(lapic_next_deadline(&L), 20400);
}

void test_timer_divide(void **st)
{
	static const struct { u32 dcr, div; } d[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};

	(void)st;
	for (u32 i = 0; i < 8; i++) {
		timer_setup(0x63, d[i].dcr);
		lapic_mmio_write(&L, 1000, APIC_TIMER_ICR, 4, 0xffffffff);
		assert_int_equal(lapic_next_deadline(&L), 1000 + 0xffffffffull * RATIO * d[i].div);
		assert_int_equal(ccr_at(1000 + RATIO * d[i].div * 5), 0xffffffff - 5);
		assert_int_equal(ccr_at(1000 + RATIO * d[i].div * 5 - 1), 0xffffffff - 4);
	}
	/* Changing the divisor mid-count keeps the count, changes the rate. */
	timer_setup(0x63, 0xb);
	lapic_mmio_write(&L, 0, APIC_TIMER_ICR, 4, 100);
	assert_int_equal(ccr_at(40), 90);
	lapic_mmio_write(&L, 40, APIC_TIMER_DCR, 4, 0x1);   /* by 4: 16 TSC per count */
	assert_int_equal(ccr_at(40), 90);
	assert_int_equal(ccr_at(56), 89);
	assert_int_equal(lapic_next_deadline(&L), 40 + 90 * 16);
}

void test_timer_tsc_deadline(void **st)
{
	(void)st;
	timer_setup(APIC_LVT_TIMER_TSCDEADLINE | 0x64, 0xb);
	/* Initial count is ignored, the current count reads 0. */
	lapic_mmio_write(&L, 0, APIC_TIMER_ICR, 4, 50);
	assert_int_equal(rd(APIC_TIMER_ICR), 0);
	assert_int_equal(ccr_at(10), 0);
	assert_int_equal(lapic_next_deadline(&L), NONE);
	assert_int_equal(lapic_msr_write(&L, 100, MSR_IA32_TSC_DEADLINE, 5000), LAPIC_OK);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_DEADLINE), 5000);
	assert_int_equal(lapic_next_deadline(&L), 5000);
	lapic_advance(&L, 4999);
	assert_int_equal(lapic_pending_vector(&L), -1);
	lapic_advance(&L, 5000);
	assert_int_equal(take(), 0x64);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_DEADLINE), 0);   /* disarmed */
	assert_int_equal(lapic_next_deadline(&L), NONE);
	wr(APIC_EOI, 0);
	/* A deadline already past fires at once; 0 disarms. */
	assert_int_equal(lapic_msr_write(&L, 6000, MSR_IA32_TSC_DEADLINE, 5500), LAPIC_OK);
	assert_int_equal(take(), 0x64);
	wr(APIC_EOI, 0);
	assert_int_equal(lapic_msr_write(&L, 6000, MSR_IA32_TSC_DEADLINE, 7000), LAPIC_OK);
	assert_int_equal(lapic_msr_write(&L, 6000, MSR_IA32_TSC_DEADLINE, 0), LAPIC_OK);
	lapic_advance(&L, 8000);
	assert_int_equal(lapic_pending_vector(&L), -1);
	/* Leaving TSC-deadline mode disarms; the MSR is then ignored. */
	assert_int_equal(lapic_msr_write(&L, 8000, MSR_IA32_TSC_DEADLINE, 9000), LAPIC_OK);
	lapic_mmio_write(&L, 8000, APIC_LVT_TIMER, 4, 0x64);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_DEADLINE), 0);
	assert_int_equal(lapic_msr_write(&L, 8000, MSR_IA32_TSC_DEADLINE, 9000), LAPIC_OK);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_DEADLINE), 0);
	lapic_advance(&L, 10000);
	assert_int_equal(lapic_pending_vector(&L), -1);
	/* Entering it disarms a running one-shot count. */
	lapic_mmio_write(&L, 10000, APIC_TIMER_ICR, 4, 100);
	lapic_mmio_write(&L, 10000, APIC_LVT_TIMER, 4, APIC_LVT_TIMER_TSCDEADLINE | 0x64);
	lapic_advance(&L, 20000);
	assert_int_equal(lapic_pending_vector(&L), -1);
	/* The same through the x2APIC MSRs. */
	to_x2apic();
	assert_int_equal(lapic_msr_write(&L, 20000, MSR_IA32_TSC_DEADLINE, 20010), LAPIC_OK);
	lapic_advance(&L, 20010);
	assert_int_equal(take(), 0x64);
}
