/*
 * Host unit test of boot-image probing, kernel/image.c. Images are built in
 * memory: ELF64 kernels, ELF32 and ELF64 files carrying a multiboot1 or
 * multiboot2 header, multiboot1 a.out-kludge flat binaries, and synthetic
 * Linux bzImages (a setup header, as Debian's 6.1 kernel has it, and a
 * dummy payload). Each
 * malformation must give a message; a fixed-seed fuzz of mutations must
 * never read outside the image (probed from an exactly sized heap copy, so
 * ASan traps any stray read).
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

#include "kernel/image.h"

#define IMG_MAX     (64 * 1024)

struct img {
	u8 b[IMG_MAX];
	u64 size;
};

static void put32(struct img *im, u64 off, u32 v)
{
	assert_true(off + 4 <= IMG_MAX);
	memcpy(im->b + off, &v, 4);
	if (off + 4 > im->size)
		im->size = off + 4;
}

static void grow(struct img *im, u64 size)
{
	assert_true(size <= IMG_MAX);
	if (size > im->size)
		im->size = size;
}

/* A loadable segment as the test describes it. */
struct seg {
	u32 type;
	u64 offset, filesz, paddr, memsz;
};

/* ELF64 x86-64 executable: header, program headers right after it, then
 * whatever the segments' file ranges cover (filled with a pattern). */
static void build_elf64(struct img *im, u64 entry, const struct seg *s, u32 n)
{
	Elf64_Ehdr eh;

	memset(im, 0, sizeof(*im));
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (u16)n;
	memcpy(im->b, &eh, sizeof(eh));
	grow(im, sizeof(eh) + n * sizeof(Elf64_Phdr));
	for (u32 i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = s[i].type, .p_flags = PF_R | PF_X, .p_offset = s[i].offset,
			.p_vaddr = 0xffffffff80000000ULL + s[i].paddr, .p_paddr = s[i].paddr,
			.p_filesz = s[i].filesz, .p_memsz = s[i].memsz, .p_align = 0x1000,
		};
		memcpy(im->b + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		if (s[i].offset + s[i].filesz <= IMG_MAX) {
			for (u64 j = s[i].offset; j < s[i].offset + s[i].filesz; j++)
				if (j >= sizeof(eh) + n * sizeof(ph))
					im->b[j] = (u8)(j * 7);
			grow(im, s[i].offset + s[i].filesz);
		}
	}
}

static void build_elf32(struct img *im, u32 entry, const struct seg *s, u32 n)
{
	Elf32_Ehdr eh;

	memset(im, 0, sizeof(*im));
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf32_Phdr);
	eh.e_phnum = (u16)n;
	memcpy(im->b, &eh, sizeof(eh));
	grow(im, sizeof(eh) + n * sizeof(Elf32_Phdr));
	for (u32 i = 0; i < n; i++) {
		Elf32_Phdr ph = {
			.p_type = s[i].type, .p_offset = (u32)s[i].offset, .p_vaddr = (u32)s[i].paddr,
			.p_paddr = (u32)s[i].paddr, .p_filesz = (u32)s[i].filesz,
			.p_memsz = (u32)s[i].memsz, .p_flags = PF_R | PF_X, .p_align = 0x1000,
		};
		memcpy(im->b + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		if (s[i].offset + s[i].filesz <= IMG_MAX)
			grow(im, s[i].offset + s[i].filesz);
	}
}

/* Multiboot1 header (magic, flags, checksum), optionally with the a.out
 * kludge addresses after it. */
static void put_mb1(struct img *im, u64 off, u32 flags)
{
	put32(im, off, MB1_HEADER_MAGIC);
	put32(im, off + 4, flags);
	put32(im, off + 8, (u32)-(MB1_HEADER_MAGIC + flags));
}

static void put_mb1_kludge(struct img *im, u64 off, u32 header_addr, u32 load_addr,
			   u32 load_end, u32 bss_end, u32 entry)
{
	put_mb1(im, off, MB1_FLAG_AOUT_KLUDGE | 0x3);
	put32(im, off + 12, header_addr);
	put32(im, off + 16, load_addr);
	put32(im, off + 20, load_end);
	put32(im, off + 24, bss_end);
	put32(im, off + 28, entry);
}

