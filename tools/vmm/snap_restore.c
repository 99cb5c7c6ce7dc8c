/*
 * Restoring a KVM directory (turtle-snap export-kvm's output) into a fresh
 * VM, in the order KVM needs (docs/snapshot.md, "Importing into KVM"), and
 * showing a new guest another CPU's CPUID and VMX capabilities
 * (--cpu-like). snap.c takes snapshots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tools/turtle-snap/kvm_dir.h"
#undef PAGE_SIZE                /* kernel/types.h's; vmm.h has its own */
#include "vmm.h"
#include "snap_int.h"

static void *need(const char *dir, const char *name, uint64_t size, uint64_t *len)
{
    uint64_t n = 0;
    void *p = kvm_dir_read(dir, name, &n);
    if (!p)
        fprintf(stderr, "vmm: error: restore: %s/%s missing\n", dir, name);
    else if (size && n != size) {
        fprintf(stderr, "vmm: error: restore: %s: %llu bytes, expected %llu\n", name, (unsigned long long)n,
                (unsigned long long)size);
        free(p);
        p = NULL;
    }
    if (len)
        *len = n;
    return p;
}

#define SET(ioc, name, type)                                                    \
    do {                                                                        \
        void *_p = need(dir, name, sizeof(type), NULL);                         \
        bool _got = _p != NULL;                                                 \
        int _r = _got ? ioctl(vm->vcpu_fd, ioc, _p) : -1;                       \
        free(_p);                                                               \
        if (_r < 0)                                                             \
            return _got ? snap_fail(#ioc) : -1;                                      \
    } while (0)

/* vmx_msrs.txt, or the writable part of vmx_caps.bin, as one KVM_SET_MSRS.
 * IA32_VMX_VMFUNC, when the list does not name it, is written 0: the L1
 * had no VM functions (turtle does not show the MSR at all). */
int vmm_set_vmx_caps(struct vm *vm, const char *dir)
{
    static struct msr_list l;
    char path[8192];
    unsigned long long idx, val;
    bool vmfunc = false;

    if (snap_join(path, sizeof(path), dir, "vmx_msrs.txt"))
        return -1;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;                       /* not nested */
    memset(&l, 0, sizeof(l));
    while (fscanf(fp, "%llx %llx", &idx, &val) == 2 && l.hdr.nmsrs < MSR_LIST_MAX - 1) {
        l.e[l.hdr.nmsrs++] = (struct kvm_msr_entry){ .index = (uint32_t)idx, .data = val };
        vmfunc |= idx == VMX_CAP_LAST;
    }
    fclose(fp);
    if (!vmfunc)
        l.e[l.hdr.nmsrs++] = (struct kvm_msr_entry){ .index = VMX_CAP_LAST, .data = 0 };
    int n = ioctl(vm->vcpu_fd, KVM_SET_MSRS, &l);
    if (n < 0 || (unsigned)n != l.hdr.nmsrs) {
        fprintf(stderr, "vmm: error: restore: KVM_SET_MSRS refused VMX capability MSR %#x = %#llx "
                        "(more than this KVM offers?)\n", n >= 0 ? l.e[n].index : 0,
                n >= 0 ? (unsigned long long)l.e[n].data : 0ULL);
        return -1;
    }
    return 0;
}

/* The CPU of DIR's CPUID, with KVM's own hypervisor leaves (0x40000000
 * up): those say which hypervisor runs the guest, not what CPU it has. */
int vmm_cpu_like(struct vm *vm, const char *dir)
{
    static struct { struct kvm_cpuid2 hdr; struct kvm_cpuid_entry2 e[CPUID_MAX]; } want, kvm;
    uint64_t len;
    struct kvm_cpuid2 *p = need(dir, "cpuid.bin", 0, &len);

    if (!p)
        return -1;
    if (len < sizeof(*p) || p->nent > CPUID_MAX || len != sizeof(*p) + p->nent * sizeof(p->entries[0])) {
        fprintf(stderr, "vmm: error: %s/cpuid.bin: count and size disagree\n", dir);
        free(p);
        return -1;
    }
    kvm.hdr.nent = CPUID_MAX;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &kvm) < 0) {
        free(p);
        return snap_fail("KVM_GET_SUPPORTED_CPUID");
    }
    memset(&want.hdr, 0, sizeof(want.hdr));
    for (uint32_t i = 0; i < p->nent; i++)
        if ((p->entries[i].function >> 28) != 4)
            want.e[want.hdr.nent++] = p->entries[i];
    for (uint32_t i = 0; i < kvm.hdr.nent && want.hdr.nent < CPUID_MAX; i++)
        if ((kvm.e[i].function >> 28) == 4)
            want.e[want.hdr.nent++] = kvm.e[i];
    free(p);
    if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &want) < 0)
        return snap_fail("KVM_SET_CPUID2");
    return vmm_set_vmx_caps(vm, dir);
}

