/*
 * The 16550 UART each VM has at COM1 (vmx/dev/uart.c). Output only,
 * transmitting instantly: characters collect in a line buffer that
 * reaches turtle's console prefixed by the owner's name, so no guest can
 * forge a line of turtle's own (or another guest's). The one interrupt it
 * raises is "transmitter holding register empty" (IER bit 1), which an
 * interrupt-driven driver such as Linux's 8250 waits for; the line reaches
 * the interrupt controllers only with MCR.OUT2 set, as on a PC.
 */
#ifndef TURTLE_DEV_UART_H
#define TURTLE_DEV_UART_H

#include "kernel/types.h"
#include "vmx/dev/irq.h"

#define UART_COM1_BASE      0x3f8
#define UART_PORTS          8
#define UART_LINE_MAX       160

struct uart16550 {
    const char *owner;          /* prefix of every console line */
    u8 ier, lcr, mcr, scr, dll, dlm;
    bool thre_pending;          /* THR-empty interrupt asserted (cleared by an IIR read
                                 * that reports it, or by a THR write until it empties) */
    bool irq_level;
    struct irq_line irq;        /* COM1: ISA IRQ 4 (platform_init wires it) */
    u32 len;
    char line[UART_LINE_MAX];
};

void uart_init(struct uart16550 *u, const char *owner);
void uart_set_irq(struct uart16550 *u, const struct irq_line *irq);
void uart_putc(struct uart16550 *u, char c);
/* Prints a partial line (before the owner's end-of-run messages). */
void uart_flush(struct uart16550 *u);
/* Register access at offset (0-7) from the base; the UART is a byte-wide
 * device (the bus splits wider accesses). ctx is the struct uart16550. */
void uart_bus_read(void *ctx, u64 offset, u32 size, u64 *val);
void uart_bus_write(void *ctx, u64 offset, u32 size, u64 val);

#endif
