/* The in-memory images of kernel/image.c's host test (image_fixture.h). */
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

void put32(struct img *im, u64 off, u32 v)
{
	assert_true(off + 4 <= IMG_MAX);
	memcpy(im->b + off, &v, 4);
	if (off + 4 > im->size)
		im->size = off + 4;
}

void grow(struct img *im, u64 size)
{
	assert_true(size <= IMG_MAX);
	if (size > im->size)
		im->size = size;
}

/* ELF64 x86-64 executable: header, program headers right after it, then
 * whatever the segments' file ranges cover (filled with a pattern). */
void build_elf64(struct img *im, u64 entry, const struct seg *s, u32 n)
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

void build_elf32(struct img *im, u32 entry, const struct seg *s, u32 n)
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
void put_mb1(struct img *im, u64 off, u32 flags)
{
	put32(im, off, MB1_HEADER_MAGIC);
	put32(im, off + 4, flags);
	put32(im, off + 8, (u32)-(MB1_HEADER_MAGIC + flags));
}

void put_mb1_kludge(struct img *im, u64 off, u32 header_addr, u32 load_addr,
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
void put_mb2(struct img *im, u64 off, u32 arch, bool good_checksum)
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
const char *probe(const struct img *im, struct image_info *info)
{
	u8 *copy = malloc(im->size ? im->size : 1);
	const char *err;

	memcpy(copy, im->b, im->size);
	memset(info, 0xa5, sizeof(*info));
	err = image_probe(copy, im->size, info);
	free(copy);
	return err;
}

void expect_error(const struct img *im, const char *substring)
{
	struct image_info info;
	const char *err = probe(im, &info);

	if (!err)
		fail_msg("bad image accepted (want \"%s\")", substring);
	if (!strstr(err, substring))
		fail_msg("message \"%s\" lacks \"%s\"", err, substring);
}

void expect_segment(const struct image_info *info, u32 i, u64 off, u64 filesz,
			   u64 addr, u64 memsz)
{
	assert_true(i < info->n_segments);
	assert_int_equal(info->segments[i].file_offset, off);
	assert_int_equal(info->segments[i].file_size, filesz);
	assert_int_equal(info->segments[i].addr, addr);
	assert_int_equal(info->segments[i].mem_size, memsz);
}

void put16(struct img *m, u64 off, u16 v) { memcpy(m->b + off, &v, 2); }
void put64(struct img *m, u64 off, u64 v) { memcpy(m->b + off, &v, 8); }

void build_bzimage(struct img *m)
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
