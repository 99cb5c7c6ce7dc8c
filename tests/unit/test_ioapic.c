/*
 * Host unit test of the IOAPIC model, vmx/dev/ioapic.c: reset values,
 * register access rules, redirection-entry bits, edge pins (one message
 * per rising edge, lost while masked), level pins (remote IRR until EOI,
 * re-sent while asserted, delivered on unmask), and the EOI path end to
 * end with a real LAPIC: IOAPIC -> LAPIC -> EOI broadcast -> IOAPIC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/dev/ioapic.h"
#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

static struct ioapic IO;
static struct apic_msg sent[32];
static int nsent;

static void bus_send(void *ctx, const struct apic_msg *m)
{
	(void)ctx;
	assert_true(nsent < 32);
	sent[nsent++] = *m;
}

static void setup(void)
{
	struct apic_bus bus = { .send = bus_send };

	nsent = 0;
	ioapic_reset(&IO, IOAPIC_DEFAULT_BASE, &bus);
}

static u32 rdreg(u32 reg)
{
	u64 v;

	ioapic_mmio_write(&IO, IOAPIC_IOREGSEL, 4, reg);
	ioapic_mmio_read(&IO, IOAPIC_IOWIN, 4, &v);
	return (u32)v;
}

static void wrreg(u32 reg, u32 val)
{
	ioapic_mmio_write(&IO, IOAPIC_IOREGSEL, 4, reg);
	ioapic_mmio_write(&IO, IOAPIC_IOWIN, 4, val);
}

static void set_entry(u32 pin, u64 e)
{
	wrreg(IOAPIC_REG_REDTBL + 2 * pin + 1, (u32)(e >> 32));
	wrreg(IOAPIC_REG_REDTBL + 2 * pin, (u32)e);
}

static u64 entry(u32 pin)
{
	return ((u64)rdreg(IOAPIC_REG_REDTBL + 2 * pin + 1) << 32) |
	       rdreg(IOAPIC_REG_REDTBL + 2 * pin);
}

static void test_reset_and_registers(void **st)
{
	u64 v;

	(void)st;
	setup();
	assert_int_equal(IO.base, 0xfec00000);
	assert_int_equal(rdreg(IOAPIC_REG_ID), 0);
	assert_int_equal(rdreg(IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rdreg(IOAPIC_REG_ARB), 0);
	for (u32 pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		assert_int_equal(entry(pin), IOAPIC_RTE_MASKED);
	assert_int_equal(rdreg(0x40), 0);       /* past the table */
	assert_int_equal(rdreg(0x03), 0);
	/* IOREGSEL reads back (8 bits). */
	ioapic_mmio_write(&IO, IOAPIC_IOREGSEL, 4, 0x1234);
	ioapic_mmio_read(&IO, IOAPIC_IOREGSEL, 4, &v);
	assert_int_equal(v, 0x34);
	/* ID: 4 bits at 27:24, arbitration ID follows; version is read-only. */
	wrreg(IOAPIC_REG_ID, 0xffffffff);
	assert_int_equal(rdreg(IOAPIC_REG_ID), 0x0f000000);
	assert_int_equal(rdreg(IOAPIC_REG_ARB), 0x0f000000);
	wrreg(IOAPIC_REG_VER, 0);
	wrreg(IOAPIC_REG_ARB, 0);
	assert_int_equal(rdreg(IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rdreg(IOAPIC_REG_ARB), 0x0f000000);
	/* Only 32-bit accesses count. */
	ioapic_mmio_write(&IO, IOAPIC_IOREGSEL, 4, IOAPIC_REG_ID);
	ioapic_mmio_write(&IO, IOAPIC_IOWIN, 1, 0);
	ioapic_mmio_write(&IO, IOAPIC_IOWIN, 8, 0);
	ioapic_mmio_write(&IO, IOAPIC_IOREGSEL, 2, IOAPIC_REG_VER);
	ioapic_mmio_read(&IO, IOAPIC_IOWIN, 4, &v);
	assert_int_equal(v, 0x0f000000);
	ioapic_mmio_read(&IO, IOAPIC_IOWIN, 2, &v);
	assert_int_equal(v, 0);
	ioapic_mmio_read(&IO, 0x04, 4, &v);
	assert_int_equal(v, 0);
	/* Entry bits: delivery status and remote IRR are read-only, the
	 * high dword holds only the destination. */
	set_entry(5, 0xffffffffffffffffull);
	assert_int_equal(entry(5), 0xff0000000001afffull);
	assert_int_equal(nsent, 0);
	/* Pins beyond 23 are ignored. */
	ioapic_set_irq(&IO, 24, true);
	ioapic_set_irq(&IO, 1000, true);
	assert_int_equal(IO.s.pin_level, 0);
}

