/* Command-line tokenizer and turtle's own options. Pure; host tested. */
#include "kernel/cmdline.h"
#include "kernel/printf.h"

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool cmdline_next(const char **p, struct cmdline_token *t, const char **rest)
{
    const char *s = *p;

    while (is_blank(*s))
        s++;
    if (s[0] == '-' && s[1] == '-' && (s[2] == '\0' || is_blank(s[2]))) {
        s += 2;
        while (is_blank(*s))
            s++;
        if (rest)
            *rest = s;
        *p = s;
        return false;
    }
    if (*s == '\0') {
        if (rest)
            *rest = s;
        *p = s;
        return false;
    }
    t->key = s;
    while (*s && !is_blank(*s) && *s != '=')
        s++;
    t->key_len = (u32)(s - t->key);
    t->value = NULL;
    t->value_len = 0;
    if (*s == '=') {
        s++;
        if (*s == '"') {
            t->value = ++s;
            while (*s && *s != '"')
                s++;
            t->value_len = (u32)(s - t->value);
            if (*s == '"')
                s++;
        } else {
            t->value = s;
            while (*s && !is_blank(*s))
                s++;
            t->value_len = (u32)(s - t->value);
        }
    }
    *p = s;
    return true;
}

bool cmdline_key_is(const struct cmdline_token *t, const char *key)
{
    u32 i = 0;
    for (; i < t->key_len; i++)
        if (key[i] != t->key[i])
            return false;
    return key[i] == '\0';
}

void cmdline_value(const struct cmdline_token *t, char *buf, u32 size)
{
    u32 n = 0;
    if (!size)
        return;
    for (; t->value && n < t->value_len && n + 1 < size; n++)
        buf[n] = t->value[n];
    buf[n] = '\0';
}

bool parse_u64(const char *s, u32 len, u64 *out)
{
    u64 v = 0, base = 10;
    u32 i = 0;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        char c = s[i];
        u64 d;
        if (c >= '0' && c <= '9')
            d = (u64)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (u64)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (u64)(c - 'A' + 10);
        else
            return false;
        if (v > (~0ULL - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

bool parse_size(const char *s, u32 len, u64 *out)
{
    unsigned shift = 0;

    if (len == 0)
        return false;
    switch (s[len - 1]) {
    case 'K': case 'k': shift = 10; break;
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    default: break;
    }
    if (shift)
        len--;
    u64 v;
    if (!parse_u64(s, len, &v) || (shift && v > (~0ULL >> shift)))
        return false;
    *out = v << shift;
    return true;
}

static const struct {
    const char *name;
    enum turtle_fault fault;
} fault_names[] = {
    { "none", FAULT_NONE }, { "ud", FAULT_UD }, { "pf", FAULT_PF },
    { "gp", FAULT_GP }, { "de", FAULT_DE }, { "bp", FAULT_BP },
};

static void bad(cmdline_error_fn err, const char *what, const struct cmdline_token *t)
{
    char msg[160];
    /* kvsnprintf has no precision: quote the token by hand. */
    u32 n = (u32)ksnprintf(msg, sizeof(msg), "%s '", what);
    const char *s = t->key;
    u32 len = (u32)((t->value ? t->value + t->value_len : t->key + t->key_len) - t->key);
    for (u32 i = 0; i < len && n + 2 < sizeof(msg); i++)
        msg[n++] = s[i];
    msg[n++] = '\'';
    msg[n] = '\0';
    if (err)
        err(msg);
}

int turtle_options_parse(const char *s, struct turtle_options *o, cmdline_error_fn err)
{
    struct cmdline_token t;
    int errors = 0;

    *o = (struct turtle_options){ .fault = FAULT_NONE };
    while (cmdline_next(&s, &t, NULL)) {
        if (cmdline_key_is(&t, "fault") && t.value) {
            bool found = false;
            for (u32 i = 0; i < ARRAY_SIZE(fault_names); i++) {
                struct cmdline_token name = { fault_names[i].name, (u32)__builtin_strlen(fault_names[i].name), NULL, 0 };
                if (t.value_len == name.key_len && !__builtin_memcmp(t.value, name.key, name.key_len)) {
                    o->fault = fault_names[i].fault;
                    found = true;
                }
            }
            if (!found) {
                bad(err, "unknown fault (want ud, pf, gp, de or bp) in", &t);
                errors++;
            }
        } else if (cmdline_key_is(&t, "slice") && t.value) {
            u64 v;
            if (!parse_u64(t.value, t.value_len, &v) || v == 0 || v > 0xffffffffu) {
                bad(err, "bad slice (want 1..4294967295 timer ticks) in", &t);
                errors++;
            } else {
                o->slice = v;
            }
        } else if (cmdline_key_is(&t, "console") && t.value) {
            if (t.value_len == 4 && !__builtin_memcmp(t.value, "stay", 4)) {
                o->console_stay = true;
            } else if (t.value_len == 8 && !__builtin_memcmp(t.value, "poweroff", 8)) {
                o->console_stay = false;
            } else {
                bad(err, "bad console (want poweroff or stay) in", &t);
                errors++;
            }
        } else if (cmdline_key_is(&t, "nested_verify") && !t.value) {
            o->nested_verify = true;
        } else if (cmdline_key_is(&t, "apicv") && t.value) {
            struct cmdline_token v = { t.value, t.value_len, NULL, 0 };
            if (cmdline_key_is(&v, "on")) {
                o->apicv_off = false;
            } else if (cmdline_key_is(&v, "off")) {
                o->apicv_off = true;
            } else {
                bad(err, "bad apicv (want on or off) in", &t);
                errors++;
            }
        } else if (cmdline_key_is(&t, "snapport") && t.value) {
            u64 v;
            if (!parse_u64(t.value, t.value_len, &v) || v == 0 || v > 0xfff8) {
                bad(err, "bad snapport (want a 16550's base port, e.g. 0x2f8) in", &t);
                errors++;
            } else {
                o->snap_port = (u16)v;
            }
        } else if (cmdline_key_is(&t, "snapself") && t.value) {
            u64 v;
            if (!parse_u64(t.value, t.value_len, &v) || v == 0) {
                bad(err, "bad snapself (want an exit count, 1 or more) in", &t);
                errors++;
            } else {
                o->snap_self = v;
            }
        } else if (cmdline_key_is(&t, "small_frames") && !t.value) {
            o->small_frames = true;
        } else if (cmdline_key_is(&t, "guests") && t.value && t.value_len &&
                   t.value_len < sizeof(o->guests)) {
            cmdline_value(&t, o->guests, sizeof(o->guests));
        } else {
            bad(err, "unknown option", &t);
            errors++;
        }
    }
    return errors;
}
