/*
 * VMCALL function 5, "snapshot" (docs/guests.md): an L1 asks for a
 * snapshot of itself.
 *   RBX = when: 0 now, at the instruction after the VMCALL (in L1);
 *               1 at the RCX-th L0 exit while its L2 runs (RCX >= 1),
 *                 taken before turtle decides whether to reflect it, or
 *                 at the first later exit L2 can be resumed from
 *               2 at L1's next VMLAUNCH/VMRESUME that enters L2, once
 *                 turtle has emulated it and before L2 runs (the nested
 *                 state's RUN_PENDING)
 *   RDX = flags: SNAPSHOT_STOP (stop the VM once the snapshot has left, so
 *         turtle powers off when the others are done), SNAPSHOT_KEEP (also
 *         keep it in turtle's memory), SNAPSHOT_NO_STREAM (not on the port)
 * RAX returns 0 (when = 1: armed), VMCALL_ERR_ARGUMENT for bad arguments,
 * or VMCALL_SNAPSHOT_REFUSED with the reason on turtle's console.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "snapshot/snapshot.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"

#define VMCALL_ERR_ARGUMENT         ((u64)-3)
#define VMCALL_SNAPSHOT_REFUSED     ((u64)-4)
#define SNAPSHOT_WHEN_NOW           0
#define SNAPSHOT_WHEN_L2_EXIT       1
#define SNAPSHOT_WHEN_L2_ENTRY      2

static u64 take(struct vcpu *vcpu, u32 flags)
{
    struct vm *vm = vcpu->vm;
    const char *why;

    if ((why = snapshot_take(vm, flags & ~SNAPSHOT_STOP))) {
        kprintf("turtle: guest '%s': snapshot refused: %s\n", vm->name, why);
        return VMCALL_SNAPSHOT_REFUSED;
    }
    if (flags & SNAPSHOT_STOP) {
        /* An unfinished console line belongs to the run that restores
         * the snapshot (it holds the line): not printed here. */
        vm->uart.len = 0;
        vm_stop(vm, false, "stopped after its snapshot");
    }
    return 0;
}

u64 snapshot_vmcall(struct vcpu *vcpu, u64 when, u64 count, u64 flags)
{
    if (flags & ~(u64)SNAPSHOT_FLAGS)
        return VMCALL_ERR_ARGUMENT;
    if (when == SNAPSHOT_WHEN_NOW)
        return take(vcpu, (u32)flags);
    if (when == SNAPSHOT_WHEN_L2_ENTRY && vcpu->nvmx) {
        vcpu->snap_at_l2_entry = true;
        vcpu->snap_flags = (u32)flags;
        return 0;
    }
    if (when != SNAPSHOT_WHEN_L2_EXIT || !count || !vcpu->nvmx)
        return VMCALL_ERR_ARGUMENT;
    vcpu->snap_at_l2_exit = count;
    vcpu->snap_flags = (u32)flags;
    return 0;
}

/* Exits L2 resumes from by executing the instruction again (fault-like),
 * or that interrupted it between instructions. A trap-like exit (MTF,
 * APIC write, TPR below threshold, EOI, a #DB trap) or one that reports
 * an event in delivery would lose that to the snapshot: not taken there. */
static bool resumable(u32 reason)
{
    switch (reason) {
    case EXIT_REASON_EXTERNAL_INTERRUPT:
    case EXIT_REASON_INTERRUPT_WINDOW:
    case EXIT_REASON_NMI_WINDOW:
    case EXIT_REASON_CPUID:
    case EXIT_REASON_HLT:
    case EXIT_REASON_INVLPG:
    case EXIT_REASON_RDPMC:
    case EXIT_REASON_RDTSC:
    case EXIT_REASON_VMCALL:
    case EXIT_REASON_CR_ACCESS:
    case EXIT_REASON_IO_INSTRUCTION:
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE:
    case EXIT_REASON_PAUSE_INSTRUCTION:
    case EXIT_REASON_EPT_VIOLATION:
    case EXIT_REASON_EPT_MISCONFIG:
    case EXIT_REASON_PREEMPTION_TIMER:
    case EXIT_REASON_XSETBV:
        return true;
    default:
        return false;
    }
}

void snapshot_l2_exit(struct vcpu *vcpu, u32 full)
{
    if (vcpu->snap_at_l2_exit > 1) {
        vcpu->snap_at_l2_exit--;
        return;
    }
    if ((full & VMX_EXIT_REASONS_FAILED_VMENTRY) || !resumable(full & VMX_EXIT_REASON_BASIC_MASK) ||
        (vmcs_read32(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID_MASK))
        return;                         /* the next one, then */
    vcpu->snap_at_l2_exit = 0;
    take(vcpu, vcpu->snap_flags);
}

void snapshot_l2_entry(struct vcpu *vcpu)
{
    vcpu->snap_at_l2_entry = false;
    take(vcpu, vcpu->snap_flags);
}

#define CPUID_HV_BASE           0x40000000u
#define CPUID_1_ECX_HYPERVISOR  BIT(31)
#define VMCALL_SNAPSHOT         5

void snapshot_ask_below(u64 n)
{
    struct cpuid_regs r = cpuid(1);
    u32 sig[3];

    if (r.ecx & CPUID_1_ECX_HYPERVISOR) {
        r = cpuid(CPUID_HV_BASE);
        sig[0] = r.ebx;
        sig[1] = r.ecx;
        sig[2] = r.edx;
    }
    if (!(cpuid(1).ecx & CPUID_1_ECX_HYPERVISOR) || memcmp(sig, "TurtleTurtle", 12)) {
        kprintf("turtle: error: snapself: not running on turtle\n");
        return;
    }
    u64 rax = VMCALL_SNAPSHOT, rbx = SNAPSHOT_WHEN_L2_EXIT, rcx = n, rdx = SNAPSHOT_STOP;
    __asm__ __volatile__("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) :: "memory");
    kprintf("turtle: snapself: snapshot of this turtle asked for at exit %lu in its guests: %s\n", n,
            rax ? "refused" : "armed");
}
