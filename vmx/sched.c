/*
 * The run loop: VMs share the CPU round-robin, one vCPU at a time. A vCPU
 * runs until its slice is used up (VMX preemption timer), it yields (HLT,
 * VMCALL) or its VM stops. Switching vCPUs switches what VMX does not:
 * the current VMCS, the x87/SSE/AVX state and XCR0 (vmx/xsave.c), the
 * syscall MSRs and DR0-3/DR6.
 * Between slices, and while idle, turtle looks at its console's input
 * (kernel/console.h), does the resets guests asked for (vmx/vm_reset.c),
 * and skips the VMs the console paused.
 */
#include "kernel/console.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "kernel/tsc.h"
#include "kernel/x86.h"
#include "vmx/caps.h"
#include "vmx/exit_fast.h"
#include "vmx/prof.h"
#include "vmx/spec_caps.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

#define DEFAULT_SLICE           20000   /* preemption-timer ticks */

u64 sched_ticks;
u64 sched_first_entry_tsc;

static void save_msrs(struct guest_msrs *m)
{
    /* DR0-3 and DR6 are guest-owned (no MOV-DR exiting); DR7 is in the VMCS. */
    m->dr[0] = read_dr0();
    m->dr[1] = read_dr1();
    m->dr[2] = read_dr2();
    m->dr[3] = read_dr3();
    m->dr6 = read_dr6();
    m->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
    m->star = rdmsr(MSR_STAR);
    m->lstar = rdmsr(MSR_LSTAR);
    m->cstar = rdmsr(MSR_CSTAR);
    m->sfmask = rdmsr(MSR_SFMASK);
    if (vmx_caps.has_tsc_aux)
        m->tsc_aux = rdmsr(MSR_TSC_AUX);
    /* Without the VMCS's PAT controls the guest's PAT is switched here (and
     * stays loaded while turtle runs: turtle's own mappings are write-back
     * through PAT entry 0 in every valid PAT a guest is likely to keep, and
     * a hostile one only slows turtle down). */
    if (!(vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT))
        m->pat = rdmsr(MSR_IA32_PAT);
    if (spec_caps.spec_ctrl_bits)
        m->spec_ctrl = rdmsr(MSR_IA32_SPEC_CTRL);
}

static void load_msrs(const struct guest_msrs *m)
{
    write_dr0(m->dr[0]);
    write_dr1(m->dr[1]);
    write_dr2(m->dr[2]);
    write_dr3(m->dr[3]);
    write_dr6(m->dr6);
    wrmsr(MSR_KERNEL_GS_BASE, m->kernel_gs_base);
    wrmsr(MSR_STAR, m->star);
    wrmsr(MSR_LSTAR, m->lstar);
    wrmsr(MSR_CSTAR, m->cstar);
    wrmsr(MSR_SFMASK, m->sfmask);
    if (vmx_caps.has_tsc_aux)
        wrmsr(MSR_TSC_AUX, m->tsc_aux);
    if (!(vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT))
        wrmsr(MSR_IA32_PAT, m->pat);
    /* IA32_SPEC_CTRL passes through (vmx/vmcs01.c): switched here like
     * the syscall MSRs; turtle runs with the guest's value (its bits only
     * restrict speculation). */
    if (spec_caps.spec_ctrl_bits)
        wrmsr(MSR_IA32_SPEC_CTRL, m->spec_ctrl);
}

/* Makes vcpu the one whose state this CPU holds. */
static void switch_to(struct vcpu *vcpu)
{
    struct vmx_cpu *c = this_vmx_cpu();

    if (c->vcpu == vcpu)
        return;
    if (c->vcpu) {
        save_msrs(&c->vcpu->msrs);
        c->vcpu->cpu = NULL;
    }
    fpu_switch(c->vcpu, vcpu);
    vmcs_load(vcpu->vmcs, "a vCPU's current VMCS");
    load_msrs(&vcpu->msrs);
    c->vcpu = vcpu;
    vcpu->cpu = this_cpu();
}

/* A paused vCPU's whole state into its struct, on this CPU: its VMCS
 * current here, its XSAVE state, syscall MSRs and DR0-3/DR6 saved (they
 * stay loaded, so it may run on). False if another CPU holds it. */
bool sched_vcpu_sync_here(struct vcpu *vcpu)
{
    if (vcpu->cpu && vcpu->cpu != this_cpu())
        return false;
    switch_to(vcpu);
    fpu_save(vcpu);
    save_msrs(&vcpu->msrs);
    return true;
}

/* Runs vcpu until it yields (or halts) or its VM stops. The slice is a TSC
 * budget converted to preemption-timer ticks at each entry, so a vCPU
 * that exits often is still preempted on time. `wake` is the TSC at which
 * a sleeping VM's timer falls due (sleepers_deadline()): the slice ends
 * there, so the sleeper wakes on time, but not before an eighth of the
 * slice, so a VM whose timer fires every microsecond cannot take the CPU
 * from a busy one. */
