/*
 * turtle's console on COM1: output (kprintf(), kernel/printf.h) and the
 * management console on its input (docs/console.md).
 *
 * Input is polled (console_poll()): the scheduler calls it between slices
 * and in its idle loop. The console is quiet until the first byte
 * arrives; from then on it shows the prompt `turtle> ` below the output,
 * with the line being typed: output that arrives meanwhile erases the
 * prompt line ("\r" ESC "[K"), prints, and draws the prompt and the
 * partial line again. A complete line runs a command of the table given
 * to console_start() (kernel/console_cmd.h).
 *
 * While attached (console_attach()), input bytes go to a sink (a guest's
 * COM1) instead, until the escape (Ctrl-], or "~." at line start;
 * kernel/line_editor.h) or console_detach().
 */
#ifndef TURTLE_CONSOLE_H
#define TURTLE_CONSOLE_H

#include "kernel/console_cmd.h"

#define CONSOLE_PROMPT      "turtle> "

/* Starts taking input: lines run the table's commands. */
void console_start(const struct console_table *t);
/* Takes what arrived on COM1. True if a byte was handled (the caller may
 * want to look again at what the command changed). */
bool console_poll(void);
/* Shows the prompt now, without waiting for a key. */
void console_prompt_on(void);

typedef void (*console_sink_fn)(void *ctx, u8 byte);
/* Routes input to sink(ctx, byte) until the escape or console_detach(). */
void console_attach(console_sink_fn sink, void *ctx, const char *name);
/* Ends the attachment (if any), with a message. */
void console_detach(void);
/* The ctx of the current attachment, or NULL. */
void *console_attached(void);

#endif
