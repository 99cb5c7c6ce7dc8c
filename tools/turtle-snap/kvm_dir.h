/*
 * The KVM directory: a snapshot's vCPU as the files the KVM_SET_* ioctls
 * take, byte for byte (docs/snapshot.md "Importing into KVM"). Written by
 * turtle-snap export-kvm and by the VMM's save path, read by import-kvm
 * and the VMM's --restore. One vCPU (KVM's vCPU 0).
 *
 *   machine.bin        struct tsnap_machine (turtle's; optional on import)
 *   turtle_version     the writer's version string (optional)
 *   cpuid.bin          struct kvm_cpuid2 + entries          KVM_SET_CPUID2
 *   vmx_msrs.txt       "0xINDEX 0xVALUE" lines: the VMX capability MSRs
 *                      KVM lets userspace write, in KVM_SET_MSRS order
 *   vmx_caps.bin       struct kvm_msrs + every VMX capability MSR (lossless)
 *   sregs.bin          struct kvm_sregs                     KVM_SET_SREGS
 *   msrs.bin           struct kvm_msrs + entries            KVM_SET_MSRS
 *   xsave.bin          struct kvm_xsave (4096 bytes)        KVM_SET_XSAVE
 *   xcrs.bin           struct kvm_xcrs (optional)           KVM_SET_XCRS
 *   events.bin         struct kvm_vcpu_events               KVM_SET_VCPU_EVENTS
 *   mp_state.bin       struct kvm_mp_state                  KVM_SET_MP_STATE
 *   debugregs.bin      struct kvm_debugregs                 KVM_SET_DEBUGREGS
 *   regs.bin           struct kvm_regs                      KVM_SET_REGS
 *   lapic.bin          struct kvm_lapic_state               KVM_SET_LAPIC
 *   nested_state.bin   struct kvm_nested_state, `size` bytes KVM_SET_NESTED_STATE
 *   memory.bin         guest RAM from 0, mem_size bytes
 */
#ifndef TURTLE_TOOLS_SNAP_KVM_DIR_H
#define TURTLE_TOOLS_SNAP_KVM_DIR_H

#include "snapshot/parse.h"

/* VMX capability MSRs KVM refuses to have written (vmx_set_vmx_msr): the
 * non-TRUE controls (derived from the TRUE ones) and CR0/CR4_FIXED1
 * (derived from CPUID). They stay in vmx_caps.bin, not vmx_msrs.txt. */
bool kvm_vmx_msr_writable(u32 index);

/* Writes view's vCPU 0 into dir (created if missing). 0, or -1 after a message. */
int export_kvm(const struct tsnap_view *view, const char *dir);
/* The snapshot file for dir (malloc'd, 8-aligned, *len bytes), or NULL
 * after a message. The file is checked with tsnap_parse before it is returned. */
u8 *import_kvm(const char *dir, u64 *len);

/* Helpers shared with tools/vmm: a whole file into a malloc'd buffer
 * (*len bytes; NULL if missing or unreadable), and a buffer to a file. */
void *kvm_dir_read(const char *dir, const char *name, u64 *len);
int kvm_dir_write(const char *dir, const char *name, const void *data, u64 len);

#endif
