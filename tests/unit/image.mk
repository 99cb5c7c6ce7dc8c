UNIT_TESTS += test_image
test_image_SRCS := tests/unit/test_image.c kernel/image.c
