/*
 * Loading an L1: the module's options, its image (kernel/image.c validated
 * every segment against the file), its boot information in the format its
 * protocol expects, and the entry state. Everything a module controls is
 * checked against the guest's RAM before it is copied.
 */
#include "kernel/cmdline.h"
#include "kernel/image.h"
#include "kernel/mm.h"
#include "kernel/paging.h"
#include "kernel/printf.h"
#include "vmx/boot_place.h"
#include "vmx/ept.h"
#include "vmx/loader.h"
#include "vmx/vmx.h"

_Static_assert(BOOT_BIOS_AREA == PLATFORM_BIOS_AREA, "the memory map reserves the ACPI tables");
_Static_assert(BOOT_PLACE_MAX >= 4 + BOOT_RESERVED_MAX + VM_MAX_MODULES, "room to place every module");
#define BOOT_INFO_MAX       (16 * PAGE_SIZE)
#define LOADER_NAME         "turtle"
#define GDT64_CODE          0x00af9a000000ffffULL
#define GDT64_DATA          0x00cf92000000ffffULL
#define GDT_MAX_ENTRIES     4
#define ELF64_CS            0x08        /* docs/guests.md: code 0x08, data 0x10 */

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

const char *module_options_parse(const char *cmdline, u32 index, struct module_options *o,
                                 char *err, u32 err_size)
{
    const char *p = cmdline, *rest = "";
    struct cmdline_token t;

    *o = (struct module_options){ .mem = VM_MEM_DEFAULT, .guest_cmdline = "" };
    ksnprintf(o->name, sizeof(o->name), "guest%u", index);
    while (cmdline_next(&p, &t, &rest)) {
        if (cmdline_key_is(&t, "name") && t.value) {
            if (t.value_len == 0 || t.value_len >= VM_NAME_MAX)
                goto bad;
            for (u32 i = 0; i < t.value_len; i++)
                if (!name_char_ok(t.value[i]))
                    goto bad;
            cmdline_value(&t, o->name, sizeof(o->name));
            o->name_given = true;
        } else if (cmdline_key_is(&t, "restore") && !t.value) {
            o->restore = true;
        } else if (cmdline_key_is(&t, "mem") && t.value) {
            u64 v;
            if (!parse_size(t.value, t.value_len, &v) || v < VM_MEM_MIN || v > VM_MEM_MAX)
                goto bad;
            o->mem = ALIGN_UP(v, PAGE_SIZE);
        } else if (cmdline_key_is(&t, "nested") && !t.value) {
            o->nested = true;
        } else if (cmdline_key_is(&t, "for") && t.value && t.value_len &&
                   t.value_len < VM_NAME_MAX) {
            cmdline_value(&t, o->for_guest, sizeof(o->for_guest));
        } else if (cmdline_key_is(&t, "initrd") && !t.value) {
            o->initrd = true;
        } else {
            goto bad;
        }
        continue;
bad:
        {
            u32 len = (u32)((t.value ? t.value + t.value_len : t.key + t.key_len) - t.key);
            u32 n = (u32)ksnprintf(err, err_size, "bad option '");
            for (u32 i = 0; i < len && n + 2 < err_size; i++)
                err[n++] = t.key[i];
            if (n + 1 < err_size)
                err[n++] = '\'';
            err[n] = '\0';
            return err;
        }
    }
    if (o->restore && (o->for_guest[0] || o->initrd || o->nested || *rest)) {
        ksnprintf(err, err_size, "option 'restore' takes only name= (the snapshot holds the rest)");
        return err;
    }
    if (o->initrd && !o->for_guest[0]) {
        ksnprintf(err, err_size, "option 'initrd' needs for=NAME");
        return err;
    }
    o->guest_cmdline = rest;
    return NULL;
}

/* --- boot information builders ------------------------------------------ */

/* The boot information being built: BOOT_INFO_MAX bytes of pages the
 * loader allocates for one load and frees after copying them out. */
struct info_buf {
    u8 *data;
    u32 len;
    bool overflow;
};

static u32 info_put(struct info_buf *info, const void *src, u32 len)
{
    u32 at = info->len;
    if (len > BOOT_INFO_MAX - info->len) {
        info->overflow = true;
        return at;
    }
    memcpy(info->data + info->len, src, len);
    info->len += len;
    return at;
}

