UNIT_TESTS += test_vmm_image
test_vmm_image_SRCS := tests/unit/test_vmm_image.c tools/vmm/image.c tools/vmm/mbi.c
