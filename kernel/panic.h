/*
 * L0 bugs end here: panic() prints the message, the registers and a
 * frame-pointer backtrace, then halts. Never use it for anything a guest
 * controls: that is validated and answered architecturally instead.
 */
#ifndef TURTLE_PANIC_H
#define TURTLE_PANIC_H

#include "kernel/types.h"

__noreturn void panic(const char *fmt, ...) __printf(1, 2);
/* Set by the hypervisor: prints the guest state turtle was working on
 * (kernel/ itself knows nothing of guests). Called once, from panic(). */
extern void (*panic_guest_state_hook)(void);
/* Prints rip (if not 0), then the return addresses of the RBP chain. */
void print_backtrace(u64 rip, u64 rbp);

/* An invariant of turtle itself; stays in release builds. */
#define ASSERT(expr)                                                            \
    do {                                                                        \
        if (!(expr))                                                            \
            panic("assertion failed: %s at %s:%d", #expr, __FILE__, __LINE__);  \
    } while (0)

#endif
