/* Detecting turtle, and its VMCALL interface (docs/guests.md). */
#include "lib/guest.h"

#define CPUID_HV_BASE           0x40000000

bool on_turtle(void)
{
    static int cached = -1;             /* -1 not yet asked */

    if (cached < 0) {
        struct cpuid_regs r = cpuid(1);
        cached = 0;
        if (r.ecx & CPUID_1_ECX_HYPERVISOR) {
            r = cpuid(CPUID_HV_BASE);
            u32 sig[3] = { r.ebx, r.ecx, r.edx };
            cached = memcmp(sig, "TurtleTurtle", 12) == 0;
        }
    }
    return cached;
}

long vmcall_regs(struct vmcall_regs *r)
{
    __asm__ __volatile__("vmcall" : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx) :: "memory");
    return r->rax;
}

long vmcall(long nr, long a1, long a2)
{
    struct vmcall_regs r = { nr, a1, a2 };
    return vmcall_regs(&r);
}

void busy_loop(u64 n)
{
    for (volatile u64 i = 0; i < n; i++)
        ;
}
