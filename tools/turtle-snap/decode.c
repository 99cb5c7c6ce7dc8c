/*
 * Names for what turtle-snap info prints: the VM-execution, exit and entry
 * control bits (SDM Vol. 3 25.6-25.8, KVM's names) and vmcs12 fields by
 * name and encoding (the table generated from nested/vmcs12-layout.tsv).
 */
#include <string.h>

#include "nested/vmcs12.h"
#include "tools/turtle-snap/snap.h"

static const char *const pin_names[32] = {
    [0] = "ext-intr-exiting", [3] = "nmi-exiting", [5] = "virtual-nmis",
    [6] = "preemption-timer", [7] = "posted-interrupts",
};

static const char *const proc_names[32] = {
    [2] = "intr-window-exiting", [3] = "tsc-offsetting", [7] = "hlt-exiting", [9] = "invlpg-exiting",
    [10] = "mwait-exiting", [11] = "rdpmc-exiting", [12] = "rdtsc-exiting", [15] = "cr3-load-exiting",
    [16] = "cr3-store-exiting", [17] = "tertiary-controls", [19] = "cr8-load-exiting",
    [20] = "cr8-store-exiting", [21] = "tpr-shadow", [22] = "nmi-window-exiting", [23] = "mov-dr-exiting",
    [24] = "unconditional-io-exiting", [25] = "io-bitmaps", [27] = "monitor-trap-flag",
    [28] = "msr-bitmaps", [29] = "monitor-exiting", [30] = "pause-exiting", [31] = "secondary-controls",
};

static const char *const proc2_names[32] = {
    [0] = "virtualize-apic-accesses", [1] = "ept", [2] = "descriptor-table-exiting", [3] = "rdtscp",
    [4] = "virtualize-x2apic-mode", [5] = "vpid", [6] = "wbinvd-exiting", [7] = "unrestricted-guest",
    [8] = "apic-register-virt", [9] = "virtual-intr-delivery", [10] = "pause-loop-exiting",
    [11] = "rdrand-exiting", [12] = "invpcid", [13] = "vmfunc", [14] = "vmcs-shadowing",
    [15] = "encls-exiting", [16] = "rdseed-exiting", [17] = "pml", [18] = "ept-violation-#ve",
    [19] = "pt-conceal-vmx", [20] = "xsaves", [22] = "mode-based-ept-exec", [23] = "spp",
    [24] = "pt-use-gpa", [25] = "tsc-scaling", [26] = "user-wait-pause", [27] = "pconfig",
    [28] = "enclv-exiting", [30] = "bus-lock-detection", [31] = "notify-vm-exiting",
};

static const char *const exit_names[32] = {
    [2] = "save-debug-controls", [9] = "host-address-space-size", [12] = "load-perf-global-ctrl",
    [15] = "ack-intr-on-exit", [18] = "save-pat", [19] = "load-pat", [20] = "save-efer",
    [21] = "load-efer", [22] = "save-preemption-timer", [23] = "clear-bndcfgs", [24] = "pt-conceal-pip",
    [25] = "clear-rtit-ctl", [26] = "clear-lbr-ctl", [27] = "clear-uinv", [28] = "load-cet",
    [29] = "load-pkrs", [30] = "save-perf-global-ctrl", [31] = "secondary-exit-controls",
};

static const char *const entry_names[32] = {
    [2] = "load-debug-controls", [9] = "ia32e-mode-guest", [10] = "entry-to-smm",
    [11] = "deactivate-dual-monitor", [13] = "load-perf-global-ctrl", [14] = "load-pat",
    [15] = "load-efer", [16] = "load-bndcfgs", [17] = "pt-conceal-pip", [18] = "load-rtit-ctl",
    [19] = "load-uinv", [20] = "load-cet", [21] = "load-lbr-ctl", [22] = "load-pkrs", [23] = "load-fred",
};

void decode_bits(FILE *out, const char *label, u64 value, const char *const names[], unsigned n)
{
    fprintf(out, "    %-28s 0x%08llx", label, (unsigned long long)value);
    for (unsigned i = 0; i < n && i < 64; i++) {
        if (!(value >> i & 1))
            continue;
        if (names[i])
            fprintf(out, " %s", names[i]);
        else
            fprintf(out, " bit%u", i);
    }
    fputc('\n', out);
}

void decode_controls(FILE *out, const u8 *p)
{
    const struct vmcs12 *v = (const void *)p;
    fprintf(out, "  controls:\n");
    decode_bits(out, "pin-based", v->pin_based_vm_exec_control, pin_names, 32);
    decode_bits(out, "primary processor-based", v->cpu_based_vm_exec_control, proc_names, 32);
    decode_bits(out, "secondary processor-based", v->secondary_vm_exec_control, proc2_names, 32);
    decode_bits(out, "VM-exit", v->vm_exit_controls, exit_names, 32);
    decode_bits(out, "VM-entry", v->vm_entry_controls, entry_names, 32);
}

/* The member's width: the encoding's bits 14:13 for a field, 4 for the
 * three u32 header members, the 32-byte dead_space otherwise. */
static unsigned member_width(const struct vmcs12_name *n)
{
    if (n->encoding < 0)
        return strcmp(n->name, "dead_space") ? 4 : 0;
    static const unsigned w[4] = { 2, 8, 4, 8 };
    return w[(n->encoding >> 13) & 3];
}

void print_vmcs12(FILE *out, const u8 *p, const char *indent)
{
    for (unsigned i = 0; i < vmcs12_names_n; i++) {
        const struct vmcs12_name *n = &vmcs12_names[i];
        unsigned w = member_width(n);
        u64 v = 0;
        if (!w || n->offset + w > sizeof(struct vmcs12))
            continue;
        memcpy(&v, p + n->offset, w);
        if (n->encoding >= 0)
            fprintf(out, "%s%-36s 0x%04x  0x%0*llx\n", indent, n->name, n->encoding, (int)(2 * w),
                    (unsigned long long)v);
        else
            fprintf(out, "%s%-36s   -     0x%0*llx\n", indent, n->name, (int)(2 * w), (unsigned long long)v);
    }
}
