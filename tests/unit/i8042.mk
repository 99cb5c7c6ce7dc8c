UNIT_TESTS += test_i8042
test_i8042_SRCS := tests/unit/test_i8042.c vmx/dev/i8042.c
