/*
 * The in-memory images test_image.c and test_image_linux.c probe, and the
 * checks they share (kernel/image.c's host test).
 */
#ifndef TURTLE_TESTS_IMAGE_FIXTURE_H
#define TURTLE_TESTS_IMAGE_FIXTURE_H

#include "kernel/image.h"

#define IMG_MAX     (64 * 1024)

struct img {
	u8 b[IMG_MAX];
	u64 size;
};

/* A loadable segment as the test describes it. */
struct seg {
	u32 type;
	u64 offset, filesz, paddr, memsz;
};

#define BZ_SETUP_SECTS	3		/* setup: 4 * 512 = 0x800 bytes */
#define BZ_KERNEL	0x2000		/* payload bytes */
#define BZ_INIT_SIZE	0x3378000	/* Debian 6.1 cloud: 51.5 MiB */

void put16(struct img *m, u64 off, u16 v);
void put32(struct img *im, u64 off, u32 v);
void put64(struct img *m, u64 off, u64 v);
void grow(struct img *im, u64 size);
/* ELF64 x86-64 executable: header, program headers right after it, then
 * whatever the segments' file ranges cover (filled with a pattern). */
void build_elf64(struct img *im, u64 entry, const struct seg *s, u32 n);
/* ELF32 i386 executable, the same way. */
void build_elf32(struct img *im, u32 entry, const struct seg *s, u32 n);
/* Multiboot1 header (magic, flags, checksum), optionally with the a.out
 * kludge addresses after it. */
void put_mb1(struct img *im, u64 off, u32 flags);
void put_mb1_kludge(struct img *im, u64 off, u32 header_addr, u32 load_addr, u32 load_end, u32 bss_end, u32 entry);
/* Multiboot2 header: magic, architecture, header_length, checksum, then an
 * end tag. */
void put_mb2(struct img *im, u64 off, u32 arch, bool good_checksum);
/* A bzImage header with the values of Debian's 6.1 cloud kernel
 * (protocol 2.15, relocatable, 2 MiB alignment, pref 16 MiB). */
void build_bzimage(struct img *m);

/* Probes the first size bytes from an exactly sized heap copy. */
const char *probe(const struct img *im, struct image_info *info);
void expect_error(const struct img *im, const char *substring);
void expect_segment(const struct image_info *info, u32 i, u64 off, u64 filesz, u64 addr, u64 memsz);

/* test_image_linux.c: bzImages and the fuzz. */
void test_bzimage(void **state);
void test_bzimage_errors(void **state);
void test_fuzz(void **state);

#endif
