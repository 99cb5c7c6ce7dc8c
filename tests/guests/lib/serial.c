/*
 * COM1 as a polled 16550 (8250 family register map). Under turtle the UART
 * transmits instantly and LSR always reads 0x60; on Bochs and QEMU it is an
 * emulated 16550, so every byte waits for the holding register to empty.
 */
#include "lib/guest.h"

#define UART_THR        0       /* transmit holding (DLAB = 0) */
#define UART_DLL        0       /* divisor latch low (DLAB = 1) */
#define UART_IER        1
#define UART_DLM        1       /* divisor latch high (DLAB = 1) */
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_LCR_8N1    0x03
#define UART_LCR_DLAB   0x80
#define UART_FCR_FIFO   0xc3    /* enable, clear receive (not pending output), 14-byte trigger */
#define UART_MCR_DTR_RTS 0x03
#define UART_LSR_THRE   0x20    /* holding register empty */
#define UART_LSR_TEMT   0x40    /* holding and shift registers empty */
#define UART_POLL_LIMIT 1000000 /* never hang on a missing UART */

/* 115200 baud, 8N1, FIFO on, interrupts off. */
void serial_init(void)
{
    outb(COM1_PORT + UART_IER, 0);
    outb(COM1_PORT + UART_LCR, UART_LCR_DLAB);
    outb(COM1_PORT + UART_DLL, 1);
    outb(COM1_PORT + UART_DLM, 0);
    outb(COM1_PORT + UART_LCR, UART_LCR_8N1);
    outb(COM1_PORT + UART_FCR, UART_FCR_FIFO);
    outb(COM1_PORT + UART_MCR, UART_MCR_DTR_RTS);
}

static void wait_lsr(u8 bits)
{
    for (int i = 0; i < UART_POLL_LIMIT; i++)
        if ((inb(COM1_PORT + UART_LSR) & bits) == bits)
            return;
}

void serial_putc(char c)
{
    wait_lsr(UART_LSR_THRE);
    outb(COM1_PORT + UART_THR, (u8)c);
}

void serial_drain(void)
{
    wait_lsr(UART_LSR_THRE | UART_LSR_TEMT);
}
