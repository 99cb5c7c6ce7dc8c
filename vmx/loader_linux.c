/*
 * Loading a Linux bzImage as an L1, as Linux's boot protocol
 * (Documentation/arch/x86/boot.rst) asks of a boot loader that enters the
 * kernel at its 64-bit entry:
 *   - the protected-mode kernel at its preferred address, or at an address
 *     aligned to kernel_alignment, with init_size bytes free from there;
 *   - boot_params (the "zero page"): the file's setup header, the loader
 *     type, the command line, the e820 map, the RSDP, the initrd;
 *   - the initrd (the guest's module marked `initrd`) high in RAM, below
 *     initrd_addr_max and above the kernel's init_size;
 *   - long mode with identity page tables over all of RAM, a GDT with flat
 *     code at 0x10 and data at 0x18, RIP = load address + 0x200,
 *     RSI = boot_params, interrupts off.
 * kernel/image.c checked every header field this file uses.
 */
#include "kernel/image.h"
#include "kernel/mm.h"
#include "kernel/multiboot2.h"
#include "kernel/paging.h"
#include "kernel/printf.h"
#include "vmx/loader.h"
#include "vmx/platform.h"
#include "vmx/vmx.h"

/* Low RAM that turtle fills for the boot (below LOW_RAM_END in the map):
 * page tables and GDT (4 pages), boot_params, the command line. */
#define LINUX_TABLES_GPA        0x10000ULL
#define LINUX_BOOT_PARAMS_GPA   0x14000ULL
#define LINUX_CMDLINE_GPA       0x15000ULL
#define LINUX_CMDLINE_MAX       (PAGE_SIZE - 1)
#define LINUX_CS                0x10        /* boot.rst: __BOOT_CS; __BOOT_DS = 0x18 */

/* boot_params offsets (boot.rst, "zero page"; Linux's bootparam.h layout). */
#define BP_ACPI_RSDP_ADDR       0x070       /* u64 */
#define BP_EXT_RAMDISK_IMAGE    0x0c0       /* u32: bits 63:32 */
#define BP_EXT_RAMDISK_SIZE     0x0c4
#define BP_EXT_CMD_LINE_PTR     0x0c8
#define BP_E820_ENTRIES         0x1e8       /* u8 */
#define BP_HEADER               0x1f1       /* the setup header starts here */
#define BP_VID_MODE             0x1fa       /* u16: 0xffff = "normal" */
#define BP_TYPE_OF_LOADER       0x210       /* u8: 0xff = undefined loader */
#define BP_CODE32_START         0x214       /* u32 */
#define BP_RAMDISK_IMAGE        0x218       /* u32 */
#define BP_RAMDISK_SIZE         0x21c       /* u32 */
#define BP_CMD_LINE_PTR         0x228       /* u32 */
#define BP_E820_TABLE           0x2d0       /* 20-byte entries */
#define BP_E820_MAX             128
#define LOADER_TYPE_UNDEFINED   0xff
#define VID_MODE_NORMAL         0xffff

struct e820_entry {
    u64 addr, size;
    u32 type;                   /* 1 RAM, 2 reserved: the multiboot2 numbers */
} __packed;
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry");
_Static_assert(BP_E820_TABLE + BP_E820_MAX * sizeof(struct e820_entry) <= PAGE_SIZE, "zero page");
_Static_assert(LINUX_HEADER_MAX_END <= BP_E820_TABLE, "setup header inside boot_params");

static void put_u8(u8 *bp, u32 off, u8 v) { bp[off] = v; }
static void put_u16(u8 *bp, u32 off, u16 v) { memcpy(bp + off, &v, 2); }
static void put_u32(u8 *bp, u32 off, u32 v) { memcpy(bp + off, &v, 4); }
static void put_u64(u8 *bp, u32 off, u64 v) { memcpy(bp + off, &v, 8); }

/* The guest's initrd module: NULL (out) when it has none; an error when a
 * module is not an initrd or there are several. */
static const char *find_initrd(const struct vm *vm, const struct vm_module **out)
{
    *out = NULL;
    for (u32 i = 0; i < vm->n_modules; i++) {
        if (!vm->modules[i].initrd)
            return "a Linux guest takes only its initrd as a module (mark it 'initrd')";
        if (*out)
            return "more than one initrd module";
        *out = &vm->modules[i];
    }
    return NULL;
}

