/* Host-side snapshot writer (builder.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "snapshot/crc32c.h"
#include "snapshot/parse.h"
#include "tools/turtle-snap/builder.h"

void tsnap_builder_init(struct tsnap_builder *b, const char *turtle_version)
{
    memset(b, 0, sizeof(*b));
    memcpy(b->turtle_version, turtle_version, strnlen(turtle_version, sizeof(b->turtle_version)));
}

void *tsnap_add_ex(struct tsnap_builder *b, u32 type, u32 version, u32 instance, u32 flags,
                   const void *data, u64 size)
{
    if (b->failed || b->n == TSNAP_MAX_SECTIONS) {
        b->failed = true;
        return NULL;
    }
    void *copy = calloc(1, size ? size : 1);
    if (!copy) {
        b->failed = true;
        return NULL;
    }
    if (data)
        memcpy(copy, data, size);
    b->sec[b->n] = (struct tsnap_section){ .type = type, .version = version, .instance = instance,
                                           .flags = flags, .size = size };
    b->data[b->n++] = copy;
    return copy;
}

void *tsnap_add(struct tsnap_builder *b, u32 type, u32 instance, const void *data, u64 size)
{
    return tsnap_add_ex(b, type, 1, instance, 0, data, size);
}

void *tsnap_add_list(struct tsnap_builder *b, u32 type, u32 instance, const void *entries, u32 n, u64 entry_size)
{
    u8 *p = tsnap_add(b, type, instance, NULL, 8 + entry_size * n);
    if (p) {
        memcpy(p, &n, 4);
        if (n)
            memcpy(p + 8, entries, entry_size * n);
    }
    return p;
}

/* Word by word: the vmm runs this over all guest RAM inside an emulated
 * CPU, where every instruction counts. */
static bool page_is_zero(const u8 *p)
{
    for (u64 i = 0; i < PAGE_SIZE; i += 8) {
        u64 w;
        memcpy(&w, p + i, 8);           /* one load; ram need not be aligned */
        if (w)
            return false;
    }
    return true;
}

bool tsnap_add_memory(struct tsnap_builder *b, const void *ram, u64 mem_size)
{
    const u8 *r = ram;
    u64 pages = mem_size / PAGE_SIZE, words = (pages + 63) / 64, present = 0;

    u64 *bm = calloc(words ? words : 1, 8);
    if (!bm) {
        b->failed = true;
        return false;
    }
    for (u64 i = 0; i < pages; i++)
        if (!page_is_zero(r + i * PAGE_SIZE)) {
            bm[i / 64] |= BIT(i % 64);
            present++;
        }
    u8 *p = tsnap_add(b, TSNAP_SEC_MEMORY, 0, NULL, 16 + 8 * words + PAGE_SIZE * present);
    if (p) {
        struct tsnap_memory m = { mem_size, present };
        memcpy(p, &m, sizeof(m));
        memcpy(p + 16, bm, 8 * words);
        u8 *out = p + 16 + 8 * words;
        for (u64 i = 0; i < pages; i++)
            if (bm[i / 64] & BIT(i % 64)) {
                memcpy(out, r + i * PAGE_SIZE, PAGE_SIZE);
                out += PAGE_SIZE;
            }
    }
    free(bm);
    return p != NULL;
}

void tsnap_builder_free(struct tsnap_builder *b)
{
    for (u32 i = 0; i < b->n; i++)
        free(b->data[i]);
    b->n = 0;
}

void *tsnap_build(struct tsnap_builder *b, u64 *len)
{
    u64 off = sizeof(struct tsnap_header) + (u64)b->n * sizeof(struct tsnap_section);
    u8 *file = NULL;

    if (b->failed || !b->n)
        goto out;
    for (u32 i = 0; i < b->n; i++) {
        off = ALIGN_UP(off, TSNAP_ALIGN);
        b->sec[i].offset = off;
        off += b->sec[i].size;
    }
    off = ALIGN_UP(off, TSNAP_ALIGN);
    file = aligned_alloc(TSNAP_ALIGN, off);
    if (!file)
        goto out;
    memset(file, 0, off);
    struct tsnap_header h = { .version = TSNAP_VERSION, .header_size = sizeof(h),
                              .flags = TSNAP_F_ZERO_PAGES_ELIDED, .n_sections = b->n, .total_size = off };
    memcpy(h.magic, TSNAP_MAGIC, TSNAP_MAGIC_LEN);
    memcpy(h.turtle_version, b->turtle_version, sizeof(h.turtle_version));
    memcpy(file, &h, sizeof(h));
    memcpy(file + sizeof(h), b->sec, b->n * sizeof(struct tsnap_section));
    for (u32 i = 0; i < b->n; i++)
        memcpy(file + b->sec[i].offset, b->data[i], b->sec[i].size);
    u32 crc = tsnap_file_crc(file, off);
    memcpy(file + offsetof(struct tsnap_header, crc32c), &crc, 4);
    *len = off;
out:
    tsnap_builder_free(b);
    return file;
}
