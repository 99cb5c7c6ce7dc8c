UNIT_TESTS += test_boot_place
test_boot_place_SRCS := tests/unit/test_boot_place.c vmx/boot_place.c
