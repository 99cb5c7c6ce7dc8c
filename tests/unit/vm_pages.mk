UNIT_TESTS += test_vm_pages
test_vm_pages_SRCS := tests/unit/test_vm_pages.c vmx/vm_pages.c vmx/ept.c
