/*
 * The 16550 UART at COM1 (vmx/dev/uart.h): registers as software probes
 * them, transmit only. Interrupts (PC16550D datasheet, "Interrupt
 * Identification Register"): only the THR-empty source exists; the
 * transmitter empties instantly, so the source is set again right after
 * every THR write and when IER enables it, and cleared by reading IIR while
 * it is the interrupt IIR reports.
 */
#include "kernel/printf.h"
#include "vmx/dev/uart.h"

#define REG_THR_RBR_DLL     0
#define REG_IER_DLM         1
#define REG_IIR             2
#define REG_LCR             3
#define REG_MCR             4
#define REG_LSR             5
#define REG_MSR             6
#define REG_SCR             7
#define LCR_DLAB            0x80
#define LSR_THRE_TEMT       0x60
#define IIR_NO_INTERRUPT    0x01
#define IIR_THRE            0x02
#define IER_ETBEI           0x02        /* enable THR-empty interrupt */
#define MCR_OUT2            0x08        /* PC: gates the UART's interrupt onto the ISA line */

void uart_init(struct uart16550 *u, const char *owner)
{
    *u = (struct uart16550){ .owner = owner };
}

void uart_set_irq(struct uart16550 *u, const struct irq_line *irq)
{
    u->irq = *irq;
}

static bool thre_interrupt(const struct uart16550 *u)
{
    return u->thre_pending && (u->ier & IER_ETBEI);
}

/* Drives the ISA line from the interrupt state (edges only on change). */
static void update_irq(struct uart16550 *u)
{
    bool level = thre_interrupt(u) && (u->mcr & MCR_OUT2);

    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
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

static u8 uart_read(struct uart16550 *u, u32 offset)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (offset) {
    case REG_THR_RBR_DLL:   return dlab ? u->dll : 0;  /* nothing received */
    case REG_IER_DLM:       return dlab ? u->dlm : u->ier;
    case REG_IIR:
        if (!thre_interrupt(u))
            return IIR_NO_INTERRUPT;
        u->thre_pending = false;        /* reading the THRE identification clears it */
        update_irq(u);
        return IIR_THRE;
    case REG_LCR:           return u->lcr;
    case REG_MCR:           return u->mcr;
    case REG_LSR:           return LSR_THRE_TEMT;      /* transmitter always empty */
    case REG_MSR:           return 0;
    default:                return u->scr;
    }
}

static void uart_write(struct uart16550 *u, u32 offset, u8 v)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (offset) {
    case REG_THR_RBR_DLL:
        if (dlab)
            u->dll = v;
        else
            uart_putc(u, (char)v);
        u->thre_pending = true;         /* sent at once: the THR is empty again */
        break;
    case REG_IER_DLM:
        if (dlab)
            u->dlm = v;
        else {
            if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI))
                u->thre_pending = true; /* enabled while the THR is empty */
            u->ier = v & 0x0f;
        }
        break;
    case REG_IIR:                       /* FCR: accepted and ignored */
    case REG_LSR:
    case REG_MSR:
        break;
    case REG_LCR:
        u->lcr = v;
        break;
    case REG_MCR:
        u->mcr = v & 0x1f;
        break;
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
