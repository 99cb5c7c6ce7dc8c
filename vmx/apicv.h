/*
 * APIC virtualization for L1 guests (SDM Vol. 3C chapter 30), used where
 * the CPU has it and the command line does not say `apicv=off`:
 * - TPR shadow: CR8 reads and writes without exits; without virtual-
 *   interrupt delivery a TPR-below-threshold exit re-evaluates what TPR
 *   held back.
 * - Virtualize APIC accesses + APIC-register virtualization: the xAPIC
 *   page at its default base (0xfee00000) is the APIC-access page in
 *   EPT01; the CPU serves register reads from the vCPU's virtual-APIC
 *   page, writes that need the model arrive as APIC-write exits, the rest
 *   (timer current count, PPR, APR, odd sizes) as APIC-access exits that
 *   the MMIO emulator completes.
 * - Virtual-interrupt delivery: the local APIC's interrupts are posted as
 *   RVI and delivered by the CPU when the guest can take them (no window
 *   exits); EOIs of edge vectors cost no exit, level vectors (TMR) are in
 *   the EOI-exit bitmap and arrive as virtual-EOI exits.
 * - Virtualize x2APIC mode: in x2APIC mode, RDMSR of the registers the
 *   page holds and WRMSR of TPR, EOI and SELF IPI pass the MSR bitmap.
 *
 * The LAPIC model (vmx/dev/lapic.c) stays the source of truth: the page
 * is its image, stored before an entry into vmcs01 when the model changed
 * (apicv_push) and read back for what the CPU writes there (apicv_pull)
 * before anything reads the model after an exit from vmcs01. An exit
 * whose handler never looks at the model (CPUID, the VMX instructions
 * that do not enter L2: vmx/exit.c) leaves the page unread (`stale`); the
 * run loop pulls before the model's timers, before an event injection,
 * before a store, and when the slice ends (apicv_sync). vmcs02 never has
 * turtle's pages but one: nested/ builds it from vmx_policy, which holds
 * none of these controls, and from L1's own APIC virtualization for L2
 * (nested/apicv12.c); for an L2 on EPT01 whose L1 runs no APIC
 * virtualization for it, vmcs02 virtualizes APIC accesses on this
 * APIC-access page, so that every access of L2 there exits
 * (nested/vmcs02.c).
 */
#ifndef TURTLE_APICV_H
#define TURTLE_APICV_H

#include "kernel/types.h"

struct vcpu;

/* A vCPU's APIC virtualization (in struct vcpu). */
struct vcpu_apicv {
    u64 vapic_page;             /* host-physical virtual-APIC page; 0: APICv off */
    u32 *vapic;                 /* the same page, mapped (1024 dwords) */
    u64 access_page;            /* host-physical APIC-access page (never read or written) */
    bool access_mapped;         /* EPT01 maps it at APIC_DEFAULT_PHYS_BASE */
    bool vid;                   /* vmcs01 has virtual-interrupt delivery now (the CPU has
                                 * it and the APIC is software-enabled) */
    bool dirty;                 /* the model changed: store it before the next vmcs01 entry
                                 * (never set while vapic_page is 0) */
    bool stale;                 /* the page may hold what the CPU wrote since the last
                                 * apicv_pull(): pull before the model is read (apicv_sync) */
    u16 status;                 /* guest interrupt status at the last entry (RVI, SVI) */
    u64 apic_base;              /* IA32_APIC_BASE the controls were chosen for */
    u64 eoi_exit[4];            /* the EOI-exit bitmap in vmcs01 */
};

/* Once, after vmcs01_policy_init(): chooses the controls from the CPU's
 * capabilities and turtle_opts.apicv_off, and prints them. */
bool apicv_init(void);
/* A new vCPU with its vmcs01 current: its pages, controls and EPT01
 * mapping. False when out of memory. apicv_vcpu_free undoes it. */
bool apicv_vcpu_init(struct vcpu *vcpu);
void apicv_vcpu_free(struct vcpu *vcpu);

/* After an exit from vmcs01 / before an entry into it (vmcs01 current).
 * apicv_pull also clears `stale`. */
void apicv_pull(struct vcpu *vcpu);
void apicv_push(struct vcpu *vcpu);
/* Virtual-interrupt delivery runs this vCPU's local APIC interrupts while
 * it is on vmcs01: turtle injects only the PIC's. */
bool apicv_vid(const struct vcpu *vcpu);

#endif
