/*
 * vmx_suite: what VM entries and exits load and save (entries of
 * exit_tests[] in vmx_suite_exits.c, which describes how they run). The
 * guest-state round trip: L2's registers, RIP, RSP, RFLAGS, control
 * registers, selectors, access rights, GDTR, limits and interruptibility
 * in the VMCS after an exit, L1 back in 64-bit mode; the VM-entry MSR-load,
 * VM-exit MSR-store and MSR-load lists; saving and loading IA32_EFER;
 * DR7 through the debug controls.
 */
#include "vmx_suite.h"

/* ---- guest-state round trip (l2_state_guest in lib/vmx_stub.asm) ---- */

extern char l2_state_guest_vmcall[];
extern u64 l2_state_rbx_after;
static u64 state_entry_rsp;

void init_state(void) { state_entry_rsp = vmcs_read(GUEST_RSP); }

enum vmx_action state_exit(struct vmx_exit *e)
{
    const struct vmx_gprs *r = e->regs;
    const u64 tag = 0x1111000000000000ull;
    struct { u16 limit; u64 base; } __packed gdtr;

    if (e->count > 0) {
        report(vmx_is_l2_done(e) && l2_state_rbx_after == 0x42, "L2 sees the RBX L1 set before VMRESUME");
        return VMX_STOP;
    }
    if (!exit_is("guest state", e, EXIT_REASON_VMCALL))
        return VMX_STOP;
    __asm__ __volatile__("sgdt %0" : "=m"(gdtr));
    report(e->guest_rip == (u64)(uintptr_t)l2_state_guest_vmcall, "exit saves GUEST_RIP of the VMCALL");
    report(e->guest_rsp == state_entry_rsp - 64, "exit saves L2's RSP in GUEST_RSP");
    report(e->guest_rflags == 0x3, "exit saves L2's RFLAGS (CF set) in GUEST_RFLAGS");
    report(r->rax == 0x5ca1ab1e && r->rbx == (tag | 3) && r->rcx == (tag | 1) && r->rdx == (tag | 2) &&
           r->rsi == (tag | 6) && r->rdi == (tag | 7) && r->rbp == (tag | 5) && r->r8 == (tag | 8) &&
           r->r9 == (tag | 9) && r->r10 == (tag | 10) && r->r11 == (tag | 11) && r->r12 == (tag | 12) &&
           r->r13 == (tag | 13) && r->r14 == (tag | 14) && r->r15 == (tag | 15),
           "L2's general registers reach L1 unchanged");
    report(vmcs_read(GUEST_CR3) == read_cr3() && vmcs_read(GUEST_CR0) == read_cr0() &&
           vmcs_read(GUEST_CR4) == read_cr4(), "exit saves GUEST_CR0/CR3/CR4");
    report(vmcs_read(GUEST_CS_SELECTOR) == 0x08 && vmcs_read(GUEST_SS_SELECTOR) == 0x10 &&
           vmcs_read(GUEST_DS_SELECTOR) == 0x10 && vmcs_read(GUEST_TR_SELECTOR) == 0x18,
           "exit saves the segment selectors");
    report(vmcs_read(GUEST_CS_AR_BYTES) == 0xa09b && vmcs_read(GUEST_SS_AR_BYTES) == 0xc093 &&
           vmcs_read(GUEST_TR_AR_BYTES) == 0x8b && (vmcs_read(GUEST_LDTR_AR_BYTES) & 0x10000),
           "exit saves the access rights (CS 0xa09b, SS 0xc093, TR 0x8b, LDTR unusable)");
    report(vmcs_read(GUEST_GDTR_BASE) == gdtr.base && vmcs_read(GUEST_GDTR_LIMIT) == gdtr.limit &&
           vmcs_read(GUEST_CS_LIMIT) == 0xffffffff, "exit saves GDTR and segment limits");
    u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO), act = vmcs_read(GUEST_ACTIVITY_STATE);
    if (!report(intr == 0 && act == GUEST_ACTIVITY_ACTIVE, "exit saves interruptibility 0 and activity state active"))
        printf("  interruptibility %#lx activity %lu\n", (unsigned long)intr, (unsigned long)act);
    report((vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) != 0, "IA-32e mode guest stays set after the exit");
    report(read_cs() == 0x08 && (rdmsr(MSR_IA32_EFER) & EFER_LMA), "L1 is back in 64-bit mode after the exit");
    e->regs->rbx = 0x42;
    vmx_skip_instruction(e);
    return e->status == VMX_OK ? VMX_RESUME : VMX_STOP;
}

/* ---- VM-entry MSR-load, VM-exit MSR-store and MSR-load lists (SDM 25.7.2, 25.8.2) ---- */

struct msr_entry {
    u32 index, reserved;
    u64 value;
};

static struct msr_entry entry_load[1] __attribute__((aligned(16)));
static struct msr_entry exit_store[1] __attribute__((aligned(16)));
static struct msr_entry exit_load[1] __attribute__((aligned(16)));
static u64 l1_kernel_gs;

void l2_msr_lists(void)
{
    exit_seen[0] = rdmsr(MSR_KERNEL_GS_BASE);
    wrmsr(MSR_KERNEL_GS_BASE, 0x2222000);
}

void init_msr_lists(void)
{
    l1_kernel_gs = rdmsr(MSR_KERNEL_GS_BASE);
    entry_load[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x1111000 };
    exit_store[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0 };
    exit_load[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, l1_kernel_gs };
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(entry_load));
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 1);
    vmcs_write(VM_EXIT_MSR_STORE_ADDR, vmx_pa(exit_store));
    vmcs_write(VM_EXIT_MSR_STORE_COUNT, 1);
    vmcs_write(VM_EXIT_MSR_LOAD_ADDR, vmx_pa(exit_load));
    vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 1);
}

