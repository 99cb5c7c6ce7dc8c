/*
 * Reading the kernel and module files, and loading a multiboot2 kernel
 * (Multiboot2 specification 1.0, section 3.1) from its ELF program headers.
 * Everything read from a file is bounds-checked before it is used: a file
 * that is not a usable image gets a message naming what is wrong, and the
 * vmm exits with VMM_EXIT_BAD_INPUT.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define MB2_HEADER_MAGIC        0xe85250d6u /* header magic (3.1.2) */
#define MB2_HEADER_SEARCH       32768       /* the header lies in the first 32 KiB */
#define MB2_HEADER_ALIGN        8
#define MB2_ARCH_I386           0           /* 32-bit protected-mode entry */
#define MB2_HTAG_END            0
#define MB2_HTAG_INFO_REQUEST   1
#define MB2_HTAG_ADDRESS        2           /* a.out kludge: load addresses in the header */
#define MB2_HTAG_ENTRY_ADDRESS  3           /* i386 entry point overriding e_entry */
#define MB2_HTAG_FLAG_OPTIONAL  0x1
#define MAX_FILE_SIZE           (512ull * MIB)

/* The information tags mbi.c provides (a required request for another is refused). */
#define MB2_INFO_PROVIDED       ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6))

struct mb2_header {
    uint32_t magic;
    uint32_t architecture;
    uint32_t header_length;
    uint32_t checksum;
};

struct mb2_header_tag {
    uint16_t type;
    uint16_t flags;
    uint32_t size;
};

_Static_assert(sizeof(struct mb2_header) == 16, "multiboot2 header (3.1.2)");
_Static_assert(sizeof(struct mb2_header_tag) == 8, "multiboot2 header tag (3.1.3)");

