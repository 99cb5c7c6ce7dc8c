/*
 * Host unit test of the LAPIC model's virtual-APIC page image,
 * vmx/dev/lapic_vapic.c: every register the CPU reads from the page reads
 * there what the model answers through the xAPIC page; what the CPU writes
 * (TPR, ICR, IRR/ISR under virtual-interrupt delivery) comes back into the
 * model; RVI/SVI, the EOI-exit bitmap and the TPR threshold; and a round
 * trip that plays the CPU's virtual-interrupt delivery and EOI
 * virtualization against the model's own answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

static struct lapic L;
static u32 page[LAPIC_VAPIC_DWORDS];
static int eois[16];
static int neoi;

static void bus_send(void *ctx, const struct apic_msg *m)
{
	(void)ctx;
	(void)m;
}

static void bus_eoi(void *ctx, u8 v)
{
	(void)ctx;
	assert_true(neoi < 16);
	eois[neoi++] = v;
}

static void setup(void)
{
	struct lapic_config cfg = {
		.apic_id = 2, .bsp = true, .tsc_khz = 1000000, .tsc_per_tick = 4,
		.phys_bits = 36, .bus = { .send = bus_send, .eoi = bus_eoi },
	};

	neoi = 0;
	lapic_reset(&L, &cfg);
	memset(page, 0xa5, sizeof(page));
}

static u32 rd(u32 off)
{
	u64 v = 0xdeadbeef;

	assert_int_equal(lapic_mmio_read(&L, 0, off, 4, &v), LAPIC_OK);
	return (u32)v;
}

static void wr(u32 off, u32 val)
{
	assert_int_equal(lapic_mmio_write(&L, 0, off, 4, val), LAPIC_OK);
}

static void fixed(u8 vector, bool level)
{
	struct apic_msg m = { .vector = vector, .delivery_mode = APIC_DM_FIXED, .level = level };

	assert_true(lapic_accept(&L, &m));
}

/* The registers APIC-register virtualization reads from the page (SDM
 * 30.4.2; not the timer's current count, which always exits). */
static bool virtualized_read(u32 off)
{
	return off == APIC_ID || off == APIC_VERSION || off == APIC_TPR || off == APIC_APR ||
	       off == APIC_PPR || off == APIC_EOI || off == APIC_LDR || off == APIC_DFR ||
	       off == APIC_SVR || (off >= APIC_ISR && off < APIC_IRR + 0x80) || off == APIC_ESR ||
	       off == APIC_ICR || off == APIC_ICR2 || (off >= APIC_LVT_TIMER && off <= APIC_TIMER_ICR) ||
	       off == APIC_TIMER_DCR;
}

static void assert_page_is_model(void)
{
	for (u32 off = 0; off < APIC_REG_END; off += 16) {
		if (!virtualized_read(off))
			continue;
		if (page[off / 4] != rd(off))
			fail_msg("offset %#x: page %#x, model %#x", off, page[off / 4], rd(off));
	}
}

static void test_store_matches_model(void **state)
{
	(void)state;
	setup();
	lapic_vapic_store(&L, page);
	assert_page_is_model();

	/* A busy APIC: every register away from its reset value. */
	wr(APIC_SVR, APIC_SVR_ENABLE | 0x3ff);
	wr(APIC_TPR, 0x35);
	wr(APIC_LDR, 0x0f000000);
	wr(APIC_DFR, 0x0fffffff);
	wr(APIC_ICR2, 0x07000000);
	wr(APIC_LVT_TIMER, APIC_LVT_TIMER_PERIODIC | 0x40);
	wr(APIC_LVT_LINT0, APIC_LVT_LEVEL | 0x51);
	wr(APIC_LVT_ERROR, 0xfe);
	wr(APIC_TIMER_DCR, 0xb);
	wr(APIC_TIMER_ICR, 123456);
	fixed(0x61, true);
	fixed(0x92, false);
	fixed(0xe3, false);
	lapic_ack(&L, 0xe3);
	wr(APIC_ICR, 0x3 | (APIC_ICR_SH_SELF << APIC_ICR_SH_SHIFT));   /* illegal vector: ESR */
	wr(APIC_ESR, 0);
	assert_int_not_equal(rd(APIC_ESR), 0);
	memset(page, 0x5a, sizeof(page));
	lapic_vapic_store(&L, page);
	assert_page_is_model();
	assert_int_equal(page[APIC_EOI / 4], 0);
	assert_int_equal(page[APIC_VERSION / 4], APIC_VERSION_VALUE);

	/* x2APIC: the ID and LDR in that mode's format. */
	assert_int_equal(lapic_msr_write(&L, 0, MSR_IA32_APIC_BASE,
					 L.s.apic_base | APIC_BASE_EXTD), LAPIC_OK);
	lapic_vapic_store(&L, page);
	assert_int_equal(page[APIC_ID / 4], 2);
	assert_int_equal(page[APIC_LDR / 4], (0u << 16) | (1u << 2));
}

