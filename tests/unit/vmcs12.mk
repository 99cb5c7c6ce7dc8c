UNIT_TESTS += test_vmcs12
test_vmcs12_SRCS := tests/unit/test_vmcs12.c nested/vmcs12_fields.c
