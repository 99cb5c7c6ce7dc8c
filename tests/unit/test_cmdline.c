/*
 * Host unit test of the command-line code, kernel/cmdline.c: the tokenizer
 * (key, key=value, key="quoted value", `--` and the rest of the line),
 * parse_u64 / parse_size, and turtle's own options with the error callback
 * (every bad token reported by name and counted). Ends with a fixed-seed
 * fuzz of random command lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cmdline.h"

/* Token i must be key (and value, or NULL for none). */
static void expect_token(const char **p, const char *key, const char *value)
{
	struct cmdline_token t;

	memset(&t, 0xa5, sizeof(t));
	assert_true(cmdline_next(p, &t, NULL));
	assert_int_equal(t.key_len, strlen(key));
	assert_memory_equal(t.key, key, t.key_len);
	if (!value) {
		assert_null(t.value);
		assert_int_equal(t.value_len, 0);
	} else {
		assert_non_null(t.value);
		assert_int_equal(t.value_len, strlen(value));
		assert_memory_equal(t.value, value, t.value_len);
	}
}

/* No token left; the rest of the line must be rest (NULL: don't care). */
static void expect_end(const char **p, const char *rest)
{
	struct cmdline_token t;
	const char *r = NULL;

	assert_false(cmdline_next(p, &t, &r));
	assert_non_null(r);
	if (rest)
		assert_string_equal(r, rest);
	assert_ptr_equal(*p, r);
}

static void test_tokens(void **state)
{
	const char *line = "  verbose\tslice=100 name=\"a quoted value\" empty= =v \"q\" x=\"\" last";
	const char *p = line;

	(void)state;
	expect_token(&p, "verbose", NULL);
	expect_token(&p, "slice", "100");
	expect_token(&p, "name", "a quoted value");
	expect_token(&p, "empty", "");
	expect_token(&p, "", "v");
	expect_token(&p, "\"q\"", NULL);
	expect_token(&p, "x", "");
	expect_token(&p, "last", NULL);
	expect_end(&p, "");
	/* At the end it stays at the end. */
	expect_end(&p, "");
	assert_ptr_equal(p, line + strlen(line));

	/* Quotes end the value only as a pair; an open quote runs to the end. */
	p = "a=\"x y\"z b=\"unterminated value";
	expect_token(&p, "a", "x y");
	expect_token(&p, "z", NULL);
	expect_token(&p, "b", "unterminated value");
	expect_end(&p, "");

	/* Only the first '=' splits; blanks of every kind separate. */
	p = "k=a=b\r\nl=1\n";
	expect_token(&p, "k", "a=b");
	expect_token(&p, "l", "1");
	expect_end(&p, "");
}

static void test_rest(void **state)
{
	const char *p;
	struct cmdline_token t;

	(void)state;
	p = "slice=5 -- console=ttyS0  root=/dev/sda -- x";
	expect_token(&p, "slice", "5");
	expect_end(&p, "console=ttyS0  root=/dev/sda -- x");

	p = "a --";
	expect_token(&p, "a", NULL);
	expect_end(&p, "");

	p = "--\t\t  guest";
	expect_end(&p, "guest");

	/* `--x`, `---` and `-` are ordinary tokens. */
	p = "--x --- - --=1 b";
	expect_token(&p, "--x", NULL);
	expect_token(&p, "---", NULL);
	expect_token(&p, "-", NULL);
	expect_token(&p, "--", "1");
	expect_token(&p, "b", NULL);
	expect_end(&p, "");

	/* rest may be NULL. */
	p = "-- ignored";
	assert_false(cmdline_next(&p, &t, NULL));
	assert_string_equal(p, "ignored");
}

static void test_empty_lines(void **state)
{
	const char *p;

	(void)state;
	p = "";
	expect_end(&p, "");
	p = " \t\r\n ";
	expect_end(&p, "");
}

