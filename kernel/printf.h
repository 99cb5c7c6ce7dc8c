/*
 * printf-style formatting. The formatter is pure (no I/O) so that it is unit
 * tested on the host; kprintf() sends its result to the console.
 *
 * Conversions: %c %s %d %i %u %x %X %p %%, with the length modifiers l, ll
 * and z, a field width (or *), '0' padding and '-' left justification.
 * Unknown conversions are printed literally.
 */
#ifndef TURTLE_PRINTF_H
#define TURTLE_PRINTF_H

#include <stdarg.h>
#include "kernel/types.h"

/* Formats into buf (always NUL-terminated when size > 0). Returns the length
 * the full output would have had, as C's vsnprintf does. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Console output (kernel/console.c): serial COM1. */
int kprintf(const char *fmt, ...) __printf(1, 2);
int kvprintf(const char *fmt, va_list ap);
void console_write(const char *s, size_t n);

#endif
