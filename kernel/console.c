/*
 * The console (kernel/console.h): kprintf() and the management console.
 * Output goes out at once; the prompt is drawn again under it when the
 * console is awake, so typing while guests print still works.
 */
#include "kernel/console.h"
#include "kernel/line_editor.h"
#include "kernel/printf.h"
#include "kernel/serial.h"

#define KPRINTF_BUF         512
#define ERASE_LINE          "\r\x1b[K"      /* to column 0, clear to the end of the line */

static struct {
    const struct console_table *cmds;   /* NULL until console_start() */
    bool prompt_on;                     /* the prompt belongs under the output */
    bool prompt_drawn;                  /* ... and is on the screen now */
    bool at_line_start;                 /* the last byte out was a newline */
    struct line_editor editor;
    /* Attached: where input goes instead of the editor. */
    console_sink_fn sink;
    void *sink_ctx;
    const char *sink_name;
    struct attach_escape escape;
} con = { .at_line_start = true };

static void put(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}

static void echo(const char *s, u32 n)
{
    put(s, n);
}

static void draw_prompt(void)
{
    put(CONSOLE_PROMPT, sizeof(CONSOLE_PROMPT) - 1);
    put(con.editor.buf, con.editor.len);
    con.prompt_drawn = true;
}

void console_write(const char *s, size_t n)
{
    if (!n)
        return;
    if (con.prompt_drawn) {
        put(ERASE_LINE, sizeof(ERASE_LINE) - 1);
        con.prompt_drawn = false;
    }
    put(s, n);
    con.at_line_start = s[n - 1] == '\n';
    if (con.prompt_on && con.at_line_start)
        draw_prompt();
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

void console_start(const struct console_table *t)
{
    con.cmds = t;
    line_editor_clear(&con.editor);
}

void console_prompt_on(void)
{
    if (con.prompt_on || con.sink)
        return;
    con.prompt_on = true;
    if (!con.at_line_start)
        put("\n", 1);
    draw_prompt();
}

/* A complete line: the prompt goes away while the command prints. */
static void run_line(void)
{
    char err[96];

    con.prompt_on = false;
    con.prompt_drawn = false;           /* the Enter's newline moved past it */
    con.at_line_start = true;
    if (console_execute(con.cmds, con.editor.buf, err, sizeof(err)) > CONSOLE_EMPTY)
        kprintf("%s\n", err);
    line_editor_clear(&con.editor);
    if (!con.sink)
        console_prompt_on();
}

static void take(u8 c)
{
    if (con.sink) {
        u8 out[2];
        int n = attach_escape_feed(&con.escape, c, out);
        if (n < 0) {
            console_detach();
            return;
        }
        for (int i = 0; i < n; i++)
            con.sink(con.sink_ctx, out[i]);
        return;
    }
    if (!con.prompt_on)
        console_prompt_on();            /* the first key wakes the console */
    switch (line_editor_feed(&con.editor, c, echo)) {
    case LINE_DONE:
        run_line();
        break;
    case LINE_CANCEL:
        con.prompt_drawn = false;
        con.at_line_start = true;
        draw_prompt();
        break;
    case LINE_NONE:
        break;
    }
}

bool console_poll(void)
{
    bool any = false;
    int c;

    if (!con.cmds || !serial_rx_poll())
        return false;
    while ((c = serial_getc()) >= 0) {
        take((u8)c);
        any = true;
    }
    return any;
}

void console_attach(console_sink_fn sink, void *ctx, const char *name)
{
    con.sink = sink;
    con.sink_ctx = ctx;
    con.sink_name = name;
    attach_escape_init(&con.escape);
    con.prompt_on = false;
    kprintf("turtle: console: attached to '%s' (Ctrl-] or ~. at line start returns)\n", name);
}

void console_detach(void)
{
    if (!con.sink)
        return;
    con.sink = NULL;
    kprintf("turtle: console: detached from '%s'\n", con.sink_name);
    con.sink_ctx = NULL;
    console_prompt_on();
}

void *console_attached(void)
{
    return con.sink ? con.sink_ctx : NULL;
}
