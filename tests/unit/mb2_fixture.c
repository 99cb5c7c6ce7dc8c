/* Multiboot2 boot information built tag by tag, and parsed, for test_multiboot2*.c (mb2_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/mb2_fixture.h"

u8 *mb_bytes(struct mb *m)
{
	return (u8 *)m->words;
}

void mb_begin(struct mb *m)
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

void mb_put32(struct mb *m, u32 v)
{
	mb_put(m, &v, 4);
}

/* Appends a tag with the given size field and n bytes of payload. */
u32 mb_tag_sized(struct mb *m, u32 type, const void *payload, u32 n, u32 size)
{
	u32 at = m->len;

	mb_put32(m, type);
	mb_put32(m, size);
	if (n)
		mb_put(m, payload, n);
	mb_pad(m);
	return at;
}

u32 mb_tag(struct mb *m, u32 type, const void *payload, u32 n)
{
	return mb_tag_sized(m, type, payload, n, 8 + n);
}

u32 mb_string(struct mb *m, u32 type, const char *s)
{
	return mb_tag(m, type, s, (u32)strlen(s) + 1);
}

u32 mb_module(struct mb *m, u32 start, u32 end, const char *cmdline)
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
u32 mb_mmap(struct mb *m, const struct mb2_mmap_entry *e, u32 n, u32 entry_size)
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

void mb_end_tag(struct mb *m)
{
	mb_tag(m, MB2_TAG_END, NULL, 0);
}

void mb_finish(struct mb *m)
{
	memcpy(mb_bytes(m), &m->len, 4);
}

const struct mb2_mmap_entry std_mmap[STD_MMAP_N] = {
	{ 0x0, 0x9fc00, MB2_MEMORY_AVAILABLE, 0 },
	{ 0x9fc00, 0x400, MB2_MEMORY_RESERVED, 0 },
	{ 0x100000, 0x7ee0000, MB2_MEMORY_AVAILABLE, 0 },
	{ 0x7fe0000, 0x20000, MB2_MEMORY_ACPI, 0 },
	{ 0x100000000ULL, 0x40000000ULL, MB2_MEMORY_AVAILABLE, 0 },
};

/* Copies the first size bytes of m into an exact heap block and parses it.
 * The block stays alive (strings point into it) until parsed_free(). */
u8 *parsed;

const char *parse_n(const struct mb *m, u32 size, u32 limit, struct boot_info *bi)
{
	free(parsed);
	parsed = malloc(size < 8 ? 8 : size);       /* the caller guarantees 8 */
	assert_non_null(parsed);
	memcpy(parsed, m->words, size < 8 ? 8 : size);
	return mb2_parse(parsed, limit, bi);
}

const char *parse(const struct mb *m, struct boot_info *bi)
{
	return parse_n(m, m->len, MB2_MAX_INFO_SIZE, bi);
}

void parsed_free(void)
{
	free(parsed);
	parsed = NULL;
}

/* The boot information must be rejected; the message is returned. */
const char *expect_error(const struct mb *m, const char *substring)
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

void build_good(struct mb *m, u32 *acpi_new_at)
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
