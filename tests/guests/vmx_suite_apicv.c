/*
 * vmx_suite: APIC virtualization for L2 (SDM chapter 30; its VM-entry
 * checks in 27.2.1.1). L1 gives L2 a virtual-APIC page and, where the CPU
 * has the controls, an APIC-access page, x2APIC virtualization and
 * virtual-interrupt delivery; L2 uses its "local APIC" and L1 checks what
 * the CPU did: the pages, the exits and their qualifications. Each test
 * asks the capability MSRs whether its controls exist.
 */
#include "vmx_suite_ept.h"

#define OFF_VERSION     0x030
#define OFF_TPR         0x080
#define OFF_EOI         0x0b0
#define OFF_ISR         0x100
#define OFF_IRR         0x200
#define OFF_ICR         0x300
#define OFF_TMICT       0x380
#define OFF_TMCCT       0x390
#define MSR_X2APIC_VERSION  0x803
#define MSR_X2APIC_TPR      0x808
#define VEC             0x40            /* the virtual interrupt: IRR/ISR word 2, bit 0 */
#define VEC_WORD        (0x10 * (VEC / 32))
#define ACCESS_WRITE    (1u << 12)      /* APIC-access qualification: linear write */
#define VERSION_VALUE   0x00050014u
#define CR8_EXITS       (CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING)

static u8 *vapic, *access;              /* virtual-APIC page, APIC-access page */

static volatile u32 *reg(u8 *page, u32 off) { return (volatile u32 *)(page + off); }

/* L2's report in exit_seen[] reaches memory before its next APIC access
 * (whose exit L1 may handle before L2 goes on). */
#define SEEN(i, x)      do { exit_seen[i] = (x); __asm__ __volatile__("" ::: "memory"); } while (0)

static bool has_tpr(void) { return vmx_has_proc(CPU_BASED_TPR_SHADOW); }
static bool has_access(void) { return has_tpr() && vmx_has_proc2(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES); }
static bool has_regs(void) { return has_access() && vmx_has_proc2(SECONDARY_EXEC_APIC_REGISTER_VIRT); }
static bool has_vid(void)
{
    return has_regs() && vmx_has_proc2(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) && vmx_has_pin(PIN_BASED_EXT_INTR_MASK);
}
static bool has_x2apic(void) { return has_tpr() && vmx_has_proc2(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE); }
static bool has_x2apic_regs(void) { return has_x2apic() && vmx_has_proc2(SECONDARY_EXEC_APIC_REGISTER_VIRT); }

/* TPR shadow on a fresh virtual-APIC page with VTPR = vtpr, no CR8 exits,
 * and the secondary controls proc2 (with the APIC-access page if asked). */
static void apic_setup(u32 proc2, u32 threshold, u32 vtpr)
{
    if (!vapic) {
        vapic = vmx_alloc_page();
        access = vmx_alloc_page();
    }
    memset(vapic, 0, PAGE_4K);
    memset(access, 0, PAGE_4K);
    exit_seen[0] = exit_seen[1] = ~0ull;
    *reg(vapic, OFF_TPR) = vtpr;
    *reg(vapic, OFF_VERSION) = VERSION_VALUE;
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW);
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CR8_EXITS & ~vmx_ctl_required(vmx_caps.proc));
    vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vmx_pa(vapic));
    vmcs_write(TPR_THRESHOLD, threshold);
    if (proc2)
        vmcs_set_proc2(proc2);
    if (proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES)
        vmcs_write(APIC_ACCESS_ADDR, vmx_pa(access));
}

static u64 read_cr8(void)
{
    u64 v;
    __asm__ __volatile__("mov %%cr8, %0" : "=r"(v));
    return v;
}

static u64 rdmsr64(u32 msr)
{
    u32 lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return lo | (u64)hi << 32;
}

