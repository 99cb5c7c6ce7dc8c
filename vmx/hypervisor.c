/*
 * hypervisor_main: from a booted kernel to running guests and back to a
 * verdict. Checks for VT-x and the features turtle needs, enters VMX
 * operation, loads one guest per module (a bad module is reported by name
 * and counted as a failed guest; the others run), runs them with the
 * management console taking input (vmx/console_table.c), prints one
 * summary line per guest and the verdict, and powers off, or with
 * console=stay stays at the console.
 */
#include "kernel/console.h"
#include "kernel/image.h"
#include "kernel/kmain.h"
#include "kernel/mm.h"
#include "kernel/power.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "snapshot/snapshot.h"
#include "vmx/caps.h"
#include "vmx/console_cmds.h"
#include "vmx/loader.h"
#include "vmx/spec_caps.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

#define CPUID_1_ECX_VMX             BIT(5)
#define PIC1_DATA                   0x21
#define PIC2_DATA                   0xa1

struct turtle_options turtle_opts;
bool turtle_small_frames;
extern u64 sched_first_entry_tsc;

/* True if VMXON can be used; otherwise fills reason. Enables and locks
 * IA32_FEATURE_CONTROL when the firmware left it unlocked (SDM 24.7). */
static bool vmx_available(char *reason, u32 size)
{
    struct cpuid_regs v = cpuid(0);
    char vendor[13];

    memcpy(vendor, &v.ebx, 4);
    memcpy(vendor + 4, &v.edx, 4);
    memcpy(vendor + 8, &v.ecx, 4);
    vendor[12] = '\0';
    if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
        ksnprintf(reason, size, "CPUID.1:ECX.VMX is clear (CPU vendor %s)", vendor);
        return false;
    }
    u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEAT_CTL_LOCKED)) {
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
    } else if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
        ksnprintf(reason, size, "disabled by firmware (IA32_FEATURE_CONTROL=%lx, locked)", fc);
        return false;
    }
    return true;
}

static const char *const exit_names[EXIT_REASON_MAX + 1] = {
    [EXIT_REASON_EXCEPTION_NMI] = "exception",  [EXIT_REASON_EXTERNAL_INTERRUPT] = "extint",
    [EXIT_REASON_TRIPLE_FAULT] = "triple",      [EXIT_REASON_CPUID] = "cpuid",
    [EXIT_REASON_HLT] = "hlt",                  [EXIT_REASON_INVD] = "invd",
    [EXIT_REASON_VMCALL] = "vmcall",            [EXIT_REASON_CR_ACCESS] = "cr",
    [EXIT_REASON_IO_INSTRUCTION] = "io",        [EXIT_REASON_MSR_READ] = "rdmsr",
    [EXIT_REASON_MSR_WRITE] = "wrmsr",          [EXIT_REASON_EPT_VIOLATION] = "ept",
    [EXIT_REASON_PREEMPTION_TIMER] = "timer",   [EXIT_REASON_XSETBV] = "xsetbv",
    [EXIT_REASON_VMCLEAR] = "vmclear",          [EXIT_REASON_VMLAUNCH] = "vmlaunch",
    [EXIT_REASON_VMPTRLD] = "vmptrld",          [EXIT_REASON_VMPTRST] = "vmptrst",
    [EXIT_REASON_VMREAD] = "vmread",            [EXIT_REASON_VMRESUME] = "vmresume",
    [EXIT_REASON_VMWRITE] = "vmwrite",          [EXIT_REASON_VMOFF] = "vmxoff",
    [EXIT_REASON_VMON] = "vmxon",               [EXIT_REASON_INVEPT] = "invept",
    [EXIT_REASON_INVVPID] = "invvpid",          [EXIT_REASON_EPT_MISCONFIG] = "eptmisc",
    [EXIT_REASON_TPR_BELOW_THRESHOLD] = "tpr",  [EXIT_REASON_APIC_ACCESS] = "apic-access",
    [EXIT_REASON_EOI_INDUCED] = "eoi",          [EXIT_REASON_APIC_WRITE] = "apic-write",
};

/* One line per VM: its verdict and its exits by reason, over its vCPUs
 * (counted while they existed: vm_free() keeps the totals). */
