/*
 * kernel/image.c's host test, part two: synthetic Linux bzImages (a setup
 * header as Debian's 6.1 kernel has it, and a dummy payload), and a
 * fixed-seed fuzz of mutations that must never read outside the image.
 * Part one and the driver: test_image.c.
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

void test_bzimage(void **state)
{
	struct image_info info;
	u64 load, initrd;

	(void)state;
	build_bzimage(&im);
	assert_null(probe(&im, &info));
	assert_int_equal(info.kind, IMAGE_LINUX);
	assert_string_equal(image_kind_name(info.kind), "Linux bzImage");
	assert_int_equal(info.n_segments, 0);
	assert_int_equal(info.linux.version, 0x020f);
	assert_int_equal(info.linux.setup_size, 0x800);
	assert_int_equal(info.linux.header_end, 0x26c);
	assert_int_equal(info.linux.kernel_offset, 0x800);
	assert_int_equal(info.linux.kernel_size, BZ_KERNEL);
	assert_true(info.linux.relocatable);
	assert_int_equal(info.linux.kernel_alignment, 0x200000);
	assert_int_equal(info.linux.pref_address, 0x1000000);
	assert_int_equal(info.linux.init_size, BZ_INIT_SIZE);
	assert_int_equal(info.linux.cmdline_size, 2047);
	assert_int_equal(info.linux.initrd_addr_max, 0x7fffffff);

	/* Placement: pref_address when init_size fits there... */
	assert_null(image_linux_place(&info.linux, 256 << 20, &load));
	assert_int_equal(load, 0x1000000);
	assert_null(image_linux_place(&info.linux, 0x1000000 + BZ_INIT_SIZE, &load));
	assert_int_equal(load, 0x1000000);
	/* ...else the lowest aligned address from 1 MiB (2 MiB here)... */
	assert_null(image_linux_place(&info.linux, 0x1000000 + BZ_INIT_SIZE - 4096, &load));
	assert_int_equal(load, 0x200000);
	assert_null(image_linux_place(&info.linux, 0x200000 + BZ_INIT_SIZE, &load));
	assert_int_equal(load, 0x200000);
	/* ...and refused when init_size fits nowhere. */
	assert_non_null(strstr(image_linux_place(&info.linux, 0x200000 + BZ_INIT_SIZE - 4096, &load),
			       "raise mem="));
	assert_non_null(image_linux_place(&info.linux, 32 << 20, &load));
	assert_non_null(image_linux_place(&info.linux, 0, &load));

	/* A kernel that is not relocatable goes at pref_address or nowhere. */
	im.b[LINUX_RELOCATABLE] = 0;
	assert_null(probe(&im, &info));
	assert_null(image_linux_place(&info.linux, 256 << 20, &load));
	assert_int_equal(load, 0x1000000);
	assert_non_null(strstr(image_linux_place(&info.linux, 0x1000000 + BZ_INIT_SIZE - 4096, &load),
			       "not relocatable"));
	/* An odd pref_address moves a relocatable kernel to an aligned one. */
	im.b[LINUX_RELOCATABLE] = 1;
	put64(&im, LINUX_PREF_ADDRESS, 0x1001000);
	assert_null(probe(&im, &info));
	assert_null(image_linux_place(&info.linux, 256 << 20, &load));
	assert_int_equal(load, 0x200000);

	/* The initrd: as high as RAM and initrd_addr_max allow, page-aligned,
	 * above the kernel's init_size. */
	u64 kend = 0x1000000 + BZ_INIT_SIZE;
	assert_null(image_linux_initrd(&info.linux, 256 << 20, kend, 6400000, &initrd));
	assert_int_equal(initrd, ((256ULL << 20) - 6400000) & ~0xfffULL);
	assert_null(image_linux_initrd(&info.linux, 256 << 20, kend, (256 << 20) - kend, &initrd));
	assert_int_equal(initrd, kend);
	assert_non_null(strstr(image_linux_initrd(&info.linux, 256 << 20, kend, (256 << 20) - kend + 1,
						  &initrd), "initrd does not fit"));
	assert_non_null(image_linux_initrd(&info.linux, 64 << 20, kend, 300 << 20, &initrd));
	assert_non_null(image_linux_initrd(&info.linux, 64 << 20, kend, 1, &initrd));	/* kernel past RAM */
	assert_non_null(strstr(image_linux_initrd(&info.linux, 256 << 20, kend, 0, &initrd), "empty"));
	put32(&im, LINUX_INITRD_ADDR_MAX, 0x3ffffff);		/* 64 MiB */
	assert_null(probe(&im, &info));
	assert_null(image_linux_initrd(&info.linux, 256 << 20, 0x2000000, 0x100000, &initrd));
	assert_int_equal(initrd, 0x4000000 - 0x100000);
	assert_non_null(image_linux_initrd(&info.linux, 256 << 20, kend, 0x100000, &initrd));
}

