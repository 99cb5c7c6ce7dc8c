UNIT_TESTS += test_acpi_tables
test_acpi_tables_SRCS := tests/unit/test_acpi_tables.c vmx/dev/acpi_tables.c vmx/dev/acpi_dsdt.c
