/*
 * Host unit test of the multiboot2 boot-information parser,
 * kernel/multiboot2.c. The structures are built here tag by tag, then copied
 * into a heap block of exactly total_size bytes before parsing, so ASan
 * traps any read past the end. Covered: a well-formed structure (command
 * line, loader name, memory map, modules, ACPI tags), each kind of
 * malformation (which must yield a message, never a fault) and a fixed-seed
 * fuzz of mutations of a good structure. This file: the well-formed
 * structures; test_multiboot2_bad.c the malformations and the fuzz;
 * mb2_fixture.c the builder they share.
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
