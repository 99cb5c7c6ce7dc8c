/* A CPU's GDT and TSS (in its struct percpu). The TSS gives the
 * double-fault/NMI handlers a known stack (IST1) and a non-null TR, which
 * VMX host state requires. */
#ifndef TURTLE_GDT_H
#define TURTLE_GDT_H

#include "kernel/types.h"

#define GDT_KERNEL_CS       0x08
#define GDT_KERNEL_DS       0x10
#define GDT_TSS             0x18

struct tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __packed;
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS (SDM 8.7)");

struct percpu;
/* Builds and loads cpu's GDT and TSS (LGDT, segment reloads, LTR). */
void gdt_init(struct percpu *cpu);

#endif
