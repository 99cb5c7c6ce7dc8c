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
    const char *guest_cmdline;          /* after "--", or "" */
};

/* Parses a module command line. NULL, or a message naming the bad token
 * (written into err). */
const char *module_options_parse(const char *cmdline, u32 index, struct module_options *o,
                                 char *err, u32 err_size);

/* Builds VM vm (its index and modules already set) from the module: RAM,
 * EPT01, image, boot information, vCPU 0 and its vmcs01. NULL, or what is
 * wrong with it; on failure everything allocated for the VM is freed. */
const char *vm_load(struct vm *vm, const struct boot_module *m, const struct module_options *o);

#endif
