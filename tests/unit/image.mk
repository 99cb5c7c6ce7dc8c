UNIT_TESTS += test_image
test_image_SRCS := tests/unit/test_image.c tests/unit/test_image_linux.c tests/unit/image_fixture.c kernel/image.c