static void test_load(void **state)
{
	(void)state;
	setup();
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	fixed(0x40, false);
	lapic_vapic_store(&L, page);

	/* CR8 = 9 through the TPR shadow, a self-IPI of 0x55 virtualized. */
	page[APIC_TPR / 4] = 0x90;
	page[APIC_ICR / 4] = 0x55 | (APIC_ICR_SH_SELF << APIC_ICR_SH_SHIFT);
	page[APIC_ICR2 / 4] = 0x03000000;
	page[APIC_IRR / 4 + 4 * 2] |= 1u << (0x55 - 0x40);
	assert_false(lapic_vapic_load(&L, page, false));
	assert_int_equal(rd(APIC_TPR), 0x90);
	assert_int_equal(lapic_read_cr8(&L), 9);
	assert_int_equal(rd(APIC_ICR), 0x55 | (APIC_ICR_SH_SELF << APIC_ICR_SH_SHIFT));
	assert_int_equal(rd(APIC_ICR2), 0x03000000);
	/* IRR only when asked for. */
	assert_int_equal(rd(APIC_IRR + 0x20), 1u << 0);
	assert_false(lapic_vapic_load(&L, page, true));
	assert_int_equal(rd(APIC_IRR + 0x20), (1u << 0) | (1u << 0x15));

	/* Junk in TPR's reserved bits: the register keeps 7:0, store again. */
	page[APIC_TPR / 4] = 0xabcd0020;
	assert_true(lapic_vapic_load(&L, page, false));
	assert_int_equal(rd(APIC_TPR), 0x20);
	lapic_vapic_store(&L, page);
	assert_int_equal(page[APIC_TPR / 4], 0x20);
}

static void test_intr_status(void **state)
{
	(void)state;
	setup();
	assert_int_equal(lapic_vapic_intr_status(&L), 0);
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	fixed(0x31, false);
	fixed(0x82, false);
	assert_int_equal(lapic_vapic_intr_status(&L), 0x82);
	lapic_ack(&L, 0x82);
	assert_int_equal(lapic_vapic_intr_status(&L), 0x31 | 0x82 << 8);
	/* Software-disabled: nothing to deliver (lapic_pending_vector agrees). */
	wr(APIC_SVR, 0xff);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(lapic_vapic_intr_status(&L), 0x82 << 8);
}

static void test_eoi_exit_bitmap(void **state)
{
	u64 b[4];

	(void)state;
	setup();
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	lapic_eoi_exit_bitmap(&L, b);
	assert_true(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0);
	fixed(0x21, true);
	fixed(0x7f, true);
	fixed(0xc0, false);
	fixed(0xff, true);
	lapic_eoi_exit_bitmap(&L, b);
	assert_true(b[0] == 1ull << 0x21);
	assert_true(b[1] == 1ull << (0x7f - 64));
	assert_true(b[2] == 0);
	assert_true(b[3] == 1ull << 63);
	/* Accepted again edge-triggered: no longer level, no exit needed. */
	fixed(0x21, false);
	lapic_eoi_exit_bitmap(&L, b);
	assert_true(b[0] == 0);
}