/* Each header field turtle relies on, made bad in turn, is refused with a
 * message naming what is wrong. */
void test_bzimage_errors(void **state)
{
	(void)state;
	/* Too old a protocol. */
	build_bzimage(&im);
	put16(&im, LINUX_VERSION, 0x020b);
	expect_error(&im, "older than 2.12");
	put16(&im, LINUX_VERSION, 0x0100);
	expect_error(&im, "older than 2.12");
	/* No 64-bit entry. */
	build_bzimage(&im);
	put16(&im, LINUX_XLOADFLAGS, 0x7e);
	expect_error(&im, "no 64-bit entry point");
	/* A zImage. */
	build_bzimage(&im);
	im.b[LINUX_LOADFLAGS] = 0;
	expect_error(&im, "not a bzImage");
	/* Truncated: inside the header, inside setup, inside the payload. */
	build_bzimage(&im);
	im.size = LINUX_HEADER_MIN_END - 1;
	expect_error(&im, "setup header truncated");
	im.size = 0x700;
	expect_error(&im, "setup code runs past the end of the file");
	im.size = 0x800;
	expect_error(&im, "protected-mode kernel runs past the end of the file");
	im.size = 0x800 + BZ_KERNEL - 1;
	expect_error(&im, "protected-mode kernel runs past the end of the file");
	build_bzimage(&im);
	im.b[LINUX_SETUP_SECTS] = 0xff;		/* setup beyond the file */
	expect_error(&im, "setup code runs past the end of the file");
	build_bzimage(&im);
	put32(&im, LINUX_SYSSIZE, 0xffffffff);
	expect_error(&im, "protected-mode kernel runs past the end of the file");
	put32(&im, LINUX_SYSSIZE, 0);
	expect_error(&im, "syssize 0");
	/* Header length. */
	build_bzimage(&im);
	im.b[LINUX_HEADER_LEN] = 0x20;
	expect_error(&im, "header length");
	im.b[LINUX_HEADER_LEN] = 0xff;
	expect_error(&im, "header length");
	/* Alignment. */
	build_bzimage(&im);
	put32(&im, LINUX_KERNEL_ALIGNMENT, 0x300000);
	expect_error(&im, "kernel_alignment");
	put32(&im, LINUX_KERNEL_ALIGNMENT, 0);
	expect_error(&im, "kernel_alignment");
	put32(&im, LINUX_KERNEL_ALIGNMENT, 0x200);
	expect_error(&im, "kernel_alignment");
	/* init_size below the payload. */
	build_bzimage(&im);
	put32(&im, LINUX_INIT_SIZE, BZ_KERNEL - 16);
	expect_error(&im, "init_size");
	/* Not relocatable with an unusable pref_address. */
	build_bzimage(&im);
	im.b[LINUX_RELOCATABLE] = 0;
	put64(&im, LINUX_PREF_ADDRESS, 0x10000);
	expect_error(&im, "not relocatable");
	put64(&im, LINUX_PREF_ADDRESS, 0x1000800);
	expect_error(&im, "not relocatable");
	/* initrd_addr_max below 1 MiB. */
	build_bzimage(&im);
	put32(&im, LINUX_INITRD_ADDR_MAX, 0xfffff);
	expect_error(&im, "initrd_addr_max");
}

/* ---- fuzz ---- */

