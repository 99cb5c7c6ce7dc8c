/*
 * The two cascaded Intel 8259A programmable interrupt controllers of a PC
 * (master at 0x20/0x21, slave at 0xa0/0xa1 on the master's IR2) and the
 * PIIX4 edge/level control registers (ELCR) at 0x4d0/0x4d1.
 * Pure logic: the platform drives the inputs through pic_set_irq (an
 * irq_line set function, pins 0-15), asks pic_intr_pending() whether the
 * master's INT output is asserted, and runs the INTA cycle with
 * pic_acknowledge(), which returns the vector.
 */
#ifndef TURTLE_DEV_PIC_H
#define TURTLE_DEV_PIC_H

#include "vmx/dev/irq.h"

#define PIC_MASTER_CMD      0x20
#define PIC_MASTER_DATA     0x21
#define PIC_SLAVE_CMD       0xa0
#define PIC_SLAVE_DATA      0xa1
#define PIC_ELCR1           0x4d0   /* IRQ 0-7 edge (0) / level (1) */
#define PIC_ELCR2           0x4d1   /* IRQ 8-15 */
#define PIC_CASCADE_IRQ     2       /* the master input the slave drives */
#define PIC_IRQS            16

/* One 8259A. */
struct pic_chip {
    u8 irr;             /* interrupt request register */
    u8 isr;             /* in-service register */
    u8 imr;             /* interrupt mask register (OCW1) */
    u8 line;            /* input levels, for edge detection */
    u8 elcr;            /* level-triggered inputs (ELCR), masked */
    u8 elcr_mask;       /* ELCR bits that may be set */
    u8 vector_base;     /* ICW2 & 0xf8 */
    u8 icw3;            /* master: inputs with slaves; slave: its ID */
    u8 lowest;          /* IR with the lowest priority (rotation) */
    u8 init_step;       /* 0: ready; 2, 3, 4: next ICW expected */
    bool icw4_needed;   /* ICW1.IC4 */
    bool single;        /* ICW1.SNGL: no cascade, no ICW3 */
    bool ltim;          /* ICW1.LTIM: every input level-triggered */
    bool auto_eoi;      /* ICW4.AEOI */
    bool sfnm;          /* ICW4.SFNM: special fully nested mode */
    bool rotate_aeoi;   /* OCW2 rotate in automatic EOI mode */
    bool special_mask;  /* OCW3 special mask mode */
    bool read_isr;      /* OCW3 RR/RIS: even port reads ISR, not IRR */
    bool poll;          /* OCW3 P: the next even-port read is a poll */
    bool int_out;       /* INT output, latched until INTA */
};

struct pic {
    struct pic_chip chip[2];    /* [0] master, [1] slave */
    struct irq_line intr;       /* optional: follows the master's INT */
    bool intr_level;
};

/* Power-on state: both chips uninitialised, all inputs low, ELCR 0.
 * intr (may have a NULL set) is told of every change of INT. */
void pic_reset(struct pic *p, const struct irq_line *intr);

/* irq_line-compatible input: ctx is the struct pic, pin 0-15 is ISA IRQ
 * pin (2 is the cascade and ignored), level is the line's level. */
void pic_set_irq(void *ctx, u32 pin, bool level);

/* Is the master's INT output asserted? INT is latched until the INTA
 * cycle, as on the 8259A: a request that vanishes (or is masked) after
 * INT rose still gets an INTA, which answers spurious IR7. */
bool pic_intr_pending(const struct pic *p);

/* The INTA cycle (8259A datasheet, "Interrupt sequence"): returns the vector
 * of the highest-priority request, through the slave for a cascaded IRQ, or
 * the chip's IR7 vector (spurious) when the request is gone. */
u8 pic_acknowledge(struct pic *p);

/* Port I/O at 0x20/0x21, 0xa0/0xa1, 0x4d0/0x4d1 (size 1, 2 or 4: a wide
 * access is split into byte accesses at consecutive ports, as the ISA bus
 * does; a byte outside these ports reads 0xff). */
u32 pic_io_read(struct pic *p, u16 port, u32 size);
void pic_io_write(struct pic *p, u16 port, u32 size, u32 val);

#endif