static void test_key_is(void **state)
{
	const char *p = "verbose verb verbosex fault=pf =x";
	struct cmdline_token t;

	(void)state;
	assert_true(cmdline_next(&p, &t, NULL));
	assert_true(cmdline_key_is(&t, "verbose"));
	assert_false(cmdline_key_is(&t, "verb"));
	assert_false(cmdline_key_is(&t, "verbosex"));
	assert_true(cmdline_next(&p, &t, NULL));
	assert_false(cmdline_key_is(&t, "verbose"));
	assert_true(cmdline_key_is(&t, "verb"));
	assert_true(cmdline_next(&p, &t, NULL));
	assert_false(cmdline_key_is(&t, "verbose"));
	assert_true(cmdline_next(&p, &t, NULL));
	assert_true(cmdline_key_is(&t, "fault"));
	assert_false(cmdline_key_is(&t, "fault=pf"));
	assert_true(cmdline_next(&p, &t, NULL));
	assert_true(cmdline_key_is(&t, ""));
	assert_false(cmdline_key_is(&t, "x"));
}

static void test_value(void **state)
{
	const char *p = "name=\"hello world\" flag";
	struct cmdline_token t;
	char buf[32];

	(void)state;
	assert_true(cmdline_next(&p, &t, NULL));
	cmdline_value(&t, buf, sizeof(buf));
	assert_string_equal(buf, "hello world");
	/* Truncated to the buffer, always terminated, never past size. */
	memset(buf, 'Z', sizeof(buf));
	cmdline_value(&t, buf, 6);
	assert_string_equal(buf, "hello");
	assert_int_equal(buf[6], 'Z');
	cmdline_value(&t, buf, 1);
	assert_string_equal(buf, "");
	assert_int_equal(buf[1], 'e');
	memset(buf, 'Z', sizeof(buf));
	cmdline_value(&t, buf, 0);
	assert_int_equal(buf[0], 'Z');
	/* No value: the empty string. */
	assert_true(cmdline_next(&p, &t, NULL));
	memset(buf, 'Z', sizeof(buf));
	cmdline_value(&t, buf, sizeof(buf));
	assert_string_equal(buf, "");

	/* An exact-size heap buffer: ASan traps any write past it. */
	p = "k=0123456789";
	assert_true(cmdline_next(&p, &t, NULL));
	for (u32 size = 1; size < 14; size++) {
		char *h = malloc(size);
		cmdline_value(&t, h, size);
		assert_int_equal(strlen(h), MIN(size - 1, 10u));
		free(h);
	}
}

static bool u64_of(const char *s, u64 *v)
{
	return parse_u64(s, (u32)strlen(s), v);
}

static bool size_of(const char *s, u64 *v)
{
	return parse_size(s, (u32)strlen(s), v);
}

static void test_parse_u64(void **state)
{
	static const struct {
		const char *s;
		u64 v;
	} good[] = {
		{ "0", 0 }, { "7", 7 }, { "4096", 4096 }, { "007", 7 },
		{ "0x1000", 0x1000 }, { "0X1f", 0x1f }, { "0xAbCdEf", 0xabcdef },
		{ "0x0", 0 }, { "00", 0 },
		{ "18446744073709551615", ~0ULL },
		{ "0xffffffffffffffff", ~0ULL },
		{ "0x00000000000000000000001", 1 },
		{ "4294967296", 1ULL << 32 },
	};
	static const char *const bad[] = {
		"", "0x", "0X", "x10", "12a", "-1", "+1", " 1", "1 ", "0xg", "0x-1", "1.5",
		"18446744073709551616", "18446744073709551620", "99999999999999999999",
		"0x10000000000000000", "0x1ffffffffffffffff", "ff", "0b101", "1K",
	};
	u64 v;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(good); i++) {
		v = 12345;
		if (!u64_of(good[i].s, &v))
			fail_msg("parse_u64(\"%s\") refused", good[i].s);
		assert_int_equal(v, good[i].v);
	}
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (u64_of(bad[i], &v))
			fail_msg("parse_u64(\"%s\") accepted", bad[i]);
		assert_int_equal(v, 12345);         /* untouched on failure */
	}
	/* Only len characters are looked at. */
	assert_true(parse_u64("123abc", 3, &v));
	assert_int_equal(v, 123);
	assert_true(parse_u64("0x1g", 3, &v));
	assert_int_equal(v, 1);
	assert_false(parse_u64("5", 0, &v));
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		u64 v;
	} good[] = {
		{ "4096", 4096 }, { "0", 0 }, { "64K", 64 << 10 }, { "64k", 64 << 10 },
		{ "16M", 16 << 20 }, { "16m", 16 << 20 }, { "2G", 2ULL << 30 },
		{ "2g", 2ULL << 30 }, { "0x1000", 0x1000 }, { "0x10M", 16 << 20 },
		{ "0K", 0 }, { "17179869183G", 17179869183ULL << 30 },
		{ "18014398509481983K", 18014398509481983ULL << 10 },
		{ "18446744073709551615", ~0ULL },
	};
	static const char *const bad[] = {
		"", "K", "M", "G", "0xM", "16T", "1MB", "1 M", "M1", "-1M", "1.5G",
		"17179869184G", "18014398509481984K", "17592186044416M", "0x400000000G",
		"18446744073709551616",
	};
	u64 v;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(good); i++) {
		v = 12345;
		if (!size_of(good[i].s, &v))
			fail_msg("parse_size(\"%s\") refused", good[i].s);
		assert_int_equal(v, good[i].v);
	}
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (size_of(bad[i], &v))
			fail_msg("parse_size(\"%s\") accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_true(parse_size("8Mjunk", 2, &v));
	assert_int_equal(v, 8 << 20);
}

