/*
 * The management console's commands that act on VMs (docs/console.md);
 * vmx/console_table.c lists them. They run between scheduling slices
 * (vmx/sched.c polls the console), so no vCPU is inside a slice while
 * one of them changes a VM. Errors are one line each, starting
 * "turtle: console: ".
 */
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "snapshot/snapshot.h"
#include "vmx/console_cmds.h"
#include "vmx/vmx.h"

struct vm *vm_by_name(const char *name)
{
    for (u32 i = 0; i < n_vms; i++)
        if (!strcmp(vms[i].name, name))
            return &vms[i];
    kprintf("turtle: console: no guest named '%s'\n", name);
    return NULL;
}

/* A guest that must not have ended yet; NULL (with the message) if it has. */
static struct vm *live_vm(const char *name)
{
    struct vm *vm = vm_by_name(name);

    if (vm && vm->stopped) {
        kprintf("turtle: console: '%s' has ended (%s)\n", vm->name, vm->stop_reason);
        return NULL;
    }
    return vm;
}

void console_cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("turtle: console: commands (Ctrl-U erases the line, Ctrl-C drops it):\n");
    for (u32 i = 0; i < console_table.n; i++) {
        const struct console_cmd *c = &console_table.cmds[i];
        char words[32];
        ksnprintf(words, sizeof(words), "%s %s", c->name, c->args);
        kprintf("  %-16s %s\n", words, c->help);
    }
}

static const char *state_of(const struct vm *vm, char *buf, u32 size)
{
    bool halted = vm->n_vcpus > 0;

    if (vm->stopped) {
        ksnprintf(buf, size, "%s (%s)", vm->failed ? "stopped" : "finished", vm->stop_reason);
        return buf;
    }
    if (vm->paused)
        return "paused";
    for (u32 i = 0; i < vm->n_vcpus; i++)
        halted &= vm->vcpus[i]->halted;
    return halted ? "halted (HLT, waiting for an interrupt)" : "running";
}

void console_cmd_list(int argc, char **argv)
{
    char state[160], mem[24];

    (void)argc;
    (void)argv;
    kprintf("turtle: console: %u guests\n", n_vms);
    for (u32 i = 0; i < n_vms; i++) {
        const struct vm *vm = &vms[i];
        u64 exits = vm->total_exits;
        bool l2 = false;
        for (u32 k = 0; k < vm->n_vcpus; k++) {
            exits += vm->vcpus[k]->total_exits;     /* added to the VM's when freed */
            l2 |= vm->vcpus[k]->guest_mode;
        }
        if (vm->stopped)
            ksnprintf(mem, sizeof(mem), "memory returned");
        else
            ksnprintf(mem, sizeof(mem), "%lu MiB", vm->mem_size >> 20);
        kprintf("  '%s': %s; %u vCPU, %s, %lu exits, nested %s, L2 %s, %u resets\n", vm->name,
                state_of(vm, state, sizeof(state)), vm->n_vcpus ? vm->n_vcpus : 1, mem, exits,
                vm->nested ? "on" : "off", l2 ? "running" : "not running", vm->n_resets);
    }
}

/*
 * Pause and resume. A paused VM is not scheduled and its devices are not
 * brought up to date; its time is the host's and keeps running (turtle
 * gives guests the host TSC, unoffset), so on resume the guest sees the
 * time that passed, as after a long preemption. What its timers missed
 * is not replayed: each device brings itself up to now at once, and a
 * timer that fell due many times raises its interrupt line once, which
 * latches one request (IRR) per source, as on hardware when the CPU does
 * not acknowledge; periodic timers then continue on their period.
 */
void console_cmd_pause(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);

    (void)argc;
    if (!vm)
        return;
    if (vm->paused) {
        kprintf("turtle: console: '%s' is already paused\n", vm->name);
        return;
    }
    vm->paused = true;
    vm_update_held(vm);
    kprintf("turtle: console: '%s' paused\n", vm->name);
}

void console_cmd_resume(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);

    (void)argc;
    if (!vm)
        return;
    if (!vm->paused) {
        kprintf("turtle: console: '%s' is not paused\n", vm->name);
        return;
    }
    vm->paused = false;
    vm_update_held(vm);
    kprintf("turtle: console: '%s' resumed\n", vm->name);
}

/* Ends the guest as turtle ends a failing one: its stop line, its
 * summary and its place in the verdict; everything it held is freed. */
void console_cmd_kill(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);

    (void)argc;
    if (!vm)
        return;
    u64 before = mm_free_pages();
    vm->paused = false;
    vm_stop(vm, true, "killed from the console");
    vm_free(vm);
    kprintf("turtle: console: '%s' killed, %lu pages returned\n", vm->name, mm_free_pages() - before);
}

void console_cmd_reset(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);

    (void)argc;
    if (!vm)
        return;
    vm_request_reset(vm, "console");
    vm_reset(vm);                       /* between slices: at once, halted or paused */
}

/* The attached guest's COM1 receives what is typed. */
static void to_com1(void *ctx, u8 byte)
{
    struct vm *vm = ctx;

    if (!vm->stopped)
        uart_line_receive(&vm->uart, byte);
}

void console_cmd_attach(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);

    (void)argc;
    if (vm)
        console_attach(to_com1, vm, vm->name);
}

void console_cmd_detach(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (!console_attached())
        kprintf("turtle: console: not attached to a guest\n");
    console_detach();
}

/*
 * Snapshots (docs/snapshot.md). Between slices the guest's vCPU is at an
 * instruction boundary (or at an L2 exit turtle has handled), so it is
 * taken as it stands, paused or not, and the guest runs on afterwards.
 * The file leaves by the snapshot port (snapport=, COM2 by default); with
 * `keep` a copy also stays in turtle's memory (one at a time, the last
 * one) for `restore`, which starts it as a new guest beside the others.
 */
void console_cmd_snapshot(int argc, char **argv)
{
    struct vm *vm = live_vm(argv[1]);
    bool keep = argc == 3;
    const char *why;

    if (!vm)
        return;
    if (keep && strcmp(argv[2], "keep")) {
        kprintf("turtle: console: usage: snapshot NAME [keep]\n");
        return;
    }
    if ((why = snapshot_take(vm, keep ? SNAPSHOT_KEEP : 0))) {
        kprintf("turtle: console: snapshot of '%s' refused: %s\n", vm->name, why);
        return;
    }
    kprintf("turtle: console: snapshot of '%s' taken, sent on port %x%s\n", vm->name, snapshot_port,
            keep ? "; a copy is kept for 'restore NAME'" : "");
}

void console_cmd_restore(int argc, char **argv)
{
    const char *why;

    (void)argc;
    if ((why = snapshot_restore_kept(argv[1]))) {
        kprintf("turtle: console: restore refused: %s\n", why);
        return;
    }
    kprintf("turtle: console: the kept snapshot runs as '%s'\n", argv[1]);
}