static void test_eoi_vector(void **state)
{
	(void)state;
	setup();
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	fixed(0x61, true);
	fixed(0x92, false);
	lapic_ack(&L, 0x92);
	lapic_ack(&L, 0x61);
	/* An edge vector: ISR only. */
	lapic_eoi_vector(&L, 0x92);
	assert_int_equal(neoi, 0);
	assert_int_equal(rd(APIC_ISR + 0x40), 0);
	/* A level vector: broadcast to the IOAPIC. */
	lapic_eoi_vector(&L, 0x61);
	assert_int_equal(neoi, 1);
	assert_int_equal(eois[0], 0x61);
	assert_int_equal(rd(APIC_ISR + 0x30), 0);
	/* The level LINT0 entry's remote IRR clears with its vector's EOI. */
	wr(APIC_LVT_LINT0, APIC_LVT_LEVEL | 0x70);
	lapic_set_lint(&L, 0, true);
	assert_true(rd(APIC_LVT_LINT0) & APIC_LVT_REMOTE_IRR);
	lapic_ack(&L, 0x70);
	lapic_eoi_vector(&L, 0x70);
	assert_false(rd(APIC_LVT_LINT0) & APIC_LVT_REMOTE_IRR);
	assert_int_equal(neoi, 2);
}

static void test_tpr_threshold(void **state)
{
	(void)state;
	setup();
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	assert_int_equal(lapic_tpr_threshold(&L), 0);
	fixed(0x45, false);
	assert_int_equal(lapic_tpr_threshold(&L), 0);          /* deliverable */
	wr(APIC_TPR, 0x50);
	assert_int_equal(lapic_pending_vector(&L), -1);
	assert_int_equal(lapic_tpr_threshold(&L), 4);          /* TPR < 0x40 lets it go */
	wr(APIC_TPR, 0x40);
	assert_int_equal(lapic_tpr_threshold(&L), 4);
	/* Held back by ISR as well: only an EOI releases it. */
	fixed(0x4a, false);
	lapic_ack(&L, 0x4a);
	assert_int_equal(lapic_tpr_threshold(&L), 0);
	/* Never above TPR[7:4] (a VM-entry check). */
	for (u32 tpr = 0; tpr < 256; tpr += 7) {
		wr(APIC_TPR, tpr);
		assert_true(lapic_tpr_threshold(&L) <= tpr >> 4);
	}
}

/* The CPU's part, for the round trip (SDM 30.2.2, 30.1.3): deliver RVI
 * into the page's ISR; EOI the page's highest ISR vector. */
static void cpu_deliver(u16 *status)
{
	u8 v = *status & 0xff;
	page[(APIC_IRR + 16 * (v / 32)) / 4] &= ~(1u << (v % 32));
	page[(APIC_ISR + 16 * (v / 32)) / 4] |= 1u << (v % 32);
	*status = (u16)(v << 8);
}

static void test_round_trip(void **state)
{
	u16 st;

	(void)state;
	setup();
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	fixed(0x33, false);
	fixed(0x66, true);
	/* What the model would inject first, the CPU delivers first. */
	assert_int_equal(lapic_pending_vector(&L), 0x66);
	lapic_vapic_store(&L, page);
	st = lapic_vapic_intr_status(&L);
	assert_int_equal(st & 0xff, 0x66);
	cpu_deliver(&st);
	lapic_vapic_load(&L, page, true);
	assert_int_equal(rd(APIC_ISR + 0x30), 1u << 6);
	assert_int_equal(lapic_ppr(&L), 0x60);
	assert_int_equal(lapic_pending_vector(&L), -1);        /* 0x33 waits under 0x66 */
	/* The CPU retires 0x66; it is level: the EOI-exit path finishes it. */
	page[(APIC_ISR + 0x30) / 4] = 0;
	lapic_vapic_load(&L, page, true);
	lapic_eoi_vector(&L, 0x66);
	assert_int_equal(neoi, 1);
	assert_int_equal(lapic_pending_vector(&L), 0x33);
	lapic_vapic_store(&L, page);
	assert_page_is_model();
	assert_int_equal(lapic_vapic_intr_status(&L), 0x33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_matches_model),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_intr_status),
		cmocka_unit_test(test_eoi_exit_bitmap),
		cmocka_unit_test(test_eoi_vector),
		cmocka_unit_test(test_tpr_threshold),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