/* ---- turtle's options ---- */

#define MAX_MSGS    32
static char msgs[MAX_MSGS][256];
static int n_msgs;

static void on_error(const char *msg)
{
	assert_true(strlen(msg) < 160);
	if (n_msgs < MAX_MSGS)
		snprintf(msgs[n_msgs], sizeof(msgs[0]), "%s", msg);
	n_msgs++;
}

static int parse_opts(const char *s, struct turtle_options *o)
{
	n_msgs = 0;
	memset(o, 0xa5, sizeof(*o));
	return turtle_options_parse(s, o, on_error);
}

static void test_options_good(void **state)
{
	static const struct {
		const char *name;
		enum turtle_fault f;
	} faults[] = {
		{ "none", FAULT_NONE }, { "ud", FAULT_UD }, { "pf", FAULT_PF },
		{ "gp", FAULT_GP }, { "de", FAULT_DE }, { "bp", FAULT_BP },
	};
	struct turtle_options o;
	char line[64];

	(void)state;
	/* Defaults. */
	assert_int_equal(parse_opts("", &o), 0);
	assert_int_equal(o.fault, FAULT_NONE);
	assert_int_equal(o.slice, 0);
	assert_false(o.small_frames);
	assert_false(o.apicv_off);
	assert_int_equal(n_msgs, 0);

	/* APIC virtualisation: on unless forced off; the last one wins. */
	assert_int_equal(parse_opts("apicv=off", &o), 0);
	assert_true(o.apicv_off);
	assert_int_equal(parse_opts("apicv=off apicv=on", &o), 0);
	assert_false(o.apicv_off);
	assert_int_equal(parse_opts("apicv=\"off\"", &o), 0);
	assert_true(o.apicv_off);

	assert_int_equal(parse_opts("  fault=pf slice=1000\tsmall_frames ", &o), 0);
	assert_int_equal(o.fault, FAULT_PF);
	assert_int_equal(o.slice, 1000);
	assert_true(o.small_frames);
	assert_int_equal(n_msgs, 0);

	for (u32 i = 0; i < ARRAY_SIZE(faults); i++) {
		snprintf(line, sizeof(line), "fault=%s", faults[i].name);
		assert_int_equal(parse_opts(line, &o), 0);
		assert_int_equal(o.fault, faults[i].f);
		snprintf(line, sizeof(line), "fault=\"%s\"", faults[i].name);
		assert_int_equal(parse_opts(line, &o), 0);
		assert_int_equal(o.fault, faults[i].f);
	}

	assert_int_equal(parse_opts("slice=0x10", &o), 0);
	assert_int_equal(o.slice, 16);
	assert_int_equal(parse_opts("slice=1", &o), 0);
	assert_int_equal(o.slice, 1);
	assert_int_equal(parse_opts("slice=4294967295", &o), 0);
	assert_int_equal(o.slice, 4294967295u);
	/* The last one wins. */
	assert_int_equal(parse_opts("fault=ud fault=gp slice=3 slice=4", &o), 0);
	assert_int_equal(o.fault, FAULT_GP);
	assert_int_equal(o.slice, 4);

	/* console=: power off at the end (default), or stay at the console. */
	assert_false(o.console_stay);
	assert_int_equal(parse_opts("console=stay", &o), 0);
	assert_true(o.console_stay);
	assert_int_equal(parse_opts("console=stay console=poweroff", &o), 0);
	assert_false(o.console_stay);

	/* Whatever follows `--` is not turtle's. */
	assert_int_equal(parse_opts("small_frames -- fault=xx bogus", &o), 0);
	assert_true(o.small_frames);
	assert_int_equal(o.fault, FAULT_NONE);
	assert_int_equal(n_msgs, 0);
}