/* boot_params in bp (one zeroed page): the file's setup header and what a
 * boot loader fills in. */
static void build_boot_params(u8 *bp, const struct vm *vm, const u8 *file, const struct image_linux *l,
                              u64 load, u64 initrd, u64 initrd_size)
{
    struct mem_region r[LOADER_MMAP_ENTRIES];
    u32 n = guest_mmap(vm, r);

    /* From 0x1f1, not 0x1ef: boot_params' sentinel byte must read 0. */
    memcpy(bp + BP_HEADER, file + BP_HEADER, l->header_end - BP_HEADER);
    put_u16(bp, BP_VID_MODE, VID_MODE_NORMAL);
    put_u8(bp, BP_TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
    put_u32(bp, BP_CODE32_START, (u32)load);
    put_u32(bp, BP_CMD_LINE_PTR, (u32)LINUX_CMDLINE_GPA);
    put_u32(bp, BP_EXT_CMD_LINE_PTR, 0);
    put_u32(bp, BP_RAMDISK_IMAGE, (u32)initrd);
    put_u32(bp, BP_RAMDISK_SIZE, (u32)initrd_size);
    put_u32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(initrd >> 32));
    put_u32(bp, BP_EXT_RAMDISK_SIZE, (u32)(initrd_size >> 32));
    put_u64(bp, BP_ACPI_RSDP_ADDR, PLATFORM_RSDP_GPA);
    for (u32 i = 0; i < n; i++) {
        struct e820_entry e = { r[i].base, r[i].length, r[i].type };
        memcpy(bp + BP_E820_TABLE + i * sizeof(e), &e, sizeof(e));
    }
    put_u8(bp, BP_E820_ENTRIES, (u8)n);
}

const char *vm_load_linux(struct vm *vm, const u8 *file, const struct image_info *img,
                          struct guest_boot_state *s)
{
    const struct image_linux *l = &img->linux;
    const struct vm_module *rd;
    u64 load, initrd = 0, initrd_size = 0;
    const char *err;

    if ((err = image_linux_place(l, vm->mem_size, &load)))
        return err;
    if ((err = find_initrd(vm, &rd)))
        return err;
    if (rd) {
        initrd_size = rd->end - rd->start;
        if ((err = image_linux_initrd(l, vm->mem_size, load + l->init_size, initrd_size, &initrd)))
            return err;
    }
    u64 cmdline_len = strlen(vm->cmdline);
    if (cmdline_len > l->cmdline_size || cmdline_len > LINUX_CMDLINE_MAX)
        return "command line longer than the kernel accepts (cmdline_size)";

    /* Everything fits: copy. RAM comes zeroed, so the rest of init_size
     * (the kernel's decompression space and BSS) already is. */
    if (!guest_copy_to(vm, load, file + l->kernel_offset, l->kernel_size) ||
        (rd && !guest_copy_to(vm, initrd, phys_to_virt(rd->start), initrd_size)) ||
        !guest_copy_to(vm, LINUX_CMDLINE_GPA, vm->cmdline, cmdline_len + 1))
        return "its kernel does not fit in its RAM (turtle bug: placement was checked)";
    u64 page = alloc_page();
    if (!page)
        return "out of memory for its boot_params";
    build_boot_params(phys_to_virt(page), vm, file, l, load, initrd, initrd_size);
    bool ok = guest_copy_to(vm, LINUX_BOOT_PARAMS_GPA, phys_to_virt(page), PAGE_SIZE);
    free_pages(page, 1);
    if (!ok || !build_long_mode(vm, LINUX_TABLES_GPA, LINUX_CS, s))
        return "no room for its boot_params and page tables (raise mem=)";
    s->rip = load + LINUX_ENTRY64_OFFSET;
    s->rsi = LINUX_BOOT_PARAMS_GPA;
    kprintf("turtle: guest '%s': Linux boot protocol %u.%u, kernel at %lx (init_size %lu KiB), "
            "initrd %lu KiB at %lx\n", vm->name, l->version >> 8, l->version & 0xff, load,
            (u64)l->init_size >> 10, initrd_size >> 10, initrd);
    return NULL;
}