static void wrmsr64(u32 msr, u64 v)
{
    __asm__ __volatile__("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

/* ---- TPR shadow (SDM 30.3, 30.1.2) ---- */

static void init_cr8(void) { apic_setup(0, 0, 0x12345605); }

static void l2_cr8(void)
{
    u64 x = 7;
    __asm__ __volatile__("mov %0, %%cr8" :: "r"(x));
    exit_seen[0] = read_cr8();
}

static enum vmx_action cr8_exit(struct vmx_exit *e)
{
    const char *name = "TPR shadow: MOV to/from CR8 in L2 use VTPR without exits";

    if (!vmx_is_l2_done(e))
        return expect_done(name, e);
    if (!report(exit_seen[0] == 7 && *reg(vapic, OFF_TPR) == 0x70 && read_cr8() == 0, "%s", name))
        printf("  CR8 read %#lx, VTPR %#x, L1's CR8 %#lx\n", (unsigned long)exit_seen[0],
               *reg(vapic, OFF_TPR), (unsigned long)read_cr8());
    return VMX_STOP;
}

/* MOV to CR8 of 3 under a threshold of 5: a trap-like exit 43. */
void l2_cr8_below(void);
extern char l2_cr8_below_after[];
__asm__(".pushsection .text\n"
        "l2_cr8_below:\n\t"
        "mov $3, %eax\n\t"
        "mov %rax, %cr8\n"
        "l2_cr8_below_after:\n\t"
        "ret\n"
        ".popsection");

static void init_cr8_below(void) { apic_setup(0, 5, 0x50); }

static enum vmx_action cr8_below_exit(struct vmx_exit *e)
{
    const char *name = "TPR shadow: MOV to CR8 below the TPR threshold: exit 43 after it, VTPR written";

    if (e->count > 0)
        return expect_done(name, e);
    if (!exit_is(name, e, EXIT_REASON_TPR_BELOW_THRESHOLD))
        return VMX_STOP;
    if (!report(e->qual == 0 && e->guest_rip == (u64)l2_cr8_below_after && *reg(vapic, OFF_TPR) == 0x30, "%s", name))
        printf("  qual %#lx rip %#lx VTPR %#x\n", (unsigned long)e->qual, (unsigned long)e->guest_rip,
               *reg(vapic, OFF_TPR));
    vmcs_write(TPR_THRESHOLD, 0);
    return VMX_RESUME;
}

/* ---- the entry checks (SDM 27.2.1.1): VMfailValid 7 ---- */

static void bad_vapic_unaligned(void) { apic_setup(0, 0, 0); vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vmx_pa(vapic) + 0x10); }
static void bad_vapic_width(void) { apic_setup(0, 0, 0); vmcs_write(VIRTUAL_APIC_PAGE_ADDR, 1ull << vmx_caps.maxphyaddr); }
static void bad_threshold_bits(void) { apic_setup(0, 0x10, 0xf0); }
static void bad_threshold_vtpr(void) { apic_setup(0, 5, 0x40); }
static void bad_access_unaligned(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0, 0);
    vmcs_write(APIC_ACCESS_ADDR, vmx_pa(access) + 0x800);
}
static void bad_x2apic_and_access(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE, 0, 0);
}
static void bad_x2apic_without_tpr(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE, 0, 0);
    vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_TPR_SHADOW);
}
static void bad_vid_without_ext_intr(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY, 0, 0);
    vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_MASK);
}

static void apic_check_tests(void)
{
    const u32 e7 = VMXERR_ENTRY_INVALID_CONTROL_FIELD;

    expect_broken_vmfail(bad_vapic_unaligned, e7, "TPR shadow with a virtual-APIC address not 4K aligned: VMfailValid 7");
    expect_broken_vmfail(bad_vapic_width, e7, "TPR shadow with a virtual-APIC address beyond MAXPHYADDR: VMfailValid 7");
    expect_broken_vmfail(bad_threshold_bits, e7, "TPR shadow with TPR threshold bit 4 set: VMfailValid 7");
    expect_broken_vmfail(bad_threshold_vtpr, e7, "TPR threshold 5 above VTPR[7:4] 4: VMfailValid 7");
    if (has_access())
        expect_broken_vmfail(bad_access_unaligned, e7, "APIC-access address not 4K aligned: VMfailValid 7");
    if (has_access() && has_x2apic())
        expect_broken_vmfail(bad_x2apic_and_access, e7,
                             "virtualize x2APIC mode with virtualize APIC accesses: VMfailValid 7");
    if (has_x2apic())
        expect_broken_vmfail(bad_x2apic_without_tpr, e7, "virtualize x2APIC mode without TPR shadow: VMfailValid 7");
    if (has_vid())
        expect_broken_vmfail(bad_vid_without_ext_intr, e7,
                             "virtual-interrupt delivery without external-interrupt exiting: VMfailValid 7");
}

