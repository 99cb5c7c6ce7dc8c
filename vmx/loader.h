/*
 * The L1 loader: turns a multiboot2 module into a ready guest (memory,
 * EPT01, image, boot information, vmcs01). Module options are documented in
 * docs/guests.md.
 */
#ifndef TURTLE_LOADER_H
#define TURTLE_LOADER_H

#include "kernel/multiboot2.h"
#include "vmx/guest.h"

struct module_options {
    char name[GUEST_NAME_MAX];
    u64 mem;
    bool nested;
    char for_guest[GUEST_NAME_MAX];     /* "" unless this module belongs to a guest */
    const char *guest_cmdline;          /* after "--", or "" */
};

/* Parses a module command line. NULL, or a message naming the bad token
 * (written into err). */
const char *module_options_parse(const char *cmdline, u32 index, struct module_options *o,
                                 char *err, u32 err_size);

/* Builds guest g from the module. NULL, or what is wrong with it. On
 * failure everything allocated for the guest is freed again. */
const char *guest_load(struct guest *g, const struct boot_module *m,
                       const struct module_options *o);

#endif
