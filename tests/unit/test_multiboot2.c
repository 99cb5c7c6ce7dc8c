/*
 * Host unit test of the multiboot2 boot-information parser,
 * kernel/multiboot2.c. The structures are built here tag by tag, then copied
 * into a heap block of exactly total_size bytes before parsing, so ASan
 * traps any read past the end. Covered: a well-formed structure (command
 * line, loader name, memory map, modules, ACPI tags), each kind of
 * malformation (which must yield a message, never a fault) and a fixed-seed
 * fuzz of mutations of a good structure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/multiboot2.h"

#define BUILD_MAX   8192

/* A boot information structure under construction, 8-byte aligned. */
struct mb {
	u64 words[BUILD_MAX / 8];
	u32 len;
};

static u8 *mb_bytes(struct mb *m)
{
	return (u8 *)m->words;
}

static void mb_begin(struct mb *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8;                     /* total_size, reserved */
}

static void mb_put(struct mb *m, const void *p, u32 n)
{
	assert_true(m->len + n <= BUILD_MAX);
	memcpy(mb_bytes(m) + m->len, p, n);
	m->len += n;
}

static void mb_pad(struct mb *m)
{
	while (m->len % 8)
		mb_bytes(m)[m->len++] = 0;
}

static void mb_put32(struct mb *m, u32 v)
{
	mb_put(m, &v, 4);
}

/* Appends a tag with the given size field and n bytes of payload. */
static u32 mb_tag_sized(struct mb *m, u32 type, const void *payload, u32 n, u32 size)
{
	u32 at = m->len;

	mb_put32(m, type);
	mb_put32(m, size);
	if (n)
		mb_put(m, payload, n);
	mb_pad(m);
	return at;
}

static u32 mb_tag(struct mb *m, u32 type, const void *payload, u32 n)
{
	return mb_tag_sized(m, type, payload, n, 8 + n);
}

static u32 mb_string(struct mb *m, u32 type, const char *s)
{
	return mb_tag(m, type, s, (u32)strlen(s) + 1);
}

static u32 mb_module(struct mb *m, u32 start, u32 end, const char *cmdline)
{
	u8 payload[256];
	u32 n = (u32)strlen(cmdline) + 1;

	assert_true(8 + n <= sizeof(payload));
	memcpy(payload, &start, 4);
	memcpy(payload + 4, &end, 4);
	memcpy(payload + 8, cmdline, n);
	return mb_tag(m, MB2_TAG_MODULE, payload, 8 + n);
}

/* A memory-map tag of n entries, each entry_size bytes (>= 24 is valid). */
static u32 mb_mmap(struct mb *m, const struct mb2_mmap_entry *e, u32 n, u32 entry_size)
{
	u8 payload[4096];
	u32 len = 8 + n * entry_size;

	assert_true(len <= sizeof(payload));
	memset(payload, 0xee, sizeof(payload));
	memcpy(payload, &entry_size, 4);
	memset(payload + 4, 0, 4);              /* entry_version */
	for (u32 i = 0; i < n; i++)
		memcpy(payload + 8 + i * entry_size, &e[i], MIN(entry_size, sizeof(*e)));
	return mb_tag(m, MB2_TAG_MMAP, payload, len);
}

static void mb_end_tag(struct mb *m)
{
	mb_tag(m, MB2_TAG_END, NULL, 0);
}

static void mb_finish(struct mb *m)
{
	memcpy(mb_bytes(m), &m->len, 4);
}

static const struct mb2_mmap_entry std_mmap[] = {
	{ 0x0, 0x9fc00, MB2_MEMORY_AVAILABLE, 0 },
	{ 0x9fc00, 0x400, MB2_MEMORY_RESERVED, 0 },
	{ 0x100000, 0x7ee0000, MB2_MEMORY_AVAILABLE, 0 },
	{ 0x7fe0000, 0x20000, MB2_MEMORY_ACPI, 0 },
	{ 0x100000000ULL, 0x40000000ULL, MB2_MEMORY_AVAILABLE, 0 },
};

/* Copies the first size bytes of m into an exact heap block and parses it.
 * The block stays alive (strings point into it) until parsed_free(). */
static u8 *parsed;

static const char *parse_n(const struct mb *m, u32 size, u32 limit, struct boot_info *bi)
{
	free(parsed);
	parsed = malloc(size < 8 ? 8 : size);       /* the caller guarantees 8 */
	assert_non_null(parsed);
	memcpy(parsed, m->words, size < 8 ? 8 : size);
	return mb2_parse(parsed, limit, bi);
}

