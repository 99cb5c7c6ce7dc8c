/*
 * Polled 16550 driver (register map: PC16550D data sheet). Polling keeps
 * the console usable from panic and exception paths, with interrupts off.
 * Received bytes are moved from the UART into a ring (serial_rx_poll())
 * whenever turtle looks at the line status anyway: between scheduling
 * slices, in the idle loop, and while it waits to transmit. The UART's
 * own FIFO (16 bytes) covers the time in between.
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
#define UART_RBR            0           /* receive buffer (DLAB=0) */

#define UART_LCR_8N1        0x03
#define UART_LCR_DLAB       0x80
#define UART_FCR_ENABLE     0x07        /* enable and clear both FIFOs */
#define UART_MCR_DTR_RTS    0x03
#define UART_LSR_DR         0x01        /* data ready */
#define UART_LSR_OE         0x02        /* overrun: the UART lost a byte */
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

/* Received bytes waiting for the console: a power-of-two ring. */
#define RX_RING             256
static u8 rx_ring[RX_RING];
static u32 rx_head, rx_tail;            /* free-running; tail - head = bytes held */
static u64 rx_lost;                     /* ring full, or the UART's own overrun */

/* One byte the line status says is there: into the ring, or counted lost. */
static void rx_take(u8 lsr)
{
    if (lsr & UART_LSR_OE)
        rx_lost++;
    u8 c = inb(COM1_PORT + UART_RBR);
    if (rx_tail - rx_head == RX_RING) {
        rx_lost++;
        return;
    }
    rx_ring[rx_tail++ % RX_RING] = c;
}

static void serial_tx(u8 c)
{
    for (int i = 0; i < UART_SPIN_LIMIT; i++) {
        u8 lsr = inb(COM1_PORT + UART_LSR);
        if ((lsr & UART_LSR_DR) && lsr != 0xff)
            rx_take(lsr);               /* a long line out must not drop input */
        if (lsr & UART_LSR_THRE)
            break;
        cpu_relax();
    }
    outb(COM1_PORT + UART_THR, c);
}

bool serial_rx_poll(void)
{
    bool any = false;

    /* Bounded: at most one FIFO's worth and a little, per call. */
    for (int i = 0; i < 32; i++) {
        u8 lsr = inb(COM1_PORT + UART_LSR);
        if (!(lsr & UART_LSR_DR) || lsr == 0xff)    /* 0xff: no UART there */
            break;
        rx_take(lsr);
        any = true;
    }
    return any || rx_tail != rx_head;
}

int serial_getc(void)
{
    if (rx_tail == rx_head)
        return -1;
    return rx_ring[rx_head++ % RX_RING];
}

u64 serial_rx_lost(void)
{
    return rx_lost;
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
