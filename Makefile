# turtle: build, run and test. See README.md.
#   make            build/turtle.elf and build/turtle.iso
#   make run        boot turtle with its demo guests (PLATFORM=bochs|qemu|qemu-uefi|qemu-kvm);
#                   on a terminal, keys go to turtle's console (CMDLINE=console=stay keeps it)
#   make test       host unit tests + a bounded snapshot fuzz run + every harness case
#   make check-<g>  one group of harness cases (e.g. make check-boot)
#   make linux-image  Debian's kernel + the KVM test initramfs (tests/linux; needs Debian's archive)
#   make bench      benchmarks (emulated cycles in Bochs) -> docs/benchmarks.md
#   make debug      QEMU with its gdb stub; prints the gdb command

BUILD    ?= build
PLATFORM ?= bochs
CPU      ?= tigerlake
JOBS     ?= 2
CASES    ?=
CMDLINE  ?=

CC       := gcc
LD       := ld
NASM     := nasm
PYTHON   := python3

WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wundef \
            -Wshadow -Wpointer-arith
KCFLAGS  := -std=c11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie -mcmodel=kernel \
            -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -fno-stack-protector -fno-common \
            -fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-builtin \
            $(WARN) -I. -MMD -MP $(EXTRA_KCFLAGS)
KLDFLAGS := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T linker.ld
NASMFLAGS := -f elf64 -w+all -w+error

KERNEL_SRCS := $(wildcard kernel/*.c) $(wildcard vmx/*.c) $(wildcard vmx/dev/*.c) $(wildcard nested/*.c) \
               $(wildcard snapshot/*.c)
KERNEL_ASMS := $(wildcard boot/*.asm) $(wildcard vmx/*.asm)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(BUILD)/%.o) $(KERNEL_ASMS:%.asm=$(BUILD)/%.o)

.PHONY: all setup run test unit cases bench fuzz debug clean check-% guests profile
all: $(BUILD)/turtle.elf $(BUILD)/turtle.iso $(BUILD)/tools/vmm $(BUILD)/tools/turtle-snap

# The profile build (vmx/prof.h): phase counters on the exit paths, for
# make bench's breakdown of a nested round trip. Its own object folder.
profile:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/profile EXTRA_KCFLAGS=-DTURTLE_PROFILE $(BUILD)/profile/turtle.elf

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) $(NASMFLAGS) $< -o $@

$(BUILD)/turtle.elf: $(KERNEL_OBJS) linker.ld
	$(LD) $(KLDFLAGS) -o $@ $(KERNEL_OBJS)

$(BUILD)/turtle.iso: $(BUILD)/turtle.elf tests/mkiso.sh
	sh tests/mkiso.sh $@ $(BUILD)/turtle.elf ""

# ---- guest test kernels (tests/guests) ----
include tests/guests/guests.mk

# ---- host tools (tools/): the KVM VMM; the Linux test image (tests/linux) ----
include tools/vmm/vmm.mk
include tools/turtle-snap/turtle-snap.mk
include tests/fuzz/fuzz.mk
include tests/linux/linux.mk

# ---- host unit tests (cmocka, ASan/UBSan) ----
HOST_CFLAGS := -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
               -DHOST_TEST -I. $(WARN) -Wno-missing-prototypes
UNIT_TESTS :=
include $(wildcard tests/unit/*.mk)
UNIT_BINS := $(UNIT_TESTS:%=$(BUILD)/unit/%)

define unit_rule
$(BUILD)/unit/$(1): $$($(1)_SRCS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(HOST_CFLAGS) $$($(1)_SRCS) -lcmocka -o $$@
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

unit: setup $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# ---- set-up, harness ----
setup:
	@sh tests/setup.sh

cases: setup all guests
	$(PYTHON) tests/run.py -j $(JOBS) $(CASES)

test: setup
	@$(MAKE) --no-print-directory all guests linux-image
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-smoke
	$(PYTHON) tests/run.py -j $(JOBS)

check-%: setup
	@$(MAKE) --no-print-directory all guests $(if $(filter linux linux-l1 snapshot,$*),linux-image)
	$(PYTHON) tests/run.py -j $(JOBS) --group $*

run: setup
	@$(MAKE) --no-print-directory all guests
	$(PYTHON) tests/run.py --run demo --platform $(PLATFORM) --cpu $(CPU) $(if $(CMDLINE),--cmdline "$(CMDLINE)")

# Long fuzzing on demand (not in make test): FUZZ_MINUTES=N, FUZZ_SEED=S repeats a run.
fuzz: setup
	@$(MAKE) --no-print-directory all guests unit $(TSNAP_FUZZ)
	$(PYTHON) tests/fuzz.py

bench: setup
	@$(MAKE) --no-print-directory all guests profile linux-image
	$(PYTHON) tests/run.py --bench --write-doc docs/benchmarks.md

debug: setup all
	@echo "In another terminal:  gdb $(BUILD)/turtle.elf -ex 'target remote :1234'"
	qemu-system-x86_64 -cdrom $(BUILD)/turtle.iso -serial stdio -display none -m 256 \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -s -S

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d)
