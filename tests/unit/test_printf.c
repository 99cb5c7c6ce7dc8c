/*
 * Host unit test of the kernel formatter, kernel/printf.c: every conversion
 * and flag it supports, field widths, truncation (never a byte past size,
 * always NUL-terminated, full length returned) and the odd inputs a format
 * string can hold (unknown conversions, a lone trailing '%'). The common
 * subset is also cross-checked against the C library's snprintf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/printf.h"

#define GUARD       0x5a
#define BIG         1024

/*
 * Formats fmt into a large buffer (which must hold it) and compares both the
 * text and the returned length with want. Not declared __printf, so that
 * format strings the compiler would reject can be tried too.
 */
static void expect(const char *want, const char *fmt, ...)
{
	char buf[BIG + 1];
	va_list ap;
	int n;

	memset(buf, GUARD, sizeof(buf));
	va_start(ap, fmt);
	n = kvsnprintf(buf, BIG, fmt, ap);
	va_end(ap);
	if (n != (int)strlen(want) || strcmp(buf, want) != 0)
		fail_msg("format \"%s\": got \"%s\" (%d), want \"%s\" (%d)",
			 fmt, buf, n, want, (int)strlen(want));
	assert_int_equal((unsigned char)buf[BIG], GUARD);
}

static void test_basic_conversions(void **state)
{
	(void)state;
	expect("", "");
	expect("plain text", "plain text");
	expect("c=x", "c=%c", 'x');
	expect("s=hello!", "s=%s!", "hello");
	expect("s=", "s=%s", "");
	expect("42 -7 0", "%d %d %d", 42, -7, 0);
	expect("123 -123", "%i %i", 123, -123);
	expect("4294967295", "%u", UINT_MAX);
	expect("2147483647", "%d", INT_MAX);
	expect("deadbeef", "%x", 0xdeadbeefu);
	expect("DEADBEEF", "%X", 0xdeadbeefu);
	expect("0", "%x", 0u);
	expect("100%", "100%%");
	expect("%d", "%%d");
	expect("a1b2c", "a%db%uc", 1, 2u);
	expect("[x][yz][3]", "[%c][%s][%d]", 'x', "yz", 3);
}