static int set_msrs(struct vm *vm, const char *dir)
{
    uint64_t len;
    struct msr_list *l = need(dir, "msrs.bin", 0, &len);
    if (!l)
        return -1;
    if (len < 8 || len != 8 + 16ULL * l->hdr.nmsrs || l->hdr.nmsrs > MSR_LIST_MAX) {
        fprintf(stderr, "vmm: error: restore: msrs.bin: count and size disagree\n");
        free(l);
        return -1;
    }
    int n = ioctl(vm->vcpu_fd, KVM_SET_MSRS, l);
    if (n < 0 || (unsigned)n != l->hdr.nmsrs) {
        fprintf(stderr, "vmm: error: restore: KVM_SET_MSRS refused MSR %#x = %#llx\n", n >= 0 ? l->e[n].index : 0,
                n >= 0 ? (unsigned long long)l->e[n].data : 0ULL);
        free(l);
        return -1;
    }
    /* KVM takes a host write of IA32_TSC that lies within a second of
     * what it expects as an attempt to synchronise vCPUs, and keeps its
     * own value: the L1's TSC would jump back. The TSC offset attribute
     * (Linux 5.16+) sets it exactly: the L1 continues from the snapshot. */
    for (uint32_t i = 0; i < l->hdr.nmsrs; i++) {
        if (l->e[i].index != MSR_IA32_TSC)
            continue;
        uint64_t offset = l->e[i].data - __builtin_ia32_rdtsc();
        struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
                                     .addr = (uint64_t)(uintptr_t)&offset };
        if (ioctl(vm->vcpu_fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
            free(l);
            return snap_fail("KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET)");
        }
    }
    free(l);
    return 0;
}

/* memory.bin straight into guest RAM (no second copy: the test image's
 * Linux has little memory to spare). */
static int read_ram(struct vm *vm, const char *dir)
{
    char path[8192];
    if (snap_join(path, sizeof(path), dir, "memory.bin"))
        return -1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return snap_fail(path);
    bool ok = fread(vm->ram, 1, vm->mem, fp) == vm->mem && fgetc(fp) == EOF;
    fclose(fp);
    if (!ok)
        fprintf(stderr, "vmm: error: restore: %s is not %llu bytes\n", path, (unsigned long long)vm->mem);
    return ok ? 0 : -1;
}

/* KVM_SET_XCRS, except where this KVM has no XSAVE (KVM_GET_XCRS reports
 * no XCRs, and KVM refuses KVM_SET_XCRS): a snapshot whose XCR0 is then
 * its reset value 1 (x87 only, what a vCPU without XSAVE has) needs
 * nothing set; any other XCR0 cannot be honoured there. */
static int set_xcrs(struct vm *vm, const struct kvm_xcrs *want)
{
    struct kvm_xcrs have;

    if (!want->nr_xcrs)
        return 0;
    if (ioctl(vm->vcpu_fd, KVM_GET_XCRS, &have) < 0)
        return snap_fail("KVM_GET_XCRS");
    if (!have.nr_xcrs) {
        for (uint32_t i = 0; i < want->nr_xcrs && i < KVM_MAX_XCRS; i++)
            if (want->xcrs[i].xcr == 0 && want->xcrs[i].value != 1) {
                fprintf(stderr, "vmm: error: restore: the snapshot's XCR0 is %#llx, and this KVM has no XSAVE\n",
                        (unsigned long long)want->xcrs[i].value);
                return -1;
            }
        return 0;
    }
    if (ioctl(vm->vcpu_fd, KVM_SET_XCRS, want) < 0)
        return snap_fail("KVM_SET_XCRS");
    return 0;
}

