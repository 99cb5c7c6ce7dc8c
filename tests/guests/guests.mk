# Test guests (tests/guests, see README.md there): each guest NAME.c is
# linked with the guest library (lib/) into $(BUILD)/guests/NAME.elf.
#
#   multiboot2 guests  NAME.elf = the X.mb2 variant: lib/mb2hdr.o first,
#                      e_entry = _start32 (32-bit entry, GRUB or turtle)
#   ELF64 guests       NAME.elf = the X.elf64 variant: no multiboot header,
#                      e_entry = _start64 (turtle only)
#   the mb1 guest      a 32-bit ELF with a multiboot1 header (lib32 objects)
#   GUESTS_VMX32       32-bit multiboot1 guests like mb1 that run VMX code:
#                      NAME.elf links NAME_PARTS32 (NAME.c, NAME_*.c,
#                      NAME_*.asm; NAME.h for what they share) and
#                      the lib32 objects, with the repository root on the
#                      include path for vmx/vmcs_fields.h and vmx/vmx_arch.h
# GUESTS_ALSO_ELF64 also get NAME.elf64.elf: the same test built for the
# 64-bit entry, so the whole suite can run through either protocol.
# GUESTS_VMX are multiboot2 guests that are small hypervisors themselves:
# NAME.elf links NAME_PARTS (NAME.c plus more files) and the VMX library
# (lib/vmx.c, lib/vmx_stub.asm), compiled with the repository root on the
# include path for vmx/vmcs_fields.h and vmx/vmx_arch.h.
# Include this from the top Makefile (it uses BUILD, CC, LD, NASM, WARN).

GUEST_DIR        := tests/guests
GUEST_BUILD      := $(BUILD)/guests

GUESTS_MB2        := cpuid_msr uart_exit isolation triple chatter hello bench lapic pc_legacy uart16550 apic_irq acpi \
                     bootinfo console_echo reset_guest ticker
GUESTS_ELF64      := elf64
GUESTS_MB1        := mb1
GUESTS_ALSO_ELF64 := cpuid_msr hello bootinfo
GUESTS_VMX        := vmx_suite vmx_bench vmx_fuzz ept02_churn vmx_irq vmx_apic_l2 snap_l1 vmx_snap xsave
vmx_suite_PARTS   := vmx_suite vmx_suite_instr vmx_suite_launch vmx_suite_checks vmx_suite_exits \
                     vmx_suite_exits_misc vmx_suite_exits_access vmx_suite_exits_state vmx_suite_events vmx_suite_nmi vmx_suite_ept \
                     vmx_suite_vpid vmx_suite_ept_ad vmx_suite_shadow vmx_suite_apicv vmx_suite_vmfunc
vmx_bench_PARTS   := vmx_bench
vmx_fuzz_PARTS    := vmx_fuzz vmx_fuzz_sandbox vmx_fuzz_mutate vmx_fuzz_vmfunc
ept02_churn_PARTS := ept02_churn
vmx_irq_PARTS     := vmx_irq
vmx_apic_l2_PARTS := vmx_apic_l2
snap_l1_PARTS     := snap_l1
vmx_snap_PARTS    := vmx_snap
xsave_PARTS       := xsave xsave_l2
GUESTS_VMX32      := vmx32
vmx32_PARTS32     := vmx32 vmx32_vmxon vmx32_rw vmx32_l2 vmx32_inv vmx32_asm

GUEST_CFLAGS   := -std=c11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie -mno-red-zone \
                  -mno-mmx -mno-sse -mno-sse2 -fno-stack-protector -fno-common \
                  -fno-asynchronous-unwind-tables -fno-builtin $(WARN) -I$(GUEST_DIR) -MMD -MP
GUEST_CFLAGS64 := $(GUEST_CFLAGS) -m64 -mcmodel=small
GUEST_CFLAGS32 := $(GUEST_CFLAGS) -m32 -march=i686
GUEST_LDFLAGS  := -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments
GUEST_NASMFLAGS := -w+all -w+error

# Library sources shared by the 64- and 32-bit guests, then 64-bit only.
GUEST_LIB_SHARED := serial printf report string cmdline
GUEST_LIB64      := $(GUEST_LIB_SHARED) start desc fault turtle irq
GUEST_LIB64_OBJS := $(GUEST_LIB64:%=$(GUEST_BUILD)/lib64/%.o) \
                    $(GUEST_BUILD)/lib64/entry.o $(GUEST_BUILD)/lib64/isr.o
