UNIT_TESTS += test_acpi_pm
test_acpi_pm_SRCS := tests/unit/test_acpi_pm.c vmx/dev/acpi_pm.c vmx/dev/reset.c