/* The VTPR rule does not apply with APIC-access virtualization. */
static void init_threshold_with_access(void) { apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 5, 0x40); }

static enum vmx_action threshold_with_access_exit(struct vmx_exit *e)
{
    const char *name = "TPR threshold above VTPR with virtualize APIC accesses: the entry succeeds, exit 43";

    if (e->count > 0)
        return expect_done(name, e);
    /* SDM 27.7: with the threshold above VTPR the entry ends in a TPR-below-threshold exit. */
    if (!exit_is(name, e, EXIT_REASON_TPR_BELOW_THRESHOLD))
        return VMX_STOP;
    report(e->qual == 0, "%s", name);
    vmcs_write(TPR_THRESHOLD, 0);
    return VMX_RESUME;
}

/* ---- APIC accesses (SDM 30.4) ---- */

/* TPR reads and writes through the APIC-access page are virtualized; a
 * read of the version register is an APIC-access exit (fault-like). */
static void l2_access_read(void)
{
    SEEN(0, *reg(access, OFF_TPR));
    *reg(access, OFF_TPR) = 0x20;
    SEEN(1, *reg(access, OFF_VERSION));
}

static void init_access(void) { apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0, 0x50); }

static enum vmx_action access_read_exit(struct vmx_exit *e)
{
    const char *name = "APIC-access page: TPR read and written through VTPR, version read: exit 44, qualification 0x30";

    if (!exit_is(name, e, EXIT_REASON_APIC_ACCESS))
        return VMX_STOP;
    if (!report(e->qual == OFF_VERSION && exit_seen[0] == 0x50 && *reg(vapic, OFF_TPR) == 0x20, "%s", name))
        printf("  qual %#lx TPR read %#lx VTPR %#x\n", (unsigned long)e->qual, (unsigned long)exit_seen[0],
               *reg(vapic, OFF_TPR));
    return VMX_STOP;
}

static void l2_access_write(void) { *reg(access, OFF_ICR) = 0x4000 | VEC; }

static enum vmx_action access_write_exit(struct vmx_exit *e)
{
    const char *name = "APIC-access page: ICR write without register virtualization: exit 44, qualification 0x1300";

    if (!exit_is(name, e, EXIT_REASON_APIC_ACCESS))
        return VMX_STOP;
    if (!report(e->qual == (ACCESS_WRITE | OFF_ICR) && *reg(vapic, OFF_ICR) == 0, "%s", name))
        printf("  qual %#lx ICR on the page %#x\n", (unsigned long)e->qual, *reg(vapic, OFF_ICR));
    return VMX_STOP;
}

/* ---- APIC-register virtualization (SDM 30.4.1, 30.4.3) ---- */

/* Version from the virtual-APIC page; initial count written there with a
 * trap-like APIC-write exit; current count: APIC-access exit. */
static void l2_regs(void)
{
    SEEN(0, *reg(access, OFF_VERSION));
    *reg(access, OFF_TMICT) = 0x1234;
    SEEN(1, *reg(access, OFF_TMCCT));
}

static void init_regs(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_APIC_REGISTER_VIRT, 0, 0);
}

static enum vmx_action regs_exit(struct vmx_exit *e)
{
    const char *w = "APIC-register virtualization: version read from the page, initial-count write: exit 56, "
                    "qualification 0x380";
    const char *r = "APIC-register virtualization: current-count read: exit 44, qualification 0x390";

