/*
 * The management console's commands (pure: tests/unit/test_console_cmd.c).
 * A command is one entry of a table of struct console_cmd; the table that
 * turtle runs is vmx/console_table.c's (commands act on VMs), and adding a
 * command is adding an entry there. A line is split at blanks into at
 * most CONSOLE_MAX_ARGS words; the first names the command.
 */
#ifndef TURTLE_CONSOLE_CMD_H
#define TURTLE_CONSOLE_CMD_H

#include "kernel/types.h"

#define CONSOLE_MAX_ARGS    8           /* words in a line, the command's name included */

struct console_cmd {
    const char *name;
    const char *args;           /* shown by help and in the usage error, e.g. "NAME", or "" */
    const char *help;           /* one line */
    u8 min_args, max_args;      /* words after the name */
    /* argv[0] is the name; argc - 1 is within [min_args, max_args]. */
    void (*run)(int argc, char **argv);
};

struct console_table {
    const struct console_cmd *cmds;
    u32 n;
};

/* Splits line in place at blanks (space, tab) into at most max words.
 * Returns the number of words, or -1 if there are more than max. */
int console_split(char *line, char **argv, int max);

/* The command called name, or NULL. */
const struct console_cmd *console_find(const struct console_table *t, const char *name);

enum console_status {
    CONSOLE_RAN,        /* the command ran */
    CONSOLE_EMPTY,      /* a blank line: nothing to do */
    CONSOLE_UNKNOWN,    /* no such command: err says so */
    CONSOLE_USAGE,      /* wrong number of words: err gives the usage */
};

/* Runs line (modified in place) against the table. Anything but
 * CONSOLE_RAN/EMPTY leaves a message in err, e.g. "turtle: console:
 * unknown command 'x' (try 'help')". */
enum console_status console_execute(const struct console_table *t, char *line, char *err, u32 err_size);

#endif
