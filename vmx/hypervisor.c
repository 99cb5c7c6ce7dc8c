/*
 * hypervisor_main: from a booted kernel to running guests. Checks for VT-x,
 * validates every module, and ends every run with the verdict line and a
 * power-off.
 */
#include "kernel/image.h"
#include "kernel/kmain.h"
#include "kernel/mm.h"
#include "kernel/power.h"
#include "kernel/printf.h"
#include "kernel/x86.h"

#define CPUID_1_ECX_VMX             BIT(5)
#define FEATURE_CONTROL_LOCKED      BIT(0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX BIT(2)

/* Module name: the value of name= on the module's command line, else "moduleN". */
static void module_name(const struct boot_module *m, u32 index, char *buf, u32 size)
{
    const char *p = m->cmdline;
    struct cmdline_token t;

    while (cmdline_next(&p, &t, NULL)) {
        if (cmdline_key_is(&t, "name") && t.value && t.value_len) {
            cmdline_value(&t, buf, size);
            return;
        }
    }
    ksnprintf(buf, size, "module%u", index);
}

/* True if VMXON can be used; otherwise fills reason. Enables and locks
 * IA32_FEATURE_CONTROL when the firmware left it unlocked (SDM 24.7). */
static bool vmx_available(char *reason, u32 size)
{
    struct cpuid_regs v = cpuid(0);
    char vendor[13];

    __builtin_memcpy(vendor, &v.ebx, 4);
    __builtin_memcpy(vendor + 4, &v.edx, 4);
    __builtin_memcpy(vendor + 8, &v.ecx, 4);
    vendor[12] = '\0';
    if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
        ksnprintf(reason, size, "CPUID.1:ECX.VMX is clear (CPU vendor %s)", vendor);
        return false;
    }
    u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCKED)) {
        fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    } else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
        ksnprintf(reason, size, "disabled by firmware (IA32_FEATURE_CONTROL=%lx, locked)", fc);
        return false;
    }
    return true;
}

__noreturn void hypervisor_main(const struct boot_info *bi, const struct turtle_options *o,
                                u64 tsc_entry)
{
    u32 guests = 0, bad = 0;
    char name[32], reason[96];

    (void)o;
    (void)tsc_entry;
    for (u32 i = 0; i < bi->n_modules; i++) {
        const struct boot_module *m = &bi->modules[i];
        struct image_info info;
        module_name(m, i, name, sizeof(name));
        const char *err = image_probe(phys_to_virt(m->start), m->end - m->start, &info);
        guests++;
        if (err) {
            kprintf("turtle: error: module '%s': %s\n", name, err);
            bad++;
            continue;
        }
        kprintf("turtle: module '%s': %s image, %lu KiB, entry %lx\n", name,
                image_kind_name(info.kind), (m->end - m->start) >> 10, info.entry);
    }
    if (!vmx_available(reason, sizeof(reason))) {
        kprintf("turtle: error: VT-x not available: %s\n", reason);
        kprintf("turtle: done: %u guests, 0 passed, %u failed\n", guests, guests);
        power_off(true);
    }
    kprintf("turtle: VT-x available\n");
    kprintf("turtle: done: %u guests, 0 passed, %u failed\n", guests, guests);
    power_off(bad != 0 || guests != 0);
}
