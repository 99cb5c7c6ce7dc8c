/*
 * Phase counters for the exit paths, for make bench's breakdown of one
 * nested round trip (docs/benchmarks.md). Only in the profile build
 * (-DTURTLE_PROFILE, build/profile/turtle.elf); in the release build every
 * mark compiles to nothing.
 *
 * PROF_MARK(p) charges the TSC ticks since the previous mark to phase p,
 * so the phases partition the time: what runs between two marks belongs to
 * the second. In Bochs a tick is one emulated instruction. One set of
 * counters for the whole machine: meant for one vCPU running a benchmark.
 * VMCALL 4 (exit count) prints the counters since its previous call.
 */
#ifndef TURTLE_PROF_H
#define TURTLE_PROF_H

#include "kernel/types.h"

enum prof_phase {
    PROF_GUEST,             /* in the guest, the CPU's exit/entry and vmentry.asm */
    PROF_EXIT_DECIDE,       /* L0: exit dispatch, "does L1 want this L2 exit?" */
    PROF_EXIT_SYNC,         /* L0: vmcs02 -> vmcs12 (guest state, exit information) */
    PROF_EXIT_HOST,         /* L0: vmcs12's host state into vmcs01 */
    PROF_EXIT_SHADOW,       /* L0: vmcs12 -> L1's shadow VMCS */
    PROF_ENTRY_DECODE,      /* L0: L1's VMRESUME exit to nested_vmx_run() */
    PROF_ENTRY_COPY,        /* L0: L1's shadow VMCS -> vmcs12, dirty tracking */
    PROF_ENTRY_CHECKS,      /* L0: the VM-entry checks */
    PROF_ENTRY_VMCS02,      /* L0: vmcs12 -> vmcs02, MSR-load list, VPID, timer */
    PROF_LOOP,              /* L0: run loop: events, timer, to vmx_enter() */
    PROF_L1_HANDLER,        /* L0: an exit of L1's own (not nested) */
    PROF_PHASES
};

#ifdef TURTLE_PROFILE
void prof_mark(enum prof_phase p);
void prof_print(u64 exits);
#define PROF_MARK(p)        prof_mark(p)
#else
#define PROF_MARK(p)        ((void)0)
static inline void prof_print(u64 exits) { (void)exits; }
#endif

#endif
