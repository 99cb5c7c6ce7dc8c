/*
 * Host unit test of boot-image probing, kernel/image.c. Images are built in
 * memory (image_fixture.c): ELF64 kernels, ELF32 and ELF64 files carrying a
 * multiboot1 or multiboot2 header, multiboot1 a.out-kludge flat binaries;
 * synthetic Linux bzImages and a fixed-seed fuzz of mutations are
 * test_image_linux.c. Each malformation must give a message; the fuzz
 * must never read outside the image (probed from an exactly sized heap
 * copy, so ASan traps any stray read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/image_fixture.h"

static struct img im;           /* 64 KiB: kept off the stack */

static void test_elf64(void **state)
{
	static const struct seg segs[] = {
		{ PT_LOAD, 0x1000, 0x2345, 0x100000, 0x2345 },
		{ PT_NOTE, 0x200, 0x20, 0, 0x20 },
		{ PT_LOAD, 0x4000, 0x800, 0x104000, 0x3000 },        /* .bss after .data */
		{ PT_LOAD, 0x0, 0x0, 0x200000, 0 },                  /* empty: skipped */
		{ PT_GNU_STACK, 0, 0, 0, 0 },
	};
	struct image_info info;

	(void)state;
	build_elf64(&im, 0x100020, segs, ARRAY_SIZE(segs));
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_ELF64);
	assert_string_equal(image_kind_name(info.kind), "ELF64");
	assert_int_equal(info.entry, 0x100020);
	assert_int_equal(info.n_segments, 2);
	expect_segment(&info, 0, 0x1000, 0x2345, 0x100000, 0x2345);
	expect_segment(&info, 1, 0x4000, 0x800, 0x104000, 0x3000);
	assert_int_equal(info.load_end, 0x107000);

	/* A segment of memory only (file size 0), at the very end of the file. */
	static const struct seg bss[] = {
		{ PT_LOAD, 0x1000, 0x10, 0x100000, 0x10 },
		{ PT_LOAD, 0x1010, 0, 0x400000, 0x100000 },
	};
	build_elf64(&im, 0x100000, bss, 2);
	assert_null(probe(&im, &info));
	assert_int_equal(info.n_segments, 2);
	expect_segment(&info, 1, 0x1010, 0, 0x400000, 0x100000);
	assert_int_equal(info.load_end, 0x500000);

	/* Exactly IMAGE_MAX_SEGMENTS loadable segments are fine. */
	struct seg many[IMAGE_MAX_SEGMENTS];
	for (u32 i = 0; i < IMAGE_MAX_SEGMENTS; i++)
		many[i] = (struct seg){ PT_LOAD, 0x1000 + i * 0x100, 0x100,
					0x100000 + i * 0x1000, 0x1000 };
	build_elf64(&im, 0x100000, many, IMAGE_MAX_SEGMENTS);
	assert_null(probe(&im, &info));
	assert_int_equal(info.n_segments, IMAGE_MAX_SEGMENTS);
	assert_int_equal(info.load_end, 0x100000 + IMAGE_MAX_SEGMENTS * 0x1000);
}

static const struct seg seg32[] = {
	{ PT_LOAD, 0x1000, 0x1800, 0x100000, 0x1800 },
	{ PT_LOAD, 0x3000, 0x200, 0x103000, 0x5000 },
};

static void test_elf32_multiboot1(void **state)
{
	struct image_info info;

	(void)state;
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1(&im, 0x1000, 0x3);                  /* start of .text, as usual */
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT1);
	assert_string_equal(image_kind_name(info.kind), "multiboot1");
	assert_int_equal(info.entry, 0x10000c);
	assert_int_equal(info.n_segments, 2);
	expect_segment(&info, 0, 0x1000, 0x1800, 0x100000, 0x1800);
	expect_segment(&info, 1, 0x3000, 0x200, 0x103000, 0x5000);
	assert_int_equal(info.load_end, 0x108000);

	/* The header may sit anywhere 4-aligned in the first 8 KiB. */
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1(&im, MB1_SEARCH_BYTES - 12, 0x3);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT1);

	/* Beyond 8 KiB, misaligned, or with a bad checksum it is not one. */
	build_elf32(&im, 0x10000c, seg32, 2);
	grow(&im, MB1_SEARCH_BYTES + 64);
	put_mb1(&im, MB1_SEARCH_BYTES, 0x3);
	expect_error(&im, "without a multiboot header");
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1(&im, 0x1002, 0x3);
	expect_error(&im, "without a multiboot header");
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1(&im, 0x1000, 0x3);
	put32(&im, 0x1008, 0);
	expect_error(&im, "without a multiboot header");

	/* ELF64 with a multiboot1 header is entered as multiboot1. */
	static const struct seg seg64[] = { { PT_LOAD, 0x1000, 0x100, 0x100000, 0x100 } };
	build_elf64(&im, 0x100000, seg64, 1);
	put_mb1(&im, 0x1000, 0x3);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT1);
}