static void info_align(struct info_buf *info, u32 a)
{
    static const u8 zeros[8];
    while (info->len % a && !info->overflow)
        info_put(info, zeros, 1);
}

static void mb2_tag_string(struct info_buf *info, u32 type, const char *s)
{
    u32 len = (u32)strlen(s) + 1;
    struct mb2_tag t = { type, (u32)sizeof(t) + len };
    info_align(info, MB2_TAG_ALIGN);
    info_put(info, &t, sizeof(t));
    info_put(info, s, len);
}

u32 guest_mmap(const struct vm *vm, struct mem_region *r)
{
    r[0] = (struct mem_region){ 0, BOOT_LOW_RAM_END, MB2_MEMORY_AVAILABLE };
    r[1] = (struct mem_region){ BOOT_BIOS_AREA, BOOT_HIGH_RAM - BOOT_BIOS_AREA, MB2_MEMORY_RESERVED };
    r[2] = (struct mem_region){ BOOT_HIGH_RAM, vm->mem_size - BOOT_HIGH_RAM, MB2_MEMORY_AVAILABLE };
    return 3;
}

/* Multiboot2 information (Multiboot2 spec 3.6); position-independent.
 * mod_gpa[i] are the guest-physical copies of the guest's modules. */
static void build_mb2_info(struct info_buf *info, const struct vm *vm, const struct boot_placement *p,
                           const u64 *mod_gpa)
{
    struct mem_region r[BOOT_MMAP_MAX];
    u32 n = boot_place_mmap(p, r);

    struct mb2_info_header h = { 0, 0 };
    info_put(info, &h, sizeof(h));
    mb2_tag_string(info, MB2_TAG_CMDLINE, vm->cmdline);
    mb2_tag_string(info, MB2_TAG_LOADER_NAME, LOADER_NAME);

    struct { u32 type, size, mem_lower, mem_upper; } meminfo = {
        MB2_TAG_BASIC_MEMINFO, 16, boot_mmap_avail_kib(r, n, 0), boot_mmap_avail_kib(r, n, BOOT_HIGH_RAM)
    };
    info_align(info, MB2_TAG_ALIGN);
    info_put(info, &meminfo, sizeof(meminfo));

    struct mb2_tag_mmap mt = { MB2_TAG_MMAP, (u32)(sizeof(mt) + n * sizeof(struct mb2_mmap_entry)),
                               sizeof(struct mb2_mmap_entry), 0 };
    info_align(info, MB2_TAG_ALIGN);
    info_put(info, &mt, sizeof(mt));
    for (u32 i = 0; i < n; i++) {
        struct mb2_mmap_entry e = { r[i].base, r[i].length, r[i].type, 0 };
        info_put(info, &e, sizeof(e));
    }
    for (u32 i = 0; i < vm->n_modules; i++) {
        const char *cl = vm->modules[i].cmdline;
        u32 cl_len = (u32)strlen(cl) + 1;
        struct mb2_tag_module m = { MB2_TAG_MODULE, (u32)sizeof(m) + cl_len, (u32)mod_gpa[i],
                                    (u32)(mod_gpa[i] + vm->modules[i].end - vm->modules[i].start) };
        info_align(info, MB2_TAG_ALIGN);
        info_put(info, &m, sizeof(m));
        info_put(info, cl, cl_len);
    }
    struct mb2_tag end = { MB2_TAG_END, 8 };
    info_align(info, MB2_TAG_ALIGN);
    info_put(info, &end, sizeof(end));
    ((struct mb2_info_header *)info->data)->total_size = info->len;
}

/* Multiboot1 information (Multiboot 0.6.96, 3.3). */
#define MB1_INFO_MEMORY     BIT(0)
#define MB1_INFO_CMDLINE    BIT(2)
#define MB1_INFO_MODS       BIT(3)
#define MB1_INFO_MMAP       BIT(6)
#define MB1_INFO_LOADER     BIT(9)

struct mb1_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
} __packed;
_Static_assert(__builtin_offsetof(struct mb1_info, boot_loader_name) == 64, "multiboot1 info layout");

