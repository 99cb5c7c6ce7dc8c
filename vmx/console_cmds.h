/*
 * The management console's command table (vmx/console_cmds.c), and what
 * a command that acts on a guest uses. docs/console.md lists the commands.
 */
#ifndef TURTLE_CONSOLE_CMDS_H
#define TURTLE_CONSOLE_CMDS_H

#include "vmx/vm.h"

/* Gives kernel/console.c the table: console input is taken from now on. */
void console_cmds_start(void);
/* The VM called name, or NULL after printing
 * "turtle: console: no guest named 'NAME'". */
struct vm *vm_by_name(const char *name);

#endif
