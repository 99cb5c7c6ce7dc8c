UNIT_TESTS += test_uart
test_uart_SRCS := tests/unit/test_uart.c vmx/dev/uart.c kernel/printf.c
