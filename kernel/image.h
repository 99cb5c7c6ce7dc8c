/*
 * Boot images turtle can load as guests: ELF64 kernels entered in 64-bit
 * mode, and multiboot2 / multiboot1 kernels (ELF32 or ELF64 files, or a
 * multiboot1 a.out-kludge image) entered in 32-bit protected mode as their
 * specifications say. image_probe() only reads and validates; loading is
 * vmx/loader.c's job. Pure; host tested.
 */
#ifndef TURTLE_IMAGE_H
#define TURTLE_IMAGE_H

#include "kernel/types.h"

#define IMAGE_MAX_SEGMENTS      16

#define MB1_HEADER_MAGIC        0x1badb002  /* Multiboot 0.6.96, 3.1.1 */
#define MB1_BOOTLOADER_MAGIC    0x2badb002
#define MB1_SEARCH_BYTES        8192
#define MB1_FLAG_AOUT_KLUDGE    BIT(16)
#define MB2_HEADER_MAGIC        0xe85250d6  /* Multiboot2 1.0, 3.1.1 */
#define MB2_SEARCH_BYTES        32768

enum image_kind {
    IMAGE_ELF64,                /* plain ELF64: 64-bit entry */
    IMAGE_MULTIBOOT2,           /* multiboot2 header: 32-bit entry, EAX = 0x36d76289 */
    IMAGE_MULTIBOOT1,           /* multiboot1 header: 32-bit entry, EAX = 0x2badb002 */
};

struct image_segment {
    u64 file_offset;
    u64 file_size;
    u64 addr;                   /* guest-physical load address */
    u64 mem_size;               /* >= file_size; the rest is zeroed */
};

struct image_info {
    enum image_kind kind;
    u64 entry;                  /* guest-physical (paging is off at entry) */
    u32 n_segments;
    struct image_segment segments[IMAGE_MAX_SEGMENTS];
    u64 load_end;               /* highest byte any segment occupies */
};

/* Returns NULL and fills out, or a message saying what is wrong. */
const char *image_probe(const u8 *data, u64 size, struct image_info *out);
const char *image_kind_name(enum image_kind k);

#endif
