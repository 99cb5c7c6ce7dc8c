/*
 * The 16550 UART at COM1 (vmx/dev/uart.h): registers as software probes
 * them, transmit only.
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

void uart_init(struct uart16550 *u, const char *owner)
{
    *u = (struct uart16550){ .owner = owner };
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

void uart_io(struct uart16550 *u, u32 offset, bool in, u32 size, u32 *val)
{
    bool dlab;

    dlab = u->lcr & LCR_DLAB;
    /* A wider access reaches the register at port with its low byte; the
     * bytes above read as open bus. */
    u8 v = (u8)*val, r = 0;
    switch (offset) {
    case REG_THR_RBR_DLL:
        if (in) r = dlab ? u->dll : 0;
        else if (dlab) u->dll = v;
        else uart_putc(u, (char)v);
        break;
    case REG_IER_DLM:
        if (in) r = dlab ? u->dlm : u->ier;
        else if (dlab) u->dlm = v;
        else u->ier = v & 0x0f;
        break;
    case REG_IIR:
        r = IIR_NO_INTERRUPT;           /* writes (FCR) are accepted and ignored */
        break;
    case REG_LCR:
        if (in) r = u->lcr; else u->lcr = v;
        break;
    case REG_MCR:
        if (in) r = u->mcr; else u->mcr = v & 0x1f;
        break;
    case REG_LSR:
        r = LSR_THRE_TEMT;
        break;
    case REG_MSR:
        r = 0;
        break;
    case REG_SCR:
        if (in) r = u->scr; else u->scr = v;
        break;
    }
    if (in)
        *val = (size == 1) ? r : (0xffffff00u | r);
}