    if (e->count == 0) {
        if (!exit_is(w, e, EXIT_REASON_APIC_WRITE))
            return VMX_STOP;
        if (!report(e->qual == OFF_TMICT && exit_seen[0] == VERSION_VALUE && *reg(vapic, OFF_TMICT) == 0x1234,
                    "%s", w))
            printf("  qual %#lx version %#lx initial count %#x\n", (unsigned long)e->qual,
                   (unsigned long)exit_seen[0], *reg(vapic, OFF_TMICT));
        return VMX_RESUME;
    }
    if (exit_is(r, e, EXIT_REASON_APIC_ACCESS))
        report(e->qual == OFF_TMCCT, "%s", r);
    return VMX_STOP;
}

/* ---- virtual-interrupt delivery (SDM 30.2) ---- */

/* Interrupts open for one instruction: RVI's vector arrives there; then
 * the EOI through the APIC-access page. */
static void l2_vid(void)
{
    __asm__ __volatile__("sti\n\tnop\n\tcli" ::: "memory");
    SEEN(0, l2_event.count);
    SEEN(1, l2_event.vector);
    *reg(access, OFF_EOI) = 0;
}

static void init_vid(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_APIC_REGISTER_VIRT |
               SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY, 0, 0);
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_MASK);
    *reg(vapic, OFF_IRR + VEC_WORD) = 1;
    vmcs_write(GUEST_INTR_STATUS, VEC);                 /* RVI = VEC, SVI = 0 */
    vmcs_write(EOI_EXIT_BITMAP0, 0);
    vmcs_write(EOI_EXIT_BITMAP1, 1);                    /* vector 64: its EOI exits */
    vmcs_write(EOI_EXIT_BITMAP2, 0);
    vmcs_write(EOI_EXIT_BITMAP3, 0);
    l2_event_reset();
}

static enum vmx_action vid_exit(struct vmx_exit *e)
{
    const char *name = "virtual-interrupt delivery: RVI 0x40 delivered to L2, its EOI: exit 45, qualification 0x40";

    if (e->count > 0)
        return expect_done(name, e);
    if (!exit_is(name, e, EXIT_REASON_EOI_INDUCED))
        return VMX_STOP;
    u64 status = vmcs_read(GUEST_INTR_STATUS);
    if (!report(e->qual == VEC && exit_seen[0] == 1 && exit_seen[1] == VEC && status == 0 &&
                *reg(vapic, OFF_IRR + VEC_WORD) == 0 && *reg(vapic, OFF_ISR + VEC_WORD) == 0, "%s", name))
        printf("  qual %#lx events %lu vector %#lx status %#lx IRR %#x ISR %#x\n", (unsigned long)e->qual,
               (unsigned long)exit_seen[0], (unsigned long)exit_seen[1], (unsigned long)status,
               *reg(vapic, OFF_IRR + VEC_WORD), *reg(vapic, OFF_ISR + VEC_WORD));
    return VMX_RESUME;
}

/* ---- x2APIC virtualization (SDM 30.5) ---- */

static void l2_x2apic_tpr(void)
{
    SEEN(0, rdmsr64(MSR_X2APIC_TPR));
    wrmsr64(MSR_X2APIC_TPR, 0x60);
    SEEN(1, rdmsr64(MSR_X2APIC_TPR));
}

static void init_x2apic(void) { apic_setup(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE, 0, 0x30); }

static enum vmx_action x2apic_tpr_exit(struct vmx_exit *e)
{
    const char *name = "virtualize x2APIC mode: RDMSR/WRMSR 0x808 use VTPR without exits";

    if (!vmx_is_l2_done(e))
        return expect_done(name, e);
    if (!report(exit_seen[0] == 0x30 && exit_seen[1] == 0x60 && *reg(vapic, OFF_TPR) == 0x60, "%s", name))
        printf("  read %#lx then %#lx, VTPR %#x\n", (unsigned long)exit_seen[0], (unsigned long)exit_seen[1],
               *reg(vapic, OFF_TPR));
    return VMX_STOP;
}