enum vmx_action msr_lists_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("MSR lists", e);
        return VMX_STOP;
    }
    report(exit_seen[0] == 0x1111000, "VM-entry MSR-load list: L2 reads the loaded KERNEL_GS_BASE");
    report(exit_store[0].value == 0x2222000, "VM-exit MSR-store list captures L2's KERNEL_GS_BASE");
    report(rdmsr(MSR_KERNEL_GS_BASE) == l1_kernel_gs, "VM-exit MSR-load list restores L1's KERNEL_GS_BASE");
    return VMX_STOP;
}

/* EFER: saved on exit, host value loaded on exit (SDM 28.3.1, 28.5.1). */
void l2_efer(void) { wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) ^ EFER_SCE); }
static u64 l1_efer;
bool has_efer_save(void) { return vmx_has_exit(VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER); }

void init_efer(void)
{
    l1_efer = rdmsr(MSR_IA32_EFER);
    vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_IA32_EFER);
}

enum vmx_action efer_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("EFER", e);
        return VMX_STOP;
    }
    report(vmcs_read(GUEST_IA32_EFER) == (l1_efer ^ EFER_SCE), "save IA32_EFER on exit stores L2's EFER");
    report(rdmsr(MSR_IA32_EFER) == l1_efer, "load IA32_EFER on exit restores L1's EFER");
    return VMX_STOP;
}

/* DR7 (SDM 27.3.2.1, 28.3.1, 28.5.1): with "load debug controls" L2 starts
 * with GUEST_DR7, without it with L1's own DR7; "save debug controls"
 * stores L2's DR7 at the exit; every exit sets L1's DR7 to 0x400. The
 * values enable no breakpoint that could fire (LE/GE, and L0 with DR0 on
 * code that never runs). */
#define DR7_FIXED       0x400ul
#define DR7_L1          (DR7_FIXED | BIT(8))            /* LE */
#define DR7_VMCS        (DR7_FIXED | BIT(9))            /* GE */
#define DR7_BY_L2       (DR7_FIXED | BIT(8) | BIT(9) | BIT(0))

static __attribute__((noinline)) void dr7_never_runs(void) { __asm__ __volatile__("" ::: "memory"); }

void l2_dr7(void)
{
    exit_seen[0] = read_dr7();
    write_dr0((unsigned long)(uintptr_t)dr7_never_runs);
    write_dr7(DR7_BY_L2);
    exit_seen[1] = read_dr7();
}

bool has_debug_controls(void)
{
    return vmx_has_entry(VM_ENTRY_LOAD_DEBUG_CONTROLS) && vmx_has_exit(VM_EXIT_SAVE_DEBUG_CONTROLS);
}

bool debug_load_optional(void)
{
    return has_debug_controls() && !(vmx_ctl_required(vmx_caps.entry) & VM_ENTRY_LOAD_DEBUG_CONTROLS);
}

void init_dr7_load(void)
{
    vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_DEBUG_CONTROLS);
    vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_DEBUG_CONTROLS);
    vmcs_write(GUEST_DR7, DR7_VMCS);
    vmcs_write(GUEST_IA32_DEBUGCTL, 0);
}

/* Without "load debug controls" the entry leaves DR7 alone: L1's value,
 * set here, reaches L2 (under turtle it crosses an exit to L0 first). */
void init_dr7_keep(void)
{
    vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_LOAD_DEBUG_CONTROLS);
    vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_DEBUG_CONTROLS);
    vmcs_write(GUEST_DR7, DR7_VMCS);
    write_dr7(DR7_L1);
}

static void dr7_after_exit(const char *test, u64 l2_start, const char *start_name)
{
    unsigned long l1 = read_dr7();
    u64 saved = vmcs_read(GUEST_DR7);

    write_dr7(DR7_FIXED);
    if (!report(exit_seen[0] == l2_start, "%s: L2 starts with %s", test, start_name))
        printf("  L2 read DR7 %#lx, expected %#lx\n", (unsigned long)exit_seen[0], (unsigned long)l2_start);
    report(exit_seen[1] == DR7_BY_L2, "%s: L2's DR7 write reads back", test);
    if (!report(saved == DR7_BY_L2, "%s: save debug controls stores L2's DR7 in GUEST_DR7", test))
        printf("  GUEST_DR7 %#lx\n", (unsigned long)saved);
    if (!report(l1 == DR7_FIXED, "%s: the exit sets L1's DR7 to 0x400", test))
        printf("  L1's DR7 %#lx\n", l1);
}

enum vmx_action dr7_load_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected("DR7 load", e);
        return VMX_STOP;
    }
    dr7_after_exit("DR7 load", DR7_VMCS, "GUEST_DR7");
    report(vmcs_read(GUEST_IA32_DEBUGCTL) == 0, "DR7 load: save debug controls stores IA32_DEBUGCTL 0");
    return VMX_STOP;
}

enum vmx_action dr7_keep_exit(struct vmx_exit *e)
{
    if (!vmx_is_l2_done(e)) {
        write_dr7(DR7_FIXED);
        vmx_report_unexpected("DR7 kept", e);
        return VMX_STOP;
    }
    dr7_after_exit("DR7 kept", DR7_L1, "L1's DR7");
    return VMX_STOP;
}
