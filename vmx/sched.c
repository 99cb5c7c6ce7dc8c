/*
 * The run loop: guests share the CPU round-robin. A guest runs until its
 * slice is used up (VMX preemption timer), it yields (HLT, VMCALL) or it
 * stops. Switching guests switches what VMX does not: the current VMCS,
 * the x87/SSE state and the syscall MSRs.
 */
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "nested/nested.h"
#include "vmx/caps.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"

#define DEFAULT_SLICE           20000   /* preemption-timer ticks */
#define CPUID_EXT_RDTSCP        BIT(27)

u64 sched_ticks;
u64 sched_first_entry_tsc;
static struct guest *current;
static bool have_tsc_aux;

#define DEFINE_DR(n)                                                            \
    static u64 read_dr##n(void) { u64 v; __asm__ __volatile__("mov %%dr" #n ", %0" : "=r"(v)); return v; } \
    static void write_dr##n(u64 v) { __asm__ __volatile__("mov %0, %%dr" #n :: "r"(v)); }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
#undef DEFINE_DR

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
    if (have_tsc_aux)
        m->tsc_aux = rdmsr(MSR_TSC_AUX);
}

static void load_msrs(const struct guest_msrs *m)
{
    write_dr0(m->dr[0]);
    write_dr1(m->dr[1]);
    write_dr2(m->dr[2]);
    write_dr3(m->dr[3]);
    write_dr6(m->dr6 ? m->dr6 : 0xffff0ff0);    /* DR6's reset value for a new guest */
    wrmsr(MSR_KERNEL_GS_BASE, m->kernel_gs_base);
    wrmsr(MSR_STAR, m->star);
    wrmsr(MSR_LSTAR, m->lstar);
    wrmsr(MSR_CSTAR, m->cstar);
    wrmsr(MSR_SFMASK, m->sfmask);
    if (have_tsc_aux)
        wrmsr(MSR_TSC_AUX, m->tsc_aux);
}

static void switch_to(struct guest *g)
{
    if (current == g)
        return;
    if (current && !current->stopped) {
        __asm__ __volatile__("fxsave64 %0" : "=m"(current->fxsave));
        save_msrs(&current->msrs);
    }
    if (vmptrld(g->vmcs) != VMX_OK) {
        guest_stop(g, true, "VMPTRLD of its VMCS failed (turtle bug)");
        current = NULL;
        return;
    }
    __asm__ __volatile__("fxrstor64 %0" :: "m"(g->fxsave));
    load_msrs(&g->msrs);
    current = g;
}

/* Runs g until it yields or stops. The slice is a TSC budget converted to
 * preemption-timer ticks at each entry, so a guest that exits often is
 * still preempted on time. */
static void run_slice(struct guest *g, u64 slice)
{
    u64 rate = vmx_caps.preemption_timer_rate;
    u64 start = rdtsc();

    g->yield = false;
    while (!g->yield && !g->stopped) {
        u64 used = (rdtsc() - start) >> rate;
        if (used >= slice)
            break;
        u64 ticks = slice - used;
        if (g->nvmx && nested_in_l2_hook(g))
            ticks = nested_timer_clamp_hook(g, ticks);
        vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (u32)ticks);
        if (!sched_first_entry_tsc)
            sched_first_entry_tsc = rdtsc();
        if (vmx_enter(&g->regs, g->launched)) {
            u64 err = 0;
            vmread_raw(VM_INSTRUCTION_ERROR, &err);
            kprintf("turtle: guest '%s': VM%s failed, VM-instruction error %lu\n", g->name,
                    g->launched ? "RESUME" : "LAUNCH", err);
            vmcs_dump();
            guest_stop(g, true, "VM entry failed (VM-instruction error %lu)", err);
            return;
        }
        /* A VMCS is launched once an entry succeeded: not by an exit that
         * reports a failed entry (SDM 27.8). */
        if (!g->launched && !(vmcs_read32(VM_EXIT_REASON) & VMX_EXIT_REASONS_FAILED_VMENTRY))
            g->launched = true;
        vmx_handle_exit(g);
    }
}

static void release(struct guest *g)
{
    if (g->nvmx) {
        g->vmcs = g->nvmx->vmcs01;
        nested_guest_free(g);
    }
    vmclear(g->vmcs);
    if (current == g)
        current = NULL;
    ept_free(g->ept_root);
    g->ept_root = 0;
    guest_mem_free(g);
}

/* panic(): the guest turtle was running, and its current VMCS. */
static void dump_current_guest(void)
{
    if (!current)
        return;
    kprintf("guest '%s' (%s):\n", current->name,
            current->nvmx && current->vmcs != current->nvmx->vmcs01 ? "in L2, vmcs02" : "vmcs01");
    vmcs_dump();
}

void sched_run(void)
{
    u64 slice = turtle_opts.slice ? turtle_opts.slice : DEFAULT_SLICE;
    u32 next = 0;

    have_tsc_aux = cpuid(0x80000001).edx & CPUID_EXT_RDTSCP;
    panic_guest_state_hook = dump_current_guest;
    for (u32 i = 0; i < n_guests; i++) {
        /* A fresh x87/SSE state: FCW 0x37f, MXCSR 0x1f80 (SDM 10.5.1). */
        guests[i].fxsave[0] = 0x7f;
        guests[i].fxsave[1] = 0x03;
        guests[i].fxsave[24] = 0x80;
        guests[i].fxsave[25] = 0x1f;
    }
    for (;;) {
        struct guest *g = NULL;
        for (u32 k = 0; k < n_guests; k++) {
            struct guest *c = &guests[(next + k) % n_guests];
            if (!c->stopped) {
                g = c;
                next = (c->index + 1) % n_guests;
                break;
            }
        }
        if (!g)
            return;
        switch_to(g);
        if (!g->stopped)
            run_slice(g, slice);
        sched_ticks++;
        if (g->stopped)
            release(g);
    }
}
