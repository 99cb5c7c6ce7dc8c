/*
 * The one seam between vmx/ and nested/. vmx/ knows nothing of vmcs12: it
 * calls nested/ only through these operations, installed once by
 * nested_init(), and only for vCPUs of a `nested` VM (vcpu->nvmx set).
 * While L2 runs (vcpu->guest_mode), every exit goes to l2_exit first:
 * nested/ decides whether L0 must handle it, L1 wants it (reflected), or
 * it is consumed; only in the first case does vmx/'s one exit table run.
 */
#ifndef TURTLE_NESTED_OPS_H
#define TURTLE_NESTED_OPS_H

#include "kernel/types.h"

struct vcpu;

enum nested_exit_result {
    NESTED_EXIT_L0,             /* not L1's: vmx/'s exit table handles it, in L2's context */
    NESTED_EXIT_DONE,           /* reflected to L1, or fully handled by nested/ */
};

struct nested_ops {
    /* Nested state of a vCPU of a `nested` VM (its vmcs01 is built).
     * False when out of memory. vcpu_free undoes it, and leaves the vCPU
     * on its vmcs01. */
    bool (*vcpu_init)(struct vcpu *vcpu);
    void (*vcpu_free)(struct vcpu *vcpu);
    /* The most pages one vCPU of a VM with mem_size bytes of RAM may take
     * from the VM's pool (vm->pages) while it runs: reserved at load. */
    u64 (*vcpu_run_pages)(u64 mem_size);
    /* A VMX instruction exit from L1 (VMXON ... INVVPID, VMFUNC). */
    void (*vmx_instruction)(struct vcpu *vcpu, u64 qual);
    /* RDMSR of a VMX capability MSR: true with its value shown to L1. */
    bool (*msr_read)(struct vcpu *vcpu, u32 msr, u64 *value);
    /* L1 executed VMXON (and no VMXOFF since). */
    bool (*in_vmx_operation)(struct vcpu *vcpu);
    /* An exit while L2 runs (vmcs02 current); the reason is the full
     * exit-reason field. */
    enum nested_exit_result (*l2_exit)(struct vcpu *vcpu, u32 reason, u64 qual);
    /* VMLAUNCH/VMRESUME of vmcs02 failed (VMfailValid when valid, with
     * the VM-instruction error): nested/ answers L1 and returns true, or
     * false when the L1 must stop. */
    bool (*l2_entry_vmfail)(struct vcpu *vcpu, bool valid, u64 error);
    /* Before an entry to L2: events queued for the vCPU that L1
     * intercepts (exception bitmap, external-interrupt and NMI exiting)
     * become VM exits to L1. */
    void (*check_events)(struct vcpu *vcpu);
    /* Just before each entry to L2, the VMCS complete: turtle's timer
     * budget in ticks, clamped to L1's own preemption timer for L2. */
    u64 (*timer_clamp)(struct vcpu *vcpu, u64 ticks);
    /* While L2 runs: the CR0/CR4 value the CPU must hold for guest value v
     * (the bits L1 owns keep vmcs12's value). */
    u64 (*cr_real)(struct vcpu *vcpu, u32 cr, u64 v);
    /* The L1-physical address of a guest-physical address of the current
     * context (L2's go through EPT12). False: not mapped. */
    bool (*gpa_to_l1)(struct vcpu *vcpu, u64 gpa, u64 *l1_gpa);
};

/* Set once by nested_init() (nested/nested.c), before any VM exists. */
extern const struct nested_ops *nested_ops;
void nested_init(void);

#endif
