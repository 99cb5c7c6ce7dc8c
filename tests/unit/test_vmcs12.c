/*
 * Host unit test of struct vmcs12 and its encoding table against the layout
 * spec, nested/vmcs12-layout.tsv (member, byte offset, VMCS encoding).
 *
 * The spec is read at run time, not compiled in, so the table in
 * nested/vmcs12_fields.c is checked against an independent source:
 *   - every encoding in the spec maps to its offset, with the right width,
 *     and its _HIGH half (64-bit fields) to offset + 4 with width 4;
 *   - reads and writes round-trip and touch only the field's own bytes;
 *   - every other encoding, 0..0xffff and beyond, is refused;
 *   - the table holds exactly as many entries as the spec implies;
 *   - no access reaches past the end of the struct or into padding.
 *
 * Usage: test_vmcs12 [layout.tsv]; else $VMCS12_TSV; else
 * nested/vmcs12-layout.tsv relative to the current directory (repo root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nested/vmcs12.h"

#define ENC_SPACE   0x10000u    /* every 16-bit encoding is tried */
#define MAX_ROWS    256

struct spec_row {
	char name[64];
	int offset;
	long encoding;          /* -1: not a VMCS field */
};

static struct spec_row rows[MAX_ROWS];
static unsigned int nr_rows;

/* Derived from the spec: expected offset / width per 16-bit encoding. */
static int expect_off[ENC_SPACE];
static unsigned int expect_width[ENC_SPACE];
static unsigned int expect_count;      /* encodings incl. _HIGH halves */
static unsigned int expect_fields;     /* spec lines with an encoding */

/* Byte ranges that hold no field: header words, padding, dead_space. */
static const struct { int start, end; } no_field[] = {
	{ 0, 12 }, { 12, 40 }, { 336, 344 }, { 376, 408 }, { 728, 744 },
	{ 932, 960 },
};

static unsigned int width_bytes(u32 enc)
{
	switch (VMCS_FIELD_WIDTH(enc)) {
	case VMCS_FIELD_WIDTH_16:
		return 2;
	case VMCS_FIELD_WIDTH_32:
		return 4;
	default:
		return 8;
	}
}

static int load_spec(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	unsigned int i;

	if (!f) {
		fprintf(stderr, "test_vmcs12: cannot open %s\n", path);
		return -1;
	}
	for (i = 0; i < ENC_SPACE; i++)
		expect_off[i] = -1;

	while (fgets(line, sizeof(line), f)) {
		char name[64], enc[32];
		int off;
		struct spec_row *r;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63[^\t]\t%d\t%31s", name, &off, enc) != 3) {
			fprintf(stderr, "test_vmcs12: bad spec line: %s", line);
			fclose(f);
			return -1;
		}
		if (nr_rows == MAX_ROWS) {
			fprintf(stderr, "test_vmcs12: too many spec lines\n");
			fclose(f);
			return -1;
		}
		r = &rows[nr_rows++];
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->offset = off;
		r->encoding = strcmp(enc, "-") == 0 ? -1 : strtol(enc, NULL, 16);
		if (r->encoding < 0)
			continue;
		if (r->encoding >= 0x8000 || (r->encoding & 1)) {
			fprintf(stderr, "test_vmcs12: odd encoding %s\n", enc);
			fclose(f);
			return -1;
		}

		expect_fields++;
		expect_off[r->encoding] = off;
		expect_width[r->encoding] = width_bytes((u32)r->encoding);
		expect_count++;
		if (VMCS_FIELD_WIDTH(r->encoding) == VMCS_FIELD_WIDTH_64) {
			expect_off[r->encoding + 1] = off + 4;
			expect_width[r->encoding + 1] = 4;
			expect_count++;
		}
	}
	fclose(f);
	printf("test_vmcs12: %s: %u lines, %u fields, %u encodings with _HIGH halves\n",
	       path, nr_rows, expect_fields, expect_count);
	return expect_fields ? 0 : -1;
}

/* A zeroed vmcs12 with guard bytes either side, to catch stray writes. */
struct guarded {
	u8 before[16];
	struct vmcs12 v;
	u8 after[16];
} __packed;