static void test_edge(void **st)
{
	(void)st;
	setup();
	set_entry(4, (0x02ull << 56) | IOAPIC_RTE_DEST_LOGICAL | (APIC_DM_LOWEST << 8) | 0x34);
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].vector, 0x34);
	assert_int_equal(sent[0].delivery_mode, APIC_DM_LOWEST);
	assert_true(sent[0].dest_logical);
	assert_false(sent[0].level);
	assert_int_equal(sent[0].dest, 2);
	assert_int_equal(entry(4) & (IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DS), 0);
	/* Held high: nothing more; a new rising edge sends again. */
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(nsent, 1);
	ioapic_set_irq(&IO, 4, false);
	assert_int_equal(nsent, 1);
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(nsent, 2);
	/* An edge while masked is lost, unmasking does not replay it. */
	ioapic_set_irq(&IO, 4, false);
	set_entry(4, IOAPIC_RTE_MASKED | 0x34);
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(nsent, 2);
	set_entry(4, 0x34);
	assert_int_equal(nsent, 2);
	/* EOI means nothing to edge pins. */
	ioapic_eoi(&IO, 0x34);
	assert_int_equal(nsent, 2);
	/* Reserved delivery modes send nothing. */
	ioapic_set_irq(&IO, 4, false);
	set_entry(4, (3 << 8) | 0x34);
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(nsent, 2);
}

