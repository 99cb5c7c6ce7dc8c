# The Linux test image (docs/linux.md): Debian's cloud kernel and an
# initramfs with busybox, KVM, the vmm (tools/vmm), turtle and test guests.
# `make linux-image` fetches the Debian packages once (tests/linux/fetch.sh:
# apt-get download, dpkg-deb -x; nothing is installed) and builds
#   $(BUILD)/linux/vmlinuz       the kernel (bzImage)
#   $(BUILD)/linux/initrd.cpio   the initramfs
# Include this from the top Makefile (it uses BUILD, VMM, GUEST_BUILD).

LINUX_DIR    := $(BUILD)/linux
LINUX_INITRD := $(LINUX_DIR)/initrd.cpio
LINUX_GUESTS := hello cpuid_msr vmx_suite vmx_bench vmx_snap
LINUX_TSC    := $(LINUX_DIR)/tsc

.PHONY: linux-image
linux-image: $(LINUX_INITRD)

$(LINUX_DIR)/VERSION: tests/linux/fetch.sh
	sh tests/linux/fetch.sh $(LINUX_DIR)

$(LINUX_INITRD): $(LINUX_DIR)/VERSION tests/linux/init tests/linux/mkimage.sh tests/linux/mkinitramfs.py \
                 $(VMM) $(LINUX_TSC) $(BUILD)/turtle.elf $(LINUX_GUESTS:%=$(GUEST_BUILD)/%.elf)
	sh tests/linux/mkimage.sh $@ $(LINUX_DIR) $(VMM) $(BUILD)/turtle.elf $(GUEST_BUILD)

# /bin/tsc of the image: prints RDTSC (tests/linux/tsc.c), static, no libc.
$(LINUX_TSC): tests/linux/tsc.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) -static -nostdlib -fno-pie -no-pie -fno-stack-protector $< -o $@
