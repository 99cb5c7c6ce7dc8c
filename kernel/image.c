/*
 * Boot-image probing: finds the multiboot header (if any), then validates
 * the ELF program headers or the a.out-kludge addresses against the file
 * size. Every offset and size is checked for overflow before use, because a
 * module is user input.
 */
#include "kernel/image.h"

#define ELF_MAGIC           0x464c457f  /* "\x7fELF" */
#define ELFCLASS32          1
#define ELFCLASS64          2
#define ELFDATA2LSB         1
#define EM_386              3
#define EM_X86_64           62
#define ET_EXEC             2
#define PT_LOAD             1

struct elf64_ehdr {
    u8 e_ident[16];
    u16 e_type, e_machine;
    u32 e_version;
    u64 e_entry, e_phoff, e_shoff;
    u32 e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} __packed;
struct elf64_phdr {
    u32 p_type, p_flags;
    u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
} __packed;
struct elf32_ehdr {
    u8 e_ident[16];
    u16 e_type, e_machine;
    u32 e_version, e_entry, e_phoff, e_shoff, e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
} __packed;
struct elf32_phdr {
    u32 p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
} __packed;
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header");
_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header");

/* Multiboot1 header with the a.out-kludge address fields (0.6.96, 3.1.3). */
struct mb1_header {
    u32 magic, flags, checksum;
    u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} __packed;

const char *image_kind_name(enum image_kind k)
{
    switch (k) {
    case IMAGE_ELF64: return "ELF64";
    case IMAGE_MULTIBOOT2: return "multiboot2";
    case IMAGE_MULTIBOOT1: return "multiboot1";
    case IMAGE_LINUX: return "Linux bzImage";
    }
    return "?";
}

static u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u16 rd16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u64 rd64(const u8 *p) { return rd32(p) | (u64)rd32(p + 4) << 32; }

/* A bzImage (boot.rst, "The real-mode kernel header"): every field turtle
 * uses is checked here, against the file and against what turtle's loader
 * can do (the 64-bit entry, so protocol 2.12 or later). */
static const char *probe_linux(const u8 *d, u64 size, struct image_info *o)
{
    struct image_linux *l = &o->linux;

    o->kind = IMAGE_LINUX;
    if (size < LINUX_HEADER_MIN_END)
        return "bzImage setup header truncated";
    l->version = rd16(d + LINUX_VERSION);
    if (l->version < LINUX_MIN_VERSION)
        return "bzImage boot protocol older than 2.12 (turtle needs the 64-bit entry of 2.12 or later)";
    l->header_end = LINUX_HEADER_MAGIC_OFF + d[LINUX_HEADER_LEN];
    if (l->header_end < LINUX_HEADER_MIN_END || l->header_end > LINUX_HEADER_MAX_END)
        return "bzImage setup header length out of range";
    if (!(d[LINUX_LOADFLAGS] & LINUX_LOADED_HIGH))
        return "not a bzImage (a zImage loads low; turtle loads only bzImages)";
    if (!(rd16(d + LINUX_XLOADFLAGS) & LINUX_XLF_KERNEL_64))
        return "bzImage has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)";
    u32 sects = d[LINUX_SETUP_SECTS] ? d[LINUX_SETUP_SECTS] : 4;
    l->setup_size = (sects + 1) * 512;
    if (l->setup_size > size)
        return "bzImage setup code runs past the end of the file (truncated?)";
    l->kernel_offset = l->setup_size;
    l->kernel_size = (u64)rd32(d + LINUX_SYSSIZE) * 16;
    if (l->kernel_size == 0)
        return "bzImage has no protected-mode kernel (syssize 0)";
    if (l->kernel_size > size - l->kernel_offset)
        return "bzImage protected-mode kernel runs past the end of the file (truncated?)";
    l->relocatable = d[LINUX_RELOCATABLE] != 0;
    l->kernel_alignment = rd32(d + LINUX_KERNEL_ALIGNMENT);
    if (l->relocatable && (l->kernel_alignment == 0 || (l->kernel_alignment & (l->kernel_alignment - 1)) ||
                           l->kernel_alignment < 4096))
        return "bzImage kernel_alignment is not a power of two of at least 4 KiB";
    l->pref_address = rd64(d + LINUX_PREF_ADDRESS);
    l->init_size = rd32(d + LINUX_INIT_SIZE);
    if (l->init_size < l->kernel_size)
        return "bzImage init_size smaller than its protected-mode kernel";
    if (!l->relocatable && (l->pref_address < LINUX_LOW_LIMIT || (l->pref_address & 0xfff)))
        return "bzImage is not relocatable and its pref_address is unusable";
    l->cmdline_size = rd32(d + LINUX_CMDLINE_SIZE);
    l->initrd_addr_max = rd32(d + LINUX_INITRD_ADDR_MAX);
    if (l->initrd_addr_max < LINUX_LOW_LIMIT)
        return "bzImage initrd_addr_max below 1 MiB";
    return NULL;
}

