#include "kernel/percpu.h"
#include "kernel/x86.h"

struct percpu percpus[MAX_CPUS];

void percpu_init_boot(void)
{
    struct percpu *cpu = &percpus[0];

    cpu->self = cpu;
    cpu->id = 0;
    gdt_init(cpu);              /* reloads the segments: GS base afterwards */
    wrmsr(MSR_GS_BASE, (u64)cpu);
}
