/*
 * Snapshots under KVM (docs/snapshot.md "Importing into KVM"):
 *
 *   --restore DIR      a KVM directory (turtle-snap export-kvm's output)
 *                      restored into the fresh VM, in KVM's order, then run
 *                      (snap_restore.c)
 *   --snapshot-at N    at the Nth time the vmm finds the vCPU in L2
 *                      (KVM_GET_NESTED_STATE reports GUEST_MODE when KVM_RUN
 *                      comes back to user space: for port I/O, or for the
 *                      periodic kick this option arms), save vCPU 0 and RAM:
 *                      to --snapshot-dir DIR (default /tmp/vmm-snapshot) as
 *                      DIR/kvm (the KVM directory) and DIR/snapshot.tsnap
 *                      (turtle's format, checked like turtle-snap check);
 *                      --snapshot-serial DEV also sends the file framed
 *                      (struct tsnap_frame_head/tail) to DEV, e.g. /dev/ttyS1;
 *                      --snapshot-resume then converts it back (DIR/export),
 *                      throws the VM away and finishes the run in a fresh one
 *                      restored from it.
 *
 * The restore order is the one KVM needs (docs/snapshot.md): CPUID with
 * VMX first (the nested checks read it); the VMX capability MSRs before
 * anything enters VMX operation; RAM before the nested state (its VMCS
 * link pointer check reads guest memory); SMM state (vcpu events) before
 * the nested state; KVM_SET_NESTED_STATE last, as KVM's own selftests do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "snapshot/crc32c.h"
#include "snapshot/nested_check.h"
#include "snapshot/vcpu_check.h"
#include "tools/turtle-snap/kvm_dir.h"
#undef PAGE_SIZE                /* kernel/types.h's; vmm.h has its own */
#include "vmm.h"
#include "snap_int.h"

#define KICK_NS                 2000000     /* 2 ms: how often KVM_RUN is interrupted to look for L2 */

int snap_fail(const char *what)
{
    fprintf(stderr, "vmm: error: snapshot: %s: %s\n", what, strerror(errno));
    return -1;
}

int snap_join(char *buf, size_t n, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n) {
        fprintf(stderr, "vmm: error: snapshot: path too long: %s/%s\n", dir, name);
        return -1;
    }
    return 0;
}

/* ---- save ------------------------------------------------------------- */

/* KVM_GET_MSRS stops at the first MSR it cannot read: drop that one and
 * retry, so the list ends up holding every readable MSR of the candidates. */
static int get_msrs(struct vm *vm, struct msr_list *l)
{
    for (;;) {
        int n = ioctl(vm->vcpu_fd, KVM_GET_MSRS, l);
        if (n < 0)
            return snap_fail("KVM_GET_MSRS");
        if ((unsigned)n == l->hdr.nmsrs)
            return 0;
        memmove(&l->e[n], &l->e[n + 1], (l->hdr.nmsrs - n - 1) * sizeof(l->e[0]));
        l->hdr.nmsrs--;
    }
}