const char *image_linux_place(const struct image_linux *l, u64 mem, u64 *load)
{
    u64 at = l->pref_address;

    if (l->relocatable && (at < LINUX_LOW_LIMIT || (at & (l->kernel_alignment - 1)) ||
                           at > mem || l->init_size > mem - at))
        at = ALIGN_UP(LINUX_LOW_LIMIT, (u64)l->kernel_alignment);
    if (at > mem || l->init_size > mem - at)
        return l->relocatable ? "bzImage needs more RAM than mem= gives (init_size from its load address; raise mem=)"
                              : "bzImage is not relocatable and init_size from its pref_address exceeds RAM (raise mem=)";
    *load = at;
    return NULL;
}

const char *image_linux_initrd(const struct image_linux *l, u64 mem, u64 kernel_end, u64 size, u64 *addr)
{
    u64 top = MIN(mem, (u64)l->initrd_addr_max + 1);

    if (size == 0)
        return "initrd module is empty";
    if (top < kernel_end || size > top - kernel_end)
        return "initrd does not fit in RAM above the kernel's init_size (raise mem=)";
    *addr = (top - size) & ~0xfffULL;
    if (*addr < kernel_end)
        return "initrd does not fit in RAM above the kernel's init_size (raise mem=)";
    return NULL;
}

/* Offset of a valid multiboot2 header, or -1. */
static s64 find_mb2(const u8 *d, u64 size)
{
    for (u64 off = 0; off + 16 <= size && off < MB2_SEARCH_BYTES; off += 8) {
        if (rd32(d + off) != MB2_HEADER_MAGIC)
            continue;
        u32 arch = rd32(d + off + 4), len = rd32(d + off + 8), sum = rd32(d + off + 12);
        if ((u32)(MB2_HEADER_MAGIC + arch + len + sum) == 0 && arch == 0)
            return (s64)off;
    }
    return -1;
}

static s64 find_mb1(const u8 *d, u64 size)
{
    for (u64 off = 0; off + 12 <= size && off < MB1_SEARCH_BYTES; off += 4) {
        if (rd32(d + off) != MB1_HEADER_MAGIC)
            continue;
        if ((u32)(MB1_HEADER_MAGIC + rd32(d + off + 4) + rd32(d + off + 8)) == 0)
            return (s64)off;
    }
    return -1;
}

static const char *add_segment(struct image_info *o, u64 size, u64 off, u64 filesz, u64 addr, u64 memsz)
{
    if (memsz == 0)
        return NULL;
    if (filesz > memsz)
        return "segment file size exceeds its memory size";
    if (off > size || filesz > size - off)
        return "segment runs past the end of the file";
    if (addr + memsz < addr)
        return "segment address wraps around";
    if (o->n_segments == IMAGE_MAX_SEGMENTS)
        return "too many loadable segments";
    o->segments[o->n_segments++] = (struct image_segment){ off, filesz, addr, memsz };
    if (addr + memsz > o->load_end)
        o->load_end = addr + memsz;
    return NULL;
}

