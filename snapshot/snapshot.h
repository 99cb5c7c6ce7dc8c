/*
 * L1 snapshots (docs/snapshot.md): what the rest of turtle may ask of
 * snapshot/. The file format is snapshot/format.h. vmx/ reaches this layer
 * only through these few functions (the VMCALL, the loader, the console).
 */
#ifndef TURTLE_SNAPSHOT_H
#define TURTLE_SNAPSHOT_H

#include "kernel/types.h"

struct vm;
struct vcpu;
struct boot_module;

/* snapshot_take() flags (also the VMCALL's RDX, docs/guests.md). */
#define SNAPSHOT_STOP       BIT(0)  /* stop the VM once the snapshot has left */
#define SNAPSHOT_KEEP       BIT(1)  /* also keep a copy in turtle's memory */
#define SNAPSHOT_NO_STREAM  BIT(2)  /* do not send it over the serial port */
#define SNAPSHOT_FLAGS      (SNAPSHOT_STOP | SNAPSHOT_KEEP | SNAPSHOT_NO_STREAM)

/* Takes a snapshot of vm, which must be paused at an instruction boundary
 * (its vCPUs not in VMX non-root operation on another CPU): builds the file
 * and sends it as a framed stream over the snapshot port (turtle's
 * `snapport=` option, COM2 by default); with SNAPSHOT_KEEP keeps it for
 * snapshot_restore_kept(). NULL, or why nothing was taken. */
const char *snapshot_take(struct vm *vm, u32 flags);

/* The VMCALL (function 5): vcpu asks for a snapshot of its own VM. RBX =
 * when (0: now), RDX = flags. Returns the VMCALL's RAX. */
u64 snapshot_vmcall(struct vcpu *vcpu, u64 when, u64 count, u64 flags);

/* An exit while L2 runs, with a snapshot asked for (vcpu->snap_at_l2_exit):
 * counts it down and takes the snapshot at the first exit from then on
 * that L2 can resume from (the instruction boundary the exit reports). */
void snapshot_l2_exit(struct vcpu *vcpu, u32 full_reason);

/* L1's VMLAUNCH/VMRESUME emulated with a snapshot asked for there
 * (vcpu->snap_at_l2_entry): takes it before L2 runs its first instruction,
 * the state KVM calls RUN_PENDING. */
void snapshot_l2_entry(struct vcpu *vcpu);

/* turtle as a guest of turtle (`snapself=N`): asks the turtle below for a
 * snapshot of this one, stopped, at its Nth exit while this turtle's
 * guests run (VMCALL 5, RBX = 1). Prints the answer. */
void snapshot_ask_below(u64 n);

/* The `restore` module: checks all of the snapshot file first, then builds
 * VM vm (its index set) from it and leaves it ready to run. NULL, or the
 * failed check ("snapshot: bad checksum"); nothing is left allocated then. */
const char *snapshot_restore_module(struct vm *vm, const struct boot_module *m, const char *name);

/* Restores the snapshot kept by the last SNAPSHOT_KEEP into a new VM slot
 * (under its own name, or `name` if not NULL). NULL or why not. */
const char *snapshot_restore_kept(const char *name);

/* Serial port for the stream (0x2f8 unless the command line says). */
extern u16 snapshot_port;

#endif
