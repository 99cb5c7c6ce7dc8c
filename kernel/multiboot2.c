/*
 * Multiboot2 boot-information parser. Pure: it reads only the bytes inside
 * [mbi, mbi + total_size) and checks each tag's size against what is left
 * before looking inside, so a malformed structure yields a message, never an
 * out-of-bounds read.
 */
#include "kernel/multiboot2.h"

/* True if a NUL terminates the string within [s, s + max). */
static bool string_fits(const char *s, u32 max)
{
    for (u32 i = 0; i < max; i++)
        if (s[i] == '\0')
            return true;
    return false;
}

static const char *parse_mmap(const u8 *tag, u32 size, struct boot_info *out)
{
    const struct mb2_tag_mmap *m = (const void *)tag;

    if (size < sizeof(*m))
        return "memory map tag too short";
    if (m->entry_size < sizeof(struct mb2_mmap_entry) || m->entry_size % 8)
        return "memory map entry size invalid";
    /* off <= size always holds; off + entry_size could wrap a u32. */
    for (u32 off = sizeof(*m); m->entry_size <= size - off; off += m->entry_size) {
        const struct mb2_mmap_entry *e = (const void *)(tag + off);
        if (out->n_mmap == MB2_MAX_MMAP)
            return "memory map has too many entries";
        if (e->length && e->base_addr + e->length < e->base_addr)
            return "memory map entry wraps around";
        out->mmap[out->n_mmap++] = (struct mem_region){ e->base_addr, e->length, e->type };
    }
    return NULL;
}

static const char *parse_module(const u8 *tag, u32 size, struct boot_info *out)
{
    const struct mb2_tag_module *m = (const void *)tag;

    if (size < sizeof(*m) + 1)
        return "module tag too short";
    if (!string_fits(m->cmdline, size - sizeof(*m)))
        return "module command line not terminated";
    if (m->mod_end < m->mod_start)
        return "module ends before it starts";
    if (out->n_modules == MB2_MAX_MODULES)
        return "too many modules";
    out->modules[out->n_modules++] = (struct boot_module){ m->mod_start, m->mod_end, m->cmdline };
    return NULL;
}

const char *mb2_parse(const void *mbi, u32 limit, struct boot_info *out)
{
    const u8 *base = mbi;
    const struct mb2_info_header *hdr = mbi;
    const char *err;
    bool ended = false;

    *out = (struct boot_info){ .cmdline = "", .loader_name = "" };
    if ((uintptr_t)mbi % MB2_TAG_ALIGN)
        return "boot information not 8-byte aligned";
    if (hdr->total_size < sizeof(*hdr) + sizeof(struct mb2_tag) || hdr->total_size > limit)
        return "boot information total size out of range";
    out->info_size = hdr->total_size;

    u32 off = sizeof(*hdr);
    while (!ended) {
        if (off + sizeof(struct mb2_tag) > hdr->total_size)
            return "boot information has no end tag";
        const struct mb2_tag *tag = (const void *)(base + off);
        const u8 *t = base + off;
        if (tag->size < sizeof(*tag) || tag->size > hdr->total_size - off)
            return "tag size runs past the boot information";
        u32 payload = tag->size - sizeof(*tag);

        err = NULL;
        switch (tag->type) {
        case MB2_TAG_END:
            if (tag->size != sizeof(*tag))
                return "end tag has the wrong size";
            ended = true;
            break;
        case MB2_TAG_CMDLINE:
        case MB2_TAG_LOADER_NAME:
            if (!string_fits((const char *)t + sizeof(*tag), payload))
                return "string tag not terminated";
            if (tag->type == MB2_TAG_CMDLINE)
                out->cmdline = (const char *)t + sizeof(*tag);
            else
                out->loader_name = (const char *)t + sizeof(*tag);
            break;
        case MB2_TAG_MODULE:
            err = parse_module(t, tag->size, out);
            break;
        case MB2_TAG_MMAP:
            err = parse_mmap(t, tag->size, out);
            break;
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW:
            /* Prefer the 2.0+ copy; it carries the XSDT address. */
            if (payload >= 20 && (!out->rsdp_offset || tag->type == MB2_TAG_ACPI_NEW)) {
                out->rsdp_offset = off + sizeof(*tag);
                out->rsdp_size = payload;
            }
            break;
        default:
            break;                      /* tags turtle does not use */
        }
        if (err)
            return err;
        off += (u32)ALIGN_UP(tag->size, MB2_TAG_ALIGN);
    }
    if (out->n_mmap == 0)
        return "boot information has no memory map";
    return NULL;
}