static void test_length_modifiers(void **state)
{
	(void)state;
	expect("ffffffffffffffff", "%lx", 0xffffffffffffffffUL);
	expect("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
	expect("FEDCBA9876543210", "%llX", 0xfedcba9876543210ULL);
	expect("18446744073709551615", "%lu", ULONG_MAX);
	expect("18446744073709551615", "%llu", ULLONG_MAX);
	expect("9223372036854775807", "%ld", LONG_MAX);
	expect("9223372036854775807", "%lld", LLONG_MAX);
	expect("4096", "%zu", (size_t)4096);
	expect("ffffffffffffffff", "%zx", SIZE_MAX);
	expect("-5", "%zd", (long)-5);
	expect("-5", "%li", -5L);
	/* A 32-bit argument must not pick up the upper half of the register. */
	expect("ffffffff 1", "%x %lu", 0xffffffffu, 1UL);
	expect("1 2 3 4", "%d %ld %lld %zu", 1, 2L, 3LL, (size_t)4);
}

static void test_negative_numbers(void **state)
{
	(void)state;
	expect("-1", "%d", -1);
	expect("-2147483648", "%d", INT_MIN);
	expect("-9223372036854775808", "%ld", (long)INT64_MIN);
	expect("-9223372036854775808", "%lld", LLONG_MIN);
	expect("-9223372036854775807", "%ld", -9223372036854775807L);
	expect("-100", "%i", -100);
	/* Negative values through unsigned conversions wrap, as in C. */
	expect("4294967295", "%u", (unsigned)-1);
	expect("ffffffff", "%x", (unsigned)-1);
}

static void test_pointer(void **state)
{
	(void)state;
	expect("0x0", "%p", (void *)0);
	expect("0xdeadbeef", "%p", (void *)(uintptr_t)0xdeadbeef);
	expect("0xffffffff80000000", "%p", (void *)(uintptr_t)0xffffffff80000000ULL);
	expect("  0x10", "%6p", (void *)(uintptr_t)0x10);
	expect("0x10  |", "%-6p|", (void *)(uintptr_t)0x10);
}

static void test_width_and_padding(void **state)
{
	(void)state;
	expect("0000beef", "%08x", 0xbeefu);
	expect("12345678", "%08x", 0x12345678u);
	expect("123456789", "%08lx", 0x123456789UL);
	expect("ab    |", "%-6s|", "ab");
	expect("    ab|", "%6s|", "ab");
	expect("abcdefgh|", "%-6s|", "abcdefgh");
	expect("   42", "%5d", 42);
	expect("  -42", "%5d", -42);
	expect("00042", "%05d", 42);
	expect("-0042", "%05d", -42);
	expect("-42", "%02d", -42);
	expect("42   |", "%-5d|", 42);
	expect("42   |", "%-05d|", 42);
	expect("  ab", "%04s", "ab");
	expect("    x", "%5c", 'x');
	expect("x    |", "%-5c|", 'x');
	expect("00000000deadbeef", "%016lx", 0xdeadbeefUL);
	expect("     18446744073709551615", "%25lu", ULONG_MAX);
	expect("-0000000000000000001", "%020ld", -1L);
	expect("7", "%0d", 7);
	expect("7", "%1d", 7);
}

static void test_star_width(void **state)
{
	(void)state;
	expect("   42", "%*d", 5, 42);
	expect("42   |", "%*d|", -5, 42);
	expect("00042", "%0*d", 5, 42);
	expect("ab   |", "%-*s|", 5, "ab");
	expect("  ab|", "%*s|", 4, "ab");
	expect("42", "%*d", 0, 42);
	expect("x   ffff", "%c%*x", 'x', 7, 0xffffu);
}

static void test_width_bounded(void **state)
{
	char want[300];

	(void)state;
	/* Padding is capped at 256 characters whatever the caller asks. */
	memset(want, ' ', 255);
	strcpy(want + 255, "1");
	expect(want, "%300d", 1);
	expect(want, "%*d", 100000, 1);
	expect(want, "%*d", INT_MAX, 1);
	memset(want, '0', 255);
	strcpy(want + 255, "1");
	expect(want, "%0999999999999999999999d", 1);
	strcpy(want, "1");
	memset(want + 1, ' ', 255);
	want[256] = '\0';
	expect(want, "%*d", -100000, 1);
	expect(want, "%*d", INT_MIN, 1);
	expect(want, "%-99999999999999999999d", 1);
}

static void test_null_string(void **state)
{
	const char *volatile null = NULL;

	(void)state;
	expect("(null)", "%s", null);
	expect("[(null)]", "[%s]", null);
	expect("  (null)", "%8s", null);
	expect("(null)  |", "%-8s|", null);
}

/* The output for every buffer size from 0 to one past the full length, in an
 * exactly sized heap buffer (ASan traps any write past it) and in a stack
 * buffer with a guard byte after it. */
static void check_truncation(const char *full, const char *fmt, ...)
{
	size_t len = strlen(full);

	for (size_t size = 0; size <= len + 1; size++) {
		char stack[BIG];
		char *heap = size ? malloc(size) : NULL;
		va_list ap;
		int n;

		memset(stack, GUARD, sizeof(stack));
		va_start(ap, fmt);
		n = kvsnprintf(stack, size, fmt, ap);
		va_end(ap);
		assert_int_equal(n, (int)len);
		for (size_t i = size; i < sizeof(stack); i++)
			assert_int_equal((unsigned char)stack[i], GUARD);
		if (size) {
			size_t kept = MIN(size - 1, len);
			assert_int_equal(stack[kept], '\0');
			assert_memory_equal(stack, full, kept);
		}

		va_start(ap, fmt);
		n = kvsnprintf(heap, size, fmt, ap);
		va_end(ap);
		assert_int_equal(n, (int)len);
		if (size) {
			assert_int_equal(strlen(heap), MIN(size - 1, len));
			assert_memory_equal(heap, full, MIN(size - 1, len));
		}
		free(heap);
	}
}

static void test_truncation(void **state)
{
	(void)state;
	check_truncation("hello, world", "hello, %s", "world");
	check_truncation("-0042|ab   |ff", "%05d|%-5s|%x", -42, "ab", 0xffu);
	check_truncation("0xdeadbeef 18446744073709551615", "%p %lu",
			 (void *)(uintptr_t)0xdeadbeef, ULONG_MAX);
	check_truncation("100% %q", "100%% %q");
	check_truncation("", "");
}

static void test_size_zero(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, GUARD, sizeof(buf));
	assert_int_equal(ksnprintf(buf, 0, "%s=%d", "abc", 12345), 9);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal((unsigned char)buf[i], GUARD);
	/* With size 0 the buffer is never touched, so it may be NULL. */
	assert_int_equal(ksnprintf(NULL, 0, "%08x", 1u), 8);
	assert_int_equal(ksnprintf(buf, 1, "anything"), 8);
	assert_int_equal(buf[0], '\0');
	assert_int_equal((unsigned char)buf[1], GUARD);
}

