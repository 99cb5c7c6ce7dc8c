/*
 * kmain: the first C code. Brings up the kernel services in dependency
 * order (console, descriptor tables, boot information, memory), then hands
 * over to the hypervisor (vmx/), which never returns.
 */
#include "kernel/cmdline.h"
#include "kernel/idt.h"
#include "kernel/kmain.h"
#include "kernel/mm.h"
#include "kernel/multiboot2.h"
#include "kernel/paging.h"
#include "kernel/percpu.h"
#include "kernel/panic.h"
#include "kernel/power.h"
#include "kernel/printf.h"
#include "kernel/serial.h"
#include "kernel/tsc.h"
#include "kernel/version.h"
#include "kernel/x86.h"

static struct boot_info boot_info;
static struct turtle_options options;

static void cmdline_error(const char *msg)
{
    kprintf("turtle: error: command line: %s\n", msg);
}

/* fault=...: raise an exception on purpose so tests can check the dump. */
static void raise_test_fault(enum turtle_fault f)
{
    volatile u64 zero = 0;

    kprintf("turtle: raising test fault %d\n", (int)f);
    switch (f) {
    case FAULT_UD: __asm__ __volatile__("ud2"); break;
    case FAULT_PF: (void)*(volatile u64 *)0xffff800000001000ULL; break;  /* unmapped */
    case FAULT_GP: (void)*(volatile u64 *)0x8000000000000000ULL; break;  /* non-canonical */
    case FAULT_DE: __asm__ __volatile__("divq %1" :: "a"(1ULL), "r"(zero), "d"(0ULL)); break;
    case FAULT_BP: __asm__ __volatile__("int3"); break;
    case FAULT_NONE: break;
    }
}

__noreturn void kmain(u64 mbi_phys, u64 cpu_has_nx)
{
    u64 tsc_entry = rdtsc();

    serial_init();
    kprintf("turtle " TURTLE_VERSION "\n");
    percpu_init_boot();
    idt_init();

    const char *err = NULL;
    if (mbi_phys >= DIRECT_MAP_LIMIT - PAGE_SIZE || !IS_ALIGNED(mbi_phys, 8))
        err = "boot information outside the mapped range or unaligned";
    else
        err = mb2_parse(phys_to_virt(mbi_phys), MB2_MAX_INFO_SIZE, &boot_info);
    if (err) {
        kprintf("turtle: error: boot information: %s\n", err);
        kprintf("turtle: done: 0 guests, 0 passed, 0 failed\n");
        power_off(true);
    }
    kprintf("turtle: boot loader '%s', command line '%s', %u modules%s\n",
            boot_info.loader_name, boot_info.cmdline, boot_info.n_modules,
            cpu_has_nx ? "" : ", no NX");
    turtle_options_parse(boot_info.cmdline, &options, cmdline_error);

    mm_init(&boot_info, mbi_phys);
    paging_init(cpu_has_nx);
    kprintf("turtle: allocator self-check: %s\n", mm_self_check() ? "ok" : "FAILED");
    kprintf("turtle: paging self-check: %s\n", paging_self_check() ? "ok" : "FAILED");
    power_init(boot_info.rsdp_offset ? mbi_phys + boot_info.rsdp_offset : 0, boot_info.rsdp_size);

    if (options.fault != FAULT_NONE)
        raise_test_fault(options.fault);

    tsc_calibrate();
    hypervisor_main(&boot_info, &options, tsc_entry);
}
