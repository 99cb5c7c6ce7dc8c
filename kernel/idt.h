/* Interrupt descriptor table: handlers for the 32 exception vectors. */
#ifndef TURTLE_IDT_H
#define TURTLE_IDT_H

#include "kernel/types.h"

/* Built by boot/isr.asm on the stack; the order is the push order reversed. */
struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code;             /* 0 for vectors without one */
    u64 rip, cs, rflags, rsp, ss;   /* pushed by the CPU */
};

_Static_assert(__builtin_offsetof(struct trap_frame, rax) == 14 * 8, "isr.asm push order");
_Static_assert(__builtin_offsetof(struct trap_frame, rbp) == 8 * 8, "isr.asm push order");
_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 15 * 8, "isr.asm pushes vector last");
_Static_assert(__builtin_offsetof(struct trap_frame, rip) == 17 * 8, "CPU frame follows the error code");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame size");

void idt_init(void);
void exception_dispatch(struct trap_frame *tf);
const char *exception_name(u64 vector);

/* RDMSR / WRMSR of an MSR the CPU may lack, or a value it may refuse: for
 * probing what the CPU has, on the boot CPU. false (and nothing read) if
 * the instruction raised #GP, which exception_dispatch() then swallows. */
bool rdmsr_probe(u32 msr, u64 *v);
bool wrmsr_probe(u32 msr, u64 v);

#endif
