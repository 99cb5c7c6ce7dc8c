UNIT_TESTS += test_console_cmd
test_console_cmd_SRCS := tests/unit/test_console_cmd.c kernel/console_cmd.c kernel/printf.c
