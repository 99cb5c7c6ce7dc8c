/*
 * The KVM VM and its one vCPU: guest RAM at physical 0, the in-kernel
 * interrupt controllers and PIT, CPUID as KVM supports it (VMX included when
 * kvm_intel runs with nested=1), IA32_FEATURE_CONTROL as firmware leaves it,
 * and the 32-bit entry state of a multiboot2 loader (Multiboot2 3.3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

#define KVM_API_EXPECTED        12
#define CPUID_MAX_ENTRIES       512
#define CPUID_1_ECX_VMX         (1u << 5)   /* CPUID.1:ECX.VMX (SDM vol. 2A, CPUID) */
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCKED  (1ull << 0)
#define FEATURE_CONTROL_VMXON   (1ull << 2) /* VMXON outside SMX */
#define X86_CR0_PE              (1ull << 0)
#define X86_CR0_ET              (1ull << 4)
#define X86_RFLAGS_RESERVED1    (1ull << 1)
#define MB2_BOOT_CS             0x08        /* any selectors: the guest loads its own GDT */
#define MB2_BOOT_DS             0x10
#define SEG_TYPE_CODE_XR_A      0xb         /* execute/read, accessed */
#define SEG_TYPE_DATA_RW_A      0x3         /* read/write, accessed */

static int kvm_fail(const char *what)
{
    fprintf(stderr, "vmm: error: %s: %s\n", what, strerror(errno));
    return -1;
}

int vm_create(struct vm *vm, uint8_t *ram, uint64_t mem, bool verbose)
{
    struct kvm_pit_config pit = {.flags = 0};
    struct kvm_userspace_memory_region region;
    int api, size;

    memset(vm, 0, sizeof(*vm));
    vm->ram = ram;
    vm->mem = mem;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        return kvm_fail("/dev/kvm (is kvm_intel loaded?)");
    api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_EXPECTED) {
        fprintf(stderr, "vmm: error: KVM API version %d, expected %d\n", api, KVM_API_EXPECTED);
        return -1;
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return kvm_fail("KVM_CREATE_VM");
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)GUEST_TSS_ADDR) < 0)
        return kvm_fail("KVM_SET_TSS_ADDR");
    /* The in-kernel PIC/IOAPIC/LAPIC: without it a HLT (an L2's too, under
     * nested VMX) comes back to user space instead of waiting in KVM. */
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return kvm_fail("KVM_CREATE_IRQCHIP");
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return kvm_fail("KVM_CREATE_PIT2");

    region = (struct kvm_userspace_memory_region){
        .slot = 0, .guest_phys_addr = 0, .memory_size = mem, .userspace_addr = (uintptr_t)vm->ram};
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return kvm_fail("KVM_SET_USER_MEMORY_REGION");

    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return kvm_fail("KVM_CREATE_VCPU");
    size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return kvm_fail("KVM_GET_VCPU_MMAP_SIZE");
    vm->run_size = (size_t)size;
    vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED)
        return kvm_fail("kvm_run mmap");
    if (verbose)
        fprintf(stderr, "vmm: VM with %llu MiB, in-kernel irqchip and PIT\n",
                (unsigned long long)(mem / MIB));
    return 0;
}

/* CPUID as KVM supports it; returns whether it shows VMX, or -1. */
static int setup_cpuid(struct vm *vm, bool verbose)
{
    size_t bytes = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = calloc(1, bytes);
    int vmx = 0;

    if (!cpuid)
        return kvm_fail("CPUID buffer");
    cpuid->nent = CPUID_MAX_ENTRIES;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
        return kvm_fail("KVM_GET_SUPPORTED_CPUID");
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        if (cpuid->entries[i].function == 1)
            vmx = !!(cpuid->entries[i].ecx & CPUID_1_ECX_VMX);
    }
    if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
        return kvm_fail("KVM_SET_CPUID2");
    if (verbose)
        fprintf(stderr, "vmm: CPUID: %u leaves from KVM, VMX %s\n", cpuid->nent, vmx ? "on" : "off");
    free(cpuid);
    return vmx;
}

/* IA32_FEATURE_CONTROL locked with VMXON allowed, as firmware leaves it (SDM 23.7). */
static int setup_feature_control(struct vm *vm)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry entry;
    } msrs;

    memset(&msrs, 0, sizeof(msrs));
    msrs.hdr.nmsrs = 1;
    msrs.entry.index = MSR_IA32_FEATURE_CONTROL;
    msrs.entry.data = FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON;
    if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &msrs) != 1)
        return kvm_fail("KVM_SET_MSRS IA32_FEATURE_CONTROL");
    return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
    *s = (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                              .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1, .avl = 0};
}

/*
 * The multiboot2 i386 machine state (Multiboot2 3.3): protected mode, paging
 * off, flat 4 GiB code and data segments, interrupts off, EAX = the magic,
 * EBX = the boot information. The guest must load its own GDT and IDT.
 */
int vm_setup_vcpu(struct vm *vm, uint64_t entry, uint32_t eax, uint32_t ebx, bool verbose)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int vmx = setup_cpuid(vm, verbose);

    if (vmx < 0)
        return -1;
    if (vmx && setup_feature_control(vm) < 0)
        return -1;
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return kvm_fail("KVM_GET_SREGS");
    flat_segment(&sregs.cs, MB2_BOOT_CS, SEG_TYPE_CODE_XR_A);
    flat_segment(&sregs.ds, MB2_BOOT_DS, SEG_TYPE_DATA_RW_A);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return kvm_fail("KVM_SET_SREGS");
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry;
    regs.rax = eax;
    regs.rbx = ebx;
    regs.rflags = X86_RFLAGS_RESERVED1;
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return kvm_fail("KVM_SET_REGS");
    return 0;
}