GUEST_LIB32_OBJS := $(GUEST_LIB_SHARED:%=$(GUEST_BUILD)/lib32/%.o) $(GUEST_BUILD)/lib32/entry_mb1.o
GUEST_MB2HDR     := $(GUEST_BUILD)/lib64/mb2hdr.o
GUEST_LD64       := $(GUEST_DIR)/lib/guest.ld
GUEST_LD32       := $(GUEST_DIR)/lib/mb1.ld

GUEST_LIBVMX_OBJS := $(GUEST_BUILD)/libvmx/vmx.o $(GUEST_BUILD)/libvmx/vmx_stub.o

GUEST_IMAGES := $(GUESTS_MB2:%=$(GUEST_BUILD)/%.elf) $(GUESTS_ELF64:%=$(GUEST_BUILD)/%.elf) \
                $(GUESTS_MB1:%=$(GUEST_BUILD)/%.elf) $(GUESTS_ALSO_ELF64:%=$(GUEST_BUILD)/%.elf64.elf) \
                $(GUESTS_VMX:%=$(GUEST_BUILD)/%.elf) $(GUESTS_VMX32:%=$(GUEST_BUILD)/%.elf)

guests: $(GUEST_IMAGES)

$(GUEST_BUILD)/lib64/%.o: $(GUEST_DIR)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -c $< -o $@

$(GUEST_BUILD)/lib64/%.o: $(GUEST_DIR)/lib/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 $(GUEST_NASMFLAGS) $< -o $@

$(GUEST_BUILD)/lib32/%.o: $(GUEST_DIR)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@

$(GUEST_BUILD)/lib32/%.o: $(GUEST_DIR)/lib/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 $(GUEST_NASMFLAGS) $< -o $@

$(GUEST_BUILD)/libvmx/%.o: $(GUEST_DIR)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -I. -c $< -o $@

$(GUEST_BUILD)/libvmx/%.o: $(GUEST_DIR)/lib/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 $(GUEST_NASMFLAGS) $< -o $@

$(GUEST_BUILD)/objvmx/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -I. -c $< -o $@

$(GUEST_BUILD)/obj64/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -c $< -o $@

$(GUEST_BUILD)/obj32/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@

$(GUEST_BUILD)/obj32vmx/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -I. -c $< -o $@

$(GUEST_BUILD)/obj32vmx/%.o: $(GUEST_DIR)/%.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf32 $(GUEST_NASMFLAGS) $< -o $@

# $(call guest_link,OUT,ENTRY,OBJS): one 64-bit guest image.
define guest_link
$(1): $(3) $(GUEST_LIB64_OBJS) $(GUEST_LD64)
	$$(LD) $$(GUEST_LDFLAGS) -T $(GUEST_LD64) -e $(2) -o $$@ $(3) $(GUEST_LIB64_OBJS)
endef
$(foreach g,$(GUESTS_MB2),$(eval $(call guest_link,$(GUEST_BUILD)/$(g).elf,_start32,\
    $(GUEST_MB2HDR) $(GUEST_BUILD)/obj64/$(g).o)))
$(foreach g,$(GUESTS_ELF64),$(eval $(call guest_link,$(GUEST_BUILD)/$(g).elf,_start64,\
    $(GUEST_BUILD)/obj64/$(g).o)))
$(foreach g,$(GUESTS_ALSO_ELF64),$(eval $(call guest_link,$(GUEST_BUILD)/$(g).elf64.elf,_start64,\
    $(GUEST_BUILD)/obj64/$(g).o)))

$(foreach g,$(GUESTS_VMX),$(eval $(call guest_link,$(GUEST_BUILD)/$(g).elf,_start32,\
    $(GUEST_MB2HDR) $($(g)_PARTS:%=$(GUEST_BUILD)/objvmx/%.o) $(GUEST_LIBVMX_OBJS))))

$(GUESTS_MB1:%=$(GUEST_BUILD)/%.elf): $(GUEST_BUILD)/%.elf: $(GUEST_BUILD)/obj32/%.o $(GUEST_LIB32_OBJS) $(GUEST_LD32)
	$(LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_LD32) -o $@ $< $(GUEST_LIB32_OBJS)

# $(call guest_link32,NAME): one 32-bit VMX guest image.
define guest_link32
$(GUEST_BUILD)/$(1).elf: $($(1)_PARTS32:%=$(GUEST_BUILD)/obj32vmx/%.o) $(GUEST_LIB32_OBJS) $(GUEST_LD32)
	$$(LD) -m elf_i386 $$(GUEST_LDFLAGS) -T $(GUEST_LD32) -o $$@ $($(1)_PARTS32:%=$(GUEST_BUILD)/obj32vmx/%.o) \
	    $(GUEST_LIB32_OBJS)
endef
$(foreach g,$(GUESTS_VMX32),$(eval $(call guest_link32,$(g))))

-include $(wildcard $(GUEST_BUILD)/*/*.d)
