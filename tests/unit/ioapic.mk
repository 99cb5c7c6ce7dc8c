UNIT_TESTS += test_ioapic
test_ioapic_SRCS := tests/unit/test_ioapic.c vmx/dev/ioapic.c vmx/dev/lapic.c vmx/dev/lapic_access.c \
                    vmx/dev/lapic_timer.c
