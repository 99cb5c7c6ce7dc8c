UNIT_TESTS += test_pit
test_pit_SRCS := tests/unit/test_pit.c vmx/dev/pit.c
