/*
 * Probing the speculation-control MSRs (vmx/spec_caps.h). Each is tried
 * with a faulting-safe RDMSR/WRMSR: CPUID's feature bits are not enough
 * under an emulator or another hypervisor, where the bits and the MSRs
 * can disagree (Bochs's tigerlake model shows them in CPUID).
 */
#include "kernel/idt.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "vmx/spec_caps.h"

struct spec_caps spec_caps;

void spec_caps_probe(void)
{
    struct spec_caps *c = &spec_caps;
    u64 v = 0;

    /* IA32_SPEC_CTRL is 0 after reset and turtle never sets it: each bit
     * is written alone and read back, then 0 restored. */
    if (rdmsr_probe(MSR_IA32_SPEC_CTRL, &v)) {
        for (u64 bit = SPEC_CTRL_IBRS; bit <= SPEC_CTRL_SSBD; bit <<= 1) {
            u64 back = 0;
            if (wrmsr_probe(MSR_IA32_SPEC_CTRL, bit) && rdmsr_probe(MSR_IA32_SPEC_CTRL, &back) && (back & bit))
                c->spec_ctrl_bits |= bit;
        }
        wrmsr_probe(MSR_IA32_SPEC_CTRL, v);
    }
    c->has_pred_cmd = wrmsr_probe(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
    c->has_flush_cmd = wrmsr_probe(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
    c->has_arch_cap = rdmsr_probe(MSR_IA32_ARCH_CAPABILITIES, &c->arch_cap);
    /* The signature protocol: write 0, execute CPUID.1, read. */
    if (wrmsr_probe(MSR_IA32_BIOS_SIGN_ID, 0)) {
        (void)cpuid(1);
        if (!rdmsr_probe(MSR_IA32_BIOS_SIGN_ID, &c->bios_sign_id))
            c->bios_sign_id = 0;
    }
    kprintf("turtle: cpu: SPEC_CTRL %s (bits %lx), PRED_CMD %s, FLUSH_CMD %s, ARCH_CAPABILITIES %s (%lx), "
            "microcode %x\n",
            c->spec_ctrl_bits ? "yes" : "no", c->spec_ctrl_bits, c->has_pred_cmd ? "yes" : "no",
            c->has_flush_cmd ? "yes" : "no", c->has_arch_cap ? "yes" : "no", c->arch_cap,
            (u32)(c->bios_sign_id >> 32));
}