static void test_multiboot2(void **state)
{
	static const struct seg seg64[] = {
		{ PT_LOAD, 0x1000, 0x2000, 0x200000, 0x3000 },
	};
	struct image_info info;

	(void)state;
	build_elf64(&im, 0x200010, seg64, 1);
	put_mb2(&im, 0x1000, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT2);
	assert_string_equal(image_kind_name(info.kind), "multiboot2");
	assert_int_equal(info.entry, 0x200010);
	assert_int_equal(info.n_segments, 1);
	expect_segment(&info, 0, 0x1000, 0x2000, 0x200000, 0x3000);

	/* In an ELF32 file too. */
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb2(&im, 0x1000, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT2);
	assert_int_equal(info.n_segments, 2);

	/* Multiboot2 is preferred when both headers are present. */
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1(&im, 0x1000, 0x3);
	put_mb2(&im, 0x1010, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT2);

	/* Last possible 8-aligned slot in the first 32 KiB. */
	build_elf64(&im, 0x200010, seg64, 1);
	grow(&im, MB2_SEARCH_BYTES + 64);
	put_mb2(&im, MB2_SEARCH_BYTES - 8, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT2);

	/* Not a multiboot2 header: bad checksum, another architecture (MIPS),
	 * not 8-aligned, or past the first 32 KiB. A plain ELF64 remains. */
	build_elf64(&im, 0x200010, seg64, 1);
	put_mb2(&im, 0x1000, 0, false);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_ELF64);
	build_elf64(&im, 0x200010, seg64, 1);
	put_mb2(&im, 0x1000, 4, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_ELF64);
	build_elf64(&im, 0x200010, seg64, 1);
	put_mb2(&im, 0x1004, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_ELF64);
	build_elf64(&im, 0x200010, seg64, 1);
	grow(&im, MB2_SEARCH_BYTES + 64);
	put_mb2(&im, MB2_SEARCH_BYTES, 0, true);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_ELF64);
	/* ...and an ELF32 with only a broken one is refused. */
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb2(&im, 0x1000, 0, false);
	expect_error(&im, "without a multiboot header");

	/* A multiboot2 header in something that is not ELF. */
	memset(&im, 0, sizeof(im));
	grow(&im, 0x2000);
	put_mb2(&im, 0x40, 0, true);
	expect_error(&im, "not an ELF");
}

static void test_aout_kludge(void **state)
{
	struct image_info info;
	const u32 load = 0x100000, hoff = 0x40;

	(void)state;
	/* Flat binary loaded at 1 MiB; the header 0x40 bytes into it. */
	memset(&im, 0, sizeof(im));
	grow(&im, 0x3000);
	put_mb1_kludge(&im, hoff, load + hoff, load, load + 0x2800, load + 0x6000, load + 0x80);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_MULTIBOOT1);
	assert_int_equal(info.entry, load + 0x80);
	assert_int_equal(info.n_segments, 1);
	expect_segment(&info, 0, 0, 0x2800, load, 0x6000);
	assert_int_equal(info.load_end, load + 0x6000);

	/* load_end_addr 0: load to the end of the file. bss_end_addr 0: no bss. */
	put_mb1_kludge(&im, hoff, load + hoff, load, 0, 0, load);
	assert_null(probe(&im, &info));
	expect_segment(&info, 0, 0, 0x3000, load, 0x3000);

	/* The file may start before the loaded part (header_addr - load_addr
	 * smaller than the header's offset). */
	memset(&im, 0, sizeof(im));
	grow(&im, 0x3000);
	put_mb1_kludge(&im, 0x1000, load + 0x800, load, load + 0x1000, 0, load);
	assert_null(probe(&im, &info));
	expect_segment(&info, 0, 0x800, 0x1000, load, 0x1000);

	/* Even an ELF file is loaded by its kludge addresses when bit 16 is set. */
	build_elf32(&im, 0x10000c, seg32, 2);
	put_mb1_kludge(&im, 0x1000, load + 0x1000, load, load + 0x2000, 0, 0x10000c);
	assert_null(probe(&im, &info));
	assert_int_equal(info.n_segments, 1);
	expect_segment(&info, 0, 0, 0x2000, load, 0x2000);
}

