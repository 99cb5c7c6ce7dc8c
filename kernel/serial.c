/*
 * Polled 16550 driver (register map: PC16550D data sheet). Output only:
 * turtle never reads its console. Polling keeps the console usable from
 * panic and exception paths, with interrupts off.
 */
#include "kernel/serial.h"
#include "kernel/x86.h"

#define UART_THR            0           /* transmit holding (DLAB=0) */
#define UART_DLL            0           /* divisor latch low (DLAB=1) */
#define UART_IER            1           /* interrupt enable (DLAB=0) */
#define UART_DLM            1           /* divisor latch high (DLAB=1) */
#define UART_FCR            2           /* FIFO control */
#define UART_LCR            3           /* line control */
#define UART_MCR            4           /* modem control */
#define UART_LSR            5           /* line status */

#define UART_LCR_8N1        0x03
#define UART_LCR_DLAB       0x80
#define UART_FCR_ENABLE     0x07        /* enable and clear both FIFOs */
#define UART_MCR_DTR_RTS    0x03
#define UART_LSR_THRE       0x20        /* transmit holding register empty */
#define UART_LSR_TEMT       0x40        /* transmitter empty: the last bit has left */
#define UART_CLOCK          115200
#define UART_BAUD           115200

/* Bounded wait, so a missing UART cannot hang turtle. */
#define UART_SPIN_LIMIT     100000

void serial_port_init(u16 port, u16 divisor)
{
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, UART_LCR_DLAB);
    outb(port + UART_DLL, divisor & 0xff);
    outb(port + UART_DLM, divisor >> 8);
    outb(port + UART_LCR, UART_LCR_8N1);
    outb(port + UART_FCR, UART_FCR_ENABLE);
    outb(port + UART_MCR, UART_MCR_DTR_RTS);
}

void serial_init(void)
{
    serial_port_init(COM1_PORT, UART_CLOCK / UART_BAUD);
}

static void serial_tx(u8 c)
{
    for (int i = 0; i < UART_SPIN_LIMIT; i++) {
        if (inb(COM1_PORT + UART_LSR) & UART_LSR_THRE)
            break;
        cpu_relax();
    }
    outb(COM1_PORT + UART_THR, c);
}

void serial_putc(char c)
{
    if (c == '\n')
        serial_tx('\r');
    serial_tx((u8)c);
}

void serial_flush(void)
{
    for (int i = 0; i < UART_SPIN_LIMIT; i++) {
        if (inb(COM1_PORT + UART_LSR) & UART_LSR_TEMT)
            return;
        cpu_relax();
    }
}
