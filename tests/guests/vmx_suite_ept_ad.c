/*
 * vmx_suite: on vmx_suite_ept.c's EPT, the EPT accessed and dirty flags
 * (SDM 29.3.5), page-modification logging (29.3.6), and how EPT violations
 * meet virtual NMIs (an IRET that ends the blocking, an NMI's delivery).
 * Under turtle the EPT is EPT12, and turtle sets its flags and writes the
 * log itself (nested/ept02.c, nested/pml.c).
 */
#include "vmx_suite_ept.h"

static u64 seen[2];

/* ---- accessed and dirty flags (SDM 29.3.5) ----
 * A read sets the accessed flag of every EPT entry of the walk, a write the
 * leaf's dirty flag too; the CPU's accesses to L2's own paging structures
 * count as writes (so their pages get both). L2 reads a page, stops, then
 * writes it (under turtle: EPT02 maps it read-only until that write) and
 * reads the 2 MiB page. */
static bool has_ept_ad(void) { return vmx_has_ept() && (vmx_caps.ept_vpid & VMX_EPT_AD_BIT); }

static void l2_ept_ad(void)
{
    volatile u64 *p = (volatile u64 *)data_pages[1];
    seen[0] = p[2];
    l2_vmcall(1);
    p[3] = PATTERN_B;
    seen[1] = *(volatile u64 *)(uintptr_t)(PAGE_2M + 0x100);
}

static enum vmx_action ept_ad_exit(struct vmx_exit *e)
{
    u64 ad = EPT_A | EPT_D, data = *pte_of(data_pages[1]) & ad;
    u64 cr3 = vmcs_read(GUEST_CR3) & ~0xfffull;
    u64 pml4_12 = cr3 < PAGE_2M ? pt[cr3 >> 12] & ad : 0;      /* L2's PML4 page, 4 KiB-mapped */

    if (e->count == 0) {
        bool ok = expect_exit("EPT A/D", e, EXIT_REASON_VMCALL);
        report(ok && data == EPT_A && (pml4[0] & EPT_A) && (pdpt[0] & EPT_A) && (pd[0] & EPT_A),
               "EPT A/D: a read sets the accessed flag of every entry of the walk, not the dirty flag");
        report(ok && pml4_12 == ad, "EPT A/D: L2's paging-structure accesses count as writes (A and D)");
        if (!ok)
            return VMX_STOP;
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && data == ad && (pd[1] & ad) == EPT_A && data_pages[1][24] == 0x66,
           "EPT A/D: a later write sets the dirty flag; a read of a 2 MiB page sets only its accessed flag");
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("EPT A/D", e);
    return VMX_STOP;
}

/* ---- page-modification logging (SDM 29.3.6) ----
 * Every EPT leaf starts accessed and dirty but for the three data pages,
 * so only L2's writes to those log. The index starts at 1: two writes log
 * at entries 1 and 0, the third is a PML-full exit (62) before its access
 * (the page stays clean); with the index back at 511 it logs there. */
#define PML_INDEX_START     1
#define PML_LAST            511

static u64 *pml_log;

static bool has_pml(void) { return has_ept_ad() && vmx_has_proc2(SECONDARY_EXEC_ENABLE_PML); }

static void init_pml(void)
{
    init_ept();
    if (!pml_log)
        pml_log = vmx_alloc_page();
    memset(pml_log, 0, PAGE_4K);
    for (u64 i = 0; i < 512; i++)
        pt[i] |= EPT_A | EPT_D;
    for (u64 a = PAGE_2M; a < MAPPED_TOP; a += PAGE_2M)
        pd[a / PAGE_2M] |= EPT_A | EPT_D;
    for (int i = 0; i < 3; i++)
        *pte_of(data_pages[i]) &= ~(EPT_A | EPT_D);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML);
    vmcs_write(PML_ADDRESS, vmx_pa(pml_log));
    vmcs_write(GUEST_PML_INDEX, PML_INDEX_START);
}

static void l2_pml(void)
{
    for (int i = 0; i < 3; i++)
        *(volatile u64 *)data_pages[i] = PATTERN_A + (u64)i;
}

static enum vmx_action pml_exit(struct vmx_exit *e)
{
    u64 p0 = vmx_pa(data_pages[0]), p1 = vmx_pa(data_pages[1]), p2 = vmx_pa(data_pages[2]);
    u64 index = vmcs_read(GUEST_PML_INDEX);

    if (e->count == 0) {
        bool ok = expect_exit("EPT PML", e, EXIT_REASON_PML_FULL);
        report(ok && (e->qual & ~BIT(12)) == 0 && pml_log[1] == p0 && pml_log[0] == p1 && index == 0xffff &&
               (*pte_of(data_pages[1]) & EPT_D) && !(*pte_of(data_pages[2]) & EPT_D) &&
               *(volatile u64 *)data_pages[2] == 0,
               "PML: two writes log at entries 1 and 0, the third is a PML-full exit before its access");
        if (!ok)
            return VMX_STOP;
        vmcs_write(GUEST_PML_INDEX, PML_LAST);
        return VMX_RESUME;
    }
    report(vmx_is_l2_done(e) && pml_log[PML_LAST] == p2 && index == PML_LAST - 1 &&
           (*pte_of(data_pages[2]) & EPT_D) && *(volatile u64 *)data_pages[2] == PATTERN_A + 2,
           "PML: after the PML-full exit with the index reset, the write logs at entry 511");
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected("EPT PML", e);
    return VMX_STOP;
}

