/*
 * The KVM_RUN loop. Port I/O reaches user space: COM1 goes to uart.c, a
 * write to the debug-exit port 0xf4 ends the run with the written byte as
 * the guest's status (a read of it returns 0, which is how turtle and QEMU's
 * isa-debug-exit tell the device is there). Bochs's shutdown port 0x8900,
 * which the test guests write after their status, is ignored. Any other
 * port reads as all ones (nothing there) and ignores writes; MMIO outside
 * RAM and the in-kernel devices does the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"

#define DEBUG_EXIT_PORT         0xf4        /* QEMU isa-debug-exit's port, as in turtle's tests */
#define BOCHS_SHUTDOWN_PORT     0x8900      /* "Shutdown" written byte by byte */
#define VERBOSE_LIMIT           16          /* unhandled accesses reported with --verbose */

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
}

struct run_state {
    bool done;
    int status;
    unsigned unhandled;
    bool verbose;
};

static void unhandled(struct run_state *st, const char *what, uint64_t addr, bool write)
{
    if (st->verbose && st->unhandled++ < VERBOSE_LIMIT)
        fprintf(stderr, "vmm: unhandled %s %s at %#llx\n", what, write ? "write" : "read",
                (unsigned long long)addr);
}

static void port_io(struct kvm_run *run, struct run_state *st)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    uint16_t port = run->io.port;

    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        if (port >= COM1_BASE && port < COM1_BASE + COM1_PORTS && run->io.size == 1) {
            if (write)
                uart_out(port, data[0]);
            else
                data[0] = uart_in(port);
        } else if (port == DEBUG_EXIT_PORT) {
            if (write && !st->done) {
                st->done = true;
                st->status = data[0];
            } else if (!write) {
                memset(data, 0, run->io.size);
            }
        } else if (port == BOCHS_SHUTDOWN_PORT && write) {
            /* ignored: the status came through 0xf4 */
        } else {
            if (!write)
                memset(data, 0xff, run->io.size);
            unhandled(st, "port", port, write);
        }
    }
}

static void report_stop(struct vm *vm, const char *why)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    uart_flush();
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) == 0 && ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) == 0)
        fprintf(stderr, "vmm: guest stopped: %s at rip %#llx (cr0 %#llx cr4 %#llx efer %#llx)\n", why,
                (unsigned long long)regs.rip, (unsigned long long)sregs.cr0,
                (unsigned long long)sregs.cr4, (unsigned long long)sregs.efer);
    else
        fprintf(stderr, "vmm: guest stopped: %s\n", why);
}

int vm_run(struct vm *vm, const struct vmm_config *cfg)
{
    struct run_state st = {.verbose = cfg->verbose};
    struct kvm_run *run = vm->run;
    struct sigaction sa;
    char why[128];

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;           /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    if (cfg->timeout)
        alarm(cfg->timeout);
    uart_init(cfg->prefix);

    while (!st.done) {
        int snap = vmm_snapshot_poll(vm, cfg);
        if (snap < 0)
            return VMM_EXIT_KVM_FAILED;
        run = vm->run;
        if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                if (timed_out) {
                    snprintf(why, sizeof(why), "no status after %u s (timeout)", cfg->timeout);
                    report_stop(vm, why);
                    return VMM_EXIT_NO_STATUS;
                }
                continue;
            }
            uart_flush();
            fprintf(stderr, "vmm: error: KVM_RUN: %s\n", strerror(errno));
            return VMM_EXIT_KVM_FAILED;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            port_io(run, &st);
            break;
        case KVM_EXIT_MMIO:
            if (!run->mmio.is_write)
                memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
            unhandled(&st, "MMIO", run->mmio.phys_addr, run->mmio.is_write);
            break;
        case KVM_EXIT_SHUTDOWN:
            report_stop(vm, "shutdown (triple fault)");
            return VMM_EXIT_NO_STATUS;
        case KVM_EXIT_HLT:
            report_stop(vm, "halted");
            return VMM_EXIT_NO_STATUS;
        case KVM_EXIT_FAIL_ENTRY:
            snprintf(why, sizeof(why), "VM entry failed, reason %#llx",
                     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            report_stop(vm, why);
            return VMM_EXIT_NO_STATUS;
        case KVM_EXIT_INTERNAL_ERROR:
            snprintf(why, sizeof(why), "KVM internal error, suberror %u", run->internal.suberror);
            report_stop(vm, why);
            return VMM_EXIT_NO_STATUS;
        case KVM_EXIT_SYSTEM_EVENT:
            snprintf(why, sizeof(why), "system event %u (reset or shutdown)", run->system_event.type);
            report_stop(vm, why);
            return VMM_EXIT_NO_STATUS;
        default:
            snprintf(why, sizeof(why), "unexpected KVM exit reason %u", run->exit_reason);
            report_stop(vm, why);
            return VMM_EXIT_NO_STATUS;
        }
    }
    alarm(0);
    uart_flush();
    return st.status;
}
