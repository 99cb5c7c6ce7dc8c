/*
 * The exit fast path (KVM: "fastpath" exits): an L1 exit common enough,
 * and simple enough, to be answered right after the exit, from the exit
 * reason the run loop read, without the dispatch of vmx/exit.c. Today:
 * CPUID of a leaf in the vCPU's CPUID cache (vmx/vcpu.h).
 *
 * It answers exactly what the full path would (handle_cpuid()), and
 * leaves to it anything unusual: L2 running (nested/ decides), a failed
 * entry, a leaf not cached, RFLAGS.TF set (the single-step trap after the
 * instruction). The run loop then enters the guest again the ordinary
 * way: the end of the slice, device deadlines and pending events are
 * looked at before every entry, fast or not (vmx/sched.c).
 */
#ifndef TURTLE_EXIT_FAST_H
#define TURTLE_EXIT_FAST_H

#include "vmx/exit.h"
#include "vmx/vcpu.h"
#include "vmx/vmcs.h"

/* The answer to CPUID leaf from the cache, or NULL. */
static inline const struct cpuid_regs *cpuid_cached(const struct vcpu_cpuid_cache *c, u32 leaf)
{
    if (leaf < CPUID_CACHE_BASIC)
        return (c->basic_ok & BIT(leaf)) ? &c->basic[leaf] : NULL;
    u32 i = leaf - CPUID_CACHE_EXT_BASE;
    if (i < CPUID_CACHE_EXT && (c->ext_ok & BIT(i)))
        return &c->ext[i];
    return NULL;
}

/* True if the exit (full: VM_EXIT_REASON) was handled. */
static inline bool vmx_exit_fastpath(struct vcpu *vcpu, u32 full)
{
    /* full == the basic reason: no failed-entry bit, no other flag. */
    if (full != EXIT_REASON_CPUID || vcpu->guest_mode)
        return false;
    u32 leaf = (u32)vcpu->regs.gpr[REG_RAX];
    const struct cpuid_regs *c = cpuid_cached(&vcpu->cpuid_cache, leaf);
    if (!c || (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_TF))
        return false;
    vcpu->regs.gpr[REG_RAX] = c->eax;
    vcpu->regs.gpr[REG_RBX] = c->ebx;
    vcpu->regs.gpr[REG_RCX] = c->ecx;
    vcpu->regs.gpr[REG_RDX] = c->edx;
    if (__builtin_expect(leaf == 1, 0)) {
        struct cpuid_regs r = *c;
        cpuid1_live(vcpu, &r);
        vcpu->regs.gpr[REG_RCX] = r.ecx;
        vcpu->regs.gpr[REG_RDX] = r.edx;
    }
    /* skip_instruction() without its TF case: CPUID may carry prefixes. */
    vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
    if (__builtin_expect(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS), 0))
        vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
    vcpu->total_exits++;
    vcpu->exits[EXIT_REASON_CPUID]++;
    if (vcpu->apicv.vapic_page)
        vcpu->apicv.stale = true;       /* as vmx_handle_exit(): L1 ran, the page may have changed */
    return true;
}

#endif
