#include "kernel/gdt.h"
#include "kernel/percpu.h"

struct gdt_ptr {
    u16 limit;
    u64 base;
} __packed;

void gdt_init(struct percpu *cpu)
{
    u64 *gdt = cpu->gdt;
    u64 base = (u64)&cpu->tss, limit = sizeof(cpu->tss) - 1;

    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffULL;     /* 64-bit code, DPL 0 */
    gdt[2] = 0x00cf92000000ffffULL;     /* data, DPL 0 */
    /* 16-byte available 64-bit TSS descriptor (SDM 8.2.3), type 9. */
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;

    cpu->tss.ist[0] = (u64)(cpu->ist1_stack + sizeof(cpu->ist1_stack));
    cpu->tss.iomap_base = sizeof(cpu->tss);     /* no I/O permission bitmap */

    struct gdt_ptr p = { sizeof(cpu->gdt) - 1, (u64)gdt };
    __asm__ __volatile__(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w2, %%ax\n\t"
        "movw %%ax, %%ds\n\t"
        "movw %%ax, %%es\n\t"
        "movw %%ax, %%ss\n\t"
        "ltr %w3\n\t"
        :: "m"(p), "i"((u64)GDT_KERNEL_CS), "r"((u64)GDT_KERNEL_DS), "r"((u64)GDT_TSS)
        : "rax", "memory");
}
