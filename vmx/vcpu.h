/*
 * A virtual CPU of a VM: its architectural state that VMX does not keep
 * in the VMCS, the VMCS it runs on and the physical CPU that holds that
 * VMCS, its event queue, and (for a `nested` VM) its nested-VMX state.
 * Names follow KVM's `struct kvm_vcpu`.
 */
#ifndef TURTLE_VCPU_H
#define TURTLE_VCPU_H

#include "kernel/types.h"
#include "kernel/x86.h"
#include "vmx/apicv.h"
#include "vmx/dev/lapic.h"
#include "vmx/event.h"
#include "vmx/vm.h"
#include "vmx/vmx_arch.h"

/* Guest general registers, saved and loaded by vmx/vmentry.asm. The order
 * is the SDM's register numbering (Table 28-3: 0 = RAX, 1 = RCX, 2 = RDX,
 * 3 = RBX, 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8-15 = R8-R15), so exit
 * qualifications index it directly. RSP lives in the VMCS; its slot is
 * synced by the exit handlers that need it. */
struct guest_regs {
    u64 gpr[16];
    u64 cr2;
};
#define REG_RAX     0
#define REG_RCX     1
#define REG_RDX     2
#define REG_RBX     3
#define REG_RSP     4
#define REG_RBP     5
#define REG_RSI     6
#define REG_RDI     7

/* Switched by turtle on every vCPU change: VMX does not load these. */
struct guest_msrs {
    u64 kernel_gs_base, star, lstar, cstar, sfmask, tsc_aux;
    u64 pat;                    /* only without the VMCS's PAT controls */
    u64 spec_ctrl;              /* IA32_SPEC_CTRL, where the CPU has it (vmx/spec_caps.h) */
    u64 dr[4], dr6;             /* debug registers (DR7 is in the VMCS) */
};

/* The CPUID leaves whose answer needs no subleaf, as handle_cpuid gave
 * them (vcpu_cpuid()), kept for the exit fast path (vmx/exit_fast.h):
 * basic leaves 0..CPUID_CACHE_BASIC-1 and extended leaves from
 * 0x80000000. A bit of basic_ok/ext_ok says that leaf is held; both 0
 * until the first CPUID exit fills them, and again whenever the VM's
 * answers change (vm_cpuid_installed()). Leaf 1's OSXSAVE and APIC bits
 * follow the vCPU's CR4 and APIC base: the fast path sets them live. */
#define CPUID_CACHE_BASIC       0x17
#define CPUID_CACHE_EXT_BASE    0x80000000u
#define CPUID_CACHE_EXT         9
struct vcpu_cpuid_cache {
    u32 basic_ok, ext_ok;
    struct cpuid_regs basic[CPUID_CACHE_BASIC];
    struct cpuid_regs ext[CPUID_CACHE_EXT];
};

struct nested_vmx;              /* nested/: VT-x as this vCPU's L1 sees it */
struct percpu;

struct vcpu {
    struct vm *vm;
    u32 id;                     /* index in vm->vcpus[] (and its APIC ID) */
    u16 vpid;

    u64 vmcs01;                 /* host-physical */
    u64 vmcs;                   /* the VMCS this vCPU runs on: vmcs01, or vmcs02 while in L2 */
    bool launched;              /* ... and whether that VMCS is launched */
    struct percpu *cpu;         /* the physical CPU whose current VMCS is `vmcs`, or NULL */

    struct guest_regs regs;
    u8 *xsave;                  /* its XSAVE area, one page (vmx/xsave.h) */
    u64 xcr0;                   /* its XCR0, loaded while it runs */
    struct guest_msrs msrs;
    struct vcpu_cpuid_cache cpuid_cache;

    struct vcpu_events events;  /* vmx/event.c */
    struct lapic lapic;         /* its local APIC (vmx/dev/lapic.c) */
    struct vcpu_apicv apicv;    /* its virtual-APIC page and controls (vmx/apicv.c) */
    bool halted;                /* HLT with IF=1: runs again once an interrupt is pending */
    struct nested_vmx *nvmx;    /* NULL unless the VM is `nested`; vmx/ never looks inside */
    bool guest_mode;            /* L2 runs on this vCPU (vmcs02 is `vmcs`); set by nested/ */

    bool yield;                 /* give up the CPU at the next opportunity */
    /* A snapshot asked for at the Nth L0 exit while L2 runs (VMCALL 5,
     * when = 1): exits still to go (0: none asked), and its flags. */
    u64 snap_at_l2_exit;
    u32 snap_flags;
    /* ... or at L1's next VMLAUNCH/VMRESUME, once emulated (when = 2). */
    bool snap_at_l2_entry;
    u64 exits[EXIT_REASON_MAX + 1];     /* by basic reason; added to the VM's when freed */
    u64 total_exits;
};

/* vmx/vm.c: a new vCPU for vm (vmcs01 not yet built). NULL when out of memory. */
struct vcpu *vcpu_create(struct vm *vm);
void vcpu_free(struct vcpu *vcpu);

/* vmx/vmentry.asm */
int vmx_enter(struct guest_regs *regs, int launched);
void vmx_exit_entry(void);
_Static_assert(__builtin_offsetof(struct guest_regs, cr2) == 16 * 8, "vmentry.asm REGS_CR2");
_Static_assert(__builtin_offsetof(struct guest_regs, gpr[REG_RDI]) == 7 * 8, "vmentry.asm GPR(RDI)");

#endif
