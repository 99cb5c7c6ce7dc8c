/*
 * A small printf for the guests' console. Builds for 64-bit and 32-bit
 * guests: numbers are converted as u64 with a division that needs no
 * libgcc helper on i386.
 */
#include "lib/guest.h"

/* Where formatted characters go: COM1, or a bounded buffer. */
struct sink {
    char *buf;                  /* NULL: the serial port */
    size_t size, len;
};

static void put(struct sink *s, char c)
{
    if (!s->buf)
        serial_putc(c);
    else if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

/* n / 10, remainder in *rem: shift-and-subtract, so i386 needs no __udivdi3. */
static u64 div10(u64 n, unsigned *rem)
{
#ifdef __x86_64__
    *rem = (unsigned)(n % 10);
    return n / 10;
#else
    u64 q = 0;
    u32 r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | (u32)((n >> bit) & 1);
        q <<= 1;
        if (r >= 10) {
            r -= 10;
            q |= 1;
        }
    }
    *rem = r;
    return q;
#endif
}

struct spec {
    bool left, zero, alt;           /* '-', '0', '#' (0x before hex) */
    int width;
};

static void put_padded(struct sink *s, const struct spec *sp, const char *str, int len, bool negative)
{
    int pad = sp->width - len - (negative ? 1 : 0);

    if (negative && sp->zero)
        put(s, '-');
    if (!sp->left)
        for (; pad > 0; pad--)
            put(s, sp->zero ? '0' : ' ');
    if (negative && !sp->zero)
        put(s, '-');
    for (int i = 0; i < len; i++)
        put(s, str[i]);
    for (; pad > 0; pad--)
        put(s, ' ');
}

static void put_number(struct sink *s, const struct spec *sp, u64 v, unsigned base, bool upper, bool negative)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    struct spec inner = *sp;

    if (base == 16 && sp->alt) {
        put(s, '0');
        put(s, 'x');
        inner.width = sp->width > 2 ? sp->width - 2 : 0;
    }

    do {
        unsigned d;
        if (base == 16) {
            d = (unsigned)(v & 15);
            v >>= 4;
        } else {
            v = div10(v, &d);
        }
        tmp[n++] = digits[d];
    } while (v);
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    put_padded(s, &inner, out, n, negative);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(s, *fmt);
            continue;
        }
        struct spec sp = { 0 };
        for (fmt++; *fmt == '-' || *fmt == '0' || *fmt == '#'; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else
                sp.alt = true;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            fmt++;
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            sp.width = sp.width * 10 + (*fmt - '0');
        if (sp.left)
            sp.zero = false;
        int lng = 0;                    /* 0 int, 1 long, 2 long long, 3 size_t */
        if (*fmt == 'l') {
            lng = 1;
            if (*++fmt == 'l') {
                lng = 2;
                fmt++;
            }
        } else if (*fmt == 'z') {
            lng = 3;
            fmt++;
        }
        switch (*fmt) {
        case 'c': {
            char c = (char)va_arg(ap, int);
            put_padded(s, &sp, &c, 1, false);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            put_padded(s, &sp, str, (int)strlen(str), false);
            break;
        }
        case 'd':
        case 'i': {
            s64 v = lng == 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long)
                  : lng == 3 ? (s64)va_arg(ap, size_t) : va_arg(ap, int);
            put_number(s, &sp, v < 0 ? 0 - (u64)v : (u64)v, 10, false, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            u64 v = lng == 2 ? va_arg(ap, unsigned long long) : lng == 1 ? va_arg(ap, unsigned long)
                  : lng == 3 ? va_arg(ap, size_t) : va_arg(ap, unsigned int);
            put_number(s, &sp, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false);
            break;
        }
        case 'p':
            sp.alt = true;
            put_number(s, &sp, (u64)(uintptr_t)va_arg(ap, void *), 16, false, false);
            break;
        case '%':
            put(s, '%');
            break;
        case '\0':
            return;
        default:                        /* unknown: print it as written */
            put(s, '%');
            put(s, *fmt);
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { 0 };
    format(&s, fmt, ap);
    return (int)s.len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .buf = buf, .size = size };
    format(&s, fmt, ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
