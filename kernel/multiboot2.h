/*
 * Multiboot2 boot information (Multiboot2 specification 1.0, section 3.6):
 * the layouts as the loader writes them, and a parser that checks every tag
 * against the total size before trusting it.
 */
#ifndef TURTLE_MULTIBOOT2_H
#define TURTLE_MULTIBOOT2_H

#include "kernel/types.h"

#define MB2_BOOTLOADER_MAGIC    0x36d76289  /* EAX at entry */

#define MB2_TAG_END             0
#define MB2_TAG_CMDLINE         1
#define MB2_TAG_LOADER_NAME     2
#define MB2_TAG_MODULE          3
#define MB2_TAG_BASIC_MEMINFO   4
#define MB2_TAG_MMAP            6
#define MB2_TAG_ACPI_OLD        14          /* copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW        15          /* copy of the ACPI 2.0+ RSDP */

#define MB2_MEMORY_AVAILABLE    1
#define MB2_MEMORY_RESERVED     2
#define MB2_MEMORY_ACPI         3
#define MB2_MEMORY_NVS          4
#define MB2_MEMORY_BADRAM       5

#define MB2_TAG_ALIGN           8
#define MB2_MAX_MMAP            64
#define MB2_MAX_MODULES         16
#define MB2_MAX_INFO_SIZE       (1u << 20)  /* sanity bound on total_size */

struct mb2_info_header {
    u32 total_size;
    u32 reserved;
} __packed;

struct mb2_tag {
    u32 type;
    u32 size;
} __packed;

struct mb2_tag_module {
    u32 type;
    u32 size;
    u32 mod_start;
    u32 mod_end;
    char cmdline[];
} __packed;

struct mb2_tag_mmap {
    u32 type;
    u32 size;
    u32 entry_size;
    u32 entry_version;
} __packed;

struct mb2_mmap_entry {
    u64 base_addr;
    u64 length;
    u32 type;
    u32 reserved;
} __packed;

_Static_assert(sizeof(struct mb2_info_header) == 8, "multiboot2 info header");
_Static_assert(sizeof(struct mb2_tag) == 8, "multiboot2 tag header");
_Static_assert(sizeof(struct mb2_tag_module) == 16, "multiboot2 module tag");
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "multiboot2 mmap tag");
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "multiboot2 mmap entry");

struct mem_region {
    u64 base;
    u64 length;
    u32 type;                               /* MB2_MEMORY_* */
};

struct boot_module {
    u64 start;                              /* physical, inclusive */
    u64 end;                                /* physical, exclusive */
    const char *cmdline;                    /* inside the boot information */
};

/* What turtle keeps of the boot information. Strings point into it. */
struct boot_info {
    const char *cmdline;                    /* "" when absent */
    const char *loader_name;                /* "" when absent */
    u32 n_mmap;
    struct mem_region mmap[MB2_MAX_MMAP];
    u32 n_modules;
    struct boot_module modules[MB2_MAX_MODULES];
    u64 rsdp_offset;                        /* offset of the RSDP copy in the info, 0 if none */
    u32 rsdp_size;
    u32 info_size;                          /* total_size */
};

/*
 * Parses the boot information at mbi (which the caller has checked is
 * readable for at least 8 bytes; the parser reads no further than
 * total_size, and refuses a total_size above limit). Returns NULL on
 * success, or a message naming what is malformed.
 */
const char *mb2_parse(const void *mbi, u32 limit, struct boot_info *out);

#endif
