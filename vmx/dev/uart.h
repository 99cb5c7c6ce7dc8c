/*
 * The 16550A UART each VM has at COM1 (vmx/dev/uart.c). Transmitting is
 * instant: characters collect in a line buffer that reaches turtle's
 * console prefixed by the owner's name, so no guest can forge a line of
 * turtle's own (or another guest's). Receiving: a 16-byte FIFO fed by
 * uart_receive() (turtle's console input, routed to one VM at a time) or,
 * in loopback mode (MCR bit 4), by the guest's own transmissions. The
 * interrupt (IER, IIR priorities, the OUT2 gate of PC boards) drives an
 * irq_line: IRQ 4 on the platform.
 */
#ifndef TURTLE_DEV_UART_H
#define TURTLE_DEV_UART_H

#include "kernel/types.h"
#include "vmx/dev/irq.h"

#define UART_COM1_BASE      0x3f8
#define UART_COM1_IRQ       4
#define UART_PORTS          8
#define UART_LINE_MAX       160
#define UART_FIFO_SIZE      16

struct uart16550 {
    const char *owner;          /* prefix of every console line */
    u8 ier, lcr, mcr, scr, dll, dlm, fcr;
    u8 lsr_errors;              /* overrun (bit 1), latched until LSR is read */
    bool thre_pending;          /* the THR-empty interrupt, until IIR read or THR written */
    u8 msr_delta;               /* modem-status delta bits 3:0, cleared by reading MSR */
    u8 rx[UART_FIFO_SIZE];
    u32 rx_head, rx_count;
    struct irq_line irq;
    bool irq_level;
    u32 len;
    char line[UART_LINE_MAX];
};

void uart_init(struct uart16550 *u, const char *owner, const struct irq_line *irq);
void uart_putc(struct uart16550 *u, char c);
/* Prints a partial line (before the owner's end-of-run messages). */
void uart_flush(struct uart16550 *u);
/* A byte into the receive FIFO, or an overrun when full (the loopback path). */
void uart_receive(struct uart16550 *u, u8 byte);
/* A byte arriving on the serial input line (turtle's console, attached):
 * uart_receive(), except in loopback, where the datasheet disconnects the
 * serial input from the receiver and the byte is lost. */
void uart_line_receive(struct uart16550 *u, u8 byte);
/* Would a byte on the line raise IRQ 4 (received-data interrupt enabled,
 * OUT2 set, no loopback)? A guest sleeping on that waits for input. */
bool uart_rx_irq_armed(const struct uart16550 *u);
/* Register access at offset (0-7) from the base; the UART is a byte-wide
 * device (the bus splits wider accesses). ctx is the struct uart16550. */
void uart_bus_read(void *ctx, u64 offset, u32 size, u64 *val);
void uart_bus_write(void *ctx, u64 offset, u32 size, u64 val);

#endif
