/* The exit handlers of vmx/exit_*.c, collected by the table in vmx/exit.c. */
#ifndef TURTLE_EXIT_H
#define TURTLE_EXIT_H

#include "vmx/vmx.h"

/*
 * Handler contract: called with the vCPU's current VMCS loaded (vmcs01, or vmcs02 when nested/ leaves an L2 exit to L0) and its general
 * registers in vcpu->regs; qual is EXIT_QUALIFICATION. A handler either
 * completes the instruction (skip_instruction()), injects an event, sets
 * vcpu->yield to give up the CPU, or stops the VM (vm_stop()). It never
 * trusts a value the guest controls without checking it.
 */
typedef void (*exit_handler_t)(struct vcpu *vcpu, u64 qual);

void handle_cpuid(struct vcpu *vcpu, u64 qual);
void handle_rdmsr(struct vcpu *vcpu, u64 qual);
void handle_wrmsr(struct vcpu *vcpu, u64 qual);
void handle_io(struct vcpu *vcpu, u64 qual);
void handle_cr_access(struct vcpu *vcpu, u64 qual);
void handle_hlt(struct vcpu *vcpu, u64 qual);
void handle_vmcall(struct vcpu *vcpu, u64 qual);
void handle_invd(struct vcpu *vcpu, u64 qual);
void handle_xsetbv(struct vcpu *vcpu, u64 qual);
void handle_triple_fault(struct vcpu *vcpu, u64 qual);
void handle_ept_violation(struct vcpu *vcpu, u64 qual);
void handle_ept_misconfig(struct vcpu *vcpu, u64 qual);
void handle_preemption_timer(struct vcpu *vcpu, u64 qual);
void handle_external_interrupt(struct vcpu *vcpu, u64 qual);
void handle_exception_nmi(struct vcpu *vcpu, u64 qual);
void handle_inject_ud(struct vcpu *vcpu, u64 qual);
void handle_inject_gp(struct vcpu *vcpu, u64 qual);
void handle_task_switch(struct vcpu *vcpu, u64 qual);
void handle_ignore_signal(struct vcpu *vcpu, u64 qual);
/* vmx/exit_apic.c: the exits of APIC virtualization. */
void handle_apic_access(struct vcpu *vcpu, u64 qual);
void handle_apic_write(struct vcpu *vcpu, u64 qual);
void handle_eoi_induced(struct vcpu *vcpu, u64 qual);
void handle_tpr_below_threshold(struct vcpu *vcpu, u64 qual);
/* CPUID leaf.subleaf as vcpu sees it (what handle_cpuid answers). */
void vcpu_cpuid(struct vcpu *vcpu, u32 leaf, u32 subleaf, struct cpuid_regs *r);
/* Leaf 1's bits that follow vcpu's CR4 and APIC base, set in r. */
void cpuid1_live(struct vcpu *vcpu, struct cpuid_regs *r);
/* A recorded CPUID table was installed at vm->cpuid_pa (a restore): it is
 * indexed, and the vCPUs' CPUID caches (vmx/vcpu.h) are dropped. */
void vm_cpuid_installed(struct vm *vm);
/* vmx/exit_mmio.c: an EPT violation on a device's page (gpa). */
void handle_mmio(struct vcpu *vcpu, u64 gpa);

#endif
