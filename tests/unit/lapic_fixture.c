/* The local APIC and its recording bus for test_lapic*.c (lapic_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tests/unit/lapic_fixture.h"

/* A bus that records what the LAPIC sends. */
struct apic_msg sent[16];
int nsent;
int eois[16];
int neoi;

static void bus_send(void *ctx, const struct apic_msg *m)
{
	(void)ctx;
	assert_true(nsent < 16);
	sent[nsent++] = *m;
}

static void bus_eoi(void *ctx, u8 v)
{
	(void)ctx;
	assert_true(neoi < 16);
	eois[neoi++] = v;
}

struct lapic L;

void setup_id(u32 id, bool bsp)
{
	struct lapic_config cfg = {
		.apic_id = id, .bsp = bsp, .tsc_khz = 1000000, .tsc_per_tick = RATIO,
		.phys_bits = 36, .bus = { .send = bus_send, .eoi = bus_eoi },
	};

	nsent = neoi = 0;
	lapic_reset(&L, &cfg);
}

void setup(void)
{
	setup_id(3, true);
}

u32 rd(u32 off)
{
	u64 v = 0xdeadbeef;

	assert_int_equal(lapic_mmio_read(&L, 0, off, 4, &v), LAPIC_OK);
	return (u32)v;
}

void wr(u32 off, u32 val)
{
	assert_int_equal(lapic_mmio_write(&L, 0, off, 4, val), LAPIC_OK);
}

u64 rdmsr_ok(u32 msr)
{
	u64 v;

	assert_int_equal(lapic_msr_read(&L, 0, msr, &v), LAPIC_OK);
	return v;
}

int rdmsr_rc(u32 msr)
{
	u64 v;

	return lapic_msr_read(&L, 0, msr, &v);
}

int wrmsr(u32 msr, u64 v)
{
	return lapic_msr_write(&L, 0, msr, v);
}

/* Latches and returns the ESR (write, then read). */
u32 esr(void)
{
	wr(APIC_ESR, 0);
	return rd(APIC_ESR);
}

void enable(void)
{
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

void to_x2apic(void)
{
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, rdmsr_ok(MSR_IA32_APIC_BASE) | APIC_BASE_EXTD),
			 LAPIC_OK);
}

void fixed(u8 vector, bool level)
{
	struct apic_msg m = { .vector = vector, .delivery_mode = APIC_DM_FIXED, .level = level };

	assert_true(lapic_accept(&L, &m));
}

/* Injects the pending vector as the CPU would; returns it. */
int take(void)
{
	int v = lapic_pending_vector(&L);

	if (v >= 0)
		lapic_ack(&L, (u8)v);
	return v;
}
