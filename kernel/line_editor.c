/* The console's line editor and attach escape (kernel/line_editor.h). Pure. */
#include "kernel/line_editor.h"

#define ESC_NONE    0
#define ESC_START   1           /* ESC seen */
#define ESC_CSI     2           /* ESC [: parameters until a final byte 0x40-0x7e */
#define ESC_SS3     3           /* ESC O: one more byte */

static const char rubout[] = "\b \b";

void line_editor_clear(struct line_editor *e)
{
    e->len = 0;
    e->buf[0] = '\0';
}

static void erase(struct line_editor *e, u32 n, line_echo_fn echo)
{
    for (; n && e->len; n--) {
        e->len--;
        echo(rubout, sizeof(rubout) - 1);
    }
    e->buf[e->len] = '\0';
}

/* Ctrl-W: blanks before the cursor, then the word before them. */
static void erase_word(struct line_editor *e, line_echo_fn echo)
{
    while (e->len && e->buf[e->len - 1] == ' ')
        erase(e, 1, echo);
    while (e->len && e->buf[e->len - 1] != ' ')
        erase(e, 1, echo);
}

/* Swallows the rest of an escape sequence. True while inside one. */
static bool in_escape(struct line_editor *e, u8 c)
{
    switch (e->esc) {
    case ESC_START:
        e->esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
        return true;
    case ESC_CSI:
        if (c >= 0x40 && c <= 0x7e)
            e->esc = ESC_NONE;
        return true;
    case ESC_SS3:
        e->esc = ESC_NONE;
        return true;
    }
    return false;
}

enum line_event line_editor_feed(struct line_editor *e, u8 c, line_echo_fn echo)
{
    bool after_cr = e->after_cr;

    e->after_cr = false;
    if (in_escape(e, c))
        return LINE_NONE;
    switch (c) {
    case KEY_CR:
        e->after_cr = true;
        echo("\n", 1);
        return LINE_DONE;
    case KEY_LF:
        if (after_cr)
            return LINE_NONE;           /* CR LF: one Enter */
        echo("\n", 1);
        return LINE_DONE;
    case KEY_BS:
    case KEY_DEL:
        erase(e, 1, echo);
        return LINE_NONE;
    case KEY_CTRL_U:
        erase(e, e->len, echo);
        return LINE_NONE;
    case KEY_CTRL_W:
        erase_word(e, echo);
        return LINE_NONE;
    case KEY_CTRL_C:
        echo("^C\n", 3);
        line_editor_clear(e);
        return LINE_CANCEL;
    case KEY_ESC:
        e->esc = ESC_START;
        return LINE_NONE;
    case '\t':
        c = ' ';
        break;
    default:
        break;
    }
    if (c < 0x20 || c > 0x7e || e->len == LINE_EDITOR_MAX)
        return LINE_NONE;               /* other control bytes; a full line */
    e->buf[e->len++] = (char)c;
    e->buf[e->len] = '\0';
    echo((const char *)&c, 1);
    return LINE_NONE;
}

void attach_escape_init(struct attach_escape *a)
{
    a->line_start = true;
    a->tilde = false;
}

int attach_escape_feed(struct attach_escape *a, u8 c, u8 out[2])
{
    int n = 0;

    if (c == KEY_CTRL_RBRACKET)
        return -1;
    if (a->tilde) {
        a->tilde = false;
        if (c == '.')
            return -1;
        if (c != '~')
            out[n++] = '~';
        out[n++] = c;
    } else if (a->line_start && c == '~') {
        a->tilde = true;
        a->line_start = false;
        return 0;
    } else {
        out[n++] = c;
    }
    a->line_start = c == KEY_CR || c == KEY_LF;
    return n;
}
