/*
 * The hand-over from the kernel services to the hypervisor. kernel/ calls
 * this one entry of vmx/ and knows nothing else about VMX.
 */
#ifndef TURTLE_KMAIN_H
#define TURTLE_KMAIN_H

#include "kernel/cmdline.h"
#include "kernel/multiboot2.h"

__noreturn void kmain(u64 mbi_phys, u64 cpu_has_nx);

/* vmx/hypervisor.c: runs the guests, prints the verdict, powers off.
 * tsc_entry is the TSC read at kmain's entry (boot benchmark). */
__noreturn void hypervisor_main(const struct boot_info *bi, const struct turtle_options *o,
                                u64 tsc_entry);

#endif
