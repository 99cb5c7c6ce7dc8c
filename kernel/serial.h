/* 16550 UART driver for turtle's own console (COM1, 115200 8N1, polled
 * both ways). */
#ifndef TURTLE_SERIAL_H
#define TURTLE_SERIAL_H

#include "kernel/types.h"

#define COM1_PORT           0x3f8

void serial_init(void);
/* A 16550 at port: 8N1 at the given baud divisor, FIFOs on and cleared,
 * interrupts off (the snapshot port too, snapshot/stream.c). */
void serial_port_init(u16 port, u16 divisor);
void serial_putc(char c);
/* Waits (bounded) until the UART has sent everything: call before power-off. */
void serial_flush(void);
/* Moves what the UART has received into turtle's ring (one LSR read when
 * nothing came). True if the ring holds a byte afterwards. */
bool serial_rx_poll(void);
/* The oldest received byte, or -1. */
int serial_getc(void);
/* Bytes lost so far: the ring was full, or the UART itself overran. */
u64 serial_rx_lost(void);

#endif
