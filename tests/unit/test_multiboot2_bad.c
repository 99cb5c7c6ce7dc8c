/*
 * kernel/multiboot2.c's host test, part two: each kind of malformation
 * (which must yield a message, never a fault) and a fixed-seed fuzz of
 * mutations of a good structure. Part one and the driver: test_multiboot2.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/mb2_fixture.h"

void test_bad_sizes(void **state)
{
	struct mb m;
	struct boot_info bi;
	const char *err;

	(void)state;
	/* total_size below header + end tag. */
	for (u32 ts = 0; ts < 16; ts++) {
		mb_begin(&m);
		mb_end_tag(&m);
		memcpy(mb_bytes(&m), &ts, 4);
		assert_non_null(parse_n(&m, 16, MB2_MAX_INFO_SIZE, &bi));
		parsed_free();
	}

	/* total_size above the limit. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	err = parse_n(&m, m.len, m.len - 1, &bi);
	assert_non_null(err);
	assert_non_null(strstr(err, "total size"));
	parsed_free();
	m.len = 0xfffffff8u;
	mb_finish(&m);
	assert_non_null(parse_n(&m, 64, MB2_MAX_INFO_SIZE, &bi));
	parsed_free();
}

void test_missing_end_tag(void **state)
{
	struct mb m;

	(void)state;
	mb_begin(&m);
	mb_string(&m, MB2_TAG_CMDLINE, "x");
	mb_mmap(&m, std_mmap, 2, 24);
	mb_finish(&m);
	expect_error(&m, "end tag");

	/* Fewer than 8 bytes left for the next tag header. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_put32(&m, 0);
	mb_finish(&m);
	expect_error(&m, "end tag");

	/* An end tag of the wrong size. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag_sized(&m, MB2_TAG_END, "\0\0\0\0\0\0\0", 8, 16);
	mb_finish(&m);
	expect_error(&m, "end tag");
}

void test_bad_tag_size(void **state)
{
	struct mb m;

	(void)state;
	for (u32 size = 0; size < 8; size++) {
		mb_begin(&m);
		mb_mmap(&m, std_mmap, 2, 24);
		mb_tag_sized(&m, 77, "\0\0\0\0\0\0\0", 8, size);
		mb_end_tag(&m);
		mb_finish(&m);
		expect_error(&m, "tag size");
	}

	/* A tag running past total_size, by a little and by a lot. */
	static const u32 past[] = { 1, 8, 4096, 0x7fffffff, 0xffffffff };
	for (u32 i = 0; i < ARRAY_SIZE(past); i++) {
		mb_begin(&m);
		mb_mmap(&m, std_mmap, 2, 24);
		u32 at = mb_string(&m, MB2_TAG_CMDLINE, "abc");
		mb_end_tag(&m);
		mb_finish(&m);
		u32 size = 8 + (m.len - at - 8) + past[i];
		if (size < 8 + (m.len - at - 8))
			size = 0xffffffff;
		memcpy(mb_bytes(&m) + at + 4, &size, 4);
		expect_error(&m, NULL);
	}
}

void test_unterminated_strings(void **state)
{
	struct mb m;

	(void)state;
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag(&m, MB2_TAG_CMDLINE, "abcdefgh", 8);        /* no NUL */
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "not terminated");

	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag(&m, MB2_TAG_LOADER_NAME, "abc", 3);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "not terminated");

	/* An empty string tag holds no NUL either. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag(&m, MB2_TAG_CMDLINE, NULL, 0);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "not terminated");

	/* A module command line without its NUL. */
	u8 mod[8 + 5] = { 0, 0, 0x10, 0, 0, 0, 0x20, 0, 'h', 'e', 'l', 'l', 'o' };
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag(&m, MB2_TAG_MODULE, mod, sizeof(mod));
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "not terminated");

	/* A module tag with no room for a command line at all. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_tag(&m, MB2_TAG_MODULE, mod, 8);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "module");
}

void test_bad_modules(void **state)
{
	struct mb m;
	struct boot_info bi;

	(void)state;
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_module(&m, 0x200000, 0x1fffff, "backwards");
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "module ends before");

	/* 16 modules are fine, 17 are not. */
	for (u32 n = MB2_MAX_MODULES; n <= MB2_MAX_MODULES + 1; n++) {
		mb_begin(&m);
		mb_mmap(&m, std_mmap, 2, 24);
		for (u32 i = 0; i < n; i++) {
			char name[16];
			snprintf(name, sizeof(name), "mod%u", i);
			mb_module(&m, 0x1000000 + i * 0x10000, 0x1000000 + i * 0x10000 + 0x100, name);
		}
		mb_end_tag(&m);
		mb_finish(&m);
		if (n == MB2_MAX_MODULES) {
			assert_null(parse(&m, &bi));
			assert_int_equal(bi.n_modules, MB2_MAX_MODULES);
			assert_string_equal(bi.modules[15].cmdline, "mod15");
			parsed_free();
		} else {
			expect_error(&m, "too many modules");
		}
	}
}

void test_bad_mmap(void **state)
{
	static const u32 bad_sizes[] = { 0, 8, 16, 20, 23, 25, 28, 31 };
	struct mb m;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		mb_begin(&m);
		mb_mmap(&m, std_mmap, 2, bad_sizes[i] ? bad_sizes[i] : 24);
		if (!bad_sizes[i])
			memset(mb_bytes(&m) + 16, 0, 4);
		mb_end_tag(&m);
		mb_finish(&m);
		expect_error(&m, "entry size");
	}

	/* A memory-map tag shorter than its own header. */
	mb_begin(&m);
	mb_tag(&m, MB2_TAG_MMAP, "\x18\0\0\0", 4);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "too short");
}