int vmm_restore(struct vm *vm, const char *dir)
{
    uint64_t len;
    void *p;

    if (!(p = need(dir, "cpuid.bin", 0, &len)))
        return -1;
    int r = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, p);
    free(p);
    if (r < 0)
        return snap_fail("KVM_SET_CPUID2");
    struct kvm_vcpu_events *ev = need(dir, "events.bin", sizeof(*ev), NULL);
    if (!ev)
        return -1;
    if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
        struct kvm_enable_cap cap = { .cap = KVM_CAP_EXCEPTION_PAYLOAD, .args = { 1 } };
        if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
            free(ev);
            return snap_fail("KVM_ENABLE_CAP(KVM_CAP_EXCEPTION_PAYLOAD)");
        }
    }
    free(ev);
    if (vmm_set_vmx_caps(vm, dir))
        return -1;
    if (read_ram(vm, dir))
        return -1;
    SET(KVM_SET_SREGS, "sregs.bin", struct kvm_sregs);
    if (set_msrs(vm, dir))
        return -1;
    if ((p = kvm_dir_read(dir, "xcrs.bin", &len))) {
        r = len != sizeof(struct kvm_xcrs) ? -1 : set_xcrs(vm, p);
        free(p);
        if (r < 0)
            return -1;
    }
    SET(KVM_SET_XSAVE, "xsave.bin", struct tsnap_kvm_xsave);
    SET(KVM_SET_VCPU_EVENTS, "events.bin", struct kvm_vcpu_events);
    SET(KVM_SET_MP_STATE, "mp_state.bin", struct kvm_mp_state);
    SET(KVM_SET_DEBUGREGS, "debugregs.bin", struct kvm_debugregs);
    SET(KVM_SET_REGS, "regs.bin", struct kvm_regs);
    SET(KVM_SET_LAPIC, "lapic.bin", struct kvm_lapic_state);
    if ((p = kvm_dir_read(dir, "nested_state.bin", &len))) {
        struct kvm_nested_state *ns = p;
        /* Any non-zero return is a refusal: KVM answers +2 when entering
         * L2 fails after the checks (docs/snapshot.md). */
        r = len >= sizeof(*ns) && ns->size <= len ? ioctl(vm->vcpu_fd, KVM_SET_NESTED_STATE, p) : -1;
        free(p);
        if (r != 0) {
            fprintf(stderr, "vmm: error: restore: KVM_SET_NESTED_STATE refused (%d: %s)\n", r,
                    r < 0 ? strerror(errno) : "entering L2 failed");
            return -1;
        }
    }
    return 0;
}
#undef SET

int vmm_restore_run(const struct vmm_config *cfg)
{
    char path[8192];
    struct stat st;
    struct vm vm;

    if (snap_join(path, sizeof(path), cfg->restore_dir, "memory.bin"))
        return VMM_EXIT_BAD_INPUT;
    if (stat(path, &st) || st.st_size < (off_t)GUEST_MEM_MIN || st.st_size > (off_t)GUEST_MEM_MAX ||
        st.st_size % PAGE_SIZE) {
        fprintf(stderr, "vmm: error: restore: %s: missing, or not 4M to 3G of whole pages\n", path);
        return VMM_EXIT_BAD_INPUT;
    }
    uint64_t mem = (uint64_t)st.st_size;
    uint8_t *ram = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED || vm_create(&vm, ram, mem, cfg->verbose) < 0 || vmm_restore(&vm, cfg->restore_dir) < 0)
        return VMM_EXIT_KVM_FAILED;
    if (cfg->verbose)
        fprintf(stderr, "vmm: restored %s (%llu MiB)\n", cfg->restore_dir, (unsigned long long)(mem / MIB));
    return vm_run(&vm, cfg);
}