static void l2_x2apic_version(void) { exit_seen[0] = rdmsr64(MSR_X2APIC_VERSION); }

static void init_x2apic_regs(void)
{
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | SECONDARY_EXEC_APIC_REGISTER_VIRT, 0, 0);
    *reg(vapic, OFF_VERSION + 4) = 0xabcd;              /* RDMSR reads 8 bytes (SDM 30.5) */
}

static enum vmx_action x2apic_version_exit(struct vmx_exit *e)
{
    const char *name = "x2APIC mode with register virtualization: RDMSR 0x803 reads 8 bytes of the page";

    if (!vmx_is_l2_done(e))
        return expect_done(name, e);
    if (!report(exit_seen[0] == (VERSION_VALUE | 0xabcdull << 32), "%s", name))
        printf("  read %#lx\n", (unsigned long)exit_seen[0]);
    return VMX_STOP;
}

/* L1's MSR bitmap still decides: its read bit for 0x808 makes an exit. */
static void init_x2apic_bitmap(void)
{
    init_x2apic();
    vmx_msr_bitmap[MSR_X2APIC_TPR / 8] |= 1u << (MSR_X2APIC_TPR % 8);
}

static enum vmx_action x2apic_bitmap_exit(struct vmx_exit *e)
{
    const char *name = "virtualize x2APIC mode: RDMSR 0x808 with its bitmap bit set: exit 31";

    if (exit_is(name, e, EXIT_REASON_MSR_READ))
        report(e->regs->rcx == MSR_X2APIC_TPR, "%s", name);
    return VMX_STOP;
}

/* ---- the APIC-access page behind EPT (SDM 30.4: the physical address
 * the access reaches decides) ---- */

/* data_pages[1] as L2 sees it is mapped by EPT to the APIC-access page:
 * TPR reads are virtualized, a version read exits. */
static void l2_ept_access(void)
{
    volatile u32 *p = (volatile u32 *)data_pages[1];

    SEEN(0, p[OFF_TPR / 4]);
    SEEN(1, p[OFF_VERSION / 4]);
}

static bool has_ept_access(void) { return has_access() && has_ept(); }

static void init_ept_access_to(u64 apic_access)
{
    init_ept();
    apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0, 0x90);
    vmcs_write(APIC_ACCESS_ADDR, apic_access);
    *pte_of(data_pages[1]) = EPT_LEAF_4K(apic_access, EPT_R | EPT_W);
    invept_context();
}

static void init_ept_access_ram(void) { init_ept_access_to(vmx_pa(access)); }
static void init_ept_access_beyond(void) { init_ept_access_to(ADDR_BEYOND_RAM); }

static enum vmx_action ept_access_check(struct vmx_exit *e, const char *name)
{
    if (exit_is(name, e, EXIT_REASON_APIC_ACCESS) &&
        !report(e->qual == OFF_VERSION && exit_seen[0] == 0x90, "%s", name))
        printf("  qual %#lx TPR read %#lx\n", (unsigned long)e->qual, (unsigned long)exit_seen[0]);
    return VMX_STOP;
}

static enum vmx_action ept_access_ram_exit(struct vmx_exit *e)
{
    return ept_access_check(e, "APIC-access page in RAM behind an EPT mapping: TPR read virtualized, version read: "
                               "exit 44, qualification 0x30");
}

static enum vmx_action ept_access_beyond_exit(struct vmx_exit *e)
{
    return ept_access_check(e, "turtle APIC-access page beyond L1 RAM behind EPT12: TPR read virtualized, "
                               "version read: exit 44, qualification 0x30");
}

/* ---- APIC fields L1 writes between entries (nested/dirty.c) ---- */

/* L2 reaches L1 three times (VMCALLs); L1 changes an APIC field of
 * vmcs12 before each VMRESUME, as KVM changes the TPR threshold. */
static void l2_three_calls(void)
{
    l2_vmcall(1);
    l2_vmcall(2);
}