static void print_summary(const struct vm *vm)
{
    char line[384];
    int n = ksnprintf(line, sizeof(line), "turtle: guest '%s': %s, %s; %lu exits (", vm->name,
                      vm->failed ? "FAILED" : "passed", vm->stop_reason, vm->total_exits);
    bool first = true;
    for (u32 r = 0; r <= EXIT_REASON_MAX && n < (int)sizeof(line) - 32; r++) {
        if (!vm->exits[r])
            continue;
        if (exit_names[r])
            n += ksnprintf(line + n, sizeof(line) - n, "%s%s %lu", first ? "" : ", ", exit_names[r], vm->exits[r]);
        else
            n += ksnprintf(line + n, sizeof(line) - n, "%sreason%u %lu", first ? "" : ", ", r, vm->exits[r]);
        first = false;
    }
    kprintf("%s)\n", line);
}

static __noreturn void finish(u32 total, u32 bad_modules)
{
    u32 passed = 0;

    for (u32 i = 0; i < n_vms; i++) {
        print_summary(&vms[i]);
        passed += !vms[i].failed;
    }
    kprintf("turtle: done: %u guests, %u passed, %u failed\n", total, passed, total - passed);
    if (turtle_opts.console_stay && n_vms) {
        /* A person at the machine keeps the console (its commands still
         * answer, about guests that have all ended). */
        kprintf("turtle: console: every guest has ended; staying at the console (console=stay)\n");
        console_prompt_on();
        for (;;) {
            console_poll();
            __asm__ __volatile__("pause");
        }
    }
    power_off(passed != total || bad_modules);
}

/* guests=a,b,c on turtle's command line: each name must be some module's
 * (guest or for=) name. A missing one, typically a file the boot loader
 * could not find, is reported by name. Returns how many are missing. */
static u32 check_listed_guests(const struct boot_info *bi, const char *list)
{
    char name[VM_NAME_MAX], err[96];
    u32 missing = 0;

    while (*list) {
        u32 n = 0;
        while (*list && *list != ',') {
            if (n + 1 < sizeof(name))
                name[n++] = *list;
            list++;
        }
        name[n] = '\0';
        if (*list == ',')
            list++;
        if (!n)
            continue;
        bool found = false;
        for (u32 i = 0; i < bi->n_modules && !found; i++) {
            struct module_options mo;
            found = !module_options_parse(bi->modules[i].cmdline, i, &mo, err, sizeof(err)) &&
                    !strcmp(mo.name, name);
        }
        if (!found) {
            kprintf("turtle: error: module '%s': missing (listed in guests= but not loaded)\n", name);
            missing++;
        }
    }
    return missing;
}

/* Attaches for=NAME modules to their guest (after all guests exist). */
static void attach_modules(const struct boot_info *bi, u32 *bad)
{
    char err[96];

    for (u32 i = 0; i < bi->n_modules; i++) {
        struct module_options o;
        if (module_options_parse(bi->modules[i].cmdline, i, &o, err, sizeof(err)) || !o.for_guest[0])
            continue;
        struct vm *vm = NULL;
        for (u32 k = 0; k < n_vms; k++)
            if (!strcmp(vms[k].name, o.for_guest))
                vm = &vms[k];
        if (!vm) {
            kprintf("turtle: error: module '%s': no guest named '%s'\n", o.name, o.for_guest);
            (*bad)++;
        } else if (vm->n_modules == VM_MAX_MODULES) {
            kprintf("turtle: error: module '%s': guest '%s' has too many modules\n", o.name, vm->name);
            (*bad)++;
        } else {
            vm->modules[vm->n_modules++] = (struct vm_module){
                bi->modules[i].start, bi->modules[i].end, o.guest_cmdline, o.initrd };
        }
    }
}

