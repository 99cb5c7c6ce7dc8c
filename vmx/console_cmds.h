/*
 * The management console's commands: the table (vmx/console_table.c, the
 * one place a command is added), the commands that act on VMs
 * (vmx/console_cmds.c), and what a command uses. docs/console.md lists
 * the commands.
 */
#ifndef TURTLE_CONSOLE_CMDS_H
#define TURTLE_CONSOLE_CMDS_H

#include "kernel/console_cmd.h"
#include "vmx/vm.h"

extern const struct console_table console_table;
/* Gives kernel/console.c the table: console input is taken from now on. */
void console_cmds_start(void);
/* The VM called name, or NULL after printing
 * "turtle: console: no guest named 'NAME'". */
struct vm *vm_by_name(const char *name);

/* vmx/console_cmds.c: argv[0] is the command's name (kernel/console_cmd.h). */
void console_cmd_help(int argc, char **argv);
void console_cmd_list(int argc, char **argv);
void console_cmd_pause(int argc, char **argv);
void console_cmd_resume(int argc, char **argv);
void console_cmd_kill(int argc, char **argv);
void console_cmd_reset(int argc, char **argv);
void console_cmd_attach(int argc, char **argv);
void console_cmd_detach(int argc, char **argv);
void console_cmd_snapshot(int argc, char **argv);
void console_cmd_restore(int argc, char **argv);

#endif
