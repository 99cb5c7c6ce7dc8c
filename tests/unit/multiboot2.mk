UNIT_TESTS += test_multiboot2
test_multiboot2_SRCS := tests/unit/test_multiboot2.c tests/unit/test_multiboot2_bad.c tests/unit/mb2_fixture.c kernel/multiboot2.c
