/* kprintf(): formats with kvsnprintf() and writes to the serial console. */
#include "kernel/printf.h"
#include "kernel/serial.h"

#define KPRINTF_BUF         512

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}

int kvprintf(const char *fmt, va_list ap)
{
    char buf[KPRINTF_BUF];
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

    console_write(buf, len);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}
