/*
 * The 16550A UART (vmx/dev/uart.h), as the National/TI datasheets describe
 * it: registers, the receive FIFO, line and modem status, loopback, and
 * the interrupt with its priorities (IIR: line status > received data >
 * THR empty > modem status). The transmitter is always empty at once.
 */
#include "kernel/printf.h"
#include "vmx/dev/uart.h"

#define REG_THR_RBR_DLL     0
#define REG_IER_DLM         1
#define REG_IIR_FCR         2
#define REG_LCR             3
#define REG_MCR             4
#define REG_LSR             5
#define REG_MSR             6
#define REG_SCR             7
#define LCR_DLAB            0x80
#define IER_RDA             0x01        /* received data available */
#define IER_THRE            0x02        /* transmitter holding register empty */
#define IER_RLS             0x04        /* receiver line status */
#define IER_MS              0x08        /* modem status */
#define IIR_NO_INTERRUPT    0x01
#define IIR_MODEM           0x00
#define IIR_THRE            0x02
#define IIR_RDA             0x04
#define IIR_RLS             0x06
#define IIR_FIFO_ENABLED    0xc0
#define FCR_ENABLE          0x01
#define FCR_CLEAR_RX        0x02
#define LSR_DR              0x01        /* data ready */
#define LSR_OE              0x02        /* overrun error */
#define LSR_THRE_TEMT       0x60        /* transmitter holding and shift registers empty */
#define MCR_DTR             0x01
#define MCR_RTS             0x02
#define MCR_OUT1            0x04
#define MCR_OUT2            0x08        /* PC boards: gates the interrupt line */
#define MCR_LOOP            0x10
#define MSR_CTS             0x10
#define MSR_DSR             0x20
#define MSR_RI              0x40
#define MSR_DCD             0x80

void uart_init(struct uart16550 *u, const char *owner, const struct irq_line *irq)
{
    *u = (struct uart16550){ .owner = owner };
    if (irq)
        u->irq = *irq;
}

/* The interrupt identification: the highest-priority pending source. */
static u8 iir_source(const struct uart16550 *u)
{
    if ((u->ier & IER_RLS) && u->lsr_errors)
        return IIR_RLS;
    if ((u->ier & IER_RDA) && u->rx_count)
        return IIR_RDA;
    if ((u->ier & IER_THRE) && u->thre_pending)
        return IIR_THRE;
    if ((u->ier & IER_MS) && u->msr_delta)
        return IIR_MODEM;
    return IIR_NO_INTERRUPT;
}

/* The line follows the source; OUT2 gates it on PC boards, and loopback
 * disconnects it (the datasheet: interrupts are then internal). */
static void update_irq(struct uart16550 *u)
{
    bool level = iir_source(u) != IIR_NO_INTERRUPT && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);

    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

void uart_receive(struct uart16550 *u, u8 byte)
{
    if (u->rx_count == UART_FIFO_SIZE) {
        u->lsr_errors |= LSR_OE;        /* the new byte is lost */
    } else {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
        u->rx_count++;
    }
    update_irq(u);
}

void uart_line_receive(struct uart16550 *u, u8 byte)
{
    if (u->mcr & MCR_LOOP)
        return;                         /* loopback disconnects the serial input */
    uart_receive(u, byte);
}

bool uart_rx_irq_armed(const struct uart16550 *u)
{
    return (u->ier & IER_RDA) && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);
}

void uart_flush(struct uart16550 *u)
{
    if (!u->len)
        return;
    u->line[u->len] = '\0';
    kprintf("[%s] %s\n", u->owner, u->line);
    u->len = 0;
}