static void test_aout_kludge_errors(void **state)
{
	const u32 load = 0x100000, hoff = 0x40;
	struct image_info info;

	(void)state;
	memset(&im, 0, sizeof(im));
	grow(&im, 0x3000);
	put_mb1_kludge(&im, hoff, load - 4, load, load + 0x1000, 0, load);
	expect_error(&im, "inconsistent");               /* header_addr < load_addr */
	put_mb1_kludge(&im, hoff, load + hoff + 4, load, load + 0x1000, 0, load);
	expect_error(&im, "inconsistent");               /* header before the file */
	put_mb1_kludge(&im, hoff, load + hoff, load, load - 1, 0, load);
	expect_error(&im, "load_end_addr");
	put_mb1_kludge(&im, hoff, load + hoff, load, load + 0x2000, load + 0x1fff, load);
	expect_error(&im, "bss_end_addr");
	put_mb1_kludge(&im, hoff, load + hoff, load, load + 0x3001, 0, load);
	expect_error(&im, "past the end");
	put_mb1_kludge(&im, hoff, load + hoff, load, 0xffffffff, 0, load);
	expect_error(&im, "past the end");
	/* The header's address fields cut off by the end of the file. */
	memset(&im, 0, sizeof(im));
	put_mb1_kludge(&im, 0, load, load, 0, 0, load);
	im.size = 12;
	expect_error(&im, "truncated");
	im.size = 31;
	expect_error(&im, "truncated");
	im.size = 32;
	assert_null(probe(&im, &info));
	expect_segment(&info, 0, 0, 32, load, 32);
}

