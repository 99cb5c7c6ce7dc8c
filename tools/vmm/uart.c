/*
 * COM1: a 16550A that is always ready to send and never receives. What the
 * guest writes to THR goes to standard output a line at a time, each line
 * after the configured prefix, so a guest's lines stay whole when other
 * programs write to the same console. Registers read back what was written
 * (the divisor latch with DLAB set, IER, LCR, MCR, the scratch register).
 */
#include <string.h>
#include <unistd.h>

#include "vmm.h"

#define UART_THR                0           /* write, DLAB = 0 */
#define UART_RBR                0           /* read, DLAB = 0 */
#define UART_DLL                0           /* DLAB = 1 */
#define UART_IER                1           /* DLAB = 0 */
#define UART_DLM                1           /* DLAB = 1 */
#define UART_IIR                2           /* read */
#define UART_FCR                2           /* write */
#define UART_LCR                3
#define UART_MCR                4
#define UART_LSR                5
#define UART_MSR                6
#define UART_SCR                7
#define UART_LCR_DLAB           0x80
#define UART_FCR_ENABLE         0x01
#define UART_IIR_NO_INT         0x01
#define UART_IIR_FIFO           0xc0        /* FIFOs enabled (16550A) */
#define UART_LSR_THRE           0x20
#define UART_LSR_TEMT           0x40
#define UART_MSR_CTS_DSR_DCD    0xb0
#define LINE_MAX_BYTES          4096

static struct {
    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    const char *prefix;
    char line[LINE_MAX_BYTES];
    size_t len;
} com1;

void uart_init(const char *prefix)
{
    memset(&com1, 0, sizeof(com1));
    com1.prefix = prefix ? prefix : "";
}

static void write_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Writes the pending line (if any) with its prefix and a newline. */
void uart_flush(void)
{
    if (!com1.len)
        return;
    write_all(com1.prefix, strlen(com1.prefix));
    com1.line[com1.len++] = '\n';
    write_all(com1.line, com1.len);
    com1.len = 0;
}

static void put_char(uint8_t c)
{
    if (c == '\r')
        return;
    if (c == '\n') {
        if (!com1.len)
            com1.line[com1.len++] = ' ';    /* an empty line keeps its prefix */
        uart_flush();
        return;
    }
    com1.line[com1.len++] = (char)c;
    if (com1.len == LINE_MAX_BYTES - 1)
        uart_flush();
}

void uart_out(uint16_t port, uint8_t value)
{
    bool dlab = com1.lcr & UART_LCR_DLAB;

    switch (port - COM1_BASE) {
    case UART_THR: if (dlab) com1.dll = value; else put_char(value); break;
    case UART_IER: if (dlab) com1.dlm = value; else com1.ier = value & 0x0f; break;
    case UART_FCR: com1.fcr = value; break;
    case UART_LCR: com1.lcr = value; break;
    case UART_MCR: com1.mcr = value & 0x1f; break;
    case UART_SCR: com1.scr = value; break;
    default: break;                         /* LSR, MSR: writes ignored */
    }
}

uint8_t uart_in(uint16_t port)
{
    bool dlab = com1.lcr & UART_LCR_DLAB;

    switch (port - COM1_BASE) {
    case UART_RBR: return dlab ? com1.dll : 0;
    case UART_IER: return dlab ? com1.dlm : com1.ier;
    case UART_IIR: return UART_IIR_NO_INT | ((com1.fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
    case UART_LCR: return com1.lcr;
    case UART_MCR: return com1.mcr;
    case UART_LSR: return UART_LSR_THRE | UART_LSR_TEMT;
    case UART_MSR: return UART_MSR_CTS_DSR_DCD;
    case UART_SCR: return com1.scr;
    default: return 0xff;
    }
}
