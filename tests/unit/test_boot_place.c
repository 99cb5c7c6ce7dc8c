/*
 * Host unit test of boot-information placement and the guest's memory map,
 * vmx/boot_place.c. Fixed layouts check the addresses docs/guests.md shows;
 * a fixed-seed random run checks every placement against a brute-force
 * model (the highest free run of pages in low memory, else in high RAM) and
 * every memory map against the placements, page by page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vmx/boot_place.h"

#define MiB         (1ULL << 20)
#define KiB         (1ULL << 10)
#define PG          PAGE_SIZE
#define MAX_PAGES   (64 * MiB / PG)

static struct image_info image(u64 addr, u64 end)
{
	struct image_info img = { .kind = IMAGE_MULTIBOOT2, .n_segments = 1, .load_end = end };
	img.segments[0] = (struct image_segment){ 0, end - addr, addr, end - addr };
	return img;
}

/* The multiboot2 guest of docs/guests.md, plus an ELF64's page tables, a
 * module that fits low and one that does not. */
static void test_fixed_layout(void **state)
{
	(void)state;
	struct boot_placement p;
	struct image_info img = image(0x100000, 0x140000);
	struct mem_region r[BOOT_MMAP_MAX];

	boot_place_init(&p, 16 * MiB, &img);
	assert_int_equal(boot_place(&p, 0x138, true), 0x9e000);
	assert_int_equal(boot_place(&p, 4 * PG, true), 0x9a000);
	assert_int_equal(boot_place(&p, 20000, false), 0x95000);
	assert_int_equal(boot_place(&p, 700 * KiB, false), 16 * MiB - 700 * KiB);
	assert_int_equal(boot_place(&p, 0, false), 0x94000);        /* empty: one page */

	u32 n = boot_place_mmap(&p, r);
	struct mem_region want[] = {
		{ 0, 0x9a000, MB2_MEMORY_AVAILABLE },
		{ 0x9a000, 0x5000, MB2_MEMORY_RESERVED },            /* adjacent: merged */
		{ 0x9f000, 0xc00, MB2_MEMORY_AVAILABLE },
		{ 0xe0000, 0x20000, MB2_MEMORY_RESERVED },
		{ 0x100000, 15 * MiB, MB2_MEMORY_AVAILABLE },
	};
	assert_int_equal(n, 5);
	for (u32 i = 0; i < n; i++) {
		assert_int_equal(r[i].base, want[i].base);
		assert_int_equal(r[i].length, want[i].length);
		assert_int_equal(r[i].type, want[i].type);
	}
	assert_int_equal(boot_mmap_avail_kib(r, n, 0), 0x9a000 / KiB);
	assert_int_equal(boot_mmap_avail_kib(r, n, BOOT_HIGH_RAM), 15 * 1024);
	assert_int_equal(boot_mmap_avail_kib(r, n, 0x9a000), 0);
}

/* An image in low memory pushes the information below it; one covering
 * all of low memory pushes it to the top of RAM, which the map reserves. */
static void test_image_in_low_memory(void **state)
{
	(void)state;
	struct boot_placement p;
	struct image_info img = image(0x90000, 0x9c800);
	struct mem_region r[BOOT_MMAP_MAX];

	boot_place_init(&p, 4 * MiB, &img);
	assert_int_equal(boot_place(&p, 2 * PG, true), 0x9d000);      /* between image and 0x9f000 */
	assert_int_equal(boot_place(&p, 3 * PG, true), 0x8d000);      /* only below the image */

	/* two segments: the gap between them is the image's too */
	img.n_segments = 2;
	img.segments[0] = (struct image_segment){ 0, 0x1000, 0x2000, 0x1000 };
	img.segments[1] = (struct image_segment){ 0, 0x1000, 0x9e000, 0x1000 };
	img.load_end = 0x9f000;
	boot_place_init(&p, 4 * MiB, &img);
	assert_int_equal(boot_place(&p, PG, true), 0x1000);
	assert_int_equal(boot_place(&p, PG, true), 4 * MiB - PG);
	assert_int_equal(boot_place(&p, PG, true), 0);          /* only two reserved ranges */
	u32 n = boot_place_mmap(&p, r);
	assert_int_equal(n, 6);
	assert_int_equal(r[0].base, 0);
	assert_int_equal(r[0].length, PG);
	assert_int_equal(r[1].type, MB2_MEMORY_RESERVED);
	assert_int_equal(r[1].base, PG);
	assert_int_equal(r[5].base, 4 * MiB - PG);
	assert_int_equal(r[5].type, MB2_MEMORY_RESERVED);
	assert_int_equal(boot_mmap_avail_kib(r, n, 0), 4);
	assert_int_equal(boot_mmap_avail_kib(r, n, BOOT_HIGH_RAM), 3 * 1024 - 4);
}

