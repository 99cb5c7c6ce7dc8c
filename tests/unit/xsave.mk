UNIT_TESTS += test_xsave
test_xsave_SRCS := tests/unit/test_xsave.c vmx/xsave_rules.c