static void test_unknown_conversion(void **state)
{
	(void)state;
	expect("%q", "%q");
	expect("a%yb", "a%yb");
	expect("%5q", "%5q");
	expect("%-08w!", "%-08w!");
	expect("%lq", "%lq");
	expect("%zk", "%zk");
	/* An unknown conversion consumes no argument. */
	expect("%q 7", "%q %d", 7);
	expect("%hd", "%hd");
	expect("%o%e%f", "%o%e%f");
}

static void test_trailing_percent(void **state)
{
	(void)state;
	expect("%", "%");
	expect("abc%", "abc%");
	expect("50%", "%d%", 50);
	expect("%-", "%-");
	expect("%0", "%0");
	expect("%5", "%5");
	expect("%l", "%l");
	expect("%ll", "%ll");
	expect("%z", "%z");
	expect("%05l", "%05l");
	expect("%*", "%*", 3);
}

/* Random values and widths through the conversions both formatters share,
 * compared with the C library's output. */
static u64 rng_state = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static u64 random_value(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd() % 16;
	case 1:
		return rnd() >> (rnd() % 64);
	case 2:
		return (u64)0 - rnd() % 16;
	default:
		return rnd();
	}
}

static void test_against_libc(void **state)
{
	static const char *const convs[] = { "d", "i", "u", "x", "X", "ld", "lu", "lx",
					     "lld", "llx", "zu", "zx", "s", "c" };
	static const char *const flags[] = { "", "0", "-", "-0" };
	static const char *const strs[] = { "", "a", "turtle", "a longer string here" };

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		const char *conv = convs[rnd() % ARRAY_SIZE(convs)];
		const char *flag = flags[rnd() % ARRAY_SIZE(flags)];
		char fmt[32], want[512], got[512];
		int width = (int)(rnd() % 40);
		u64 v = random_value();
		int n_want, n_got;

		if (rnd() % 4 == 0)
			snprintf(fmt, sizeof(fmt), "<%%%s%s>", flag, conv);
		else
			snprintf(fmt, sizeof(fmt), "<%%%s%d%s>", flag, width, conv);
		/* C leaves '0' with %s and %c undefined; turtle ignores it. */
		if ((conv[0] == 's' || conv[0] == 'c') && strchr(flag, '0'))
			continue;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#define BOTH(arg) do { \
		n_want = snprintf(want, sizeof(want), fmt, arg); \
		n_got = ksnprintf(got, sizeof(got), fmt, arg); \
	} while (0)
		if (!strcmp(conv, "d") || !strcmp(conv, "i"))
			BOTH((int)v);
		else if (!strcmp(conv, "u") || !strcmp(conv, "x") || !strcmp(conv, "X"))
			BOTH((unsigned)v);
		else if (!strcmp(conv, "ld"))
			BOTH((long)v);
		else if (!strcmp(conv, "lu") || !strcmp(conv, "lx"))
			BOTH((unsigned long)v);
		else if (!strcmp(conv, "lld"))
			BOTH((long long)v);
		else if (!strcmp(conv, "llx"))
			BOTH((unsigned long long)v);
		else if (conv[0] == 'z')
			BOTH((size_t)v);
		else if (conv[0] == 's')
			BOTH(strs[v % ARRAY_SIZE(strs)]);
		else
			BOTH((int)('!' + v % 90));
#undef BOTH
#pragma GCC diagnostic pop
		if (n_want != n_got || strcmp(want, got))
			fail_msg("format \"%s\" value %llx: libc \"%s\", turtle \"%s\"",
				 fmt, (unsigned long long)v, want, got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_conversions),
		cmocka_unit_test(test_length_modifiers),
		cmocka_unit_test(test_negative_numbers),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_width_and_padding),
		cmocka_unit_test(test_star_width),
		cmocka_unit_test(test_width_bounded),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_size_zero),
		cmocka_unit_test(test_unknown_conversion),
		cmocka_unit_test(test_trailing_percent),
		cmocka_unit_test(test_against_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