void test_no_memory_map(void **state)
{
	struct mb m;

	(void)state;
	mb_begin(&m);
	mb_string(&m, MB2_TAG_CMDLINE, "verbose");
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "no memory map");

	/* A memory-map tag with no entries counts as none. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 0, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "no memory map");
}

void test_unaligned(void **state)
{
	struct mb m;
	struct boot_info bi;
	u8 *block;

	(void)state;
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	block = malloc(m.len + 8);
	assert_non_null(block);
	for (u32 shift = 1; shift < 8; shift++) {
		memcpy(block + shift, m.words, m.len);
		const char *err = mb2_parse(block + shift, MB2_MAX_INFO_SIZE, &bi);
		assert_non_null(err);
		assert_non_null(strstr(err, "aligned"));
	}
	memcpy(block, m.words, m.len);
	assert_null(mb2_parse(block, MB2_MAX_INFO_SIZE, &bi));
	free(block);
}

/* ---- fuzz ---- */

static u64 rng_state = 0x2545f4914f6cdd1dULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static u32 interesting(void)
{
	static const u32 v[] = { 0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 32, 0x7fffffff,
				 0x80000000, 0xfffffff0, 0xfffffff8, 0xffffffff };
	return v[rnd() % ARRAY_SIZE(v)];
}

static bool inside(const void *p, const u8 *base, u32 size)
{
	return (const u8 *)p >= base && (const u8 *)p < base + size;
}

static bool terminated(const char *s, const u8 *base, u32 size)
{
	for (; inside(s, base, size); s++)
		if (!*s)
			return true;
	return false;
}

static void check_result(const struct boot_info *bi, const u8 *base, u32 size)
{
	assert_true(bi->n_mmap >= 1 && bi->n_mmap <= MB2_MAX_MMAP);
	assert_true(bi->n_modules <= MB2_MAX_MODULES);
	assert_true(bi->info_size <= size);
	assert_true(bi->cmdline[0] == '\0' || terminated(bi->cmdline, base, size));
	assert_true(bi->loader_name[0] == '\0' || terminated(bi->loader_name, base, size));
	for (u32 i = 0; i < bi->n_modules; i++) {
		assert_true(bi->modules[i].start <= bi->modules[i].end);
		assert_true(terminated(bi->modules[i].cmdline, base, size));
	}
	for (u32 i = 0; i < bi->n_mmap; i++)
		assert_true(bi->mmap[i].base + bi->mmap[i].length >= bi->mmap[i].base);
	if (bi->rsdp_offset) {
		assert_true(bi->rsdp_size >= 20);
		assert_true(bi->rsdp_offset + bi->rsdp_size <= size);
	}
}

/* Mutates a full structure and a small one whose memory map is the last tag
 * (so an entry read past the map is also a read past the end). */
void test_fuzz(void **state)
{
	static struct mb good[2], m;
	u32 acpi_at, accepted = 0;

	(void)state;
	build_good(&good[0], &acpi_at);
	mb_begin(&good[1]);
	mb_string(&good[1], MB2_TAG_CMDLINE, "a");
	mb_module(&good[1], 0x1000, 0x2000, "");
	mb_mmap(&good[1], std_mmap, 2, 24);
	mb_end_tag(&good[1]);
	mb_finish(&good[1]);

	for (int iter = 0; iter < 6000; iter++) {
		const struct mb *base = &good[iter % 2];
		struct boot_info bi;
		int nmut = 1 + (int)(rnd() % 4);
		u32 len = base->len, ts;

		m = *base;
		for (int k = 0; k < nmut; k++) {
			u32 at = (u32)(rnd() % len);
			switch (rnd() % 5) {
			case 0:         /* flip a bit */
				mb_bytes(&m)[at] ^= (u8)(1u << (rnd() % 8));
				break;
			case 1:         /* a random byte */
				mb_bytes(&m)[at] = (u8)rnd();
				break;
			case 2: {       /* an interesting 32-bit value, aligned */
				u32 v = interesting();
				at &= ~3u;
				memcpy(mb_bytes(&m) + at, &v, 4);
				break;
			}
			case 3: {       /* a small delta to a size field */
				u32 v;
				at &= ~3u;
				memcpy(&v, mb_bytes(&m) + at, 4);
				v += (u32)(rnd() % 33) - 16;
				memcpy(mb_bytes(&m) + at, &v, 4);
				break;
			}
			default:        /* cut the structure short */
				len = 8 + (u32)(rnd() % (len - 7));
				if (rnd() % 2)
					memcpy(mb_bytes(&m), &len, 4);
				break;
			}
		}
		memcpy(&ts, mb_bytes(&m), 4);
		/* The parser may read up to total_size (limit permitting): allocate
		 * exactly that much, or the whole buffer if total_size claims more
		 * and the limit will refuse it. */
		u32 alloc = ts <= len && ts >= 8 ? ts : len;
		u32 limit = ts <= len ? (rnd() % 2 ? MB2_MAX_INFO_SIZE : ts) : len;
		const char *err = parse_n(&m, alloc, limit, &bi);
		if (!err) {
			check_result(&bi, parsed, alloc);
			accepted++;
		}
		parsed_free();
	}
	/* The mutations leave a fair share of structures valid. */
	assert_true(accepted > 100);
	printf("test_multiboot2: fuzz: %u of 6000 mutated structures accepted\n", accepted);
}
