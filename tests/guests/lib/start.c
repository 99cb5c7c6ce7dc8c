/*
 * From the entry code to guest_main(): descriptor tables, the boot
 * information (multiboot2 layout, spec 3.6, from GRUB or turtle) parsed
 * into struct boot_params, and the report for an exception nobody caught.
 */
#include "lib/guest.h"
#include "lib/start.h"

#define MB2_TAG_END             0
#define MB2_TAG_CMDLINE         1
#define MB2_TAG_LOADER_NAME     2
#define MB2_TAG_MODULE          3
#define MB2_TAG_MMAP            6
#define MB2_INFO_MAX_SIZE       (1u << 20)  /* sanity bound on total_size */
#define MB2_INFO_LIMIT          (1ull << 32) /* our page tables map 4 GiB */
#define EXIT_CRASHED            3

struct mb2_tag {
    u32 type, size;
} __packed;

struct mb2_tag_module {
    u32 type, size;
    u32 mod_start, mod_end;
    char cmdline[];
} __packed;

struct mb2_tag_mmap {
    u32 type, size;
    u32 entry_size, entry_version;
} __packed;

struct mb2_mmap_entry {
    u64 base, length;
    u32 type, reserved;
} __packed;

_Static_assert(sizeof(struct mb2_tag) == 8, "multiboot2 tag header");
_Static_assert(sizeof(struct mb2_tag_module) == 16, "multiboot2 module tag");
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "multiboot2 mmap tag");
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "multiboot2 mmap entry");

extern u64 entry_cr0, entry_cr3, entry_cr4, entry_efer, entry_rflags;     /* lib/entry.asm */
extern u8 entry_gdtr[10];                                            /* lib/entry.asm: SGDT */

static struct boot_params bp;
static char cmdline_copy[GUEST_CMDLINE_MAX];
static char loader_copy[64];

/* Copies the NUL-terminated string at s, of at most max bytes, into buf. */
static const char *copy_string(char *buf, size_t size, const char *s, size_t max)
{
    size_t i = 0;
    for (; i < max && s[i] && i + 1 < size; i++)
        buf[i] = s[i];
    buf[i] = '\0';
    return buf;
}

static void add_mmap(const struct mb2_tag_mmap *t)
{
    if (t->size < sizeof(*t) || t->entry_size < sizeof(struct mb2_mmap_entry))
        return;
    for (u32 off = sizeof(*t); off + t->entry_size <= t->size; off += t->entry_size) {
        const struct mb2_mmap_entry *e = (const void *)((const u8 *)t + off);
        if (bp.n_regions < GUEST_MAX_REGIONS)
            bp.regions[bp.n_regions++] = (struct guest_region){ e->base, e->length, e->type };
        if (e->type == 1) {
            bp.mem_available += e->length;
            if (e->base + e->length > bp.mem_top)
                bp.mem_top = e->base + e->length;
        }
    }
}

/* Returns NULL, or what is wrong with the information at bp.info. */
static const char *parse_info(void)
{
    const u8 *p = (const u8 *)(uintptr_t)bp.info;
    u32 total;

    if (bp.info == 0 || bp.info % 8)
        return "address is 0 or not 8-aligned";
    if (bp.info + 8 > MB2_INFO_LIMIT)
        return "address beyond 4 GiB";
    total = *(const u32 *)p;
    if (total < 16 || total > MB2_INFO_MAX_SIZE || bp.info + total > MB2_INFO_LIMIT)
        return "bad total_size";
    for (u32 off = 8; off + sizeof(struct mb2_tag) <= total;) {
        const struct mb2_tag *t = (const void *)(p + off);
        if (t->size < sizeof(*t) || t->size > total - off)
            return "tag runs past total_size";
        switch (t->type) {
        case MB2_TAG_END:
            bp.info_size = total;
            return NULL;
        case MB2_TAG_CMDLINE:
            bp.cmdline = copy_string(cmdline_copy, sizeof(cmdline_copy), (const char *)(t + 1),
                                     t->size - sizeof(*t));
            break;
        case MB2_TAG_LOADER_NAME:
            bp.loader_name = copy_string(loader_copy, sizeof(loader_copy), (const char *)(t + 1),
                                         t->size - sizeof(*t));
            break;
        case MB2_TAG_MODULE: {
            const struct mb2_tag_module *m = (const void *)t;
            if (t->size >= sizeof(*m) && bp.n_modules < GUEST_MAX_MODULES)
                bp.modules[bp.n_modules++] = (struct guest_module){ m->mod_start, m->mod_end, m->cmdline };
            break;
        }
        case MB2_TAG_MMAP:
            add_mmap((const void *)t);
            break;
        }
        off += (t->size + 7) & ~7u;
    }
    return "no end tag";
}

__noreturn void guest_start(u32 magic, u64 info, enum guest_entry entry)
{
    serial_init();
    desc_init();
    bp.magic = magic;
    bp.entry = entry;
    bp.info = info;
    bp.cmdline = "";
    bp.loader_name = "";
    bp.entry_cr0 = entry_cr0;
    bp.entry_cr4 = entry_cr4;
    bp.entry_efer = entry_efer;
    bp.entry_rflags = entry_rflags;
    bp.entry_cr3 = entry_cr3;
    memcpy(&bp.entry_gdt_base, entry_gdtr + 2, sizeof(bp.entry_gdt_base));
    if (magic == MB2_BOOTLOADER_MAGIC)
        bp.info_error = parse_info();
    else
        bp.info_error = "bad magic";
    if (bp.info_error)
        printf("guest: boot information at %#lx unusable: %s\n", (unsigned long)info, bp.info_error);
    guest_main(&bp);
    guest_exit(report_summary() ? 1 : 0);
}

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
    "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

__noreturn void exception_unexpected(const struct exception_frame *f)
{
    const char *name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "?";
    u64 cr2;

    __asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
    printf("guest: unexpected exception %lu (%s) error %#lx at rip %#lx cr2 %#lx\n",
           (unsigned long)f->vector, name, (unsigned long)f->error, (unsigned long)f->rip,
           (unsigned long)cr2);
    printf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    printf("  rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
    report(false, "no unexpected exception (got vector %lu)", (unsigned long)f->vector);
    report_summary();
    guest_exit(EXIT_CRASHED);
}
