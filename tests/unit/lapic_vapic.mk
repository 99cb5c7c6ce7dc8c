UNIT_TESTS += test_lapic_vapic
test_lapic_vapic_SRCS := tests/unit/test_lapic_vapic.c vmx/dev/lapic.c vmx/dev/lapic_access.c \
                         vmx/dev/lapic_timer.c vmx/dev/lapic_vapic.c