static bool all_zero(const void *p, size_t n)
{
	const u8 *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

/* Field bytes are exactly [off, off + w) with value val, all else zero. */
static void assert_only_field(const struct guarded *g, int off, unsigned int w,
			      u64 val)
{
	const u8 *base = (const u8 *)&g->v;
	unsigned int i;

	assert_true(all_zero(g->before, sizeof(g->before)));
	assert_true(all_zero(g->after, sizeof(g->after)));
	assert_true(all_zero(base, (size_t)off));
	for (i = 0; i < w; i++)
		assert_int_equal(base[off + i], (u8)(val >> (8 * i)));
	assert_true(all_zero(base + off + w, sizeof(g->v) - (size_t)off - w));
}

static u64 truncate_to(u64 v, unsigned int w)
{
	return w == 8 ? v : v & ((1ULL << (8 * w)) - 1);
}

/* (a) every spec encoding: offset, width, _HIGH half, round trips */
static void test_spec_fields(void **state)
{
	unsigned int i, checked = 0;

	(void)state;
	for (i = 0; i < nr_rows; i++) {
		const struct spec_row *r = &rows[i];
		u32 enc;
		unsigned int w;
		struct guarded g;
		u64 pattern, got;

		if (r->encoding < 0)
			continue;
		enc = (u32)r->encoding;
		w = width_bytes(enc);
		if (vmcs12_field_offset(enc) != r->offset)
			fail_msg("%s (%#x): offset %d, spec %d", r->name, enc,
				 vmcs12_field_offset(enc), r->offset);
		assert_int_equal(vmcs12_field_width(enc), w);

		memset(&g, 0, sizeof(g));
		pattern = 0x8877665544332211ULL ^ ((u64)enc << 16);
		assert_true(vmcs12_write(&g.v, enc, pattern));
		assert_only_field(&g, r->offset, w, pattern);
		got = 0xdeadbeef;
		assert_true(vmcs12_read(&g.v, enc, &got));
		assert_true(got == truncate_to(pattern, w));

		if (VMCS_FIELD_WIDTH(enc) == VMCS_FIELD_WIDTH_64) {
			u32 hi = enc + 1;

			assert_int_equal(vmcs12_field_offset(hi), r->offset + 4);
			assert_int_equal(vmcs12_field_width(hi), 4);
			/* the _HIGH half reads bits 63:32 of the full value */
			assert_true(vmcs12_read(&g.v, hi, &got));
			assert_true(got == pattern >> 32);
			/* and writing it changes only those bits */
			assert_true(vmcs12_write(&g.v, hi, 0xffffffffcafef00dULL));
			assert_true(vmcs12_read(&g.v, enc, &got));
			assert_true(got == (0xcafef00dULL << 32 | (u32)pattern));
			assert_only_field(&g, r->offset, 8, got);
			checked++;
		}

		/* back to zero: the whole struct is zero again */
		assert_true(vmcs12_write(&g.v, enc, 0));
		assert_true(all_zero(&g, sizeof(g)));
		checked++;
	}
	assert_int_equal(checked, expect_count);
	printf("test_vmcs12: %u spec encodings checked\n", checked);
}

/* (b) every other encoding is refused and touches nothing */
static void refuse(u32 enc)
{
	struct guarded g;
	u64 val = 0x1234;

	memset(&g, 0, sizeof(g));
	if (vmcs12_field_offset(enc) != -1)
		fail_msg("encoding %#x accepted (offset %d)", enc,
			 vmcs12_field_offset(enc));
	assert_int_equal(vmcs12_field_width(enc), 0);
	assert_false(vmcs12_read(&g.v, enc, &val));
	assert_true(val == 0x1234);
	assert_false(vmcs12_write(&g.v, enc, ~0ULL));
	assert_true(all_zero(&g, sizeof(g)));
}

static void test_refuse_others(void **state)
{
	static const u32 big[] = {
		0x10000, 0x10001, 0x18000, 0x7fffffff, 0x80000000,
		0x80000001, 0xfffffffe, 0xffffffff,
	};
	unsigned int i, bit, refused = 0;

	(void)state;
	for (i = 0; i < ENC_SPACE; i++) {
		if (expect_off[i] >= 0)
			continue;
		refuse(i);
		refused++;
	}
	assert_int_equal(refused + expect_count, ENC_SPACE);

	for (i = 0; i < ARRAY_SIZE(big); i++)
		refuse(big[i]);

	/* A real field with any of bits 31:15 set must not alias the field. */
	for (i = 0; i < ENC_SPACE; i++) {
		if (expect_off[i] < 0)
			continue;
		for (bit = 15; bit < 32; bit++)
			refuse(i | (u32)(1ULL << bit));
		refuse(i | 0xffff8000u);
	}

	/* The retired CR3-target values live in dead_space: not fields. */
	refuse(CR3_TARGET_VALUE0);
	refuse(CR3_TARGET_VALUE1);
	refuse(CR3_TARGET_VALUE2);
	refuse(CR3_TARGET_VALUE3);
	printf("test_vmcs12: %u other 16-bit encodings refused\n", refused);
}

/* (c) the table holds exactly the spec's encodings */
static void test_table_count(void **state)
{
	unsigned int i, entries = 0, accepted = 0;

	(void)state;
	for (i = 0; i < vmcs12_field_table_len; i++)
		if (vmcs12_field_offsets[i])
			entries++;
	for (i = 0; i < ENC_SPACE; i++)
		if (vmcs12_field_offset(i) >= 0)
			accepted++;
	printf("test_vmcs12: table %u slots, %u entries; spec %u encodings\n",
	       vmcs12_field_table_len, entries, expect_count);
	assert_int_equal(entries, expect_count);
	assert_int_equal(accepted, expect_count);
}

/* (d) accesses stay inside the struct and out of padding */
static void test_bounds(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < ENC_SPACE; i++) {
		int off = vmcs12_field_offset(i);
		unsigned int w = vmcs12_field_width(i);

		if (off < 0)
			continue;
		assert_int_equal(off, expect_off[i]);
		assert_int_equal(w, expect_width[i]);
		assert_true((size_t)off + w <= sizeof(struct vmcs12));
		for (j = 0; j < ARRAY_SIZE(no_field); j++)
			assert_true(off + (int)w <= no_field[j].start ||
				    off >= no_field[j].end);
	}
	assert_int_equal(sizeof(struct vmcs12), 998);
	assert_true(sizeof(struct vmcs12) <= VMCS12_SIZE);
}