static void expect_msg(int i, const char *what, const char *token)
{
	char quoted[160];

	assert_true(i < n_msgs);
	snprintf(quoted, sizeof(quoted), "'%s'", token);
	if (!strstr(msgs[i], what) || !strstr(msgs[i], quoted))
		fail_msg("message %d \"%s\" lacks \"%s\" or %s", i, msgs[i], what, quoted);
}

static void test_options_bad(void **state)
{
	struct turtle_options o;

	(void)state;
	assert_int_equal(parse_opts("bogus", &o), 1);
	assert_int_equal(n_msgs, 1);
	expect_msg(0, "unknown option", "bogus");

	assert_int_equal(parse_opts("fault=xx", &o), 1);
	expect_msg(0, "unknown fault", "fault=xx");
	assert_int_equal(o.fault, FAULT_NONE);

	assert_int_equal(parse_opts("slice=abc", &o), 1);
	expect_msg(0, "bad slice", "slice=abc");
	assert_int_equal(o.slice, 0);

	assert_int_equal(parse_opts("apicv=0", &o), 1);
	expect_msg(0, "bad apicv", "apicv=0");
	assert_false(o.apicv_off);
	assert_int_equal(parse_opts("apicv", &o), 1);
	expect_msg(0, "unknown option", "apicv");
	assert_int_equal(parse_opts("apicv=offf apicv=", &o), 2);
	expect_msg(0, "bad apicv", "apicv=offf");
	expect_msg(1, "bad apicv", "apicv=");

	/* Several at once: each named, each counted; the good ones still apply
	 * and a bad one keeps the option's default (or earlier value). */
	const char *line = "fault=gp bogus fault=PF slice=0 slice=4294967296 slice=-1 slice= "
			   "small_frames=1 fault slice=7 slice=9x fault= =x extra=\"a b\" small_frames";
	assert_int_equal(parse_opts(line, &o), 12);
	assert_int_equal(n_msgs, 12);
	expect_msg(0, "unknown option", "bogus");
	expect_msg(1, "unknown fault", "fault=PF");
	expect_msg(2, "bad slice", "slice=0");
	expect_msg(3, "bad slice", "slice=4294967296");
	expect_msg(4, "bad slice", "slice=-1");
	expect_msg(5, "bad slice", "slice=");
	expect_msg(6, "unknown option", "small_frames=1");
	expect_msg(7, "unknown option", "fault");
	expect_msg(8, "bad slice", "slice=9x");
	expect_msg(9, "unknown fault", "fault=");
	expect_msg(10, "unknown option", "=x");
	expect_msg(11, "unknown option", "extra=\"a b");
	assert_int_equal(o.fault, FAULT_GP);
	assert_int_equal(o.slice, 7);
	assert_true(o.small_frames);

	assert_int_equal(parse_opts("console=yes console console=STAY console=stay", &o), 3);
	expect_msg(0, "bad console", "console=yes");
	expect_msg(1, "unknown option", "console");
	expect_msg(2, "bad console", "console=STAY");
	assert_true(o.console_stay);

	/* No callback: still counted. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(turtle_options_parse("bogus fault=zz small_frames", &o, NULL), 2);
	assert_true(o.small_frames);
}

static void test_options_long_token(void **state)
{
	struct turtle_options o;
	char line[600];

	(void)state;
	memset(line, 'x', 500);
	line[500] = '\0';
	assert_int_equal(parse_opts(line, &o), 1);
	assert_int_equal(n_msgs, 1);
	/* Quoted and cut to the message buffer, still terminated. */
	assert_true(strlen(msgs[0]) < 160);
	assert_true(strncmp(msgs[0], "unknown option 'xxx", 19) == 0);
	assert_int_equal(msgs[0][strlen(msgs[0]) - 1], '\'');

	memcpy(line, "slice=", 6);
	assert_int_equal(parse_opts(line, &o), 1);
	assert_true(strncmp(msgs[0], "bad slice", 9) == 0);
	assert_true(strstr(msgs[0], "'slice=xxx") != NULL);
	assert_int_equal(o.slice, 0);
}

