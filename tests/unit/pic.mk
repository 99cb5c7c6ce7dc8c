UNIT_TESTS += test_pic
test_pic_SRCS := tests/unit/test_pic.c vmx/dev/pic.c