static void test_errors(void **state)
{
	static const struct seg one[] = { { PT_LOAD, 0x1000, 0x100, 0x100000, 0x100 } };
	struct image_info info;

	(void)state;
	/* Empty. */
	assert_non_null(strstr(image_probe((const u8 *)"", 0, &info), "empty"));
	assert_non_null(strstr(image_probe(NULL, 0, &info), "empty"));

	/* Random bytes, and short junk. */
	u64 x = 88172645463325252ULL;
	memset(&im, 0, sizeof(im));
	for (u32 i = 0; i < 4096; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		im.b[i] = (u8)x;
	}
	for (u64 size = 1; size <= 4096; size = size * 2 + 1) {
		im.size = size;
		expect_error(&im, "not an ELF");
	}

	/* Truncated ELF headers. */
	build_elf64(&im, 0x100000, one, 1);
	for (u64 size = 16; size < sizeof(Elf64_Ehdr); size += 8) {
		im.size = size;
		expect_error(&im, "truncated");
	}
	im.size = 15;
	expect_error(&im, "not an ELF");
	build_elf32(&im, 0x100000, one, 1);
	put_mb1(&im, 0x1000, 0x3);
	for (u64 size = 16; size < sizeof(Elf32_Ehdr); size += 4) {
		im.size = size;
		expect_error(&im, "truncated");
	}

	/* Header fields. */
	build_elf64(&im, 0x100000, one, 1);
	im.b[EI_DATA] = ELFDATA2MSB;
	expect_error(&im, "little-endian");
	build_elf64(&im, 0x100000, one, 1);
	im.b[EI_CLASS] = 3;
	expect_error(&im, "neither");
	build_elf64(&im, 0x100000, one, 1);
	im.b[offsetof(Elf64_Ehdr, e_machine)] = EM_386;
	expect_error(&im, "not for x86-64");
	build_elf32(&im, 0x100000, one, 1);
	put_mb1(&im, 0x1000, 0x3);
	im.b[offsetof(Elf32_Ehdr, e_machine)] = EM_X86_64;
	expect_error(&im, "not for i386");
	build_elf64(&im, 0x100000, one, 1);
	im.b[offsetof(Elf64_Ehdr, e_phentsize)] = 32;
	expect_error(&im, "no usable program headers");
	build_elf64(&im, 0x100000, one, 0);
	expect_error(&im, "no usable program headers");

	/* Program headers past the end of the file: by offset and by count. */
	build_elf64(&im, 0x100000, one, 1);
	Elf64_Ehdr eh;
	memcpy(&eh, im.b, sizeof(eh));
	eh.e_phoff = im.size - sizeof(Elf64_Phdr) + 1;
	memcpy(im.b, &eh, sizeof(eh));
	expect_error(&im, "program headers run past");
	eh.e_phoff = ~0ULL - 8;
	memcpy(im.b, &eh, sizeof(eh));
	expect_error(&im, "program headers run past");
	eh.e_phoff = sizeof(eh);
	eh.e_phnum = 0xffff;
	memcpy(im.b, &eh, sizeof(eh));
	expect_error(&im, "program headers run past");
	build_elf32(&im, 0x100000, one, 1);
	put_mb1(&im, 0x1000, 0x3);
	im.b[offsetof(Elf32_Ehdr, e_phnum)] = 200;
	expect_error(&im, "program headers run past");

	/* Segments. */
	build_elf64(&im, 0x100000, (struct seg[]){ { PT_LOAD, 0x1000, 0x200, 0x100000, 0x100 } }, 1);
	expect_error(&im, "file size exceeds");
	build_elf64(&im, 0x100000, one, 1);
	im.size -= 1;
	expect_error(&im, "past the end of the file");
	build_elf64(&im, 0x100000,
		    (struct seg[]){ { PT_LOAD, 0x1000, 0x100, 0x100000, 0x100 },
				    { PT_LOAD, 0x100000, 0x100, 0x200000, 0x100 } }, 2);
	expect_error(&im, "past the end of the file");
	build_elf64(&im, 0x100000,
		    (struct seg[]){ { PT_LOAD, 0x1000, 0x100, 0x100000, 0x100 },
				    { PT_LOAD, ~0ULL - 0x10, 0x100, 0x200000, 0x100 } }, 2);
	expect_error(&im, "past the end of the file");
	build_elf64(&im, 0x100000,
		    (struct seg[]){ { PT_LOAD, 0x1000, 0x100, ~0ULL - 0x100, 0x100 } }, 1);
	assert_null(probe(&im, &info));                  /* end 2^64 - 1 */
	assert_int_equal(info.load_end, ~0ULL);
	build_elf64(&im, 0x100000,
		    (struct seg[]){ { PT_LOAD, 0x1000, 0x100, ~0ULL - 0xff, 0x100 } }, 1);
	expect_error(&im, "wraps");                      /* end 2^64 */
	build_elf64(&im, 0x100000, (struct seg[]){ { PT_NOTE, 0x1000, 0x100, 0, 0x100 } }, 1);
	expect_error(&im, "no loadable segment");
	build_elf64(&im, 0x100000, (struct seg[]){ { PT_LOAD, 0x1000, 0, 0x100000, 0 } }, 1);
	expect_error(&im, "no loadable segment");

	/* One loadable segment too many. */
	struct seg many[IMAGE_MAX_SEGMENTS + 1];
	for (u32 i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct seg){ PT_LOAD, 0x1000 + i * 0x100, 0x100,
					0x100000 + i * 0x1000, 0x1000 };
	build_elf64(&im, 0x100000, many, ARRAY_SIZE(many));
	expect_error(&im, "too many");
	build_elf32(&im, 0x100000, many, ARRAY_SIZE(many));
	put_mb1(&im, 0x1000, 0x3);
	expect_error(&im, "too many");

	/* ELF32 needs a multiboot header. */
	build_elf32(&im, 0x10000c, seg32, 2);
	expect_error(&im, "without a multiboot header");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf64),
		cmocka_unit_test(test_elf32_multiboot1),
		cmocka_unit_test(test_multiboot2),
		cmocka_unit_test(test_aout_kludge),
		cmocka_unit_test(test_aout_kludge_errors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bzimage),
		cmocka_unit_test(test_bzimage_errors),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