static const char *probe_elf(const u8 *d, u64 size, struct image_info *o)
{
    const char *err;

    if (size < 16 || rd32(d) != ELF_MAGIC)
        return "not an ELF file and no multiboot header";
    if (d[5] != ELFDATA2LSB)
        return "ELF file is not little-endian";
    if (d[4] == ELFCLASS64) {
        struct elf64_ehdr eh;
        if (size < sizeof(eh))
            return "ELF header truncated";
        __builtin_memcpy(&eh, d, sizeof(eh));
        if (eh.e_machine != EM_X86_64)
            return "ELF64 file is not for x86-64";
        if (eh.e_phentsize != sizeof(struct elf64_phdr) || eh.e_phnum == 0)
            return "ELF file has no usable program headers";
        if (eh.e_phoff > size || (u64)eh.e_phnum * sizeof(struct elf64_phdr) > size - eh.e_phoff)
            return "ELF program headers run past the end of the file";
        for (u32 i = 0; i < eh.e_phnum; i++) {
            struct elf64_phdr ph;
            __builtin_memcpy(&ph, d + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type == PT_LOAD &&
                (err = add_segment(o, size, ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz)))
                return err;
        }
        o->entry = eh.e_entry;
    } else if (d[4] == ELFCLASS32) {
        struct elf32_ehdr eh;
        if (size < sizeof(eh))
            return "ELF header truncated";
        __builtin_memcpy(&eh, d, sizeof(eh));
        if (eh.e_machine != EM_386)
            return "ELF32 file is not for i386";
        if (o->kind == IMAGE_ELF64)
            return "ELF32 file without a multiboot header";
        if (eh.e_phentsize != sizeof(struct elf32_phdr) || eh.e_phnum == 0)
            return "ELF file has no usable program headers";
        if (eh.e_phoff > size || (u64)eh.e_phnum * sizeof(struct elf32_phdr) > size - eh.e_phoff)
            return "ELF program headers run past the end of the file";
        for (u32 i = 0; i < eh.e_phnum; i++) {
            struct elf32_phdr ph;
            __builtin_memcpy(&ph, d + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type == PT_LOAD &&
                (err = add_segment(o, size, ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz)))
                return err;
        }
        o->entry = eh.e_entry;
    } else {
        return "ELF class is neither 32- nor 64-bit";
    }
    if (o->n_segments == 0)
        return "ELF file has no loadable segment";
    return NULL;
}

/* Multiboot1 a.out kludge: the header gives the load addresses (3.1.3). */
static const char *probe_aout_kludge(const u8 *d, u64 size, u64 hoff, struct image_info *o)
{
    struct mb1_header h;

    if (hoff + sizeof(h) > size)
        return "multiboot1 header truncated";
    __builtin_memcpy(&h, d + hoff, sizeof(h));
    if (h.header_addr < h.load_addr || h.header_addr - h.load_addr > hoff)
        return "multiboot1 header_addr/load_addr inconsistent";
    u64 file_off = hoff - (h.header_addr - h.load_addr);
    u64 load_size = h.load_end_addr ? (u64)h.load_end_addr - h.load_addr : size - file_off;
    if (h.load_end_addr && h.load_end_addr < h.load_addr)
        return "multiboot1 load_end_addr below load_addr";
    u64 mem_end = h.bss_end_addr ? h.bss_end_addr : h.load_addr + load_size;
    if (mem_end < h.load_addr + load_size)
        return "multiboot1 bss_end_addr below load_end_addr";
    o->entry = h.entry_addr;
    return add_segment(o, size, file_off, load_size, h.load_addr, mem_end - h.load_addr);
}

const char *image_probe(const u8 *data, u64 size, struct image_info *out)
{
    s64 off;

    *out = (struct image_info){ .kind = IMAGE_ELF64 };
    if (size == 0)
        return "empty module (missing file?)";
    /* A turtle snapshot file (snapshot/format.h): not an image to boot. */
    if (size >= 8 && rd32(data) == 0x414e5354 && rd32(data + 4) == 0x1a0a0d50)    /* "TSNAP\r\n\032" */
        return "a turtle snapshot, not an image (give the module the 'restore' option)";
    if (size >= LINUX_HEADER_MAGIC_OFF + 4 && rd32(data + LINUX_HEADER_MAGIC_OFF) == LINUX_HEADER_MAGIC)
        return probe_linux(data, size, out);
    if ((off = find_mb2(data, size)) >= 0) {
        out->kind = IMAGE_MULTIBOOT2;
    } else if ((off = find_mb1(data, size)) >= 0) {
        out->kind = IMAGE_MULTIBOOT1;
        if (rd32(data + off + 4) & MB1_FLAG_AOUT_KLUDGE)
            return probe_aout_kludge(data, size, (u64)off, out);
    }
    return probe_elf(data, size, out);
}