int read_file(const char *path, struct file_buf *out)
{
    struct stat st;
    ssize_t got;
    size_t done = 0;
    int fd = open(path, O_RDONLY);

    out->path = path;
    if (fd < 0) {
        fprintf(stderr, "vmm: error: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE_SIZE) {
        fprintf(stderr, "vmm: error: %s: not a regular file of at most %llu MiB\n", path,
                MAX_FILE_SIZE / MIB);
        close(fd);
        return -1;
    }
    out->size = (size_t)st.st_size;
    out->data = malloc(out->size ? out->size : 1);
    if (!out->data) {
        fprintf(stderr, "vmm: error: %s: out of memory\n", path);
        close(fd);
        return -1;
    }
    while (done < out->size) {
        got = read(fd, out->data + done, out->size - done);
        if (got <= 0) {
            fprintf(stderr, "vmm: error: %s: read failed\n", path);
            close(fd);
            return -1;
        }
        done += (size_t)got;
    }
    close(fd);
    return 0;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/*
 * Finds and checks the multiboot2 header. Returns 0 and sets *entry when an
 * entry-address tag overrides the ELF entry (else leaves it), -1 with a
 * message when the header is missing or unusable.
 */
static int check_mb2_header(const struct file_buf *f, uint64_t *entry)
{
    size_t limit = f->size < MB2_HEADER_SEARCH ? f->size : MB2_HEADER_SEARCH;

    for (size_t off = 0; off + sizeof(struct mb2_header) <= limit; off += MB2_HEADER_ALIGN) {
        struct mb2_header h;

        memcpy(&h, f->data + off, sizeof(h));
        if (h.magic != MB2_HEADER_MAGIC)
            continue;
        if ((uint32_t)(h.magic + h.architecture + h.header_length + h.checksum) != 0)
            continue;                           /* not a header: the checksum decides */
        if (h.architecture != MB2_ARCH_I386) {
            fprintf(stderr, "vmm: error: %s: multiboot2 architecture %u is not i386\n", f->path,
                    h.architecture);
            return -1;
        }
        if (h.header_length < sizeof(h) + sizeof(struct mb2_header_tag) ||
            off + h.header_length > f->size) {
            fprintf(stderr, "vmm: error: %s: multiboot2 header length %u runs past the file\n",
                    f->path, h.header_length);
            return -1;
        }
        for (size_t t = off + sizeof(h); t + sizeof(struct mb2_header_tag) <= off + h.header_length;) {
            struct mb2_header_tag tag;

            memcpy(&tag, f->data + t, sizeof(tag));
            if (tag.size < sizeof(tag) || t + tag.size > off + h.header_length) {
                fprintf(stderr, "vmm: error: %s: multiboot2 header tag %u has a bad size %u\n",
                        f->path, tag.type, tag.size);
                return -1;
            }
            if (tag.type == MB2_HTAG_END)
                return 0;
            if (tag.type == MB2_HTAG_ADDRESS) {
                fprintf(stderr, "vmm: error: %s: multiboot2 address tag (a.out kludge) not supported\n",
                        f->path);
                return -1;
            }
            if (tag.type == MB2_HTAG_ENTRY_ADDRESS && tag.size >= 12)
                *entry = rd32(f->data + t + 8);
            if (tag.type == MB2_HTAG_INFO_REQUEST && !(tag.flags & MB2_HTAG_FLAG_OPTIONAL)) {
                for (uint32_t r = 8; r + 4 <= tag.size; r += 4) {
                    uint32_t want = rd32(f->data + t + r);
                    if (want >= 32 || !(MB2_INFO_PROVIDED & (1u << want))) {
                        fprintf(stderr, "vmm: error: %s: requires multiboot2 information %u, "
                                "which this vmm does not provide\n", f->path, want);
                        return -1;
                    }
                }
            }
            t += (tag.size + MB2_HEADER_ALIGN - 1) & ~(size_t)(MB2_HEADER_ALIGN - 1);
        }
        fprintf(stderr, "vmm: error: %s: multiboot2 header has no end tag\n", f->path);
        return -1;
    }
    fprintf(stderr, "vmm: error: %s: no multiboot2 header in the first %d bytes\n", f->path,
            MB2_HEADER_SEARCH);
    return -1;
}

/* One PT_LOAD segment, whatever the ELF class. */
struct segment {
    uint64_t offset, filesz, paddr, memsz;
};

static int load_segment(const struct file_buf *f, const struct segment *s, uint8_t *ram, uint64_t mem,
                        struct kernel_image *out)
{
    if (s->filesz > s->memsz || s->offset > f->size || s->filesz > f->size - s->offset) {
        fprintf(stderr, "vmm: error: %s: ELF segment at offset %#llx runs past the end of the file "
                "(truncated?)\n", f->path, (unsigned long long)s->offset);
        return -1;
    }
    if (s->paddr < GUEST_HIGH_RAM_START || s->paddr > mem || s->memsz > mem - s->paddr) {
        fprintf(stderr, "vmm: error: %s: ELF segment %#llx-%#llx is outside guest RAM "
                "(1 MiB to %llu MiB)\n", f->path, (unsigned long long)s->paddr,
                (unsigned long long)(s->paddr + s->memsz), (unsigned long long)(mem / MIB));
        return -1;
    }
    memcpy(ram + s->paddr, f->data + s->offset, s->filesz);
    memset(ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
    if (s->paddr + s->memsz > out->load_end)
        out->load_end = s->paddr + s->memsz;
    return 0;
}

/*
 * Loads the ELF kernel f (ELF32 or ELF64, x86) at its segments' physical
 * addresses into ram (mem bytes), after checking its multiboot2 header.
 * Returns 0, or -1 after a message naming the problem.
 */
int load_kernel(const struct file_buf *f, uint8_t *ram, uint64_t mem, struct kernel_image *out)
{
    const uint8_t *d = f->data;
    uint64_t phoff, entry, loaded = 0;
    unsigned phnum, phentsize;
    bool is64;

    memset(out, 0, sizeof(*out));
    if (f->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG)) {
        fprintf(stderr, "vmm: error: %s: not an ELF file\n", f->path);
        return -1;
    }
    is64 = d[EI_CLASS] == ELFCLASS64;
    if ((!is64 && d[EI_CLASS] != ELFCLASS32) || d[EI_DATA] != ELFDATA2LSB ||
        f->size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
        fprintf(stderr, "vmm: error: %s: ELF header truncated or not little-endian ELF32/ELF64\n", f->path);
        return -1;
    }
    if (is64) {
        Elf64_Ehdr eh;
        memcpy(&eh, d, sizeof(eh));
        if (eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
            goto bad_kind;
        phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize; entry = eh.e_entry;
        if (phentsize != sizeof(Elf64_Phdr))
            goto bad_ph;
    } else {
        Elf32_Ehdr eh;
        memcpy(&eh, d, sizeof(eh));
        if (eh.e_machine != EM_386 || eh.e_type != ET_EXEC)
            goto bad_kind;
        phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize; entry = eh.e_entry;
        if (phentsize != sizeof(Elf32_Phdr))
            goto bad_ph;
    }
    if (phnum == 0 || phoff > f->size || (uint64_t)phnum * phentsize > f->size - phoff) {
        fprintf(stderr, "vmm: error: %s: ELF program headers run past the end of the file "
                "(truncated?)\n", f->path);
        return -1;
    }
    for (unsigned i = 0; i < phnum; i++) {
        struct segment s;
        uint32_t type;

        if (is64) {
            Elf64_Phdr ph;
            memcpy(&ph, d + phoff + (uint64_t)i * phentsize, sizeof(ph));
            type = ph.p_type;
            s = (struct segment){ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz};
        } else {
            Elf32_Phdr ph;
            memcpy(&ph, d + phoff + (uint64_t)i * phentsize, sizeof(ph));
            type = ph.p_type;
            s = (struct segment){ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz};
        }
        if (type != PT_LOAD || s.memsz == 0)
            continue;
        if (load_segment(f, &s, ram, mem, out) < 0)
            return -1;
        loaded++;
    }
    if (!loaded) {
        fprintf(stderr, "vmm: error: %s: no loadable ELF segment\n", f->path);
        return -1;
    }
    if (check_mb2_header(f, &entry) < 0)
        return -1;
    if (entry < GUEST_HIGH_RAM_START || entry >= out->load_end) {
        fprintf(stderr, "vmm: error: %s: entry point %#llx is not in the loaded image\n", f->path,
                (unsigned long long)entry);
        return -1;
    }
    out->entry = entry;
    return 0;
bad_kind:
    fprintf(stderr, "vmm: error: %s: not an x86 executable ELF\n", f->path);
    return -1;
bad_ph:
    fprintf(stderr, "vmm: error: %s: unexpected ELF program header size %u\n", f->path, phentsize);
    return -1;
}
