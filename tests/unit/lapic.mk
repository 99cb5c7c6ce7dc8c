UNIT_TESTS += test_lapic
test_lapic_SRCS := tests/unit/test_lapic.c vmx/dev/lapic.c vmx/dev/lapic_access.c vmx/dev/lapic_timer.c
