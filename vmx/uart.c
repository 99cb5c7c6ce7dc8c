/*
 * The virtual 16550 each guest has at COM1. Output only, transmitting
 * instantly: characters collect in a line buffer that reaches turtle's
 * console prefixed by the guest's name, so no guest can forge a line of
 * turtle's own (or another guest's).
 */
#include "kernel/printf.h"
#include "vmx/vmx.h"

#define VUART_BASE          0x3f8
#define VUART_PORTS         8
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

void vuart_flush(struct guest *g)
{
    if (!g->uart.len)
        return;
    g->uart.line[g->uart.len] = '\0';
    kprintf("[%s] %s\n", g->name, g->uart.line);
    g->uart.len = 0;
}

void vuart_putc(struct guest *g, char c)
{
    if (c == '\n') {
        if (!g->uart.len) {
            kprintf("[%s]\n", g->name);
            return;
        }
        vuart_flush(g);
        return;
    }
    if (c == '\r')
        return;
    /* Printable ASCII only: no escape sequences reach the console. */
    if ((unsigned char)c < 0x20 && c != '\t')
        c = '.';
    if ((unsigned char)c >= 0x7f)
        c = '.';
    g->uart.line[g->uart.len++] = c;
    if (g->uart.len == UART_LINE_MAX - 1)
        vuart_flush(g);
}

/* Returns false if the port is not the UART's. */
bool vuart_io(struct guest *g, u16 port, bool in, u32 size, u32 *val)
{
    struct vuart *u = &g->uart;
    bool dlab;

    if (port < VUART_BASE || port >= VUART_BASE + VUART_PORTS)
        return false;
    dlab = u->lcr & LCR_DLAB;
    /* A wider access reaches the register at port with its low byte; the
     * bytes above read as open bus. */
    u8 v = (u8)*val, r = 0;
    switch (port - VUART_BASE) {
    case REG_THR_RBR_DLL:
        if (in) r = dlab ? u->dll : 0;
        else if (dlab) u->dll = v;
        else vuart_putc(g, (char)v);
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
    return true;
}
