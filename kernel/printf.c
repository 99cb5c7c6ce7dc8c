/*
 * The formatter behind kprintf(). Pure: it writes only into the caller's
 * buffer, never past size, and counts what it could not store.
 */
#include "kernel/printf.h"

struct out {
    char *buf;
    size_t size;
    size_t len;         /* characters produced so far, stored or not */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padding(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    int width;
    bool zero_pad;
    bool left;
};

/* Emits s (length n) padded to the field width. Zero padding goes after a
 * leading sign, as in C. */
static void put_field(struct out *o, const char *s, int n, const struct spec *sp)
{
    int pad = sp->width > n ? sp->width - n : 0;

    if (sp->left) {
        for (int i = 0; i < n; i++)
            put(o, s[i]);
        put_padding(o, ' ', pad);
        return;
    }
    if (sp->zero_pad) {
        if (n > 0 && s[0] == '-') {
            put(o, '-');
            s++;
            n--;
        }
        put_padding(o, '0', pad);
    } else {
        put_padding(o, ' ', pad);
    }
    for (int i = 0; i < n; i++)
        put(o, s[i]);
}

/* Writes v in the given base into the end of tmp; returns the digit count. */
static int format_unsigned(char *tmp_end, u64 v, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;

    do {
        *--tmp_end = digits[v % base];
        v /= base;
        n++;
    } while (v);
    return n;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    char tmp[24];                       /* 64-bit octal-free: 20 digits + sign */

    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        const char *start = p++;
        struct spec sp = { 0, false, false };

        for (;; p++) {
            if (*p == '0')
                sp.zero_pad = true;
            else if (*p == '-')
                sp.left = true;
            else
                break;
        }
        if (*p == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = sp.width < -256 ? 256 : -sp.width;   /* -INT_MIN overflows */
            }
            p++;
        }
        while (*p >= '0' && *p <= '9') {
            if (sp.width <= 256)        /* stop growing before int overflows */
                sp.width = sp.width * 10 + (*p - '0');
            p++;
        }
        if (sp.width > 256)
            sp.width = 256;             /* bound the padding a caller can ask for */

        int longs = 0;
        bool size_t_arg = false;
        while (*p == 'l') {
            longs++;
            p++;
        }
        if (*p == 'z') {
            size_t_arg = true;
            p++;
        }

        char *end = tmp + sizeof(tmp);
        int n;
        u64 uv;
        switch (*p) {
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_field(&o, tmp, 1, &sp);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = 0;
            while (s[len])
                len++;
            sp.zero_pad = false;
            put_field(&o, s, len, &sp);
            break;
        }
        case 'd':
        case 'i': {
            s64 v;
            if (size_t_arg || longs)
                v = longs == 1 || size_t_arg ? va_arg(ap, long) : va_arg(ap, long long);
            else
                v = va_arg(ap, int);
            uv = v < 0 ? (u64)0 - (u64)v : (u64)v;
            n = format_unsigned(end, uv, 10, false);
            if (v < 0) {
                *(end - n - 1) = '-';
                n++;
            }
            put_field(&o, end - n, n, &sp);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
            if (size_t_arg)
                uv = va_arg(ap, size_t);
            else if (longs == 1)
                uv = va_arg(ap, unsigned long);
            else if (longs >= 2)
                uv = va_arg(ap, unsigned long long);
            else
                uv = va_arg(ap, unsigned int);
            n = format_unsigned(end, uv, *p == 'u' ? 10 : 16, *p == 'X');
            put_field(&o, end - n, n, &sp);
            break;
        case 'p':
            uv = (u64)(uintptr_t)va_arg(ap, void *);
            n = format_unsigned(end, uv, 16, false);
            *(end - n - 1) = 'x';
            *(end - n - 2) = '0';
            n += 2;
            put_field(&o, end - n, n, &sp);
            break;
        case '%':
            put(&o, '%');
            break;
        default:
            /* Unknown conversion (or a lone '%' at the end): print it as is. */
            for (const char *q = start; q <= p && *q; q++)
                put(&o, *q);
            if (!*p)
                p--;
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