void uart_putc(struct uart16550 *u, char c)
{
    if (c == '\n') {
        if (!u->len) {
            kprintf("[%s]\n", u->owner);
            return;
        }
        uart_flush(u);
        return;
    }
    if (c == '\r')
        return;
    /* Printable ASCII only: no escape sequences reach the console. */
    if ((unsigned char)c < 0x20 && c != '\t')
        c = '.';
    if ((unsigned char)c >= 0x7f)
        c = '.';
    u->line[u->len++] = c;
    if (u->len == UART_LINE_MAX - 1)
        uart_flush(u);
}

/* In loopback the modem inputs are the modem outputs (datasheet: CTS =
 * RTS, DSR = DTR, RI = OUT1, DCD = OUT2); otherwise no modem is there. */
static u8 modem_inputs(const struct uart16550 *u)
{
    if (!(u->mcr & MCR_LOOP))
        return 0;
    return (u8)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
                ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
}

static u8 uart_read(struct uart16550 *u, u32 offset)
{
    bool dlab = u->lcr & LCR_DLAB;
    u8 v;

    switch (offset) {
    case REG_THR_RBR_DLL:
        if (dlab)
            return u->dll;
        if (!u->rx_count)
            return 0;
        v = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
        u->rx_count--;
        update_irq(u);
        return v;
    case REG_IER_DLM:
        return dlab ? u->dlm : u->ier;
    case REG_IIR_FCR:
        v = iir_source(u);
        if (v == IIR_THRE) {            /* reading IIR clears a THR-empty interrupt */
            u->thre_pending = false;
            update_irq(u);
        }
        return (u8)(v | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0));
    case REG_LCR:
        return u->lcr;
    case REG_MCR:
        return u->mcr;
    case REG_LSR:
        v = (u8)(LSR_THRE_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_errors);
        u->lsr_errors = 0;
        update_irq(u);
        return v;
    case REG_MSR:
        v = (u8)(modem_inputs(u) | u->msr_delta);
        u->msr_delta = 0;
        update_irq(u);
        return v;
    default:
        return u->scr;
    }
}

static void uart_write(struct uart16550 *u, u32 offset, u8 v)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (offset) {
    case REG_THR_RBR_DLL:
        if (dlab) {
            u->dll = v;
            break;
        }
        if (u->mcr & MCR_LOOP)
            uart_receive(u, v);         /* the transmitter feeds the receiver */
        else
            uart_putc(u, (char)v);
        u->thre_pending = true;         /* sent at once: THR is empty again */
        break;
    case REG_IER_DLM:
        if (dlab) {
            u->dlm = v;
            break;
        }
        /* Enabling the THR-empty interrupt while THR is empty raises it. */
        if ((v & IER_THRE) && !(u->ier & IER_THRE))
            u->thre_pending = true;
        u->ier = v & 0x0f;
        break;
    case REG_IIR_FCR:
        u->fcr = v & FCR_ENABLE;
        if (v & FCR_CLEAR_RX) {
            u->rx_count = 0;
            u->rx_head = 0;
        }
        break;
    case REG_LCR:
        u->lcr = v;
        break;
    case REG_MCR: {
        u8 before = modem_inputs(u);
        u->mcr = v & 0x1f;
        u8 after = modem_inputs(u);
        /* Delta bits: CTS, DSR, DCD changed; RI trailing edge. */
        u->msr_delta |= (u8)((((before ^ after) & (MSR_CTS | MSR_DSR | MSR_DCD)) >> 4) |
                             (((before & ~after) & MSR_RI) ? 0x04 : 0));
        break;
    }
    case REG_LSR:
    case REG_MSR:
        break;                          /* read-only (factory test writes ignored) */
    default:
        u->scr = v;
        break;
    }
    update_irq(u);
}

void uart_bus_read(void *ctx, u64 offset, u32 size, u64 *val)
{
    (void)size;                         /* byte-wide: always 1 */
    *val = uart_read(ctx, (u32)offset);
}

void uart_bus_write(void *ctx, u64 offset, u32 size, u64 val)
{
    (void)size;
    uart_write(ctx, (u32)offset, (u8)val);
}