static void run_slice(struct vcpu *vcpu, u64 slice, u64 wake)
{
    struct vm *vm = vcpu->vm;
    u64 rate = vmx_caps.preemption_timer_rate;
    u64 start = rdtsc(), len = slice << rate;
    u64 slice_end = start + len;

    if (wake < slice_end)
        slice_end = MAX(wake, start + len / 8);

    vcpu->yield = false;
    if (!sched_first_entry_tsc)
        sched_first_entry_tsc = rdtsc();
    while (!vcpu->yield && !vm->stopped) {
    enter:;
        u64 now = rdtsc();
        /* One test on the way in: the end of the slice or a device
         * deadline (the earlier of the two; both usually far off). */
        u64 until = MIN(slice_end, vm->platform.next_deadline);
        if (__builtin_expect(now >= until, 0)) {
            if (now >= slice_end)
                break;
            apicv_sync(vcpu);
            platform_update(vm, now);   /* device timers fell due */
            if (vm->stopped || vcpu->yield)
                break;                  /* stopped, or a reset was asked for */
            until = MIN(slice_end, vm->platform.next_deadline);
        }
        if (__builtin_expect(event_anything(&vcpu->events), 0)) {
            apicv_sync(vcpu);
            __vmx_inject_events(vcpu);  /* may change the current VMCS (exit to L1) */
            if (vm->stopped)
                break;
        }
        /* The timer fires at the end of the slice or at the VM's next
         * device deadline, whichever comes first (both lie ahead of now). */
        u64 ticks = ((until - now) >> rate) + 1;
        if (vcpu->guest_mode)
            ticks = nested_ops->timer_clamp(vcpu, ticks);
        else if (__builtin_expect(vcpu->apicv.dirty, 0)) {
            apicv_sync(vcpu);           /* what the CPU wrote first: the store overwrites the page */
            apicv_push(vcpu);           /* the model changed: its image for the CPU */
        }
        vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (u32)ticks);
        PROF_MARK(PROF_LOOP);
        int failed = vmx_enter(&vcpu->regs, vcpu->launched);
        PROF_MARK(PROF_GUEST);
        if (failed) {
            u64 err = 0;
            bool valid = vmread_raw(VM_INSTRUCTION_ERROR, &err) == VMX_OK;
            /* vmcs02 refused: L1 gets the CPU's answer (nested/). */
            if (vcpu->guest_mode && nested_ops->l2_entry_vmfail(vcpu, valid, err))
                continue;
            kprintf("turtle: guest '%s': VM%s failed, VM-instruction error %lu\n", vm->name,
                    vcpu->launched ? "RESUME" : "LAUNCH", err);
            vmcs_dump();
            vm_stop(vm, true, "VM entry failed (VM-instruction error %lu)", err);
            break;
        }
        /* A VMCS is launched once an entry succeeded: not by an exit that
         * reports a failed entry (SDM 27.8). */
        u32 reason = vmcs_read32(VM_EXIT_REASON);
        if (__builtin_expect(!vcpu->launched, 0) && !(reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
            vcpu->launched = true;
        if (vmx_exit_fastpath(vcpu, reason)) {
            PROF_MARK(PROF_L1_HANDLER);
            goto enter;                 /* it neither yields nor stops the VM */
        }
        vmx_handle_exit(vcpu, reason);
    }
    /* Between slices the model is read (runnable(), the console, a
     * snapshot): it holds what the CPU wrote. */
    apicv_sync(vcpu);
}

/* panic(): the vCPU this CPU was running, and its current VMCS. */
static void dump_current_vcpu(void)
{
    struct vcpu *vcpu = this_vmx_cpu()->vcpu;

    if (!vcpu)
        return;
    kprintf("guest '%s' vCPU %u (%s):\n", vcpu->vm->name, vcpu->id,
            vcpu->guest_mode ? "in L2, vmcs02" : "vmcs01");
    vmcs_dump();
}

/* A halted vCPU runs again once an interrupt or NMI is pending for it
 * (its VM's timers brought up to now first). */
static bool runnable(struct vcpu *vcpu, u64 now)
{
    struct vm *vm = vcpu->vm;

    if (!vcpu->halted)
        return true;
    if (now >= vm->platform.next_deadline)
        platform_update(vm, now);
    if (vm->stopped)
        return false;
    if (vcpu->events.nmi_pending || vcpu->lapic.s.nmi_pending || platform_interrupt_pending(vcpu)) {
        vcpu->halted = false;
        vcpu->events.irq_check = true;
    }
    return !vcpu->halted;
}

/* The earliest device deadline of a VM other than `running` whose vCPUs
 * all sleep in HLT (*who = its index), or DEV_NO_DEADLINE: when it falls
 * due that VM may wake, and the running vCPU should make way. */
static u64 sleepers_deadline(const struct vm *running, u32 *who)
{
    u64 deadline = DEV_NO_DEADLINE;

    for (u32 i = 0; i < n_vms; i++) {
        struct vm *c = &vms[i];
        bool asleep = !c->held && c != running;
        for (u32 j = 0; j < c->n_vcpus && asleep; j++)
            asleep = c->vcpus[j]->halted;
        if (asleep && c->platform.next_deadline < deadline) {
            deadline = c->platform.next_deadline;
            *who = i;
        }
    }
    return deadline;
}

static bool vm_runnable(struct vm *vm, u64 now)
{
    bool any = false;
    for (u32 i = 0; i < vm->n_vcpus && !vm->stopped; i++)
        any |= runnable(vm->vcpus[i], now);
    return any && !vm->held;          /* held: stopped, or a reset asked for by its timers' update */
}

/* Every VM left is halted or paused: wait (without running any guest)
 * until the earliest device deadline of a halted one, or until the
 * console did something (it may have resumed a VM, or fed one input).
 * A halted VM with no deadline can never wake, unless its COM1 would
 * interrupt it on input (the console can attach to it): the others are
 * stopped. */
static __attribute__((noinline, cold)) void idle(void)
{
    u64 deadline = DEV_NO_DEADLINE;
    bool waiting = false;               /* paused, or sleeping until COM1 input */

    for (u32 i = 0; i < n_vms; i++) {
        if (vms[i].stopped)
            continue;
        if (vms[i].reset_pending)
            return;                     /* the scheduler resets it first */
        waiting |= vms[i].paused || uart_rx_irq_armed(&vms[i].uart);
        if (!vms[i].paused)
            deadline = MIN(deadline, vms[i].platform.next_deadline);
    }
    if (deadline == DEV_NO_DEADLINE) {
        for (u32 i = 0; i < n_vms; i++)
            if (!vms[i].stopped && !vms[i].paused && !uart_rx_irq_armed(&vms[i].uart)) {
                vm_stop(&vms[i], true, "halted with no timer armed and no interrupt pending");
                vm_free(&vms[i]);
            }
        if (!waiting)
            return;
    }
    /* The console is looked at every 100 us or so, not at every turn:
     * under an L0 (turtle on turtle) each look is an I/O exit. */
    u64 every = tsc_khz / 10 ? tsc_khz / 10 : 1, next_look = 0, now;
    while ((now = rdtsc()) < deadline) {
        if (now >= next_look) {
            if (console_poll())
                return;
            next_look = now + every;
        }
        __asm__ __volatile__("pause");
    }
}

/* A held VM met by the round robin: true if it is live (paused, or reset
 * now and runnable again: then *run is set). Out of the loop's way. */
static __attribute__((noinline, cold)) bool held_vm(struct vm *c, bool *run)
{
    *run = false;
    if (c->stopped)
        return false;
    if (c->reset_pending) {
        vm_reset(c);                    /* asked for while its timers were brought up to date */
        *run = !c->held;                /* not paused, nor stopped as a reset loop */
    }
    return true;
}

/* After a slice of a held VM: its reset, or its end. */
static __attribute__((noinline, cold)) void after_held_slice(struct vm *vm)
{
    if (vm->reset_pending)
        vm_reset(vm);
    if (vm->stopped)
        vm_free(vm);
}

/* Between slices, the console's input, every CONSOLE_LOOK_MS at most.
 * Looking costs some 40 instructions (a port read and the calls): at
 * every slice that showed in the L1 benchmarks (+0.3%), once per several
 * slices it does not; 10 ms is no delay to a person typing, and the
 * UART's FIFO and the look at every transmitted byte cover a burst. */
#define CONSOLE_LOOK_MS         10
static u64 console_next_look;

static __attribute__((noinline, cold)) void console_look(u64 now)
{
    console_next_look = now + (u64)tsc_khz * CONSOLE_LOOK_MS;
    console_poll();
}

void sched_run(void)
{
    u64 slice = turtle_opts.slice ? turtle_opts.slice : DEFAULT_SLICE;
    u32 next = 0;

    panic_guest_state_hook = dump_current_vcpu;
    for (;;) {
        struct vm *vm = NULL;
        bool live = false;
        u64 now = rdtsc();
        if (__builtin_expect(now >= console_next_look, 0))
            console_look(now);
        for (u32 k = 0; k < n_vms && !vm; k++) {
            struct vm *c = &vms[(next + k) % n_vms];
            if (__builtin_expect(c->held, 0)) {
                bool run;
                live |= held_vm(c, &run);
                if (!run)
                    continue;
            }
            live = true;
            if (vm_runnable(c, now)) {
                vm = c;
                next = (c->index + 1) % n_vms;
            } else if (c->stopped) {
                vm_free(c);             /* stopped by its own timers (power-off) */
            }
        }
        if (!vm) {
            if (!live)
                return;
            idle();
            continue;
        }
        u32 sleeper = 0;
        u64 wake = sleepers_deadline(vm, &sleeper);
        for (u32 i = 0; i < vm->n_vcpus && !vm->stopped; i++) {
            if (vm->vcpus[i]->halted)
                continue;
            switch_to(vm->vcpus[i]);
            run_slice(vm->vcpus[i], slice, wake);
        }
        /* A sleeper's timer fell due during the slice: it is looked at first. */
        if (rdtsc() >= wake)
            next = sleeper;
        sched_ticks++;
        if (__builtin_expect(vm->held, 0))
            after_held_slice(vm);
    }
}
