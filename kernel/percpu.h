/*
 * Per-CPU data: what belongs to one physical CPU. Each CPU's GS base
 * points at its struct percpu (gs:0 holds the pointer itself), so
 * this_cpu() is one load. Only the boot CPU runs today; nothing outside
 * this file assumes so. The hypervisor's own per-CPU state (VMXON region,
 * current VMCS, running vCPU) lives in vmx/ (vmx/vmx.h, struct vmx_cpu),
 * indexed by percpu.id, so kernel/ stays free of VMX.
 */
#ifndef TURTLE_PERCPU_H
#define TURTLE_PERCPU_H

#include "kernel/gdt.h"
#include "kernel/types.h"

#define MAX_CPUS            8
#define IST_STACK_SIZE      8192

struct percpu {
    struct percpu *self;        /* gs:0 */
    u32 id;                     /* 0 = the boot CPU */
    void *hv;                   /* the hypervisor's state of this CPU (struct vmx_cpu) */
    u64 gdt[5] __aligned(16);   /* null, code, data, 16-byte TSS descriptor */
    struct tss64 tss __aligned(16);
    u8 ist1_stack[IST_STACK_SIZE] __aligned(16);  /* #DF and NMI */
};
_Static_assert(__builtin_offsetof(struct percpu, self) == 0, "this_cpu() reads gs:0");
_Static_assert(__builtin_offsetof(struct percpu, hv) == 16, "this_cpu_hv() reads gs:16");

extern struct percpu percpus[MAX_CPUS];

/* The boot CPU: its struct percpu, GS base, GDT and TSS. */
void percpu_init_boot(void);

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ __volatile__("movq %%gs:0, %0" : "=r"(p));
    return p;
}

/* This CPU's hypervisor state, in one GS-relative load (hot path). */
static inline void *this_cpu_hv(void)
{
    void *p;
    __asm__ __volatile__("movq %%gs:16, %0" : "=r"(p));
    return p;
}

#endif