/* ---- fuzz ---- */

static u64 rng_state = 0x853c49e6748fea9bULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int fuzz_msgs;

static void count_error(const char *msg)
{
	assert_non_null(msg);
	assert_true(strlen(msg) < 160);
	fuzz_msgs++;
}

static void test_fuzz(void **state)
{
	static const char *const pieces[] = {
		"fault", "slice", "small_frames", "=", "\"", " ", "\t", "--", "-", "pf", "0x",
		"1", "9", "4294967295", "x", "\n", "==", "none", "K",
	};

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		char line[128];
		u32 len = 0;
		u32 n = (u32)(rnd() % 12);

		for (u32 i = 0; i < n; i++) {
			const char *piece = pieces[rnd() % ARRAY_SIZE(pieces)];
			u32 pl = (u32)strlen(piece);
			if (len + pl >= sizeof(line))
				break;
			memcpy(line + len, piece, pl);
			len += pl;
		}
		if (rnd() % 4 == 0 && len)
			line[rnd() % len] = (char)(1 + rnd() % 255);
		line[len] = '\0';

		/* Exact heap copy: ASan traps reads past the terminator. */
		char *s = malloc(len + 1);
		memcpy(s, line, len + 1);

		struct turtle_options o;
		fuzz_msgs = 0;
		int errors = turtle_options_parse(s, &o, count_error);
		assert_int_equal(errors, fuzz_msgs);
		assert_true(o.fault <= FAULT_BP);
		assert_true(o.slice <= 0xffffffffu);

		/* The tokenizer always moves forward and stays inside the line. */
		const char *p = s, *rest = NULL;
		struct cmdline_token t;
		while (cmdline_next(&p, &t, &rest)) {
			assert_true(t.key >= s && t.key + t.key_len <= s + len);
			if (t.value)
				assert_true(t.value >= s && t.value + t.value_len <= s + len);
			assert_true(p > t.key && p <= s + len);
		}
		assert_true(rest >= s && rest <= s + len);

		u64 v;
		(void)parse_size(s, len, &v);
		(void)parse_u64(s, len, &v);
		free(s);
	}
}

/* guests=: the list is kept as written; an empty or over-long one is refused. */
static void test_options_guests(void **state)
{
	struct turtle_options o;
	char long_list[200];

	(void)state;
	assert_int_equal(turtle_options_parse("guests=alpha,beta,l1", &o, NULL), 0);
	assert_string_equal(o.guests, "alpha,beta,l1");
	assert_int_equal(turtle_options_parse("slice=5", &o, NULL), 0);
	assert_string_equal(o.guests, "");
	assert_int_equal(turtle_options_parse("guests=", &o, NULL), 1);
	memset(long_list, 'a', sizeof(long_list) - 1);
	long_list[sizeof(long_list) - 1] = '\0';
	memcpy(long_list, "guests=", 7);
	assert_int_equal(turtle_options_parse(long_list, &o, NULL), 1);
	assert_string_equal(o.guests, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_rest),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_key_is),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_options_good),
		cmocka_unit_test(test_options_bad),
		cmocka_unit_test(test_options_long_token),
		cmocka_unit_test(test_options_guests),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
