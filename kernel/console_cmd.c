/* The management console's command lines (kernel/console_cmd.h). Pure. */
#include "kernel/console_cmd.h"
#include "kernel/printf.h"

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

int console_split(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line;

    for (;;) {
        while (blank(*p))
            *p++ = '\0';
        if (!*p)
            return argc;
        if (argc == max)
            return -1;
        argv[argc++] = p;
        while (*p && !blank(*p))
            p++;
    }
}

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const struct console_cmd *console_find(const struct console_table *t, const char *name)
{
    for (u32 i = 0; i < t->n; i++)
        if (same(t->cmds[i].name, name))
            return &t->cmds[i];
    return NULL;
}

enum console_status console_execute(const struct console_table *t, char *line, char *err, u32 err_size)
{
    char *argv[CONSOLE_MAX_ARGS];
    int argc = console_split(line, argv, CONSOLE_MAX_ARGS);

    if (argc == 0)
        return CONSOLE_EMPTY;
    const struct console_cmd *c = argc > 0 ? console_find(t, argv[0]) : NULL;
    if (argc < 0) {
        c = console_find(t, line);      /* the first word is still NUL-terminated */
        if (!c) {
            ksnprintf(err, err_size, "turtle: console: unknown command '%s' (try 'help')", line);
            return CONSOLE_UNKNOWN;
        }
    } else if (!c) {
        ksnprintf(err, err_size, "turtle: console: unknown command '%s' (try 'help')", argv[0]);
        return CONSOLE_UNKNOWN;
    }
    if (argc < 0 || argc - 1 < c->min_args || argc - 1 > c->max_args) {
        ksnprintf(err, err_size, "turtle: console: usage: %s%s%s", c->name, c->args[0] ? " " : "",
                  c->args);
        return CONSOLE_USAGE;
    }
    c->run(argc, argv);
    return CONSOLE_RAN;
}