static int save_msrs(struct vm *vm, const char *dir)
{
    struct { struct kvm_msr_list hdr; uint32_t idx[MSR_LIST_MAX]; } list = { .hdr.nmsrs = MSR_LIST_MAX };
    static struct msr_list msrs, caps;

    if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
        return snap_fail("KVM_GET_MSR_INDEX_LIST");
    memset(&msrs, 0, sizeof(msrs));
    for (uint32_t i = 0; i < list.hdr.nmsrs; i++)
        if (list.idx[i] < VMX_CAP_FIRST || list.idx[i] > VMX_CAP_LAST)
            msrs.e[msrs.hdr.nmsrs++].index = list.idx[i];
    memset(&caps, 0, sizeof(caps));
    for (uint32_t m = VMX_CAP_FIRST; m <= VMX_CAP_LAST; m++)
        caps.e[caps.hdr.nmsrs++].index = m;
    if (get_msrs(vm, &msrs) || get_msrs(vm, &caps))
        return -1;
    if (kvm_dir_write(dir, "msrs.bin", &msrs, sizeof(msrs.hdr) + msrs.hdr.nmsrs * sizeof(msrs.e[0])))
        return -1;
    if (!caps.hdr.nmsrs)
        return 0;                       /* no VMX shown */
    FILE *fp = NULL;
    char path[8192];
    if (snap_join(path, sizeof(path), dir, "vmx_msrs.txt"))
        return -1;
    if (kvm_dir_write(dir, "vmx_caps.bin", &caps, sizeof(caps.hdr) + caps.hdr.nmsrs * sizeof(caps.e[0])) ||
        !(fp = fopen(path, "w")))
        return fp ? -1 : snap_fail(path);
    for (uint32_t i = 0; i < caps.hdr.nmsrs; i++)
        if (kvm_vmx_msr_writable(caps.e[i].index))
            fprintf(fp, "0x%x 0x%016llx\n", caps.e[i].index, (unsigned long long)caps.e[i].data);
    return fclose(fp) ? snap_fail(path) : 0;
}