static void test_read_only(void **state)
{
	unsigned int i, ro = 0;

	(void)state;
	for (i = 0; i < nr_rows; i++) {
		u32 enc;

		if (rows[i].encoding < 0)
			continue;
		enc = (u32)rows[i].encoding;
		assert_int_equal(vmcs12_field_read_only(enc),
				 ((enc >> 10) & 3) == 1);
		ro += vmcs12_field_read_only(enc);
	}
	assert_true(vmcs12_field_read_only(VM_EXIT_REASON));
	assert_true(vmcs12_field_read_only(EXIT_QUALIFICATION));
	assert_true(vmcs12_field_read_only(GUEST_PHYSICAL_ADDRESS_HIGH));
	assert_false(vmcs12_field_read_only(GUEST_RIP));
	assert_false(vmcs12_field_read_only(PIN_BASED_VM_EXEC_CONTROL));
	assert_false(vmcs12_field_read_only(HOST_RIP));
	/* 0x2400, 8 x 0x44xx, 0x6400, 0x640a */
	assert_int_equal(ro, 11);
}

static void test_max_index(void **state)
{
	unsigned int i, max = 0;

	(void)state;
	for (i = 0; i < nr_rows; i++)
		if (rows[i].encoding >= 0 &&
		    VMCS_FIELD_INDEX(rows[i].encoding) > max)
			max = VMCS_FIELD_INDEX(rows[i].encoding);
	assert_int_equal(vmcs12_max_field_index(), max);
	assert_int_equal(max, 0x19);    /* TSC_MULTIPLIER, index 25 */
}

static void test_encoding_helpers(void **state)
{
	(void)state;
	assert_int_equal(VMCS_FIELD_WIDTH(GUEST_RIP), VMCS_FIELD_WIDTH_NATURAL);
	assert_int_equal(VMCS_FIELD_TYPE(GUEST_RIP), VMCS_FIELD_TYPE_GUEST);
	assert_int_equal(VMCS_FIELD_INDEX(GUEST_RIP), 0x0f);
	assert_int_equal(VMCS_FIELD_WIDTH(IO_BITMAP_A_HIGH), VMCS_FIELD_WIDTH_64);
	assert_true(VMCS_FIELD_IS_HIGH(IO_BITMAP_A_HIGH));
	assert_false(VMCS_FIELD_IS_HIGH(IO_BITMAP_A));
	assert_int_equal(VMCS_FIELD_TYPE(VM_EXIT_REASON), VMCS_FIELD_TYPE_RO_DATA);
	assert_int_equal(VMCS_FIELD_TYPE(HOST_RIP), VMCS_FIELD_TYPE_HOST);
	assert_int_equal(VMCS_FIELD_TYPE(VIRTUAL_PROCESSOR_ID), VMCS_FIELD_TYPE_CONTROL);
	assert_int_equal(VMCS_FIELD_WIDTH(GUEST_ES_LIMIT), VMCS_FIELD_WIDTH_32);
	assert_int_equal(VMCS_FIELD_WIDTH(GUEST_ES_SELECTOR), VMCS_FIELD_WIDTH_16);
	assert_int_equal(VMCS_FIELD_ENCODE(VMCS_FIELD_WIDTH_NATURAL,
					   VMCS_FIELD_TYPE_HOST, 0x0b, 0), HOST_RIP);
	assert_int_equal(VMCS_FIELD_ENCODE(VMCS_FIELD_WIDTH_64,
					   VMCS_FIELD_TYPE_CONTROL, 0, 1),
			 IO_BITMAP_A_HIGH);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_fields),
		cmocka_unit_test(test_refuse_others),
		cmocka_unit_test(test_table_count),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_max_index),
		cmocka_unit_test(test_encoding_helpers),
	};
	const char *path = "nested/vmcs12-layout.tsv";

	if (argc > 1)
		path = argv[1];
	else if (getenv("VMCS12_TSV"))
		path = getenv("VMCS12_TSV");
	if (load_spec(path) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
