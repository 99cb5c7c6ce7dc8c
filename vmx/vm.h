/*
 * A virtual machine: what one L1 guest owns apart from its CPUs. Its RAM
 * (and EPT01, which maps it), its devices, its boot modules and its
 * lifecycle. A VM has 1..VM_MAX_VCPUS vCPUs (vmx/vcpu.h); turtle runs its
 * VMs round-robin (vmx/sched.c). Names follow KVM's `struct kvm`.
 */
#ifndef TURTLE_VM_H
#define TURTLE_VM_H

#include "kernel/types.h"
#include "vmx/dev/bus.h"
#include "vmx/dev/uart.h"
#include "vmx/platform.h"
#include "vmx/vm_pages.h"
#include "vmx/vmx_arch.h"

#define MAX_VMS             8
#define VM_MAX_VCPUS        1           /* every loop over vcpus[] honours n_vcpus */
#define VM_NAME_MAX         16
#define VM_MEM_DEFAULT      (16ULL << 20)
#define VM_MEM_MIN          LARGE_PAGE_SIZE
#define VM_MEM_MAX          (1ULL << 30)
#define VM_MAX_MODULES      4

struct vcpu;

struct vm_module {
    u64 start, end;             /* host-physical, in turtle's boot modules */
    const char *cmdline;
    bool initrd;                /* the `initrd` option: a Linux guest's initial RAM disk */
};

/* One CPUID leaf as a restored snapshot recorded it (vmx/exit_cpuid.c). */
struct vm_cpuid_entry {
    u32 leaf, subleaf;
    u32 indexed;                /* the subleaf is significant */
    u32 eax, ebx, ecx, edx;
};
#define VM_CPUID_MAX    256
#define VM_CPUID_PAGES  ((VM_CPUID_MAX * sizeof(struct vm_cpuid_entry) + PAGE_SIZE - 1) / PAGE_SIZE)

struct vm {
    char name[VM_NAME_MAX];
    u32 index;                  /* in vms[] */
    bool nested;                /* VT-x shown to this VM's vCPUs (docs/nested.md) */
    /* L1's TSC = the host's + tsc_offset (0 unless restored from a
     * snapshot, whose TSC it continues; vmcs01's TSC offset). */
    u64 tsc_offset;
    /* CPUID as its snapshot recorded it (cpuid_n entries in pages at
     * cpuid_pa), or cpuid_n 0: the host's, filtered (vmx/exit_cpuid.c). */
    u64 cpuid_pa;
    u32 cpuid_n;

    /* Memory: guest-physical [0, mem_size), see vmx/guest_mem.c. */
    u64 mem_size;               /* bytes, a multiple of 4 KiB */
    u64 *chunks;                /* per 2 MiB of RAM: a 2 MiB frame, or a list of 4 KiB frames */
    u64 n_chunks;
    u64 ept_root;               /* EPT01 PML4, host-physical */
    u64 eptp;
    u32 ept_gen;                /* counts EPT01's changes once the VM runs (vmx/apicv.c) */
    /* What it may allocate once it runs (EPT02), reserved at load: one
     * VM cannot take another's pages (vmx/vm_pages.h). */
    struct vm_pages pages;

    /* Devices (vmx/dev/), reached through its buses. */
    struct io_bus pio;          /* I/O ports */
    struct io_bus mmio;         /* memory-mapped I/O outside RAM */
    struct uart16550 uart;      /* COM1 */
    struct vm_platform platform;    /* PIC, PIT, RTC, ACPI PM, IOAPIC (vmx/platform.c) */

    /* Boot. */
    struct vm_module image;     /* the module it boots (kept for a reset) */
    const char *cmdline;        /* the guest's own command line */
    u32 n_modules;
    struct vm_module modules[VM_MAX_MODULES];

    /* Lifecycle: once stopped, the scheduler skips the VM and frees it. */
    bool paused;                /* by the console: not scheduled (docs/console.md) */
    const char *reset_pending;  /* a reset asked for (why), done between slices */
    u32 n_resets;               /* resets done (vmx/vm_reset.c) */
    u32 quick_resets;           /* consecutive resets soon after a (re)start */
    u64 started_tsc;            /* when it was last loaded or reset */
    bool stopped;
    /* Off the CPU: stopped, paused or a reset pending. The scheduler tests
     * this one byte per VM and slice; vm_update_held() keeps it true. */
    bool held;
    u64 exit_status;
    bool failed;                /* stopped by turtle, or nonzero exit status */
    char stop_reason[128];

    u32 n_vcpus;
    struct vcpu *vcpus[VM_MAX_VCPUS];
    /* Exits of its vCPUs, by basic reason (kept after they are freed). */
    u64 exits[EXIT_REASON_MAX + 1];
    u64 total_exits;
};

extern struct vm vms[MAX_VMS];
extern u32 n_vms;

static inline void vm_update_held(struct vm *vm)
{
    vm->held = vm->stopped || vm->paused || vm->reset_pending;
}

/* Ends the VM: flushes its console, records why, counts it failed or
 * passed. Its vCPUs stop at their next exit; the scheduler frees it. */
void vm_stop(struct vm *vm, bool failed, const char *fmt, ...) __printf(3, 4);
/* Attaches the VM's devices to its buses (after its name is set). False
 * if a device cannot be placed (a turtle bug). */
bool vm_devices_init(struct vm *vm);
/* Frees everything the VM holds (vCPUs, VMCSs, EPT01, RAM). */
void vm_free(struct vm *vm);

/* vmx/vm_reset.c. A reset asked for by the guest (port 0xcf9, the 8042
 * pulse, the ACPI reset register, port 0x92) or the console: its vCPUs
 * leave their slices, and the scheduler calls vm_reset() between slices.
 * why names the source, as in "port 0xcf9". */
void vm_request_reset(struct vm *vm, const char *why);
/* Reloads the VM from its boot modules and starts it again (fresh RAM,
 * vCPU reset state, devices reset, nested state dropped), or stops it:
 * when the reload fails, or when it keeps resetting soon after each start
 * (a reset loop). */
void vm_reset(struct vm *vm);

/* Guest memory (vmx/guest_mem.c). Addresses are guest-physical; every copy
 * is bounds-checked against mem_size and returns false if it does not fit. */
bool guest_mem_alloc(struct vm *vm, u64 size);
/* Maps all of the VM's RAM into an EPT (RWX, write-back). */
bool guest_mem_map(struct vm *vm, u64 ept_root);
/* Test knob (command line `small_frames`): back guests with 4 KiB frames only. */
extern bool turtle_small_frames;
void guest_mem_free(struct vm *vm);
bool guest_copy_to(struct vm *vm, u64 gpa, const void *src, u64 len);
bool guest_copy_from(struct vm *vm, void *dst, u64 gpa, u64 len);
bool guest_zero(struct vm *vm, u64 gpa, u64 len);
/* Host-physical address of gpa, or 0 if outside RAM. */
u64 guest_gpa_to_hpa(const struct vm *vm, u64 gpa);
/* Host-physical address of the 2 MiB at gpa (2 MiB aligned) when they are
 * all RAM in one 2 MiB frame (EPT01 maps them with one 2 MiB page), else 0. */
u64 guest_gpa_to_hpa_2m(const struct vm *vm, u64 gpa);

#endif