/* ---- NMI unblocking due to IRET (SDM 28.2.1 Table 28-7 bit 12, 28.2.3) ----
 * Under virtual-NMI blocking L2 executes IRET with its frame on a page the
 * EPT does not map: the EPT violation reports bit 12. L1 maps the page and
 * sets the blocking again, as the SDM asks of a VMM that resumes such an
 * IRET; the NMI window then opens only after the IRET, at its target. */
#define QUAL_NMI_UNBLOCK    BIT(12)

void l2_iret_fault_guest(void);
extern char l2_iret_fault_after[];
__asm__(".pushsection .text\n"
        "l2_iret_fault_guest:\n\t"
        "mov $1, %eax\n\t"
        "vmcall\n\t"                    /* L1 puts an IRET frame at RBX */
        "mov %rbx, %rsp\n\t"
        "iretq\n"
        "l2_iret_fault_after:\n\t"
        "ret\n"
        ".popsection");

static bool has_ept_vnmi(void)
{
    return has_ept() && vmx_has_pin(PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS) &&
           vmx_has_proc(CPU_BASED_NMI_WINDOW_EXITING);
}

static void init_iret_fault(void)
{
    init_ept();
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS);
}

static enum vmx_action iret_fault_exit(struct vmx_exit *e)
{
    const char *name = "EPT violation in IRET";
    u64 *frame = (u64 *)data_pages[2];

    switch (e->count) {
    case 0:
        if (!expect_exit(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        frame[0] = (u64)(uintptr_t)l2_iret_fault_after;
        frame[1] = vmcs_read(GUEST_CS_SELECTOR);
        frame[2] = e->guest_rflags;
        frame[3] = e->guest_rsp;
        frame[4] = vmcs_read(GUEST_SS_SELECTOR);
        e->regs->rbx = (u64)(uintptr_t)frame;
        *pte_of(frame) = 0;
        invept_context();
        vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        vmx_skip_instruction(e);
        return VMX_RESUME;
    case 1: {
        bool ok = expect_exit(name, e, EXIT_REASON_EPT_VIOLATION);
        if (!report(ok && (e->qual & QUAL_NMI_UNBLOCK) &&
                        (vmcs_read(GUEST_PHYSICAL_ADDRESS) & ~0xfffull) == vmx_pa(frame),  /* which word: the CPU's choice */
                    "EPT violation in an IRET that ends virtual-NMI blocking: qualification bit 12"))
            printf("  qualification %#lx GPA %#lx\n", (unsigned long)e->qual,
                   (unsigned long)vmcs_read(GUEST_PHYSICAL_ADDRESS));
        *pte_of(frame) = EPT_LEAF_4K(vmx_pa(frame), EPT_RWX);
        invept_context();
        vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vmcs_read(GUEST_INTERRUPTIBILITY_INFO) | GUEST_INTR_STATE_NMI);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    case 2: {
        bool ok = expect_exit(name, e, EXIT_REASON_NMI_WINDOW);
        if (!report(ok && e->guest_rip == (u64)(uintptr_t)l2_iret_fault_after,
                    "after the EPT violation the IRET runs again under the blocking: NMI window at its target"))
            printf("  rip %#lx (want %#lx)\n", (unsigned long)e->guest_rip,
                   (unsigned long)(uintptr_t)l2_iret_fault_after);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    default:
        if (!vmx_is_l2_done(e))
            vmx_report_unexpected(name, e);
        return VMX_STOP;
    }
}

/* An NMI L1 injects with virtual NMIs, its delivery through memory the EPT
 * maps but no cached translation holds yet (INVEPT just before): under
 * turtle that delivery meets EPT02 faults, and each is delivered again. */
static u64 nmi_ept_rip;

static void l2_vmcall_then_return(void) { l2_vmcall(1); }

static enum vmx_action nmi_ept_exit(struct vmx_exit *e)
{
    const char *name = "EPT NMI delivery";

    if (e->count == 0) {
        if (!expect_exit(name, e, EXIT_REASON_VMCALL))
            return VMX_STOP;
        vmx_skip_instruction(e);
        nmi_ept_rip = e->guest_rip;
        vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | X86_NMI);
        vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        invept_context();
        return VMX_RESUME;
    }
    if (e->count == 1) {
        bool ok = expect_exit(name, e, EXIT_REASON_NMI_WINDOW);
        if (!report(ok && e->guest_rip == nmi_ept_rip && l2_event.count == 1 && l2_event.vector == X86_NMI,
                    "EPT: an injected NMI with virtual NMIs reaches L2's handler once; the window opens after it"))
            printf("  rip %#lx (want %#lx) events %lu\n", (unsigned long)e->guest_rip,
                   (unsigned long)nmi_ept_rip, (unsigned long)l2_event.count);
        vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
        return ok ? VMX_RESUME : VMX_STOP;
    }
    if (!vmx_is_l2_done(e))
        vmx_report_unexpected(name, e);
    return VMX_STOP;
}

const struct vmx_test ept_ad_tests[] = {
    { "EPT A/D", has_ept_ad, NULL, init_ept, l2_ept_ad, ept_ad_exit },
    { "EPT PML", has_pml, NULL, init_pml, l2_pml, pml_exit },
    { "EPT violation in IRET", has_ept_vnmi, NULL, init_iret_fault, l2_iret_fault_guest, iret_fault_exit },
    { "EPT NMI delivery", has_ept_vnmi, NULL, init_iret_fault, l2_vmcall_then_return, nmi_ept_exit },
};
const size_t n_ept_ad_tests = ARRAY_SIZE(ept_ad_tests);