__noreturn void hypervisor_main(const struct boot_info *bi, const struct turtle_options *o,
                                u64 tsc_entry)
{
    char reason[96], err[96];
    u32 total = 0, bad = 0;
    const char *why;

    turtle_opts = *o;
    turtle_small_frames = o->small_frames;
    if (o->snap_port)
        snapshot_port = o->snap_port;
    /* Every module is checked first, VT-x or not, so a bad one is reported
     * by name on any machine. */
    bool usable[MB2_MAX_MODULES];
    for (u32 i = 0; i < bi->n_modules; i++) {
        struct module_options mo;
        struct image_info img;
        usable[i] = false;
        if ((why = module_options_parse(bi->modules[i].cmdline, i, &mo, err, sizeof(err)))) {
            kprintf("turtle: error: module%u: %s\n", i, why);
            total++;
            bad++;
            continue;
        }
        if (mo.for_guest[0])
            continue;
        total++;
        if (mo.restore) {               /* a snapshot: checked whole when restored */
            usable[i] = true;
            continue;
        }
        if ((why = image_probe(phys_to_virt(bi->modules[i].start),
                               bi->modules[i].end - bi->modules[i].start, &img))) {
            kprintf("turtle: error: module '%s': %s\n", mo.name, why);
            bad++;
            continue;
        }
        usable[i] = true;
    }
    u32 missing = check_listed_guests(bi, o->guests);
    total += missing;
    bad += missing;
    if (!vmx_available(reason, sizeof(reason))) {
        kprintf("turtle: error: VT-x not available: %s\n", reason);
        finish(total, 1);
    }
    if ((why = vmx_caps_read())) {
        kprintf("turtle: error: VT-x not available: this CPU has %s\n", why);
        finish(total, 1);
    }
    vmx_caps_print();
    spec_caps_probe();
    xsave_probe();
    xsave_print();
    if ((why = vmx_on())) {
        kprintf("turtle: error: VT-x not available: %s\n", why);
        finish(total, 1);
    }
    if (!vmcs01_policy_init()) {
        kprintf("turtle: error: VT-x not available: this CPU lacks a control turtle needs\n");
        finish(total, 1);
    }
    if (!apicv_init()) {
        kprintf("turtle: error: out of memory for APIC virtualization\n");
        finish(total, 1);
    }
    nested_init();
    /* No interrupt sources: mask both PICs (the scheduler uses the
     * preemption timer, not interrupts). */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);

    /* One guest per usable module; then the for= modules attach to them. */
    struct { const struct boot_module *m; struct module_options o; } pending[MAX_VMS];
    for (u32 i = 0; i < bi->n_modules; i++) {
        struct module_options mo;
        if (!usable[i])
            continue;
        module_options_parse(bi->modules[i].cmdline, i, &mo, err, sizeof(err));
        if (n_vms == MAX_VMS) {
            kprintf("turtle: error: module '%s': more than %u guests\n", mo.name, MAX_VMS);
            bad++;
            continue;
        }
        bool dup = false;
        for (u32 k = 0; k < n_vms; k++)
            dup |= !strcmp(pending[k].o.name, mo.name);
        if (dup) {
            kprintf("turtle: error: module '%s': a guest of that name already exists\n", mo.name);
            bad++;
            continue;
        }
        pending[n_vms].m = &bi->modules[i];
        pending[n_vms].o = mo;
        memcpy(vms[n_vms].name, mo.name, sizeof(mo.name));
        vms[n_vms].index = n_vms;
        n_vms++;
    }
    attach_modules(bi, &bad);

    /* Load; a guest that fails to load is dropped from the run list. */
    u32 loaded = 0;
    for (u32 i = 0; i < n_vms; i++) {
        struct vm *vm = &vms[loaded];
        if (loaded != i) {
            *vm = vms[i];
            pending[loaded] = pending[i];
        }
        vm->index = loaded;
        const struct module_options *po = &pending[loaded].o;
        why = po->restore ? snapshot_restore_module(vm, pending[loaded].m, po->name_given ? po->name : NULL)
                          : vm_load(vm, pending[loaded].m, po);
        if (why) {
            kprintf("turtle: error: module '%s': %s\n", pending[loaded].o.name, why);
            bad++;
            memset(vm, 0, sizeof(*vm));
            continue;
        }
        loaded++;
    }
    n_vms = loaded;

    console_cmds_start();
    kprintf("turtle: console: press Enter for the prompt; 'help' lists the commands\n");
    if (o->snap_self)
        snapshot_ask_below(o->snap_self);
    sched_run();
    if (sched_first_entry_tsc)
        kprintf("turtle: bench: boot to first L1 entry: %lu cycles (TSC %lu)\n", sched_first_entry_tsc - tsc_entry,
                sched_first_entry_tsc);
    /* Guests the console started since (restore) count as guests too. */
    finish(total + (n_vms - loaded), bad);
}
