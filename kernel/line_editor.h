/*
 * The console's input, byte by byte (pure: tests/unit/test_line_editor.c).
 *
 * The line editor turns a terminal's bytes into command lines: printable
 * ASCII is appended and echoed; Backspace (BS or DEL) erases one
 * character, Ctrl-W a word, Ctrl-U the whole line (each echoed as
 * "\b \b"); Ctrl-C abandons the line; CR, LF or CR LF ends it. Escape
 * sequences a terminal sends for its special keys (ESC [ ... final byte,
 * ESC O x) are swallowed; other control bytes are ignored.
 *
 * The attach escape watches the bytes routed to a guest: Ctrl-] anywhere,
 * or "~." at the start of a line (after CR or LF, or as the first bytes),
 * ends the attachment, as ssh's escape does; "~~" at line start sends one
 * "~"; a "~" followed by anything else sends both.
 */
#ifndef TURTLE_LINE_EDITOR_H
#define TURTLE_LINE_EDITOR_H

#include "kernel/types.h"

#define LINE_EDITOR_MAX     78          /* characters in a line (without the NUL) */
#define KEY_CTRL_C          0x03
#define KEY_BS              0x08
#define KEY_LF              0x0a
#define KEY_CR              0x0d
#define KEY_CTRL_U          0x15
#define KEY_CTRL_W          0x17
#define KEY_ESC             0x1b
#define KEY_CTRL_RBRACKET   0x1d        /* Ctrl-]: the attach escape */
#define KEY_DEL             0x7f

/* What the terminal must show: called with the bytes to echo. */
typedef void (*line_echo_fn)(const char *s, u32 n);

struct line_editor {
    char buf[LINE_EDITOR_MAX + 1];      /* NUL-terminated */
    u32 len;
    u8 esc;                             /* 0, or where in an escape sequence */
    bool after_cr;                      /* the last byte was CR: an LF now is the same Enter */
};

enum line_event {
    LINE_NONE,          /* keep typing */
    LINE_DONE,          /* buf holds a complete line; call line_editor_clear() after use */
    LINE_CANCEL,        /* Ctrl-C: the line was dropped */
};

void line_editor_clear(struct line_editor *e);
enum line_event line_editor_feed(struct line_editor *e, u8 c, line_echo_fn echo);

struct attach_escape {
    bool line_start;    /* the next byte starts a line */
    bool tilde;         /* a "~" at line start is held back */
};

/* A new attachment: the first byte starts a line. */
void attach_escape_init(struct attach_escape *a);
/* Feeds one byte. Returns -1 when the escape was typed (detach), else the
 * number of bytes (0-2) written to out for the guest. */
int attach_escape_feed(struct attach_escape *a, u8 c, u8 out[2]);

#endif
