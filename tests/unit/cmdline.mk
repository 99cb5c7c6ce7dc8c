UNIT_TESTS += test_cmdline
test_cmdline_SRCS := tests/unit/test_cmdline.c kernel/cmdline.c kernel/printf.c
