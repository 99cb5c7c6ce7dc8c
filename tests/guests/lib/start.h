/* Library-internal: what lib/start.c needs from the other lib files. */
#ifndef GUEST_START_H
#define GUEST_START_H

#include "lib/guest.h"

/* Builds the TSS and IDT, loads TR and IDTR (GDTR is already ours). */
void desc_init(void);

/*
 * Registers as lib/isr.asm leaves them for exception_unexpected(): the
 * general registers it pushed, then its vector and error code, then the
 * CPU's interrupt frame.
 */
struct exception_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss;
};
_Static_assert(__builtin_offsetof(struct exception_frame, vector) == 15 * 8, "isr.asm push order");
_Static_assert(sizeof(struct exception_frame) == 22 * 8, "isr.asm frame size");

__noreturn void exception_unexpected(const struct exception_frame *f);
__noreturn void guest_start(u32 magic, u64 info, enum guest_entry entry);

#endif
