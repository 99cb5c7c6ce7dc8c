UNIT_TESTS += test_printf
test_printf_SRCS := tests/unit/test_printf.c kernel/printf.c
