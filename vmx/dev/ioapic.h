/*
 * I/O APIC model: the Intel 82093AA (datasheet, 290566): 24 input pins,
 * a redirection table, messages to the local APICs through struct
 * apic_bus. Pure logic (see vmx/dev/irq.h).
 *
 * - Register access: ioapic_mmio_read/write at an offset inside the
 *   platform's window (IOREGSEL at 0x00, IOWIN at 0x10); only 32-bit
 *   accesses at those two offsets do anything.
 * - Inputs: ioapic_set_irq() is an irq_line handler (ctx = struct ioapic,
 *   pin 0..23). `level` is the line's logical state, asserted or not; the
 *   polarity bit is stored for the guest but does not invert the input.
 * - EOI: the LAPICs' EOI broadcast of a level-triggered vector reaches
 *   ioapic_eoi(), which clears remote IRR and re-sends a line still
 *   asserted.
 */
#ifndef TURTLE_DEV_IOAPIC_H
#define TURTLE_DEV_IOAPIC_H

#include "kernel/types.h"
#include "vmx/dev/irq.h"

#define IOAPIC_DEFAULT_BASE     0xfec00000ULL
#define IOAPIC_MMIO_SIZE        0x1000

/* Memory-mapped registers (datasheet 3.0) */
#define IOAPIC_IOREGSEL         0x00    /* register select, bits 7:0 */
#define IOAPIC_IOWIN            0x10    /* data window */

/* Indirect registers */
#define IOAPIC_REG_ID           0x00    /* IOAPICID: ID in bits 27:24 */
#define IOAPIC_REG_VER          0x01    /* IOAPICVER, read-only */
#define IOAPIC_REG_ARB          0x02    /* IOAPICARB, read-only */
#define IOAPIC_REG_REDTBL       0x10    /* entry n: 0x10 + 2n (low), 0x11 + 2n (high) */

#define IOAPIC_NUM_PINS         24
#define IOAPIC_VERSION          0x11    /* 82093AA */
#define IOAPIC_VER_VALUE        (((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION)
#define IOAPIC_ID_MASK          0x0f000000u     /* 4-bit APIC ID */

/* Redirection entry bits (datasheet 3.2.4) */
#define IOAPIC_RTE_VECTOR       0xffull
#define IOAPIC_RTE_DM_SHIFT     8               /* delivery mode, bits 10:8 */
#define IOAPIC_RTE_DEST_LOGICAL BIT(11)
#define IOAPIC_RTE_DS           BIT(12)         /* delivery status (read-only, idle) */
#define IOAPIC_RTE_POLARITY     BIT(13)         /* input active low */
#define IOAPIC_RTE_REMOTE_IRR   BIT(14)         /* level interrupt accepted, awaiting EOI (read-only) */
#define IOAPIC_RTE_LEVEL        BIT(15)         /* trigger mode: level */
#define IOAPIC_RTE_MASKED       BIT(16)
#define IOAPIC_RTE_DEST_SHIFT   56              /* destination, bits 63:56 */
#define IOAPIC_RTE_LO_WRITABLE  0x0001afffu     /* all but DS and remote IRR */
#define IOAPIC_RTE_HI_WRITABLE  0xff000000u

/* What a snapshot saves. */
struct ioapic_state {
    u32 ioregsel;
    u32 id;                     /* IOAPICID register value */
    u32 pin_level;              /* bit n: pin n asserted */
    u64 redir[IOAPIC_NUM_PINS];
};

struct ioapic {
    struct ioapic_state s;
    u64 base;                   /* MMIO base the platform chose */
    struct apic_bus bus;
};

/* Reset (datasheet 3.0): ID 0, every entry masked, no pin asserted. */
void ioapic_reset(struct ioapic *io, u64 base, const struct apic_bus *bus);
void ioapic_mmio_read(struct ioapic *io, u32 offset, u32 size, u64 *val);
void ioapic_mmio_write(struct ioapic *io, u32 offset, u32 size, u64 val);
/* irq_line handler: ctx is the struct ioapic. */
void ioapic_set_irq(void *ctx, u32 pin, bool level);
void ioapic_eoi(struct ioapic *io, u8 vector);

#endif
