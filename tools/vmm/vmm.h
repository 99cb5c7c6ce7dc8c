/*
 * vmm: a small KVM virtual machine monitor for turtle's multiboot2 kernels
 * (its test guests, and turtle itself). One vCPU, flat guest RAM from
 * physical 0, the 32-bit multiboot2 entry state, COM1 and the debug-exit
 * port 0xf4 in user space, the interrupt controllers and the PIT in KVM.
 * README.md beside this file has the options and the exit statuses.
 *
 * Files: main.c options and the order of things; image.c reading and
 * checking the kernel (ELF + multiboot2 header); mbi.c the multiboot2
 * boot information; vm.c the KVM VM and vCPU set-up; run.c the KVM_RUN
 * loop and port I/O; uart.c the 16550 at COM1.
 */
#ifndef TURTLE_VMM_H
#define TURTLE_VMM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Exit statuses of the vmm itself; a guest's own status is 0..255 from port 0xf4. */
#define VMM_EXIT_BAD_INPUT      2       /* usage, or a file that is not a usable image */
#define VMM_EXIT_NO_STATUS      124     /* guest stopped with no status: triple fault, timeout */
#define VMM_EXIT_KVM_FAILED     125     /* /dev/kvm missing or an ioctl failed */

#define VMM_MAX_MODULES         16
#define PAGE_SIZE               0x1000ull
#define MIB                     (1ull << 20)

/* Guest-physical layout (below 1 MiB: the legacy area, reserved in the map). */
#define GUEST_LOW_RAM_END       0x9fc00ull  /* conventional memory ends (EBDA follows) */
#define GUEST_HIGH_RAM_START    0x100000ull /* RAM after the BIOS/VGA hole */
#define GUEST_MEM_MIN           (4 * MIB)
#define GUEST_MEM_MAX           (3072 * MIB) /* below the TSS and the LAPIC/IOAPIC holes */
#define GUEST_TSS_ADDR          0xfffbd000ull /* 3 pages KVM needs for real-mode emulation */

struct file_buf {
    const char *path;
    uint8_t *data;
    size_t size;
};

struct module {
    struct file_buf file;
    const char *cmdline;
    uint64_t start, end;                /* guest-physical, end exclusive */
};

struct vmm_config {
    uint64_t mem;                       /* guest RAM in bytes */
    const char *kernel_path;
    const char *cmdline;
    struct module modules[VMM_MAX_MODULES];
    unsigned n_modules;
    const char *prefix;                 /* put before every guest console line */
    unsigned timeout;                   /* seconds, 0 = none */
    bool verbose;
    /* snap.c (README.md "Snapshots") */
    const char *restore_dir;            /* --restore: a KVM directory instead of a kernel */
    unsigned snapshot_at;               /* --snapshot-at: the Nth time the vCPU is seen in L2; 0 = never */
    const char *snapshot_dir;           /* --snapshot-dir */
    const char *snapshot_serial;        /* --snapshot-serial: send the file framed there too */
    bool snapshot_resume;               /* --snapshot-resume: go on in a fresh VM restored from it */
    const char *cpu_like_dir;           /* --cpu-like: show the guest DIR's CPUID and VMX capabilities */
};

/* What the loader found in the kernel image. */
struct kernel_image {
    uint64_t entry;                     /* guest-physical entry (32-bit) */
    uint64_t load_end;                  /* first byte above the loaded segments */
};

/* vm.c: the KVM VM with guest RAM mapped at physical 0. */
struct vm {
    int kvm_fd, vm_fd, vcpu_fd;
    uint8_t *ram;
    uint64_t mem;
    struct kvm_run *run;
    size_t run_size;
};

/* image.c */
int read_file(const char *path, struct file_buf *out);
int load_kernel(const struct file_buf *f, uint8_t *ram, uint64_t mem, struct kernel_image *out);

/* mbi.c: builds the boot information at mbi_addr (8-aligned, in RAM);
 * returns its size, or 0 if it does not fit below mem. */
uint64_t build_mbi(uint8_t *ram, uint64_t mem, uint64_t mbi_addr, const struct vmm_config *cfg);

/* vm.c */
int vm_create(struct vm *vm, uint8_t *ram, uint64_t mem, bool verbose);
int vm_setup_vcpu(struct vm *vm, uint64_t entry, uint32_t eax, uint32_t ebx, bool verbose);

/* run.c: runs the vCPU until the guest's status arrives; returns the vmm's exit status. */
int vm_run(struct vm *vm, const struct vmm_config *cfg);

/* snap.c: restores a KVM directory into a fresh VM (RAM included); arms
 * the periodic kick of --snapshot-at; and, called each time KVM_RUN comes
 * back, takes the snapshot when due. poll returns 0 (go on), 1 (the VM
 * was replaced: reload vm->run) or -1 after a message. */
int vmm_restore(struct vm *vm, const char *dir);
/* DIR/vmx_msrs.txt into the vCPU's VMX capability MSRs (KVM_SET_MSRS, which
 * refuses anything wider than this KVM offers); 0, or -1 after a message. */
int vmm_set_vmx_caps(struct vm *vm, const char *dir);
/* --cpu-like DIR: DIR/cpuid.bin (KVM_SET_CPUID2), then vmm_set_vmx_caps(). */
int vmm_cpu_like(struct vm *vm, const char *dir);
/* --restore DIR: a VM with the snapshot's RAM size, restored, then run;
 * returns the vmm's exit status. */
int vmm_restore_run(const struct vmm_config *cfg);
int vmm_snapshot_arm(const struct vmm_config *cfg);
int vmm_snapshot_poll(struct vm *vm, const struct vmm_config *cfg);

/* uart.c */
void uart_init(const char *prefix);
void uart_out(uint16_t port, uint8_t value);
uint8_t uart_in(uint16_t port);
void uart_flush(void);

#define COM1_BASE               0x3f8
#define COM1_PORTS              8

#endif
