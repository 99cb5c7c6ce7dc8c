SNAP_FIXTURE_SRCS := tests/unit/snap_fixture.c tools/turtle-snap/builder.c snapshot/crc32c.c \
                     snapshot/parse.c snapshot/nested_check.c snapshot/nested_check_vmcs12.c snapshot/vcpu_check.c
UNIT_TESTS += test_snapshot_parse
test_snapshot_parse_SRCS := tests/unit/test_snapshot_parse.c $(SNAP_FIXTURE_SRCS)
UNIT_TESTS += test_nested_check
test_nested_check_SRCS := tests/unit/test_nested_check.c $(SNAP_FIXTURE_SRCS)
UNIT_TESTS += test_turtle_snap
test_turtle_snap_SRCS := tests/unit/test_turtle_snap.c $(SNAP_FIXTURE_SRCS) tools/turtle-snap/kvm_dir.c \
                         tools/turtle-snap/info.c tools/turtle-snap/decode.c tools/turtle-snap/check.c \
                         tools/turtle-snap/load.c tools/turtle-snap/unframe.c $(BUILD)/tools/vmcs12_names.c
