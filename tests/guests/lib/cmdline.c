/*
 * Command-line options: space-separated words, "key=value" for values.
 * Under GRUB's multiboot1 the first word is the kernel's path; it is just
 * another word that matches no key.
 */
#include "lib/guest.h"

/* The first word of s starting with prefix (n bytes), or NULL. */
static const char *find_word(const char *s, const char *prefix, size_t n)
{
    while (*s) {
        while (*s == ' ')
            s++;
        if (*s && strncmp(s, prefix, n) == 0)
            return s;
        while (*s && *s != ' ')
            s++;
    }
    return NULL;
}

bool cmdline_has_word(const char *cmdline, const char *word)
{
    size_t n = strlen(word);
    for (const char *w = cmdline; (w = find_word(w, word, n)); w += n)
        if (w[n] == ' ' || w[n] == '\0')
            return true;
    return false;
}

const char *cmdline_value(const char *cmdline, const char *key, char *buf, size_t size)
{
    size_t n = strlen(key);
    for (const char *w = cmdline; (w = find_word(w, key, n)); w += n) {
        if (w[n] != '=')
            continue;
        w += n + 1;
        size_t i = 0;
        for (; w[i] && w[i] != ' ' && i + 1 < size; i++)
            buf[i] = w[i];
        if (size)
            buf[i] = '\0';
        return buf;
    }
    return NULL;
}

bool cmdline_u64(const char *cmdline, const char *key, u64 *val)
{
    char buf[32];
    const char *s = cmdline_value(cmdline, key, buf, sizeof(buf));
    unsigned base = 10;
    u64 v = 0;

    if (!s || !*s)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (!*s)
            return false;
    }
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *val = v;
    return true;
}