static void test_does_not_fit(void **state)
{
	(void)state;
	struct boot_placement p;
	struct image_info img = image(0x100000, 0x180000);

	boot_place_init(&p, 2 * MiB, &img);
	assert_int_equal(boot_place(&p, 0x9f000, false), 0);        /* 1 page more than low memory */
	assert_int_equal(boot_place(&p, 0x9e000, false), 0x1000);
	assert_int_equal(boot_place(&p, 0x80000, false), 0x180000);
	assert_int_equal(boot_place(&p, PG, false), 0);
}

/* ---- random placements against a page model ---- */

static u8 taken[MAX_PAGES];

static u64 model_top_down(u64 lo, u64 hi, u64 pages)
{
	u64 end = hi / PG;
	for (u64 top = end; top >= lo / PG + pages; top--) {
		u64 i = 0;
		while (i < pages && !taken[top - 1 - i])
			i++;
		if (i == pages)
			return (top - pages) * PG;
	}
	return 0;
}

static void test_random(void **state)
{
	(void)state;
	srand(11);
	for (int round = 0; round < 2000; round++) {
		u64 mem = (2 + (u64)(rand() % 31)) * MiB + (u64)(rand() % 512) * PG;
		u64 a = (u64)(rand() % (int)(mem / PG)) * PG + (u64)(rand() % 4096);
		u64 len = 1 + (u64)(rand() % (int)(rand() % 2 ? 64 * PG : mem / 4));
		u64 e = MIN(a + len, mem);
		struct image_info img = image(a, e > a ? e : a + 1);
		struct boot_placement p;
		struct mem_region r[BOOT_MMAP_MAX];
		u8 reserved[MAX_PAGES];

		boot_place_init(&p, mem, &img);
		memset(taken, 0, sizeof(taken));
		memset(reserved, 0, sizeof(reserved));
		taken[0] = 1;
		for (u64 pg = BOOT_LOW_RAM_END / PG; pg < BOOT_HIGH_RAM / PG; pg++)
			taken[pg] = 1;
		for (u64 pg = a / PG; pg < ALIGN_UP(img.load_end, PG) / PG && pg < MAX_PAGES; pg++)
			taken[pg] = 1;

		for (int k = 0; k < 2 + rand() % 6; k++) {
			bool res = k < 2 && rand() % 4;
			u64 size = 1 + (u64)(rand() % (rand() % 3 ? 40000 : 900000));
			u64 pages = ALIGN_UP(size, PG) / PG;
			u64 want = model_top_down(PG, BOOT_LOW_RAM_END, pages);
			if (!want)
				want = model_top_down(BOOT_HIGH_RAM, mem, pages);
			if (res && p.n_reserved == BOOT_RESERVED_MAX)
				want = 0;
			u64 got = boot_place(&p, size, res);
			assert_int_equal(got, want);
			for (u64 pg = got / PG; got && pg < got / PG + pages; pg++) {
				taken[pg] = 1;
				reserved[pg] = res;
			}
		}

		/* The map: sorted, disjoint, each page of RAM (outside the hole)
		 * in exactly one entry, reserved exactly where placed so or in the
		 * BIOS area. */
		u32 n = boot_place_mmap(&p, r);
		assert_true(n <= BOOT_MMAP_MAX);
		u64 covered = 0;
		for (u32 i = 0; i < n; i++) {
			assert_true(r[i].length > 0);
			if (i)
				assert_true(r[i - 1].base + r[i - 1].length <= r[i].base);
			for (u64 at = r[i].base; at < r[i].base + r[i].length; at += PG) {
				bool bios = at >= BOOT_BIOS_AREA && at < BOOT_HIGH_RAM;
				bool want_res = bios || reserved[at / PG];
				assert_int_equal(r[i].type, want_res ? MB2_MEMORY_RESERVED : MB2_MEMORY_AVAILABLE);
			}
			covered += r[i].length;
		}
		assert_int_equal(covered, mem - (BOOT_BIOS_AREA - BOOT_LOW_RAM_END));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_layout),
		cmocka_unit_test(test_image_in_low_memory),
		cmocka_unit_test(test_does_not_fit),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
