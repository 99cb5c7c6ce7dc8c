UNIT_TESTS += test_lapic
test_lapic_SRCS := tests/unit/test_lapic.c tests/unit/test_lapic_irq.c tests/unit/test_lapic_timer.c tests/unit/lapic_fixture.c vmx/dev/lapic.c vmx/dev/lapic_access.c vmx/dev/lapic_timer.c
