/*
 * snapshot/'s own: one vCPU's state in the file's layouts, and the
 * conversions between those layouts and turtle's vCPU, nested state and
 * devices. Save functions read a paused vCPU whose VMCS is current on
 * this CPU and whose MSRs and FPU state are in its struct; load functions
 * write a new one the same way. Nothing here decides whether a file is
 * acceptable: snapshot/restore.c checks it all before any load.
 */
#ifndef TURTLE_SNAP_INT_H
#define TURTLE_SNAP_INT_H

#include "snapshot/format.h"

struct vm;
struct vcpu;

#define SNAP_MAX_MSRS   24

/* One vCPU, every per-vCPU section of the file. */
struct snap_vcpu {
    struct tsnap_kvm_regs regs;
    struct tsnap_kvm_sregs sregs;
    struct tsnap_kvm_msrs msrs;
    struct tsnap_kvm_msr_entry msr[SNAP_MAX_MSRS];
    struct tsnap_kvm_xsave xsave;
    struct tsnap_kvm_xcrs xcrs;             /* XCR0 only (nr_xcrs 1) */
    struct tsnap_kvm_vcpu_events events;
    struct tsnap_kvm_debugregs debugregs;
    struct tsnap_kvm_mp_state mp_state;
    struct tsnap_kvm_lapic_state lapic;
    struct tsnap_vcpu_turtle turtle;
    struct tsnap_dev_lapic_timer lapic_timer;
    u8 nested[TSNAP_NESTED_SIZE_MAX];       /* struct kvm_nested_state, `size` bytes */
    u64 host_now;                           /* not in the file: the host TSC at the snapshot */
    u32 msrs_left_out;                      /* not in the file: KVM's MSRs turtle does not model */
};

/* snapshot/vcpu_state.c */
void snap_vcpu_save(struct vcpu *vcpu, struct snap_vcpu *s);
void snap_vcpu_load(struct vcpu *vcpu, const struct snap_vcpu *s);
u32 snap_msr_count(const struct snap_vcpu *s);

/* snapshot/lapic_state.c: the LAPIC page and its timer, times relative
 * to the snapshot's moment (host TSC values in, host TSC values out). */
void snap_lapic_save(const struct vcpu *vcpu, u64 tsc, struct tsnap_kvm_lapic_state *regs,
                     struct tsnap_dev_lapic_timer *t);
void snap_lapic_load(struct vcpu *vcpu, u64 now, const struct tsnap_kvm_lapic_state *regs,
                     const struct tsnap_dev_lapic_timer *t);

/* snapshot/kvm_made.c: a snapshot KVM's side wrote has no turtle section
 * and no devices. Fills s->turtle from KVM's structures (NULL, or why
 * not); after snap_lapic_load() with the timer disarmed, arms the LAPIC
 * timer as KVM's page has it. */
const char *snap_kvm_made_vcpu(struct snap_vcpu *s, u32 nested_size);
/* Of KVM's MSR list (every MSR KVM reads), the ones turtle's vCPU models,
 * into s->msr; returns how many were left out. */
u32 snap_kvm_made_msrs(struct snap_vcpu *s, const struct tsnap_kvm_msr_entry *e, u32 n);
void snap_kvm_made_lapic_timer(struct vcpu *vcpu, u64 now, const struct snap_vcpu *s);

/* snapshot/devices.c: the platform devices and COM1. */
struct snap_devices {
    struct tsnap_dev_pic pic;
    struct tsnap_dev_pit pit;
    struct tsnap_dev_rtc rtc;
    struct tsnap_dev_acpi_pm pm;
    struct tsnap_dev_ioapic ioapic;
    struct tsnap_dev_uart uart;
    struct tsnap_dev_reset reset;
};
void snap_devices_save(const struct vm *vm, u64 tsc, struct snap_devices *d);
void snap_devices_load(struct vm *vm, u64 now, const struct snap_devices *d);
/* Each device's section: its instance (TSNAP_DEV_*, version 1) and where
 * its payload lies in struct snap_devices; name is the member's. save
 * fills that member from vm's model (times relative to L1's TSC tsc);
 * load clamps what it copies back into vm's model (times against now). */
struct snap_device {
    const char *name;
    u32 instance;
    u32 offset, size;
    void (*save)(const struct vm *vm, u64 tsc, struct snap_devices *out);
    void (*load)(struct vm *vm, u64 now, const struct snap_devices *in);
};
extern const struct snap_device snap_device_table[];
extern const u32 snap_n_devices;

/* snapshot/cpuid.c: CPUID as vcpu sees it, every leaf and subleaf turtle
 * answers; returns the entries written (at most max). */
u32 snap_cpuid_collect(struct vcpu *vcpu, struct tsnap_kvm_cpuid_entry2 *e, u32 max);
#define SNAP_MAX_CPUID  96
/* The VMX capability MSRs 0x480-0x491 shown to vcpu (those it can read). */
u32 snap_vmx_caps_collect(struct vcpu *vcpu, struct tsnap_kvm_msr_entry *e, u32 max);
#define SNAP_MAX_VMX_CAPS   18

/* Relative and absolute TSC values. */
static inline s64 snap_rel(u64 t, u64 tsc) { return (s64)(t - tsc); }
static inline u64 snap_abs(s64 rel, u64 now) { return now + (u64)rel; }

#endif
