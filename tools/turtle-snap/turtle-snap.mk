# tools/turtle-snap: the host tool that reads, checks and converts snapshots
# (docs/snapshot.md "turtle-snap"). Built by `make` as build/tools/turtle-snap,
# installed nowhere. Include this from the top Makefile (it uses BUILD, CC, WARN).

SNAP_LIB_SRCS := snapshot/crc32c.c snapshot/parse.c snapshot/nested_check.c snapshot/nested_check_vmcs12.c \
                 snapshot/vcpu_check.c tools/turtle-snap/builder.c tools/turtle-snap/kvm_dir.c
TURTLE_SNAP_SRCS := $(SNAP_LIB_SRCS) tools/turtle-snap/main.c tools/turtle-snap/load.c tools/turtle-snap/info.c \
                    tools/turtle-snap/decode.c tools/turtle-snap/check.c tools/turtle-snap/kvm_abi.c \
                    tools/turtle-snap/unframe.c \
                    $(BUILD)/tools/vmcs12_names.c
TURTLE_SNAP := $(BUILD)/tools/turtle-snap
TURTLE_SNAP_CFLAGS := -std=c11 -O2 -g $(WARN) -I.

$(BUILD)/tools/vmcs12_names.c: nested/vmcs12-layout.tsv tools/turtle-snap/gen_vmcs12_names.awk
	@mkdir -p $(dir $@)
	awk -f tools/turtle-snap/gen_vmcs12_names.awk $< > $@

$(TURTLE_SNAP): $(TURTLE_SNAP_SRCS) $(wildcard snapshot/*.h tools/turtle-snap/*.h) nested/vmcs12.h
	@mkdir -p $(dir $@)
	$(CC) $(TURTLE_SNAP_CFLAGS) $(TURTLE_SNAP_SRCS) -o $@