static const char *parse(const struct mb *m, struct boot_info *bi)
{
	return parse_n(m, m->len, MB2_MAX_INFO_SIZE, bi);
}

static void parsed_free(void)
{
	free(parsed);
	parsed = NULL;
}

/* The boot information must be rejected; the message is returned. */
static const char *expect_error(const struct mb *m, const char *substring)
{
	struct boot_info bi;
	const char *err = parse(m, &bi);

	if (!err)
		fail_msg("malformed boot information accepted (want \"%s\")", substring);
	if (substring && !strstr(err, substring))
		fail_msg("message \"%s\" lacks \"%s\"", err, substring);
	parsed_free();
	return err;
}

static void build_good(struct mb *m, u32 *acpi_new_at)
{
	u8 rsdp1[20] = "RSD PTR 1";
	u8 rsdp2[36] = "RSD PTR 2";

	mb_begin(m);
	mb_string(m, MB2_TAG_CMDLINE, "fault=pf slice=1000 verbose");
	mb_string(m, MB2_TAG_LOADER_NAME, "GRUB 2.06");
	mb_tag(m, 21, "\x01\x02\x03", 3);       /* image load base: not used */
	mb_mmap(m, std_mmap, ARRAY_SIZE(std_mmap), 24);
	mb_module(m, 0x200000, 0x280000, "guest.elf console=ttyS0");
	mb_module(m, 0x300000, 0x300000, "");
	mb_module(m, 0x400000, 0x401234, "initrd");
	mb_tag(m, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));
	*acpi_new_at = mb_tag(m, MB2_TAG_ACPI_NEW, rsdp2, sizeof(rsdp2));
	mb_end_tag(m);
	mb_finish(m);
}

static void test_good(void **state)
{
	struct mb m;
	struct boot_info bi;
	u32 acpi_at;

	(void)state;
	build_good(&m, &acpi_at);
	assert_null(parse(&m, &bi));
	assert_string_equal(bi.cmdline, "fault=pf slice=1000 verbose");
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.info_size, m.len);

	assert_int_equal(bi.n_mmap, ARRAY_SIZE(std_mmap));
	for (u32 i = 0; i < bi.n_mmap; i++) {
		assert_int_equal(bi.mmap[i].base, std_mmap[i].base_addr);
		assert_int_equal(bi.mmap[i].length, std_mmap[i].length);
		assert_int_equal(bi.mmap[i].type, std_mmap[i].type);
	}

	assert_int_equal(bi.n_modules, 3);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x280000);
	assert_string_equal(bi.modules[0].cmdline, "guest.elf console=ttyS0");
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x300000);
	assert_string_equal(bi.modules[1].cmdline, "");
	assert_int_equal(bi.modules[2].end, 0x401234);
	assert_string_equal(bi.modules[2].cmdline, "initrd");
	/* Strings point into the boot information itself. */
	assert_true((const u8 *)bi.cmdline > parsed && (const u8 *)bi.cmdline < parsed + m.len);
	assert_true((const u8 *)bi.modules[2].cmdline < parsed + m.len);

	/* The ACPI 2.0 copy wins over the 1.0 one. */
	assert_int_equal(bi.rsdp_offset, acpi_at + 8);
	assert_int_equal(bi.rsdp_size, 36);
	assert_memory_equal(parsed + bi.rsdp_offset, "RSD PTR 2", 9);
	parsed_free();
}

static void test_minimal_and_defaults(void **state)
{
	struct mb m;
	struct boot_info bi;

	(void)state;
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 1, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	memset(&bi, 0xa5, sizeof(bi));
	assert_null(parse(&m, &bi));
	assert_string_equal(bi.cmdline, "");
	assert_string_equal(bi.loader_name, "");
	assert_int_equal(bi.n_mmap, 1);
	assert_int_equal(bi.n_modules, 0);
	assert_int_equal(bi.rsdp_offset, 0);
	assert_int_equal(bi.rsdp_size, 0);
	parsed_free();

	/* The limit is inclusive. */
	assert_null(parse_n(&m, m.len, m.len, &bi));
	parsed_free();
}