static void build_mb1_info(struct info_buf *info, const struct vm *vm, const struct boot_placement *p,
                           u64 base, const u64 *mod_gpa)
{
    struct mem_region r[BOOT_MMAP_MAX];
    u32 n = boot_place_mmap(p, r);
    struct mb1_info mi = { 0 };

    info_put(info, &mi, sizeof(mi));
    mi.flags = MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER | MB1_INFO_MODS;
    mi.mem_lower = boot_mmap_avail_kib(r, n, 0);
    mi.mem_upper = boot_mmap_avail_kib(r, n, BOOT_HIGH_RAM);
    mi.cmdline = (u32)base + info_put(info, vm->cmdline, (u32)strlen(vm->cmdline) + 1);
    mi.boot_loader_name = (u32)base + info_put(info, LOADER_NAME, sizeof(LOADER_NAME));
    info_align(info, 4);
    mi.mmap_addr = (u32)base + info->len;
    for (u32 i = 0; i < n; i++) {
        struct { u32 size; u64 base, len; u32 type; } __packed e = { 20, r[i].base, r[i].length, r[i].type };
        info_put(info, &e, sizeof(e));
    }
    mi.mmap_length = (u32)base + info->len - mi.mmap_addr;
    u32 strings[VM_MAX_MODULES];
    for (u32 i = 0; i < vm->n_modules; i++)
        strings[i] = (u32)base + info_put(info, vm->modules[i].cmdline, (u32)strlen(vm->modules[i].cmdline) + 1);
    info_align(info, 4);
    mi.mods_addr = (u32)base + info->len;
    mi.mods_count = vm->n_modules;
    for (u32 i = 0; i < vm->n_modules; i++) {
        u32 mod[4] = { (u32)mod_gpa[i], (u32)(mod_gpa[i] + vm->modules[i].end - vm->modules[i].start),
                       strings[i], 0 };
        info_put(info, mod, sizeof(mod));
    }
    memcpy(info->data, &mi, sizeof(mi));
}

/* --- the loader ----------------------------------------------------------- */

/* Identity page tables (2 MiB pages) and a GDT for a 64-bit entry, in the
 * LONG_MODE_PAGES pages at at (placed by boot_place()). */
#define LONG_MODE_PAGES     4

bool build_long_mode(struct vm *vm, u64 at, u16 cs, struct guest_boot_state *s)
{
    u64 pml4 = at, pdpt = at + PAGE_SIZE, pd = at + 2 * PAGE_SIZE, gdt = at + 3 * PAGE_SIZE;
    u64 e;

    e = pdpt | (PTE_P | PTE_W);
    guest_copy_to(vm, pml4, &e, 8);
    e = pd | (PTE_P | PTE_W);
    guest_copy_to(vm, pdpt, &e, 8);      /* RAM <= 1 GiB: one page directory */
    for (u64 i = 0; i < ALIGN_UP(vm->mem_size, LARGE_PAGE_SIZE) / LARGE_PAGE_SIZE; i++) {
        e = (i * LARGE_PAGE_SIZE) | (PTE_P | PTE_W) | PTE_PS;
        guest_copy_to(vm, pd + i * 8, &e, 8);
    }
    u64 table[GDT_MAX_ENTRIES] = { 0 };
    u32 code = cs / 8;
    if (code == 0 || code + 1 >= GDT_MAX_ENTRIES)
        return false;
    table[code] = GDT64_CODE;
    table[code + 1] = GDT64_DATA;
    guest_copy_to(vm, gdt, table, (code + 2) * 8);
    s->long_mode = true;
    s->cr3 = pml4;
    s->gdt_base = gdt;
    s->gdt_limit = (u16)((code + 2) * 8 - 1);
    s->cs = cs;
    s->ds = (u16)(cs + 8);
    return true;
}

/* Places the guest's modules, its boot information and (ELF64) its page
 * tables and GDT by the rules of vmx/boot_place.h, copies
 * them into its RAM and sets the entry state that points at them. The
 * boot information's size depends on the memory map, which depends on the
 * placement: its range is sized for the largest map it can hold (every
 * reserved range splitting an available one). NULL, or what is wrong. */
static const char *place_boot_info(struct vm *vm, const struct image_info *img,
                                   struct guest_boot_state *s, u64 *mod_gpa, u64 *info_gpa)
{
    struct boot_placement p;
    const char *err = NULL;

