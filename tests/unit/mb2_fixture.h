/*
 * Multiboot2 boot information built tag by tag for test_multiboot2.c and
 * test_multiboot2_bad.c, and the parsing they share: each structure is
 * copied into a heap block of exactly its size, so ASan traps any read
 * past the end.
 */
#ifndef TURTLE_TESTS_MB2_FIXTURE_H
#define TURTLE_TESTS_MB2_FIXTURE_H

#include "kernel/multiboot2.h"

#define BUILD_MAX   8192

/* A boot information structure under construction, 8-byte aligned. */
struct mb {
	u64 words[BUILD_MAX / 8];
	u32 len;
};

#define STD_MMAP_N  5

/* A PC's memory map: low RAM, EBDA, RAM, ACPI, RAM above 4 GiB. */
extern const struct mb2_mmap_entry std_mmap[STD_MMAP_N];
/* The last parsed copy (strings point into it), until parsed_free(). */
extern u8 *parsed;

/* Building: mb_begin() starts the fixed header, each mb_tag*() appends
 * one tag (8-byte padded) and returns its offset, mb_finish() writes
 * total_size. */
u8 *mb_bytes(struct mb *m);
void mb_begin(struct mb *m);
void mb_put32(struct mb *m, u32 v);
/* A tag with the given size field and n bytes of payload. */
u32 mb_tag_sized(struct mb *m, u32 type, const void *payload, u32 n, u32 size);
u32 mb_tag(struct mb *m, u32 type, const void *payload, u32 n);
u32 mb_string(struct mb *m, u32 type, const char *s);
u32 mb_module(struct mb *m, u32 start, u32 end, const char *cmdline);
/* A memory-map tag of n entries, each entry_size bytes (>= 24 is valid). */
u32 mb_mmap(struct mb *m, const struct mb2_mmap_entry *e, u32 n, u32 entry_size);
void mb_end_tag(struct mb *m);
void mb_finish(struct mb *m);
/* Copies the first size bytes of m into an exact heap block (parsed) and
 * parses it with the given limit; parse() takes all of m. */
const char *parse_n(const struct mb *m, u32 size, u32 limit, struct boot_info *bi);
const char *parse(const struct mb *m, struct boot_info *bi);
void parsed_free(void);
/* The boot information must be rejected; the message is returned. */
const char *expect_error(const struct mb *m, const char *substring);
/* Every tag the parser knows, well formed; *acpi_new_at: the ACPI_NEW tag. */
void build_good(struct mb *m, u32 *acpi_new_at);

/* test_multiboot2_bad.c */
void test_bad_sizes(void **state);
void test_missing_end_tag(void **state);
void test_bad_tag_size(void **state);
void test_unterminated_strings(void **state);
void test_bad_modules(void **state);
void test_bad_mmap(void **state);
void test_no_memory_map(void **state);
void test_unaligned(void **state);
void test_fuzz(void **state);

#endif
