/*
 * Host unit test of kernel/console_cmd.c: splitting a line into words,
 * finding a command, and running one with the argument-count checks and
 * the exact error messages (unknown command, usage), on a table like
 * vmx/console_cmds.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kernel/console_cmd.h"

static int ran_argc;
static char ran[CONSOLE_MAX_ARGS][32];
static const char *ran_cmd;

static void record(const char *cmd, int argc, char **argv)
{
	ran_cmd = cmd;
	ran_argc = argc;
	for (int i = 0; i < argc; i++) {
		strncpy(ran[i], argv[i], sizeof(ran[i]) - 1);
		ran[i][sizeof(ran[i]) - 1] = '\0';
	}
}

static void run_help(int argc, char **argv) { record("help", argc, argv); }
static void run_pause(int argc, char **argv) { record("pause", argc, argv); }
static void run_echo(int argc, char **argv) { record("echo", argc, argv); }

static const struct console_cmd cmds[] = {
	{ "help", "", "this list", 0, 0, run_help },
	{ "pause", "NAME", "stop scheduling a guest", 1, 1, run_pause },
	{ "echo", "[WORD...]", "print words", 0, CONSOLE_MAX_ARGS - 1, run_echo },
};
static const struct console_table table = { cmds, sizeof(cmds) / sizeof(cmds[0]) };

static enum console_status exec(const char *line, char *err)
{
	char buf[128];
	strcpy(buf, line);
	err[0] = '\0';
	ran_cmd = NULL;
	return console_execute(&table, buf, err, 96);
}

static void test_split(void **state)
{
	char line[] = "  attach\t beta  x ";
	char *argv[4];

	(void)state;
	assert_int_equal(console_split(line, argv, 4), 3);
	assert_string_equal(argv[0], "attach");
	assert_string_equal(argv[1], "beta");
	assert_string_equal(argv[2], "x");
	char blank[] = " \t ";
	assert_int_equal(console_split(blank, argv, 4), 0);
	char many[] = "a b c d e";
	assert_int_equal(console_split(many, argv, 4), -1);
	char exact[] = "a b c d";
	assert_int_equal(console_split(exact, argv, 4), 4);
	assert_string_equal(argv[3], "d");
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(console_find(&table, "pause"), &cmds[1]);
	assert_null(console_find(&table, "paus"));
	assert_null(console_find(&table, "pauses"));
	assert_null(console_find(&table, ""));
}

static void test_execute(void **state)
{
	char err[96];

	(void)state;
	assert_int_equal(exec("pause beta", err), CONSOLE_RAN);
	assert_string_equal(ran_cmd, "pause");
	assert_int_equal(ran_argc, 2);
	assert_string_equal(ran[1], "beta");
	assert_string_equal(err, "");

	assert_int_equal(exec("   ", err), CONSOLE_EMPTY);
	assert_null(ran_cmd);
	assert_int_equal(exec("", err), CONSOLE_EMPTY);

	assert_int_equal(exec("frobnicate now", err), CONSOLE_UNKNOWN);
	assert_null(ran_cmd);
	assert_string_equal(err, "turtle: console: unknown command 'frobnicate' (try 'help')");

	assert_int_equal(exec("pause", err), CONSOLE_USAGE);
	assert_string_equal(err, "turtle: console: usage: pause NAME");
	assert_int_equal(exec("pause a b", err), CONSOLE_USAGE);
	assert_null(ran_cmd);
	assert_int_equal(exec("help me", err), CONSOLE_USAGE);
	assert_string_equal(err, "turtle: console: usage: help");

	assert_int_equal(exec("echo 1 2 3 4 5 6 7", err), CONSOLE_RAN);
	assert_int_equal(ran_argc, 8);
	assert_string_equal(ran[7], "7");
	/* More words than a line may have: usage, or unknown for a bad name. */
	assert_int_equal(exec("echo 1 2 3 4 5 6 7 8", err), CONSOLE_USAGE);
	assert_int_equal(exec("nope 1 2 3 4 5 6 7 8", err), CONSOLE_UNKNOWN);
	assert_string_equal(err, "turtle: console: unknown command 'nope' (try 'help')");

	/* A long unknown word is cut, the message stays terminated. */
	char line[120];
	memset(line, 'q', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(exec(line, err), CONSOLE_UNKNOWN);
	assert_true(strlen(err) < 96);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_execute),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