    boot_place_init(&p, vm->mem_size, img);
    memset(mod_gpa, 0, VM_MAX_MODULES * sizeof(*mod_gpa));
    u64 info_pages = alloc_pages(BOOT_INFO_MAX / PAGE_SIZE, PAGE_SIZE);
    if (!info_pages)
        return "out of memory for its boot information";
    struct info_buf info = { phys_to_virt(info_pages), 0, false };
    if (img->kind == IMAGE_MULTIBOOT1)
        build_mb1_info(&info, vm, &p, 0, mod_gpa);
    else
        build_mb2_info(&info, vm, &p, mod_gpa);
    u64 info_size = info.len + 2 * BOOT_RESERVED_MAX * sizeof(struct mb2_mmap_entry);
    if (info.overflow || !(*info_gpa = boot_place(&p, info_size, true))) {
        err = "its boot information does not fit in its RAM";
        goto out;
    }
    if (img->kind == IMAGE_ELF64) {
        u64 at = boot_place(&p, LONG_MODE_PAGES * PAGE_SIZE, true);
        if (!at) {
            err = "no room for its page tables (raise mem=)";
            goto out;
        }
        build_long_mode(vm, at, ELF64_CS, s);
    }
    for (u32 i = 0; i < vm->n_modules; i++) {
        u64 size = vm->modules[i].end - vm->modules[i].start;
        mod_gpa[i] = boot_place(&p, size, false);
        if (!mod_gpa[i] || !guest_copy_to(vm, mod_gpa[i], phys_to_virt(vm->modules[i].start), size)) {
            err = "its modules do not fit in its RAM (raise mem=)";
            goto out;
        }
    }
    info = (struct info_buf){ phys_to_virt(info_pages), 0, false };
    if (img->kind == IMAGE_MULTIBOOT1)
        build_mb1_info(&info, vm, &p, *info_gpa, mod_gpa);
    else
        build_mb2_info(&info, vm, &p, mod_gpa);
    if (info.overflow || info.len > info_size || !guest_copy_to(vm, *info_gpa, info.data, info.len))
        err = "its boot information outgrew its place (turtle bug)";
out:
    free_pages(info_pages, BOOT_INFO_MAX / PAGE_SIZE);
    return err;
}

static const char *load_image(struct vm *vm, const u8 *file, struct image_info *img,
                              struct guest_boot_state *s)
{
    for (u32 i = 0; i < img->n_segments; i++) {
        const struct image_segment *seg = &img->segments[i];
        if (!guest_copy_to(vm, seg->addr, file + seg->file_offset, seg->file_size) ||
            !guest_zero(vm, seg->addr + seg->file_size, seg->mem_size - seg->file_size))
            return "a segment does not fit in the guest's RAM (raise mem=)";
    }
    if (img->entry >= vm->mem_size)
        return "entry point outside the guest's RAM";
    s->rip = img->entry;
    return NULL;
}

static const char *vm_start(struct vm *vm, const struct image_info *img, const struct guest_boot_state *s);

/* Loading creates vCPU 0 only (vm_start). */
#define VM_LOADED_VCPUS     1

/* Pages the VM may take from its pool once it runs. */
static u64 run_time_pages(const struct vm *vm, u64 mem)
{
    return vm->nested ? VM_LOADED_VCPUS * nested_ops->vcpu_run_pages(mem) : 0;
}

/* Everything the VM holds: its RAM, the RAM's bookkeeping and EPT01 at
 * most (a frame list and a page table per 2 MiB chunk if it must be built
 * of 4 KiB frames, the chunk table, the EPT01 levels above), its pool. */
static u64 reservation_pages(const struct vm *vm, u64 mem)
{
    u64 chunks = ALIGN_UP(mem, LARGE_PAGE_SIZE) / LARGE_PAGE_SIZE;

    return mem / PAGE_SIZE + 2 * chunks + ALIGN_UP(chunks * sizeof(u64), PAGE_SIZE) / PAGE_SIZE +
           2 + ALIGN_UP(mem, 1ULL << 30) / (1ULL << 30) + run_time_pages(vm, mem);
}

/* The refusal, with the figure (loading is single-threaded, at boot). */
static const char *no_reservation(u64 pages)
{
    static char why[80];

    ksnprintf(why, sizeof(why), "not enough memory for its reservation of %lu pages", pages);
    return why;
}

