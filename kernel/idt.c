/*
 * The IDT: 32 exception gates. turtle takes no exception of its own by
 * design, so every one is an L0 bug (or a deliberate test fault): dump the
 * context and halt. The one exception is the boot-time MSR probe below,
 * whose #GP is the answer it asks for.
 */
#include "kernel/idt.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "kernel/x86.h"

#define IDT_ENTRIES         256
#define IDT_EXCEPTIONS      32
#define GATE_INTERRUPT      0x8e        /* present, DPL 0, 64-bit interrupt gate */
#define KERNEL_CS           0x08
#define IST_DOUBLE_FAULT    1           /* kernel/gdt.c: TSS IST1 */

struct idt_gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_high;
    u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes (SDM 6.14.1)");

struct idt_ptr {
    u16 limit;
    u64 base;
} __packed;

static struct idt_gate idt[IDT_ENTRIES] __aligned(16);
extern const u64 isr_stub_table[IDT_EXCEPTIONS];

static const char *const names[IDT_EXCEPTIONS] = {
    [0] = "#DE divide error",       [1] = "#DB debug",
    [2] = "NMI",                    [3] = "#BP breakpoint",
    [4] = "#OF overflow",           [5] = "#BR bound range",
    [6] = "#UD invalid opcode",     [7] = "#NM device not available",
    [8] = "#DF double fault",       [10] = "#TS invalid TSS",
    [11] = "#NP segment not present", [12] = "#SS stack fault",
    [13] = "#GP general protection", [14] = "#PF page fault",
    [16] = "#MF x87 error",         [17] = "#AC alignment check",
    [18] = "#MC machine check",     [19] = "#XM SIMD exception",
    [20] = "#VE virtualization",    [21] = "#CP control protection",
};

const char *exception_name(u64 vector)
{
    if (vector < IDT_EXCEPTIONS && names[vector])
        return names[vector];
    return "reserved";
}

void idt_init(void)
{
    for (int v = 0; v < IDT_EXCEPTIONS; v++) {
        u64 a = isr_stub_table[v];
        idt[v] = (struct idt_gate){
            .offset_low = (u16)a,
            .selector = KERNEL_CS,
            .ist = (v == VECTOR_DF || v == VECTOR_NMI) ? IST_DOUBLE_FAULT : 0,
            .type_attr = GATE_INTERRUPT,
            .offset_mid = (u16)(a >> 16),
            .offset_high = (u32)(a >> 32),
        };
    }
    struct idt_ptr p = { sizeof(idt) - 1, (u64)idt };
    __asm__ __volatile__("lidt %0" :: "m"(p));
}

/* The MSR probe in flight: a #GP at `rip` resumes at `resume` (the
 * instruction after it) with `faulted` set. Boot CPU only, interrupts off. */
static struct {
    u64 rip, resume;
    volatile bool faulted;
} probe;

/* One RDMSR (write false) or WRMSR at a recorded address. */
static bool msr_probe(u32 msr, u64 *v, bool write)
{
    u32 lo = (u32)*v, hi = (u32)(*v >> 32);

    probe.faulted = false;
    if (write)
        __asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
                             "movq %%r8, %[rip]\n\t"
                             "leaq 2f(%%rip), %%r8\n\t"
                             "movq %%r8, %[resume]\n\t"
                             "1: wrmsr\n\t"
                             "2:"
                             : [rip] "=m"(probe.rip), [resume] "=m"(probe.resume)
                             : "c"(msr), "a"(lo), "d"(hi) : "r8", "memory");
    else
        __asm__ __volatile__("leaq 1f(%%rip), %%r8\n\t"
                             "movq %%r8, %[rip]\n\t"
                             "leaq 2f(%%rip), %%r8\n\t"
                             "movq %%r8, %[resume]\n\t"
                             "1: rdmsr\n\t"
                             "2:"
                             : [rip] "=m"(probe.rip), [resume] "=m"(probe.resume), "+a"(lo), "+d"(hi)
                             : "c"(msr) : "r8", "memory");
    probe.rip = 0;
    if (probe.faulted)
        return false;
    *v = ((u64)hi << 32) | lo;
    return true;
}

bool rdmsr_probe(u32 msr, u64 *v)
{
    u64 x = 0;

    if (!msr_probe(msr, &x, false))
        return false;
    *v = x;
    return true;
}

bool wrmsr_probe(u32 msr, u64 v)
{
    return msr_probe(msr, &v, true);
}

void exception_dispatch(struct trap_frame *tf)
{
    if (tf->vector == VECTOR_GP && probe.rip && tf->rip == probe.rip) {
        probe.faulted = true;
        tf->rip = probe.resume;
        return;
    }
    kprintf("turtle: exception: vector %lu (%s) error %lx at rip %lx\n",
            tf->vector, exception_name(tf->vector), tf->error_code, tf->rip);
    kprintf("  cs=%lx rflags=%lx rsp=%lx ss=%lx cr2=%lx cr3=%lx\n",
            tf->cs, tf->rflags, tf->rsp, tf->ss, read_cr2(), read_cr3());
    kprintf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
    kprintf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->r8);
    kprintf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", tf->r9, tf->r10, tf->r11, tf->r12);
    kprintf("  r13=%016lx r14=%016lx r15=%016lx\n", tf->r13, tf->r14, tf->r15);
    print_backtrace(tf->rip, tf->rbp);
    panic("unhandled exception %lu in turtle", tf->vector);
}
