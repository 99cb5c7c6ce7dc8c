/*
 * VMX capabilities of this CPU: every capability MSR read once at boot
 * (the TRUE_* variants where IA32_VMX_BASIC[55] says they exist) and kept
 * here. Both vmcs01 setup and the capabilities shown to L1 derive from it.
 */
#ifndef TURTLE_VMX_CAPS_H
#define TURTLE_VMX_CAPS_H

#include "kernel/types.h"

/* A control MSR: allowed-0 settings in bits 31:0 (a 1 means "must be 1"),
 * allowed-1 settings in bits 63:32 (a 0 means "must be 0"). SDM A.3-A.5. */
struct vmx_ctl_caps {
    u32 must_be_1;
    u32 may_be_1;
};

struct vmx_caps {
    u64 basic;
    u32 revision;
    struct vmx_ctl_caps pin, proc, proc2, exit, entry;
    u64 misc;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u64 vmcs_enum;
    u64 ept_vpid;
    u64 vmfunc;
    u32 preemption_timer_rate;  /* timer ticks once every 2^rate TSC cycles */
    bool has_tsc_aux;           /* IA32_TSC_AUX exists (CPUID RDTSCP) */
    bool has_debugctl;          /* IA32_DEBUGCTL exists (Bochs 2.7 has none) */
    u64 debugctl_bits;          /* of LBR and BTF, those this CPU accepts */
    u64 invept_type;            /* single-context if the CPU has it, else all-context */
    u64 invvpid_type;           /* likewise; 0 when INVVPID is missing */
};

extern struct vmx_caps vmx_caps;

/* CR4 value v with this CPU's VMX fixed bits forced (set every fixed-0
 * bit, clear every bit outside fixed-1; SDM 24.8, A.8): the CR4 the CPU
 * runs with in VMX operation for a value a guest chose. */
static inline u64 vmx_fixed_cr0(u64 v)
{
    return (v | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1;
}

static inline u64 vmx_fixed_cr4(u64 v)
{
    return (v | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1;
}

/* vmx_caps.invvpid_type when the CPU has no INVVPID (type 0, the
 * individual-address one, is never what turtle uses). */
#define VMX_INVVPID_NONE        0

/* Reads the MSRs. Returns NULL, or a message naming the first feature
 * turtle needs that the CPU lacks. */
const char *vmx_caps_read(void);
void vmx_caps_print(void);

/* Sets the bits the CPU forces on and checks the required ones are allowed.
 * want = required | optional; optional bits the CPU lacks are dropped.
 * Returns false (and names the missing bits) if a required bit is not allowed. */
bool vmx_adjust_controls(const char *what, const struct vmx_ctl_caps *c,
                         u32 required, u32 optional, u32 *out);

#endif