static u64 rng_state = 0xa0761d6478bd642fULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static u64 interesting(void)
{
	static const u64 v[] = { 0, 1, 2, 0x10, 0x38, 0x40, 0xff, 0x1000, 0x7fffffff, 0x80000000,
				 0xffffffff, 0x100000000ULL, ~0ULL, ~0ULL - 0xfff, 1ULL << 63 };
	return v[rnd() % ARRAY_SIZE(v)];
}

static void check_info(const struct image_info *info, u64 size)
{
	if (info->kind == IMAGE_LINUX) {
		const struct image_linux *l = &info->linux;
		assert_true(info->n_segments == 0);
		assert_true(l->kernel_offset == l->setup_size && l->setup_size <= size);
		assert_true(l->kernel_size > 0 && l->kernel_size <= size - l->kernel_offset);
		assert_true(l->header_end >= LINUX_HEADER_MIN_END && l->header_end <= LINUX_HEADER_MAX_END);
		assert_true(l->init_size >= l->kernel_size);
		assert_true(l->version >= LINUX_MIN_VERSION);
		return;
	}
	assert_true(info->kind == IMAGE_ELF64 || info->kind == IMAGE_MULTIBOOT1 ||
		    info->kind == IMAGE_MULTIBOOT2);
	assert_true(info->n_segments >= 1 && info->n_segments <= IMAGE_MAX_SEGMENTS);
	for (u32 i = 0; i < info->n_segments; i++) {
		const struct image_segment *s = &info->segments[i];
		assert_true(s->file_offset <= size);
		assert_true(s->file_size <= size - s->file_offset);
		assert_true(s->file_size <= s->mem_size);
		assert_true(s->mem_size > 0);
		assert_true(s->addr + s->mem_size > s->addr);
		assert_true(s->addr + s->mem_size <= info->load_end);
	}
}

void test_fuzz(void **state)
{
	static struct img bases[5];
	static const struct seg seg64[] = {
		{ PT_LOAD, 0x200, 0x300, 0x100000, 0x300 },
		{ PT_LOAD, 0x500, 0x100, 0x101000, 0x2000 },
	};
	struct image_info info;
	u32 accepted = 0;

	(void)state;
	build_elf64(&bases[0], 0x100000, seg64, 2);
	build_elf32(&bases[1], 0x100000, seg64, 2);
	put_mb1(&bases[1], 0x100, 0x3);
	build_elf64(&bases[2], 0x100000, seg64, 2);
	put_mb2(&bases[2], 0x100, 0, true);
	memset(&bases[3], 0, sizeof(bases[3]));
	grow(&bases[3], 0x400);
	put_mb1_kludge(&bases[3], 0x20, 0x100020, 0x100000, 0x100300, 0x102000, 0x100040);
	build_bzimage(&bases[4]);
	for (u32 b = 0; b < 5; b++)
		assert_null(probe(&bases[b], &info));

	for (int iter = 0; iter < 8000; iter++) {
		const struct img *base = &bases[iter % 5];
		u32 nmut = 1 + (u32)(rnd() % 4);

		memcpy(im.b, base->b, base->size);
		im.size = base->size;
		for (u32 k = 0; k < nmut; k++) {
			/* Mostly in the headers, where the interesting fields are. */
			u64 at = rnd() % (rnd() % 2 ? MIN(im.size, base == &bases[4] ? 0x270 : 0x140) : im.size);
			switch (rnd() % 5) {
			case 0:
				im.b[at] ^= (u8)(1u << (rnd() % 8));
				break;
			case 1:
				im.b[at] = (u8)rnd();
				break;
			case 2: {
				u64 v = interesting();
				at &= ~3ULL;
				memcpy(im.b + at, &v, MIN(8, im.size - at));
				break;
			}
			case 3: {
				u32 v = (u32)interesting();
				at &= ~3ULL;
				memcpy(im.b + at, &v, MIN(4, im.size - at));
				break;
			}
			default:
				im.size = rnd() % (im.size + 1);
				if (!im.size)
					im.size = 1;
				break;
			}
		}
		if (!probe(&im, &info)) {
			check_info(&info, im.size);
			accepted++;
		}
	}
	assert_true(accepted > 200);
	printf("test_image: fuzz: %u of 8000 mutated images accepted\n", accepted);
}