#define GET(ioc, obj, name)                                                     \
    (ioctl(vm->vcpu_fd, ioc, &(obj)) < 0 ? snap_fail(#ioc) : kvm_dir_write(dir, name, &(obj), sizeof(obj)))

/* Writes vCPU 0 and RAM as a KVM directory; returns the nested state's
 * flags (or 0 without one), or -1. */
static int save_dir(struct vm *vm, const char *dir, bool *nested)
{
    static struct { struct kvm_cpuid2 hdr; struct kvm_cpuid_entry2 e[CPUID_MAX]; } cpuid;
    static struct { struct kvm_nested_state hdr; uint8_t data[TSNAP_NESTED_SIZE_MAX - 128]; } ns;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave;
    struct kvm_xcrs xcrs;
    struct kvm_vcpu_events events;
    struct kvm_debugregs dregs;
    struct kvm_mp_state mp;
    struct kvm_lapic_state lapic;
    struct tsnap_machine m = { .mem_size = vm->mem, .n_vcpus = 1 };

    if (mkdir(dir, 0755) && errno != EEXIST)
        return snap_fail(dir);
    memset(&cpuid, 0, sizeof(cpuid));
    cpuid.hdr.nent = CPUID_MAX;
    if (ioctl(vm->vcpu_fd, KVM_GET_CPUID2, &cpuid) < 0)
        return snap_fail("KVM_GET_CPUID2");
    /* Linux 6.1 leaves nent as given when KVM_GET_CPUID2 succeeds: the
     * entries past the vCPU's are the buffer's zeros (no real leaf is all
     * zeros with function 0 but the first). */
    static const struct kvm_cpuid_entry2 none;
    while (cpuid.hdr.nent > 1 && !memcmp(&cpuid.e[cpuid.hdr.nent - 1], &none, sizeof(none)))
        cpuid.hdr.nent--;
    if (kvm_dir_write(dir, "cpuid.bin", &cpuid, sizeof(cpuid.hdr) + cpuid.hdr.nent * sizeof(cpuid.e[0])) ||
        GET(KVM_GET_REGS, regs, "regs.bin") || GET(KVM_GET_SREGS, sregs, "sregs.bin") ||
        save_msrs(vm, dir) || GET(KVM_GET_XSAVE, xsave, "xsave.bin") ||
        GET(KVM_GET_VCPU_EVENTS, events, "events.bin") || GET(KVM_GET_DEBUGREGS, dregs, "debugregs.bin") ||
        GET(KVM_GET_MP_STATE, mp, "mp_state.bin") || GET(KVM_GET_LAPIC, lapic, "lapic.bin"))
        return -1;
    /* KVM reports no XCRs (nr_xcrs 0) where the host lacks XSAVE, and
     * then refuses KVM_SET_XCRS: no xcrs.bin then. */
    if (ioctl(vm->vcpu_fd, KVM_GET_XCRS, &xcrs) < 0)
        return snap_fail("KVM_GET_XCRS");
    if (xcrs.nr_xcrs && kvm_dir_write(dir, "xcrs.bin", &xcrs, sizeof(xcrs)))
        return -1;
    *nested = false;
    for (uint32_t i = 0; i < cpuid.hdr.nent; i++)
        if (cpuid.e[i].function == 1 && (cpuid.e[i].ecx & (1u << 5)))
            *nested = true;
    if (*nested) {
        ns.hdr.size = sizeof(ns);
        if (ioctl(vm->vcpu_fd, KVM_GET_NESTED_STATE, &ns) < 0)
            return snap_fail("KVM_GET_NESTED_STATE");
        if (kvm_dir_write(dir, "nested_state.bin", &ns, ns.hdr.size))
            return -1;
        m.flags = TSNAP_MACHINE_NESTED;
    }
    int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    m.tsc_khz = khz > 0 ? (uint64_t)khz : 0;
    memcpy(m.name, "kvm-vmm", 7);
    if (kvm_dir_write(dir, "machine.bin", &m, sizeof(m)) || kvm_dir_write(dir, "turtle_version", "kvm-vmm", 7) ||
        kvm_dir_write(dir, "memory.bin", vm->ram, vm->mem))
        return -1;
    return *nested ? ns.hdr.flags : 0;
}
#undef GET

/* ---- the snapshot point ------------------------------------------------ */

static unsigned l2_seen;
static bool taken;
static timer_t kick;

static void on_kick(int sig)
{
    (void)sig;                          /* only to make KVM_RUN return EINTR */
}

int vmm_snapshot_arm(const struct vmm_config *cfg)
{
    struct sigaction sa = { .sa_handler = on_kick };        /* no SA_RESTART */
    struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    struct itimerspec its = { .it_interval = { 0, KICK_NS }, .it_value = { 0, KICK_NS } };

    if (!cfg->snapshot_at)
        return 0;
    if (sigaction(SIGUSR1, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &sev, &kick) ||
        timer_settime(kick, 0, &its, NULL))
        return snap_fail("the periodic kick timer");
    return 0;
}

static void vm_destroy(struct vm *vm)
{
    munmap(vm->run, vm->run_size);
    close(vm->vcpu_fd);
    close(vm->vm_fd);
    close(vm->kvm_fd);
}

/* The file framed for a byte stream (format.h): head, file, tail. A tty
 * is put in raw mode first, so that no byte is translated. */
static int send_framed(const char *dev, const uint8_t *file, uint64_t len)
{
    struct tsnap_frame_head head = { .length = len };
    struct tsnap_frame_tail tail = { .crc32c = crc32c(file, len) };
    struct termios t;
    int fd = open(dev, O_WRONLY | O_NOCTTY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0)
        return snap_fail(dev);
    if (isatty(fd) && tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    memcpy(head.magic, TSNAP_FRAME_HEAD_MAGIC, 8);
    memcpy(tail.magic, TSNAP_FRAME_TAIL_MAGIC, 8);
    bool ok = write(fd, &head, sizeof(head)) == sizeof(head);
    for (uint64_t at = 0; ok && at < len;) {
        ssize_t n = write(fd, file + at, len - at);
        ok = n > 0;
        at += ok ? (uint64_t)n : 0;
    }
    ok = ok && write(fd, &tail, sizeof(tail)) == sizeof(tail);
    if (isatty(fd))
        tcdrain(fd);
    close(fd);
    return ok ? 0 : snap_fail(dev);
}

/* The snapshot in turtle's format, with turtle's checks (those of
 * turtle-snap check): KVM wrote it, so a refusal is a bug in the checks
 * or the converter, and fails the run. */
static uint8_t *to_turtle(const char *kvmdir, uint64_t *len, struct tsnap_view *view)
{
    uint8_t *file = import_kvm(kvmdir, len);
    const char *err = "import failed";

    if (file && !(err = tsnap_parse(file, *len, view)) && !(err = tsnap_check_vcpu(view, 0)) &&
        !(err = nested_check_vcpu(view, 0)))
        return file;
    fprintf(stderr, "vmm: error: snapshot: turtle's checks refuse what KVM wrote: %s\n", err);
    free(file);
    return NULL;
}

int vmm_snapshot_poll(struct vm *vm, const struct vmm_config *cfg)
{
    static struct { struct kvm_nested_state hdr; uint8_t data[TSNAP_NESTED_SIZE_MAX - 128]; } ns;
    static struct tsnap_view view;
    char kvmdir[8192], path[8192];
    uint64_t len;
    bool nested;

    if (!cfg->snapshot_at || taken)
        return 0;
    ns.hdr.size = sizeof(ns);
    if (ioctl(vm->vcpu_fd, KVM_GET_NESTED_STATE, &ns) < 0)
        return snap_fail("KVM_GET_NESTED_STATE");
    if (!(ns.hdr.flags & KVM_STATE_NESTED_GUEST_MODE) || ++l2_seen < cfg->snapshot_at)
        return 0;
    taken = true;
    timer_delete(kick);
    /* Complete what the last exit left pending (port I/O, MMIO) without
     * running the guest, so that the state read is consistent. */
    vm->run->immediate_exit = 1;
    if (ioctl(vm->vcpu_fd, KVM_RUN, 0) == 0 || errno != EINTR)
        return snap_fail("KVM_RUN with immediate_exit");
    vm->run->immediate_exit = 0;

    if (mkdir(cfg->snapshot_dir, 0755) && errno != EEXIST)
        return snap_fail(cfg->snapshot_dir);
    if (snap_join(kvmdir, sizeof(kvmdir), cfg->snapshot_dir, "kvm"))
        return -1;
    int flags = save_dir(vm, kvmdir, &nested);
    if (flags < 0)
        return -1;
    uint8_t *file = to_turtle(kvmdir, &len, &view);
    if (!file)
        return -1;
    if (snap_join(path, sizeof(path), kvmdir, "memory.bin"))
        return -1;
    unlink(path);                       /* the turtle file holds the RAM now */
    if (snap_join(path, sizeof(path), cfg->snapshot_dir, "snapshot.tsnap"))
        return -1;
    if (kvm_dir_write(cfg->snapshot_dir, "snapshot.tsnap", file, len) ||
        (cfg->snapshot_serial && send_framed(cfg->snapshot_serial, file, len))) {
        free(file);
        return -1;
    }
    fprintf(stderr, "vmm: snapshot: taken in L2 (seen %u times), nested state %u bytes, flags %#x; "
                    "%s: %llu bytes, turtle's checks and KVM's nested-state checks pass\n",
            l2_seen, view.vcpu[0].nested_size, flags, path, (unsigned long long)len);
    if (!cfg->snapshot_resume) {
        free(file);
        return 0;
    }
    /* Back to KVM's form from turtle's file, and on in a new VM. */
    if (snap_join(path, sizeof(path), cfg->snapshot_dir, "export"))
        return -1;
    int rc = export_kvm(&view, path);
    free(file);
    if (rc)
        return -1;
    uint8_t *ram = mmap(NULL, vm->mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED)
        return snap_fail("guest RAM for the fresh VM");
    uint8_t *old_ram = vm->ram;
    uint64_t mem = vm->mem;
    vm_destroy(vm);
    munmap(old_ram, mem);
    if (vm_create(vm, ram, mem, cfg->verbose) < 0 || vmm_restore(vm, path) < 0)
        return -1;
    fprintf(stderr, "vmm: snapshot: the run goes on in a fresh VM restored from %s\n", path);
    return 1;
}
