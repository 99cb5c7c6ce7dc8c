UNIT_TESTS += test_checks test_checks_apic
test_checks_SRCS := tests/unit/test_checks.c tests/unit/test_checks_fuzz.c tests/unit/checks_fixture.c nested/checks.c nested/checks_apic.c nested/checks_guest_seg.c \
                    nested/seg_memo.c nested/vmcs12_fields.c
test_checks_apic_SRCS := tests/unit/test_checks_apic.c nested/checks_apic.c
