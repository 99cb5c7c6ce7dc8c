UNIT_TESTS += test_event
test_event_SRCS := tests/unit/test_event.c vmx/event.c
