/* The exit handlers of vmx/exit_*.c, collected by the table in vmx/exit.c. */
#ifndef TURTLE_EXIT_H
#define TURTLE_EXIT_H

#include "vmx/vmx.h"

/*
 * Handler contract: called with the guest's vmcs01 current and its general
 * registers in g->regs; qual is EXIT_QUALIFICATION. A handler either
 * completes the instruction (skip_instruction()), injects an event, sets
 * g->yield to give up the CPU, or stops the guest (guest_stop()). It never
 * trusts a value the guest controls without checking it.
 */
typedef void (*exit_handler_t)(struct guest *g, u64 qual);

void handle_cpuid(struct guest *g, u64 qual);
void handle_rdmsr(struct guest *g, u64 qual);
void handle_wrmsr(struct guest *g, u64 qual);
void handle_io(struct guest *g, u64 qual);
void handle_cr_access(struct guest *g, u64 qual);
void handle_hlt(struct guest *g, u64 qual);
void handle_vmcall(struct guest *g, u64 qual);
void handle_invd(struct guest *g, u64 qual);
void handle_xsetbv(struct guest *g, u64 qual);
void handle_triple_fault(struct guest *g, u64 qual);
void handle_ept_violation(struct guest *g, u64 qual);
void handle_ept_misconfig(struct guest *g, u64 qual);
void handle_preemption_timer(struct guest *g, u64 qual);
void handle_external_interrupt(struct guest *g, u64 qual);
void handle_exception_nmi(struct guest *g, u64 qual);
void handle_inject_ud(struct guest *g, u64 qual);
void handle_inject_gp(struct guest *g, u64 qual);
void handle_task_switch(struct guest *g, u64 qual);
void handle_ignore_signal(struct guest *g, u64 qual);

/* VMX instructions from L1 (VMXON ... INVVPID, VMFUNC): nested/ installs
 * its emulation here when it is built in; otherwise #UD. */
extern exit_handler_t nested_vmx_instruction_hook;


#endif