static void test_level(void **st)
{
	(void)st;
	setup();
	set_entry(9, (0x01ull << 56) | IOAPIC_RTE_LEVEL | 0x49);
	ioapic_set_irq(&IO, 9, true);
	assert_int_equal(nsent, 1);
	assert_true(sent[0].level);
	assert_int_equal(sent[0].vector, 0x49);
	assert_true(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	/* Remote IRR holds it back. */
	ioapic_set_irq(&IO, 9, true);
	ioapic_set_irq(&IO, 9, false);
	ioapic_set_irq(&IO, 9, true);
	assert_int_equal(nsent, 1);
	/* EOI of another vector does nothing; of this one, re-sends while
	 * the line is still asserted. */
	ioapic_eoi(&IO, 0x48);
	assert_int_equal(nsent, 1);
	ioapic_eoi(&IO, 0x49);
	assert_int_equal(nsent, 2);
	assert_true(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	/* Line dropped: EOI clears remote IRR and nothing follows. */
	ioapic_set_irq(&IO, 9, false);
	ioapic_eoi(&IO, 0x49);
	assert_int_equal(nsent, 2);
	assert_false(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	/* Masked: the level is kept and unmasking delivers. */
	set_entry(9, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x49);
	ioapic_set_irq(&IO, 9, true);
	assert_int_equal(nsent, 2);
	set_entry(9, IOAPIC_RTE_LEVEL | 0x49);
	assert_int_equal(nsent, 3);
	/* Remote IRR survives entry rewrites, and is dropped by going edge. */
	set_entry(9, IOAPIC_RTE_LEVEL | 0x4a);
	assert_true(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(nsent, 3);
	set_entry(9, 0x4a);
	assert_false(entry(9) & IOAPIC_RTE_REMOTE_IRR);
	/* Two pins sharing a vector: one EOI serves both. */
	setup();
	set_entry(10, IOAPIC_RTE_LEVEL | 0x50);
	set_entry(11, IOAPIC_RTE_LEVEL | 0x50);
	ioapic_set_irq(&IO, 10, true);
	ioapic_set_irq(&IO, 11, true);
	assert_int_equal(nsent, 2);
	ioapic_set_irq(&IO, 10, false);
	ioapic_eoi(&IO, 0x50);
	assert_int_equal(nsent, 3);
	assert_false(entry(10) & IOAPIC_RTE_REMOTE_IRR);
	assert_true(entry(11) & IOAPIC_RTE_REMOTE_IRR);
}

/* --- end to end: one IOAPIC, two LAPICs on a small platform bus --- */

static struct lapic CPU[2];
static int delivered[2];

static void platform_send(void *ctx, const struct apic_msg *m)
{
	(void)ctx;
	for (int i = 0; i < 2; i++)
		if (lapic_match_dest(&CPU[i], m->dest, m->dest_logical) &&
		    lapic_accept(&CPU[i], m))
			delivered[i]++;
}

static void platform_eoi(void *ctx, u8 vector)
{
	ioapic_eoi(ctx, vector);
}

static void cpu_wr(int i, u32 off, u32 val)
{
	assert_int_equal(lapic_mmio_write(&CPU[i], 0, off, 4, val), LAPIC_OK);
}

static void test_eoi_end_to_end(void **st)
{
	struct apic_bus to_lapics = { .send = platform_send };
	struct apic_bus from_lapic = { .send = platform_send, .eoi = platform_eoi, .ctx = &IO };

	(void)st;
	ioapic_reset(&IO, IOAPIC_DEFAULT_BASE, &to_lapics);
	for (int i = 0; i < 2; i++) {
		struct lapic_config cfg = { .apic_id = (u32)i, .bsp = i == 0, .tsc_khz = 1000,
					    .tsc_per_tick = 1, .phys_bits = 36, .bus = from_lapic };

		lapic_reset(&CPU[i], &cfg);
		cpu_wr(i, APIC_SVR, APIC_SVR_ENABLE | 0xff);
		delivered[i] = 0;
	}
	/* Pin 3, level, physical destination APIC 1. */
	set_entry(3, (1ull << 56) | IOAPIC_RTE_LEVEL | 0x63);
	ioapic_set_irq(&IO, 3, true);
	assert_int_equal(delivered[0], 0);
	assert_int_equal(delivered[1], 1);
	assert_int_equal(lapic_pending_vector(&CPU[1]), 0x63);
	assert_true(CPU[1].s.tmr[0x63 / 32] & (1u << (0x63 % 32)));
	lapic_ack(&CPU[1], 0x63);
	/* The device still holds the line: the guest's EOI makes the IOAPIC
	 * send again. */
	cpu_wr(1, APIC_EOI, 0);
	assert_int_equal(delivered[1], 2);
	assert_int_equal(lapic_pending_vector(&CPU[1]), 0x63);
	lapic_ack(&CPU[1], 0x63);
	/* The device lets go before this EOI: remote IRR clears, no resend. */
	ioapic_set_irq(&IO, 3, false);
	cpu_wr(1, APIC_EOI, 0);
	assert_int_equal(delivered[1], 2);
	assert_false(entry(3) & IOAPIC_RTE_REMOTE_IRR);
	assert_int_equal(lapic_pending_vector(&CPU[1]), -1);
	/* An edge pin to a logical (flat) destination naming both CPUs: no
	 * EOI broadcast, since TMR is clear. */
	cpu_wr(0, APIC_LDR, 0x01000000);
	cpu_wr(1, APIC_LDR, 0x02000000);
	set_entry(4, (3ull << 56) | IOAPIC_RTE_DEST_LOGICAL | 0x64);
	ioapic_set_irq(&IO, 4, true);
	assert_int_equal(delivered[0], 1);
	assert_int_equal(delivered[1], 3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lapic_pending_vector(&CPU[i]), 0x64);
		lapic_ack(&CPU[i], 0x64);
		cpu_wr(i, APIC_EOI, 0);
		assert_int_equal(lapic_pending_vector(&CPU[i]), -1);
	}
	/* A LAPIC whose TPR masks the vector still accepts it into IRR. */
	cpu_wr(1, APIC_TPR, 0x70);
	ioapic_set_irq(&IO, 3, true);
	assert_int_equal(delivered[1], 4);
	assert_int_equal(lapic_pending_vector(&CPU[1]), -1);
	cpu_wr(1, APIC_TPR, 0x00);
	assert_int_equal(lapic_pending_vector(&CPU[1]), 0x63);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_and_registers),
		cmocka_unit_test(test_edge),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_eoi_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