/* Multiboot2 header: magic, architecture, header_length, checksum, then an
 * end tag. */
static void put_mb2(struct img *im, u64 off, u32 arch, bool good_checksum)
{
	u32 len = 24;

	put32(im, off, MB2_HEADER_MAGIC);
	put32(im, off + 4, arch);
	put32(im, off + 8, len);
	put32(im, off + 12, (u32)-(MB2_HEADER_MAGIC + arch + len) + (good_checksum ? 0 : 1));
	put32(im, off + 16, 0);         /* end tag: type 0, flags 0 */
	put32(im, off + 20, 8);         /* size 8 */
}

/* Probes the first size bytes from an exactly sized heap copy. */
static const char *probe(const struct img *im, struct image_info *info)
{
	u8 *copy = malloc(im->size ? im->size : 1);
	const char *err;

	memcpy(copy, im->b, im->size);
	memset(info, 0xa5, sizeof(*info));
	err = image_probe(copy, im->size, info);
	free(copy);
	return err;
}

static void expect_error(const struct img *im, const char *substring)
{
	struct image_info info;
	const char *err = probe(im, &info);

	if (!err)
		fail_msg("bad image accepted (want \"%s\")", substring);
	if (!strstr(err, substring))
		fail_msg("message \"%s\" lacks \"%s\"", err, substring);
}

static void expect_segment(const struct image_info *info, u32 i, u64 off, u64 filesz,
			   u64 addr, u64 memsz)
{
	assert_true(i < info->n_segments);
	assert_int_equal(info->segments[i].file_offset, off);
	assert_int_equal(info->segments[i].file_size, filesz);
	assert_int_equal(info->segments[i].addr, addr);
	assert_int_equal(info->segments[i].mem_size, memsz);
}

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

/* --- Linux bzImage ------------------------------------------------------ */

static void put16(struct img *m, u64 off, u16 v) { memcpy(m->b + off, &v, 2); }
static void put64(struct img *m, u64 off, u64 v) { memcpy(m->b + off, &v, 8); }

#define BZ_SETUP_SECTS	3		/* setup: 4 * 512 = 0x800 bytes */
#define BZ_KERNEL	0x2000		/* payload bytes */
#define BZ_INIT_SIZE	0x3378000	/* Debian 6.1 cloud: 51.5 MiB */

/* A bzImage header with the values of Debian's 6.1 cloud kernel
 * (protocol 2.15, relocatable, 2 MiB alignment, pref 16 MiB). */
static void build_bzimage(struct img *m)
{
	memset(m, 0, sizeof(*m));
	u64 setup = (BZ_SETUP_SECTS + 1) * 512;
	grow(m, setup + BZ_KERNEL);
	m->b[0] = 'M'; m->b[1] = 'Z';
	m->b[LINUX_SETUP_SECTS] = BZ_SETUP_SECTS;
	put32(m, LINUX_SYSSIZE, BZ_KERNEL / 16);
	put16(m, LINUX_BOOT_FLAG, 0xaa55);
	m->b[LINUX_HEADER_LEN] = 0x6a;		/* header ends at 0x26c */
	put32(m, LINUX_HEADER_MAGIC_OFF, LINUX_HEADER_MAGIC);
	put16(m, LINUX_VERSION, 0x020f);
	m->b[LINUX_LOADFLAGS] = LINUX_LOADED_HIGH;
	put32(m, LINUX_INITRD_ADDR_MAX, 0x7fffffff);
	put32(m, LINUX_KERNEL_ALIGNMENT, 0x200000);
	m->b[LINUX_RELOCATABLE] = 1;
	put16(m, LINUX_XLOADFLAGS, 0x7f);
	put32(m, LINUX_CMDLINE_SIZE, 2047);
	put64(m, LINUX_PREF_ADDRESS, 0x1000000);
	put32(m, LINUX_INIT_SIZE, BZ_INIT_SIZE);
	for (u64 i = setup; i < m->size; i++)
		m->b[i] = (u8)(i * 7);
}

static void test_bzimage(void **state)
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
static void test_bzimage_errors(void **state)
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

static void test_fuzz(void **state)
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
