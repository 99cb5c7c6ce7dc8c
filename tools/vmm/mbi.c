/*
 * The multiboot2 boot information (Multiboot2 specification 1.0, section
 * 3.6) as a boot loader hands it over: command line, loader name, modules,
 * basic memory information and the memory map of the guest's RAM.
 */
#include <string.h>

#include "vmm.h"

#define MB2_TAG_END             0
#define MB2_TAG_CMDLINE         1
#define MB2_TAG_LOADER_NAME     2
#define MB2_TAG_MODULE          3
#define MB2_TAG_BASIC_MEMINFO   4
#define MB2_TAG_MMAP            6
#define MB2_TAG_ALIGN           8
#define MB2_MEMORY_AVAILABLE    1
#define MB2_MEMORY_RESERVED     2
#define MB2_MMAP_VERSION        0

#define LOADER_NAME             "turtle-vmm (KVM)"
#define BIOS_AREA_START         0xf0000ull  /* BIOS ROM, reserved as on a PC */

struct mb2_tag {
    uint32_t type;
    uint32_t size;
};

struct mb2_tag_module {
    uint32_t type;
    uint32_t size;
    uint32_t mod_start;
    uint32_t mod_end;
};

struct mb2_tag_meminfo {
    uint32_t type;
    uint32_t size;
    uint32_t mem_lower;                     /* KiB below 640 KiB */
    uint32_t mem_upper;                     /* KiB above 1 MiB */
};

struct mb2_tag_mmap {
    uint32_t type;
    uint32_t size;
    uint32_t entry_size;
    uint32_t entry_version;
};

struct mb2_mmap_entry {
    uint64_t base_addr;
    uint64_t length;
    uint32_t type;
    uint32_t reserved;
};

_Static_assert(sizeof(struct mb2_tag) == 8, "multiboot2 tag header (3.6.1)");
_Static_assert(sizeof(struct mb2_tag_module) == 16, "multiboot2 module tag (3.6.6)");
_Static_assert(sizeof(struct mb2_tag_meminfo) == 16, "multiboot2 basic memory tag (3.6.8)");
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "multiboot2 mmap tag (3.6.8)");
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "multiboot2 mmap entry (3.6.8)");

struct builder {
    uint8_t *ram;
    uint64_t at, limit;                     /* guest-physical cursor and end */
    bool full;
};

static void *reserve(struct builder *b, uint64_t size)
{
    uint64_t start = (b->at + MB2_TAG_ALIGN - 1) & ~(uint64_t)(MB2_TAG_ALIGN - 1);

    if (b->full || start > b->limit || size > b->limit - start) {
        b->full = true;
        return NULL;
    }
    b->at = start + size;
    memset(b->ram + start, 0, size);
    return b->ram + start;
}

static void string_tag(struct builder *b, uint32_t type, const char *s)
{
    uint32_t size = (uint32_t)(sizeof(struct mb2_tag) + strlen(s) + 1);
    uint8_t *p = reserve(b, size);
    struct mb2_tag t = {type, size};

    if (!p)
        return;
    memcpy(p, &t, sizeof(t));
    memcpy(p + sizeof(t), s, strlen(s) + 1);
}

static void module_tag(struct builder *b, const struct module *m)
{
    uint32_t size = (uint32_t)(sizeof(struct mb2_tag_module) + strlen(m->cmdline) + 1);
    uint8_t *p = reserve(b, size);
    struct mb2_tag_module t = {MB2_TAG_MODULE, size, (uint32_t)m->start, (uint32_t)m->end};

    if (!p)
        return;
    memcpy(p, &t, sizeof(t));
    memcpy(p + sizeof(t), m->cmdline, strlen(m->cmdline) + 1);
}

static void mmap_tag(struct builder *b, uint64_t mem)
{
    const struct mb2_mmap_entry map[] = {
        {0, GUEST_LOW_RAM_END, MB2_MEMORY_AVAILABLE, 0},
        {GUEST_LOW_RAM_END, 0xa0000 - GUEST_LOW_RAM_END, MB2_MEMORY_RESERVED, 0},
        {BIOS_AREA_START, GUEST_HIGH_RAM_START - BIOS_AREA_START, MB2_MEMORY_RESERVED, 0},
        {GUEST_HIGH_RAM_START, mem - GUEST_HIGH_RAM_START, MB2_MEMORY_AVAILABLE, 0},
    };
    uint32_t size = (uint32_t)(sizeof(struct mb2_tag_mmap) + sizeof(map));
    uint8_t *p = reserve(b, size);
    struct mb2_tag_mmap t = {MB2_TAG_MMAP, size, sizeof(struct mb2_mmap_entry), MB2_MMAP_VERSION};

    if (!p)
        return;
    memcpy(p, &t, sizeof(t));
    memcpy(p + sizeof(t), map, sizeof(map));
}

uint64_t build_mbi(uint8_t *ram, uint64_t mem, uint64_t mbi_addr, const struct vmm_config *cfg)
{
    struct builder b = {ram, mbi_addr, mem, false};
    uint8_t *header = reserve(&b, 8);       /* total_size, reserved */
    struct mb2_tag_meminfo mi = {MB2_TAG_BASIC_MEMINFO, sizeof(mi), (uint32_t)(GUEST_LOW_RAM_END >> 10),
                                 (uint32_t)((mem - GUEST_HIGH_RAM_START) >> 10)};
    struct mb2_tag end = {MB2_TAG_END, sizeof(end)};
    uint8_t *p;
    uint32_t total;

    string_tag(&b, MB2_TAG_CMDLINE, cfg->cmdline);
    string_tag(&b, MB2_TAG_LOADER_NAME, LOADER_NAME);
    for (unsigned i = 0; i < cfg->n_modules; i++)
        module_tag(&b, &cfg->modules[i]);
    if ((p = reserve(&b, sizeof(mi))))
        memcpy(p, &mi, sizeof(mi));
    mmap_tag(&b, mem);
    if ((p = reserve(&b, sizeof(end))))
        memcpy(p, &end, sizeof(end));
    if (b.full || !header)
        return 0;
    total = (uint32_t)(b.at - mbi_addr);
    memcpy(header, &total, sizeof(total));
    return total;
}