static bool map_ram(struct vm *vm)
{
    vm->ept_root = ept_alloc_root(NULL);
    if (!vm->ept_root)
        return false;
    if (!guest_mem_map(vm, vm->ept_root))
        return false;
    vm->eptp = ept_make_eptp(vm->ept_root);
    return true;
}

const char *vm_alloc_memory(struct vm *vm, u64 mem)
{
    if (!vm_devices_init(vm))
        return "its devices could not be placed (turtle bug)";
    /* All or nothing, before the VM runs: a VM that cannot be given what
     * it may need is refused now rather than stopped later, and a running
     * VM allocates only from its own pool. */
    u64 reserve = reservation_pages(vm, mem);
    if (mm_free_pages() < reserve)
        return no_reservation(reserve);
    if (!guest_mem_alloc(vm, mem))
        return "not enough memory for its RAM (lower mem=)";
    if (!map_ram(vm)) {
        vm_free(vm);
        return "out of memory for its EPT";
    }
    if (!vm_pages_reserve(&vm->pages, run_time_pages(vm, vm->mem_size))) {
        vm_free(vm);
        return no_reservation(reserve);
    }
    return NULL;
}

const char *vm_load(struct vm *vm, const struct boot_module *m, const struct module_options *o)
{
    const char *err;

    memcpy(vm->name, o->name, sizeof(vm->name));
    vm->nested = o->nested;
    vm->cmdline = o->guest_cmdline;
    vm->image = (struct vm_module){ m->start, m->end, o->guest_cmdline, false };
    if ((err = vm_alloc_memory(vm, o->mem)))
        return err;
    if ((err = vm_boot(vm))) {
        vm_free(vm);
        return err;
    }
    return NULL;
}

const char *vm_boot(struct vm *vm)
{
    struct image_info img;
    struct guest_boot_state s = { 0 };
    u64 mod_gpa[VM_MAX_MODULES], info_gpa;
    const char *err;

    const u8 *file = phys_to_virt(vm->image.start);
    if ((err = image_probe(file, vm->image.end - vm->image.start, &img)))
        return err;
    if (img.kind == IMAGE_LINUX) {
        if ((err = vm_load_linux(vm, file, &img, &s)))
            return err;
        return vm_start(vm, &img, &s);
    }
    for (u32 i = 0; i < vm->n_modules; i++)
        if (vm->modules[i].initrd)
            return "an initrd module is for a Linux guest; this one is not a bzImage";
    if ((err = load_image(vm, file, &img, &s)))
        return err;
    if ((err = place_boot_info(vm, &img, &s, mod_gpa, &info_gpa)))
        return err;

    switch (img.kind) {
    case IMAGE_MULTIBOOT2:
        s.rax = MB2_BOOTLOADER_MAGIC;
        s.rbx = info_gpa;
        break;
    case IMAGE_MULTIBOOT1:
        s.rax = MB1_BOOTLOADER_MAGIC;
        s.rbx = info_gpa;
        break;
    case IMAGE_LINUX:           /* vm_load_linux() */
        break;
    case IMAGE_ELF64:
        s.rdi = info_gpa;
        s.rsi = MB2_BOOTLOADER_MAGIC;
        break;
    }
    return vm_start(vm, &img, &s);
}

/* The common end of every load: vCPU 0 with its vmcs01 from s, the nested
 * state, the platform. NULL, or what went wrong (the caller frees the VM). */
static const char *vm_start(struct vm *vm, const struct image_info *img, const struct guest_boot_state *s)
{
    const char *err;
    struct vcpu *vcpu = vcpu_create(vm);
    if (!vcpu || !vmcs01_setup(vcpu, s))
        return "could not build its VMCS";
    if (vm->nested && !nested_ops->vcpu_init(vcpu))
        return "out of memory for its nested VMX state";
    if (!apicv_vcpu_init(vcpu))
        return "out of memory for its virtual-APIC page";
    if ((err = platform_init(vm)))
        return err;
    vm->started_tsc = rdtsc();
    kprintf("turtle: guest '%s': %s image, %lu MiB, entry %lx%s%s\n", vm->name,
            image_kind_name(img->kind), vm->mem_size >> 20, s->rip,
            s->long_mode ? " (64-bit)" : " (32-bit, paging off)", vm->nested ? ", nested VMX" : "");
    return NULL;
}
