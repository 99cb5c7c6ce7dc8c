/*
 * VMCALL function 5, "snapshot" (docs/guests.md): an L1 asks for a
 * snapshot of itself. RBX = when (0: now, at the instruction after the
 * VMCALL), RCX = reserved for `when` values to come, RDX = flags
 * (SNAPSHOT_STOP: stop the VM once the snapshot has left, so turtle powers
 * off with the other guests done; SNAPSHOT_KEEP: also keep it in turtle's
 * memory; SNAPSHOT_NO_STREAM: not on the serial port). RAX returns 0, or
 * VMCALL_SNAPSHOT_REFUSED with the reason on turtle's console.
 */
#include "kernel/printf.h"
#include "snapshot/snapshot.h"
#include "vmx/vcpu.h"

#define VMCALL_ERR_ARGUMENT         ((u64)-3)
#define VMCALL_SNAPSHOT_REFUSED     ((u64)-4)
#define SNAPSHOT_WHEN_NOW           0

u64 snapshot_vmcall(struct vcpu *vcpu, u64 when, u64 count, u64 flags)
{
    struct vm *vm = vcpu->vm;
    const char *why;

    (void)count;
    if (when != SNAPSHOT_WHEN_NOW || (flags & ~(u64)SNAPSHOT_FLAGS))
        return VMCALL_ERR_ARGUMENT;
    if ((why = snapshot_take(vm, (u32)flags & ~SNAPSHOT_STOP))) {
        kprintf("turtle: guest '%s': snapshot refused: %s\n", vm->name, why);
        return VMCALL_SNAPSHOT_REFUSED;
    }
    if (flags & SNAPSHOT_STOP) {
        uart_flush(&vm->uart);
        vm_stop(vm, false, "stopped after its snapshot");
    }
    return 0;
}
