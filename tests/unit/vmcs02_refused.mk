UNIT_TESTS += test_vmcs02_refused
test_vmcs02_refused_SRCS := tests/unit/test_vmcs02_refused.c nested/vmcs02_refused.c