static void test_acpi(void **state)
{
	u8 rsdp[36] = "RSD PTR ";
	struct mb m;
	struct boot_info bi;
	u32 at_old, at_new;

	(void)state;
	/* Only the 1.0 copy: used. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, 2, 24);
	at_old = mb_tag(&m, MB2_TAG_ACPI_OLD, rsdp, 20);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.rsdp_offset, at_old + 8);
	assert_int_equal(bi.rsdp_size, 20);
	parsed_free();

	/* 2.0 copy first, then 1.0: the 2.0 copy stays. */
	mb_begin(&m);
	at_new = mb_tag(&m, MB2_TAG_ACPI_NEW, rsdp, 36);
	mb_tag(&m, MB2_TAG_ACPI_OLD, rsdp, 20);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.rsdp_offset, at_new + 8);
	assert_int_equal(bi.rsdp_size, 36);
	parsed_free();

	/* A copy too short to be an RSDP is ignored. */
	mb_begin(&m);
	mb_tag(&m, MB2_TAG_ACPI_NEW, rsdp, 19);
	mb_mmap(&m, std_mmap, 2, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.rsdp_offset, 0);
	parsed_free();
}

static void test_mmap_layouts(void **state)
{
	struct mb2_mmap_entry many[MB2_MAX_MMAP + 1];
	struct mb m;
	struct boot_info bi;

	(void)state;
	/* A larger entry_size (later spec versions) is stepped over. */
	mb_begin(&m);
	mb_mmap(&m, std_mmap, ARRAY_SIZE(std_mmap), 32);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.n_mmap, ARRAY_SIZE(std_mmap));
	assert_int_equal(bi.mmap[4].base, 0x100000000ULL);
	parsed_free();

	/* Two memory-map tags add up; exactly MB2_MAX_MMAP entries fit. */
	for (u32 i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct mb2_mmap_entry){ (u64)i << 20, 1 << 20, MB2_MEMORY_AVAILABLE, 0 };
	mb_begin(&m);
	mb_mmap(&m, many, 32, 24);
	mb_mmap(&m, many + 32, MB2_MAX_MMAP - 32, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.n_mmap, MB2_MAX_MMAP);
	assert_int_equal(bi.mmap[MB2_MAX_MMAP - 1].base, (u64)(MB2_MAX_MMAP - 1) << 20);
	parsed_free();

	/* One more is refused. */
	mb_begin(&m);
	mb_mmap(&m, many, MB2_MAX_MMAP + 1, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "too many");

	/* An entry that wraps past 2^64 is refused; a zero-length one at the top
	 * is not. */
	mb_begin(&m);
	mb_mmap(&m, (struct mb2_mmap_entry[]){ { ~0ULL - 0xfff, 0x2000, 1, 0 } }, 1, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	expect_error(&m, "wraps");
	mb_begin(&m);
	mb_mmap(&m, (struct mb2_mmap_entry[]){ { ~0ULL, 0, 1, 0 }, { 0, 4096, 1, 0 } }, 2, 24);
	mb_end_tag(&m);
	mb_finish(&m);
	assert_null(parse(&m, &bi));
	assert_int_equal(bi.n_mmap, 2);
	parsed_free();
}

/* An entry_size so large that offset + entry_size wraps a u32 must not make
 * the parser read an entry past the tag. */
static void test_mmap_huge_entry_size(void **state)
{
	static const u32 sizes[] = { 0xfffffff0u, 0xfffffff8u, 0x80000000u, 0xffffffe8u };
	struct mb m;
	struct boot_info bi;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(sizes); i++) {
		u32 hdr[2] = { sizes[i], 0 };
		const char *err;

		mb_begin(&m);
		mb_mmap(&m, std_mmap, 2, 24);
		mb_tag(&m, MB2_TAG_MMAP, hdr, sizeof(hdr));
		mb_end_tag(&m);
		mb_finish(&m);
		err = parse(&m, &bi);
		if (!err)
			assert_int_equal(bi.n_mmap, 2);
		parsed_free();
	}
}

static void test_bad_sizes(void **state)
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

static void test_missing_end_tag(void **state)
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

static void test_bad_tag_size(void **state)
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

static void test_unterminated_strings(void **state)
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

static void test_bad_modules(void **state)
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

static void test_bad_mmap(void **state)
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

static void test_no_memory_map(void **state)
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

static void test_unaligned(void **state)
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
static void test_fuzz(void **state)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_acpi),
		cmocka_unit_test(test_mmap_layouts),
		cmocka_unit_test(test_mmap_huge_entry_size),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_missing_end_tag),
		cmocka_unit_test(test_bad_tag_size),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_bad_modules),
		cmocka_unit_test(test_bad_mmap),
		cmocka_unit_test(test_no_memory_map),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
