/*
 * Host unit test of the local APIC model, vmx/dev/lapic*.c: reset values
 * of every register, read-only and reserved behaviour through the xAPIC
 * page and the x2APIC MSRs, IA32_APIC_BASE mode transitions and their
 * #GP cases, TPR/PPR/APR, priority ordering, EOI and its level-triggered
 * broadcast, the ICR (self, shorthands, INIT de-assert, illegal vectors),
 * ESR latching, software disable, LINT inputs, logical destination
 * matching, and the timer in one-shot, periodic and TSC-deadline modes
 * with every divide value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/dev/lapic.h"
#include "vmx/dev/lapic_regs.h"

#define NONE        DEV_NO_DEADLINE
#define RATIO       4           /* TSC ticks per APIC timer tick */

/* A bus that records what the LAPIC sends. */
static struct apic_msg sent[16];
static int nsent;
static int eois[16];
static int neoi;

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

static struct lapic L;

static void setup_id(u32 id, bool bsp)
{
	struct lapic_config cfg = {
		.apic_id = id, .bsp = bsp, .tsc_khz = 1000000, .tsc_per_tick = RATIO,
		.phys_bits = 36, .bus = { .send = bus_send, .eoi = bus_eoi },
	};

	nsent = neoi = 0;
	lapic_reset(&L, &cfg);
}

static void setup(void)
{
	setup_id(3, true);
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

static u64 rdmsr_ok(u32 msr)
{
	u64 v;

	assert_int_equal(lapic_msr_read(&L, 0, msr, &v), LAPIC_OK);
	return v;
}

static int rdmsr_rc(u32 msr)
{
	u64 v;

	return lapic_msr_read(&L, 0, msr, &v);
}

static int wrmsr(u32 msr, u64 v)
{
	return lapic_msr_write(&L, 0, msr, v);
}

/* Latches and returns the ESR (write, then read). */
static u32 esr(void)
{
	wr(APIC_ESR, 0);
	return rd(APIC_ESR);
}

static void enable(void)
{
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

static void to_x2apic(void)
{
	assert_int_equal(wrmsr(MSR_IA32_APIC_BASE, rdmsr_ok(MSR_IA32_APIC_BASE) | APIC_BASE_EXTD),
			 LAPIC_OK);
}

static void fixed(u8 vector, bool level)
{
	struct apic_msg m = { .vector = vector, .delivery_mode = APIC_DM_FIXED, .level = level };

	assert_true(lapic_accept(&L, &m));
}

/* Injects the pending vector as the CPU would; returns it. */
static int take(void)
{
	int v = lapic_pending_vector(&L);

	if (v >= 0)
		lapic_ack(&L, (u8)v);
	return v;
}

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

static void test_tpr_ppr(void **st)
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

static void test_priority_order_and_eoi(void **st)
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

static void test_icr(void **st)
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

static void test_esr_illegal_vector(void **st)
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

static void test_logical_destination(void **st)
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

static void test_lint(void **st)
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

static void test_timer_oneshot(void **st)
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

static void test_timer_periodic(void **st)
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

static void test_timer_divide(void **st)
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

static void test_timer_tsc_deadline(void **st)
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
