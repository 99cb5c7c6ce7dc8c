/*
 * The L1 loader: turns a multiboot2 module into a ready guest (memory,
 * EPT01, image, boot information, vmcs01). Module options are documented in
 * docs/guests.md.
 */
#ifndef TURTLE_LOADER_H
#define TURTLE_LOADER_H

#include "kernel/multiboot2.h"
#include "vmx/vm.h"

struct module_options {
    char name[VM_NAME_MAX];
    u64 mem;
    bool nested;
    char for_guest[VM_NAME_MAX];     /* "" unless this module belongs to a guest */
    bool initrd;                        /* with for=: the guest's (Linux) initrd */
    const char *guest_cmdline;          /* after "--", or "" */
    bool name_given;                    /* name= was given */
    bool restore;                       /* the module is a snapshot to restore (snapshot/) */
};

/* Parses a module command line. NULL, or a message naming the bad token
 * (written into err). */
const char *module_options_parse(const char *cmdline, u32 index, struct module_options *o,
                                 char *err, u32 err_size);

/* Builds VM vm (its index and modules already set) from the module: RAM,
 * EPT01, image, boot information, vCPU 0 and its vmcs01. NULL, or what is
 * wrong with it; on failure everything allocated for the VM is freed. */
const char *vm_load(struct vm *vm, const struct boot_module *m, const struct module_options *o);

/* Fills the VM's RAM (allocated, mapped, zeroed) from its image module
 * (vm->image) and its other modules, and creates vCPU 0 and the platform:
 * the end of vm_load(), and all of a reset (vmx/vm_reset.c). NULL, or what
 * is wrong; the caller then frees or stops the VM. */
const char *vm_boot(struct vm *vm);
/* The VM's devices on its buses, its reservation, RAM and EPT01 (vm->name
 * and vm->nested set). NULL, or what is wrong; on failure nothing is left
 * allocated. Shared with snapshot restore. */
const char *vm_alloc_memory(struct vm *vm, u64 mem);

/* Shared by the loaders (vmx/loader.c, vmx/loader_linux.c). */
struct guest_boot_state;
struct image_info;
struct mem_region;
#define LOADER_MMAP_ENTRIES 3
/* The guest's memory map (docs/guests.md): fills r, returns the count. */
u32 guest_mmap(const struct vm *vm, struct mem_region *r);
/* Identity page tables (2 MiB pages) over all of the guest's RAM and a GDT
 * with flat 64-bit code at selector cs and flat data at cs + 8, in the
 * four pages at guest-physical `at`; fills s's long-mode fields. False if
 * they do not fit below the end of RAM. */
bool build_long_mode(struct vm *vm, u64 at, u16 cs, struct guest_boot_state *s);
/* vmx/loader_linux.c: a bzImage (probed into img) with its initrd module
 * and command line, ready for its 64-bit entry. NULL or what is wrong. */
const char *vm_load_linux(struct vm *vm, const u8 *file, const struct image_info *img,
                          struct guest_boot_state *s);

#endif
