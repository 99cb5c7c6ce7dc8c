# tools/vmm: the project's small KVM VMM (README.md there), a static Linux
# program so it runs in the test image's initramfs with no libraries.
# Include this from the top Makefile (it uses BUILD, CC, WARN).

VMM_SRCS := $(wildcard tools/vmm/*.c)
VMM      := $(BUILD)/tools/vmm
VMM_CFLAGS := -std=c11 -O2 -g $(WARN)

$(VMM): $(VMM_SRCS) $(wildcard tools/vmm/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(VMM_CFLAGS) -static $(VMM_SRCS) -o $@


# Snapshots (snap.c): the snapshot reader and checks turtle uses, and the
# KVM-directory converter of tools/turtle-snap.
VMM_SNAP_SRCS := snapshot/crc32c.c snapshot/parse.c snapshot/nested_check.c snapshot/nested_check_vmcs12.c \
                 snapshot/vcpu_check.c tools/turtle-snap/builder.c tools/turtle-snap/kvm_dir.c
VMM_SRCS += $(VMM_SNAP_SRCS)
VMM_CFLAGS += -I.
$(VMM): $(VMM_SNAP_SRCS) $(wildcard snapshot/*.h tools/turtle-snap/*.h)
