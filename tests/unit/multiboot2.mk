UNIT_TESTS += test_multiboot2
test_multiboot2_SRCS := tests/unit/test_multiboot2.c kernel/multiboot2.c
