/*
 * The management console's command table (docs/console.md): what `help`
 * lists, in this order, and what a typed line can run.
 *
 * Adding a command is one line here: its name, the argument words `help`
 * and the usage error show, one line of help, how many arguments it takes
 * (min, max), and its function, `void f(int argc, char **argv)` with
 * argv[0] the name; kernel/console_cmd.c has checked the count. Write the
 * function beside the mechanism it drives and declare it in that
 * mechanism's header; vm_by_name() (vmx/console_cmds.h) finds a guest
 * with the standard error.
 */
#include "kernel/console.h"
#include "vmx/console_cmds.h"

static const struct console_cmd console_cmds[] = {
    { "help",   "",     "this list",                                         0, 0, console_cmd_help },
    { "list",   "",     "each guest: state, vCPUs, memory, exits, nested, L2", 0, 0, console_cmd_list },
    { "pause",  "NAME", "stop scheduling a guest (its time runs on)",       1, 1, console_cmd_pause },
    { "resume", "NAME", "schedule a paused guest again",                    1, 1, console_cmd_resume },
    { "kill",   "NAME", "end a guest (counted as failed), free its memory", 1, 1, console_cmd_kill },
    { "reset",  "NAME", "reload a guest from its modules and start it",     1, 1, console_cmd_reset },
    { "attach", "NAME", "type into a guest's COM1; Ctrl-] or ~. returns",   1, 1, console_cmd_attach },
    { "detach", "",     "end the attachment",                               0, 0, console_cmd_detach },
    { "snapshot", "NAME [keep]", "snapshot a guest to the snapshot port; keep: also a copy here", 1, 2,
      console_cmd_snapshot },
    { "restore", "NAME", "start the kept snapshot as a new guest NAME",    1, 1, console_cmd_restore },
};

const struct console_table console_table = { console_cmds, ARRAY_SIZE(console_cmds) };

void console_cmds_start(void)
{
    console_start(&console_table);
}
