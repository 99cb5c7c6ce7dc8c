UNIT_TESTS += test_mmio_decode
test_mmio_decode_SRCS := tests/unit/test_mmio_decode.c vmx/mmio_decode.c vmx/mmio_emulate.c vmx/mmio_alu.c
UNIT_TESTS += test_mmio_emulate
test_mmio_emulate_SRCS := tests/unit/test_mmio_emulate.c vmx/mmio_decode.c vmx/mmio_emulate.c vmx/mmio_alu.c
