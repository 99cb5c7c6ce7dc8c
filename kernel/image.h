/*
 * Boot images turtle can load as guests: ELF64 kernels entered in 64-bit
 * mode, multiboot2 / multiboot1 kernels (ELF32 or ELF64 files, or a
 * multiboot1 a.out-kludge image) entered in 32-bit protected mode as their
 * specifications say, and Linux bzImages entered at their 64-bit entry
 * (Linux's Documentation/arch/x86/boot.rst). image_probe() only reads and validates; loading is
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
    IMAGE_LINUX,                /* bzImage: 64-bit entry, RSI = boot_params */
};

/* The Linux boot protocol (boot.rst): the setup header's offsets in the
 * file, which are also its offsets in boot_params (the "zero page"). */
#define LINUX_SETUP_SECTS       0x1f1       /* u8: 512-byte setup sectors after the boot sector (0 = 4) */
#define LINUX_SYSSIZE           0x1f4       /* u32: protected-mode code size in 16-byte units */
#define LINUX_BOOT_FLAG         0x1fe       /* u16: 0xaa55 */
#define LINUX_HEADER_LEN        0x201       /* u8: the header ends at 0x202 + this byte */
#define LINUX_HEADER_MAGIC_OFF  0x202       /* "HdrS" */
#define LINUX_HEADER_MAGIC      0x53726448
#define LINUX_VERSION           0x206       /* u16: protocol version, major << 8 | minor */
#define LINUX_LOADFLAGS         0x211       /* u8 */
#define LINUX_LOADED_HIGH       BIT(0)      /* protected-mode code goes at 1 MiB or above (bzImage) */
#define LINUX_INITRD_ADDR_MAX   0x22c       /* u32: highest byte address an initrd may occupy */
#define LINUX_KERNEL_ALIGNMENT  0x230       /* u32 */
#define LINUX_RELOCATABLE       0x234       /* u8 */
#define LINUX_XLOADFLAGS        0x236       /* u16 */
#define LINUX_XLF_KERNEL_64     BIT(0)      /* the 64-bit entry at load address + 0x200 exists */
#define LINUX_CMDLINE_SIZE      0x238       /* u32: longest command line, without the NUL */
#define LINUX_PREF_ADDRESS      0x258       /* u64 */
#define LINUX_INIT_SIZE         0x260       /* u32: bytes needed from the load address */
#define LINUX_HEADER_MIN_END    0x264       /* every field above lies before this */
#define LINUX_HEADER_MAX_END    0x290       /* boot_params' setup_header ends here */
#define LINUX_MIN_VERSION       0x020c      /* 2.12: xloadflags, 64-bit entry */
#define LINUX_ENTRY64_OFFSET    0x200
#define LINUX_LOW_LIMIT         0x100000    /* a bzImage is loaded at 1 MiB or above */

/* What turtle takes from a bzImage's setup header (all checked). */
struct image_linux {
    u16 version;
    u32 setup_size;             /* bytes of the real-mode part: (setup_sects + 1) * 512 */
    u32 header_end;             /* 0x202 + the byte at 0x201: copy [0x1f1, header_end) */
    u64 kernel_offset;          /* the protected-mode kernel in the file */
    u64 kernel_size;
    bool relocatable;
    u32 kernel_alignment;       /* a power of two (relocatable kernels) */
    u64 pref_address;
    u32 init_size;
    u32 cmdline_size;
    u32 initrd_addr_max;
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
    struct image_linux linux;   /* kind == IMAGE_LINUX (no segments: placed by RAM size) */
};

/* Returns NULL and fills out, or a message saying what is wrong. */
const char *image_probe(const u8 *data, u64 size, struct image_info *out);
const char *image_kind_name(enum image_kind k);

/* Where a bzImage goes in a guest of mem bytes: its preferred address when
 * init_size fits there, else (relocatable) the lowest kernel_alignment-
 * aligned address from 1 MiB. NULL and *load, or why it cannot go. */
const char *image_linux_place(const struct image_linux *l, u64 mem, u64 *load);
/* Where an initrd of size bytes goes: page-aligned, as high as RAM and
 * initrd_addr_max allow, above kernel_end (the load address + init_size).
 * NULL and *addr, or why it cannot go. */
const char *image_linux_initrd(const struct image_linux *l, u64 mem, u64 kernel_end, u64 size,
                               u64 *addr);

#endif