static void init_threshold_writes(void) { apic_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, 0, 0x40); }

/* 1st exit: VMCALL, threshold 3 (at most VTPR[7:4] 4: no exit); 2nd:
 * VMCALL, threshold 5, above VTPR[7:4]: the entry ends in exit 43
 * (SDM 27.7), so vmcs02 took the new threshold; then 0 and on to the end;
 * with bit 4 set, before that, VMRESUME fails with VMfailValid 7 (rule 7b,
 * without virtual-interrupt delivery). */
static enum vmx_action threshold_writes_exit(struct vmx_exit *e)
{
    const char *name = "TPR threshold written between entries: 3 no exit, 0x13 VMfailValid 7, 5 exit 43 at the entry";

    switch (e->count) {
    case 0:
        if (!exit_is(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        vmx_skip_instruction(e);
        vmcs_write(TPR_THRESHOLD, 3);
        return VMX_RESUME;
    case 1:
        if (!exit_is(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        vmx_skip_instruction(e);
        vmcs_write(TPR_THRESHOLD, 0x13);
        return VMX_RESUME;
    case 2:
        if (!report(e->status == VMX_FAIL_VALID && e->error == VMXERR_ENTRY_INVALID_CONTROL_FIELD,
                    "TPR threshold 0x13 written between entries: VMRESUME fails with VMfailValid 7"))
            return VMX_STOP;
        vmcs_write(TPR_THRESHOLD, 5);
        return VMX_RESUME;
    case 3:
        if (!exit_is(name, e, EXIT_REASON_TPR_BELOW_THRESHOLD))
            return VMX_STOP;
        report(e->qual == 0, "TPR threshold 5 written between entries, above VTPR: exit 43 at the entry");
        vmcs_write(TPR_THRESHOLD, 0);
        return VMX_RESUME;
    default:
        return expect_done(name, e);
    }
}

/* ---- L2 without EPT12 reaches L1's own xAPIC (docs/nested.md) ---- */

#define L1_APIC_PAGE    0xfee00000ull
#define L1_APIC_TPR     ((volatile u32 *)(uintptr_t)(L1_APIC_PAGE + OFF_TPR))
#define L2_TPR_VALUE    0x20u
static u32 saved_l1_tpr;

/* L1's xAPIC at its reset address: L2 runs on L1's physical addresses
 * and page tables, so its MOV to 0xfee00080 is a write of L1's TPR. */
static bool has_l1_xapic(void)
{
    u64 base = rdmsr64(0x1b);
    return !(base & BIT(10)) && (base & BIT(11)) && (base & 0xfffff000ull) == L1_APIC_PAGE;
}
static bool has_tpr_xapic(void) { return has_tpr() && has_l1_xapic(); }
static bool has_access_xapic(void) { return has_access() && has_l1_xapic(); }
static bool has_x2apic_xapic(void) { return has_x2apic() && has_l1_xapic(); }

static void l2_l1_tpr(void)
{
    *L1_APIC_TPR = L2_TPR_VALUE;
    SEEN(0, *L1_APIC_TPR);
}

static void l1_tpr_setup(u32 proc2)
{
    saved_l1_tpr = *L1_APIC_TPR;
    *L1_APIC_TPR = 0;
    apic_setup(proc2, 0, 0);
}
static void init_l1_tpr_shadow(void) { l1_tpr_setup(0); }
static void init_l1_tpr_access(void) { l1_tpr_setup(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES); }
static void init_l1_tpr_x2apic(void) { l1_tpr_setup(SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE); }

/* L2's write and read of 0xfee00080 reach L1's local APIC, not the
 * virtual-APIC page (L1 does not virtualize that page for L2). */
static enum vmx_action l1_tpr_check(const char *name, struct vmx_exit *e)
{
    u32 l1_tpr = *L1_APIC_TPR, vtpr = *reg(vapic, OFF_TPR);

    *L1_APIC_TPR = saved_l1_tpr;
    if (!vmx_is_l2_done(e))
        return expect_done(name, e);
    if (!report(l1_tpr == L2_TPR_VALUE && exit_seen[0] == L2_TPR_VALUE && vtpr == 0, "%s", name))
        printf("  L1's TPR %#x, L2 read %#lx, VTPR %#x\n", l1_tpr, (unsigned long)exit_seen[0], vtpr);
    return VMX_STOP;
}
static enum vmx_action l1_tpr_shadow_exit(struct vmx_exit *e)
{
    return l1_tpr_check("L2 without EPT12 under a TPR shadow writes L1's xAPIC TPR: L1 reads 0x20", e);
}
static enum vmx_action l1_tpr_access_exit(struct vmx_exit *e)
{
    return l1_tpr_check("L2 without EPT12, APIC accesses virtualized on another page, writes L1's xAPIC TPR: "
                        "L1 reads 0x20", e);
}
static enum vmx_action l1_tpr_x2apic_exit(struct vmx_exit *e)
{
    return l1_tpr_check("L2 without EPT12 under x2APIC virtualization writes L1's xAPIC TPR: L1 reads 0x20", e);
}

const struct vmx_test apicv_tests[] = {
    { "TPR shadow CR8", has_tpr, NULL, init_cr8, l2_cr8, cr8_exit },
    { "TPR below threshold", has_tpr, NULL, init_cr8_below, l2_cr8_below, cr8_below_exit },
    { "APIC entry checks", has_tpr, apic_check_tests, NULL, NULL, NULL },
    { "threshold with APIC accesses", has_access, NULL, init_threshold_with_access, l2_returns,
      threshold_with_access_exit },
    { "APIC-access read", has_access, NULL, init_access, l2_access_read, access_read_exit },
    { "APIC-access write", has_access, NULL, init_access, l2_access_write, access_write_exit },
    { "APIC-register virtualization", has_regs, NULL, init_regs, l2_regs, regs_exit },
    { "virtual-interrupt delivery", has_vid, NULL, init_vid, l2_vid, vid_exit },
    { "x2APIC TPR", has_x2apic, NULL, init_x2apic, l2_x2apic_tpr, x2apic_tpr_exit },
    { "x2APIC registers", has_x2apic_regs, NULL, init_x2apic_regs, l2_x2apic_version, x2apic_version_exit },
    { "x2APIC bitmap", has_x2apic, NULL, init_x2apic_bitmap, l2_x2apic_tpr, x2apic_bitmap_exit },
    { "APIC access through EPT", has_ept_access, NULL, init_ept_access_ram, l2_ept_access, ept_access_ram_exit },
    { "TPR threshold writes", has_access, NULL, init_threshold_writes, l2_three_calls, threshold_writes_exit },
    { "L1's xAPIC under a TPR shadow", has_tpr_xapic, NULL, init_l1_tpr_shadow, l2_l1_tpr, l1_tpr_shadow_exit },
    { "L1's xAPIC beside an APIC-access page", has_access_xapic, NULL, init_l1_tpr_access, l2_l1_tpr,
      l1_tpr_access_exit },
    { "L1's xAPIC under x2APIC virtualization", has_x2apic_xapic, NULL, init_l1_tpr_x2apic, l2_l1_tpr,
      l1_tpr_x2apic_exit },
};
const size_t n_apicv_tests = ARRAY_SIZE(apicv_tests);

/* An APIC-access address beyond L1 RAM, reached through EPT12: turtle's
 * stand-in page (nested/apicv12.c). Bare Bochs gives the same exit, but
 * Linux's KVM stops its guest there (an emulation failure: no memory slot
 * holds the address), which would end the suite under KVM: turtle only. */
void turtle_apicv_tests(void)
{
    static const struct vmx_test t[] = {
        { "turtle APIC access beyond L1 RAM through EPT12", has_ept_access, NULL, init_ept_access_beyond,
          l2_ept_access, ept_access_beyond_exit },
    };
    vmx_run_tests(t, ARRAY_SIZE(t));
}
