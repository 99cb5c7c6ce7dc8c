/*
 * What tools/vmm's snapshot files share (snap.c: taking one and the
 * snapshot point; snap_restore.c: restoring one into KVM).
 */
#ifndef VMM_SNAP_INT_H
#define VMM_SNAP_INT_H

#include <linux/kvm.h>

#define MSR_LIST_MAX            512
#define CPUID_MAX               256
#define VMX_CAP_FIRST           0x480
#define VMX_CAP_LAST            0x491
#define MSR_IA32_TSC            0x10

struct msr_list {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[MSR_LIST_MAX];
};

/* "vmm: error: snapshot: WHAT: errno's text"; returns -1. */
int snap_fail(const char *what);
/* dir/name into buf; -1 after a message if it does not fit. */
int snap_join(char *buf, size_t n, const char *dir, const char *name);

#endif
