#include "kernel/panic.h"
#include "kernel/printf.h"
#include "kernel/x86.h"

#define BACKTRACE_MAX       16
#define KERNEL_TEXT_START   0xffffffff80000000ULL

/* Walks the saved-RBP chain (the kernel is built with frame pointers). Stops
 * at a zero or non-kernel frame, so a corrupt stack ends the trace, not the
 * panic. */
void print_backtrace(u64 rip, u64 rbp)
{
    int i = 0;

    kprintf("backtrace:\n");
    if (rip)
        kprintf("  #%d %lx\n", i++, rip);
    for (; i < BACKTRACE_MAX && rbp >= KERNEL_TEXT_START && IS_ALIGNED(rbp, 8); i++) {
        const u64 *frame = (const u64 *)rbp;
        u64 ret = frame[1];
        if (ret < KERNEL_TEXT_START)
            break;
        kprintf("  #%d %lx\n", i, ret);
        rbp = frame[0];
    }
}

void (*panic_guest_state_hook)(void);

__noreturn void panic(const char *fmt, ...)
{
    static bool in_panic;
    va_list ap;
    u64 rbp;

    cli();
    kprintf("turtle: panic: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    __asm__ __volatile__("mov %%rbp, %0" : "=r"(rbp));
    kprintf("cr0=%lx cr2=%lx cr3=%lx cr4=%lx rflags=%lx rsp=%lx rbp=%lx\n",
            read_cr0(), read_cr2(), read_cr3(), read_cr4(), read_rflags(),
            (u64)__builtin_frame_address(0), rbp);
    print_backtrace(0, rbp);
    if (panic_guest_state_hook && !in_panic) {
        in_panic = true;                /* a fault in the dump must not loop */
        panic_guest_state_hook();
    }
    halt_forever();
}
