/*
 * Interrupt vectors for the 64-bit guests that take interrupts: a 256-entry
 * IDT that keeps the library's 32 exception gates (lib/desc.c) and sends
 * NMI (vector 2) and vectors 32-255 to one counting handler. It records
 * per vector how many arrived, the order of the first IRQ_LOG_SIZE and
 * the TSC of the last, then calls irq_hook (if set), which is where a test
 * sends its EOI. The handler runs with IF=0 (interrupt gates).
 */
#include "lib/guest.h"
#include "lib/irq.h"

struct gate {
    u16 lo, sel;
    u8 ist, attr;
    u16 mid;
    u32 hi, rsvd;
} __packed;
struct dtr {
    u16 limit;
    u64 base;
} __packed;
_Static_assert(sizeof(struct gate) == 16, "64-bit IDT gate");

static struct gate idt[256] __attribute__((aligned(16)));
volatile u32 irq_count[256];
volatile u32 irq_total;
volatile u8 irq_log[IRQ_LOG_SIZE];
volatile u64 irq_last_tsc;
void (*volatile irq_hook)(u8 vector);

/* 256 stubs, 16 bytes apart: push the vector, save the caller-saved
 * registers (and RBX, which keeps the stack pointer across the
 * realignment), call irq_dispatch(vector). */
extern char irq_stubs[];
__asm__(".text\n.align 16\nirq_stubs:\n.set vec, 0\n.rept 256\n.align 16\n"
        "pushq $vec\njmp irq_common\n.set vec, vec + 1\n.endr\n"
        "irq_common:\npush %rax\npush %rbx\npush %rcx\npush %rdx\npush %rsi\npush %rdi\n"
        "push %r8\npush %r9\npush %r10\npush %r11\nmov 80(%rsp), %rdi\n"
        "mov %rsp, %rbx\nand $-16, %rsp\ncld\ncall irq_dispatch\nmov %rbx, %rsp\n"
        "pop %r11\npop %r10\npop %r9\npop %r8\npop %rdi\npop %rsi\npop %rdx\n"
        "pop %rcx\npop %rbx\npop %rax\nadd $8, %rsp\niretq\n");

void irq_dispatch(u64 vec);
void irq_dispatch(u64 vec)
{
    u8 v = (u8)vec;

    irq_last_tsc = rdtsc();
    if (irq_total < IRQ_LOG_SIZE)
        irq_log[irq_total] = v;
    irq_total++;
    irq_count[v]++;
    if (irq_hook)
        irq_hook(v);
}

void irq_reset(void)
{
    for (int i = 0; i < 256; i++)
        irq_count[i] = 0;
    irq_total = 0;
    irq_last_tsc = 0;
}

void irq_init(void)
{
    struct dtr old, nw = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

    __asm__ __volatile__("sidt %0" : "=m"(old));
    memcpy(idt, (void *)(uintptr_t)old.base, old.limit + 1);
    for (u32 v = 0; v < 256; v++) {
        if (v < 32 && v != X86_NMI)
            continue;
        u64 a = (u64)(uintptr_t)irq_stubs + 16 * v;
        idt[v] = idt[0];
        idt[v].ist = 0;
        idt[v].lo = (u16)a;
        idt[v].mid = (u16)(a >> 16);
        idt[v].hi = (u32)(a >> 32);
    }
    __asm__ __volatile__("lidt %0" :: "m"(nw) : "memory");
}
