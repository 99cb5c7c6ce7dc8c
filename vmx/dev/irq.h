/*
 * The contract between turtle's device models (vmx/dev/) and the platform
 * that wires them into a VM. Device models are pure logic: they know
 * nothing of VT-x, vmcs01 or struct vm, so the same sources compile into
 * turtle and into the host unit tests (tests/unit).
 *
 * - Time: a device is told the time, it never reads a clock. `now` is the
 *   guest's TSC value (u64, monotonic); each device is given the TSC
 *   frequency in kHz when it is reset. A device with a timer reports its
 *   next deadline (the TSC value at which its state next changes on its
 *   own, or DEV_NO_DEADLINE) so the platform can schedule a wake-up.
 *   No 128-bit division: the kernel links no libgcc.
 * - Interrupts: a device drives lines (struct irq_line); the platform
 *   decides where a line goes (PIC pin, IOAPIC pin). The IOAPIC, and later
 *   MSIs and IPIs, send struct apic_msg to local APICs through
 *   struct apic_bus.
 * - Port I/O and MMIO: a device handles accesses of 1, 2 or 4 bytes (MMIO
 *   also 8) at an offset inside its range; the bus (vmx/dev/bus.c) finds
 *   the device. Reads fill *val; what a register does not drive reads as
 *   the hardware reads it.
 */
#ifndef TURTLE_DEV_IRQ_H
#define TURTLE_DEV_IRQ_H

#include "kernel/types.h"

#define DEV_NO_DEADLINE     (~0ULL)

/* One interrupt line from a device to an interrupt controller input. */
struct irq_line {
    void (*set)(void *ctx, u32 pin, bool level);
    void *ctx;
    u32 pin;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l->set)
        l->set(l->ctx, l->pin, level);
}

/* Delivery modes of an interrupt message (SDM Vol. 3A 11.6.1, IOAPIC
 * redirection entries use the same encoding). */
#define APIC_DM_FIXED       0
#define APIC_DM_LOWEST      1
#define APIC_DM_SMI         2
#define APIC_DM_NMI         4
#define APIC_DM_INIT        5
#define APIC_DM_STARTUP     6
#define APIC_DM_EXTINT      7

/* An interrupt message to the local APICs of a VM. */
struct apic_msg {
    u8 vector;
    u8 delivery_mode;           /* APIC_DM_* */
    bool dest_logical;          /* destination mode: logical (true) or physical */
    bool level;                 /* trigger mode: level (true) or edge */
    u32 dest;                   /* APIC ID, or logical destination */
    bool all_but_self;          /* ICR shorthand "all excluding self": every LAPIC
                                   but the sender (the vCPU of the bus ctx) */
};

/* Where messages go: the platform delivers msg to the matching LAPICs. */
struct apic_bus {
    void (*send)(void *ctx, const struct apic_msg *msg);
    /* A LAPIC's EOI of a level-triggered vector: IOAPICs clear remote IRR. */
    void (*eoi)(void *ctx, u8 vector);
    void *ctx;
};

#endif
