UNIT_TESTS += test_rtc
test_rtc_SRCS := tests/unit/test_rtc.c vmx/dev/rtc.c vmx/dev/calendar.c
