/*
 * Building vmcs01: turtle's VMCS for running an L1 guest. Host state is
 * turtle's own; controls are what turtle needs to keep every guest inside
 * its box (EPT, I/O and MSR bitmaps, preemption timer, CR masks); guest
 * state comes from the loader.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "vmx/spec_caps.h"
#include "vmx/caps.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

#define GUEST_CS            0x08
#define GUEST_DS            0x10

static struct vmcs01_policy policy;
const struct vmcs01_policy *const vmx_policy = &policy;

/* MSRs the guest reads and writes directly: the VMCS switches the
 * SYSENTER and FS/GS bases; turtle switches the syscall MSRs and
 * IA32_SPEC_CTRL itself (vmx/sched.c). IA32_PRED_CMD and IA32_FLUSH_CMD
 * are commands with no state. On a CPU without the speculation MSRs the
 * CPU raises the #GP itself, as CPUID (which hides them) says. Everything
 * else exits (vmx/exit_msr.c). */
static const u32 passthrough_msrs[] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
    MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_TSC_AUX,
    MSR_IA32_SPEC_CTRL, MSR_IA32_PRED_CMD, MSR_IA32_FLUSH_CMD,
};

#define CPUID1_ECX_PCID         BIT(17)
#define CPUID7_EBX_INVPCID      BIT(10)

static void msr_bitmap_allow(u8 *bitmap, u32 msr)
{
    /* SDM 25.6.9: read-low 0, read-high 1024, write-low 2048, write-high 3072. */
    u32 base = msr >= 0xc0000000 ? 1024 : 0, bit = msr & 0x1fff;
    bitmap[base + bit / 8] &= (u8)~(1u << (bit % 8));
    bitmap[2048 + base + bit / 8] &= (u8)~(1u << (bit % 8));
}

/* Once, before any VM: the controls and the shared bitmaps. No NMI exiting: turtle
 * enables no NMI source, and NMI exiting would change what IRET does to
 * NMI blocking in the guest (SDM 26.3), which an L2 under a nested guest
 * would notice. */
bool vmcs01_policy_init(void)
{
    const struct vmx_caps *c = &vmx_caps;
    /* VPIDs only with an INVVPID to retire them (vmx/flush.c). */
    u32 vpid = c->invvpid_type != VMX_INVVPID_NONE ? SECONDARY_EXEC_ENABLE_VPID : 0;
    /* INVPCID runs natively (no INVLPG exiting) where the CPU has it. */
    struct cpuid_regs r7;
    cpuid_count(7, 0, &r7);
    u32 invpcid = (cpuid(0).eax >= 7 && (r7.ebx & CPUID7_EBX_INVPCID)) ? SECONDARY_EXEC_ENABLE_INVPCID : 0;

    if (!vmx_adjust_controls("pin-based", &c->pin,
                             PIN_BASED_EXT_INTR_MASK | PIN_BASED_VMX_PREEMPTION_TIMER, 0, &policy.pin) ||
        !vmx_adjust_controls("processor-based", &c->proc,
                             CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
                             CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS |
                             CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
                             CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING |
                             CPU_BASED_RDPMC_EXITING, 0, &policy.proc) ||
        !vmx_adjust_controls("secondary", &c->proc2,
                             SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST,
                             vpid | SECONDARY_EXEC_ENABLE_RDTSCP | invpcid,
                             &policy.proc2) ||
        /* DR7 and IA32_DEBUGCTL are the guest's: saved at every exit and
         * loaded at every entry (every VMX CPU allows these two, SDM A.4,
         * A.5), where the exit itself resets them to 0x400 and 0 (28.5.1). */
        !vmx_adjust_controls("VM-exit", &c->exit,
                             VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
                             VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_DEBUG_CONTROLS,
                             VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT, &policy.exit) ||
        !vmx_adjust_controls("VM-entry", &c->entry, VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_DEBUG_CONTROLS,
                             VM_ENTRY_LOAD_IA32_PAT, &policy.entry))
        return false;
    /* IA-32e mode is per guest and changes at run time. */
    policy.entry &= ~VM_ENTRY_IA32E_MODE;

    /* CR bits the guest may not choose freely: those VMX fixes (except PE
     * and PG, free under unrestricted guest), PG itself (turtle tracks
     * EFER.LMA), CD/NW; CR4.VMXE and every bit turtle does not expose. */
    policy.cr0_owned = (c->cr0_fixed0 | ~c->cr0_fixed1 | X86_CR0_PG | X86_CR0_CD | X86_CR0_NW) &
                    0xffffffffULL & ~X86_CR0_PE;
    policy.cr0_owned |= X86_CR0_PG;
    policy.cr4_owned = c->cr4_fixed0 | ~c->cr4_fixed1 | X86_CR4_VMXE | X86_CR4_PCIDE |
                    BIT(14) /* SMXE */ | BIT(22) /* PKE */ | BIT(23) /* CET */;
    /* OSXSAVE is the guest's where turtle offers XSAVE (vmx/xsave.c).
     * PCIDE exits, for the SDM's checks on setting it, where the CPU has
     * PCIDs (with VPID, the CPU tags each guest's PCIDs apart). */
    if (!xsave_caps.xsave)
        policy.cr4_owned |= X86_CR4_OSXSAVE;
    if ((cpuid(1).ecx & CPUID1_ECX_PCID) && (c->cr4_fixed1 & X86_CR4_PCIDE))
        policy.cr4_guest |= X86_CR4_PCIDE;

    policy.passthrough_msrs = passthrough_msrs;
    policy.n_passthrough_msrs = ARRAY_SIZE(passthrough_msrs);
    policy.msr_bitmap = alloc_page();
    policy.io_bitmap_a = alloc_page();
    policy.io_bitmap_b = alloc_page();
    if (!policy.msr_bitmap || !policy.io_bitmap_a || !policy.io_bitmap_b)
        return false;
    memset(phys_to_virt(policy.msr_bitmap), 0xff, PAGE_SIZE);
    memset(phys_to_virt(policy.io_bitmap_a), 0xff, PAGE_SIZE);     /* every port exits */
    memset(phys_to_virt(policy.io_bitmap_b), 0xff, PAGE_SIZE);
    for (u32 i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
        msr_bitmap_allow(phys_to_virt(policy.msr_bitmap), passthrough_msrs[i]);
    return true;
}

void vmcs_write_host_state(void)
{
    struct { u16 limit; u64 base; } __packed idtr;

    __asm__ __volatile__("sidt %0" : "=m"(idtr));
    vmcs_writel(HOST_CR0, read_cr0());
    vmcs_writel(HOST_CR3, read_cr3());
    vmcs_writel(HOST_CR4, read_cr4());
    vmcs_write16(HOST_CS_SELECTOR, GDT_KERNEL_CS);
    vmcs_write16(HOST_SS_SELECTOR, GDT_KERNEL_DS);
    vmcs_write16(HOST_DS_SELECTOR, GDT_KERNEL_DS);
    vmcs_write16(HOST_ES_SELECTOR, GDT_KERNEL_DS);
    vmcs_write16(HOST_FS_SELECTOR, 0);
    vmcs_write16(HOST_GS_SELECTOR, 0);
    vmcs_write16(HOST_TR_SELECTOR, GDT_TSS);
    vmcs_writel(HOST_FS_BASE, 0);
    vmcs_writel(HOST_GS_BASE, (u64)this_cpu());          /* this_cpu() works after an exit */
    vmcs_writel(HOST_TR_BASE, (u64)&this_cpu()->tss);
    vmcs_writel(HOST_GDTR_BASE, (u64)this_cpu()->gdt);
    vmcs_writel(HOST_IDTR_BASE, idtr.base);
    vmcs_write32(HOST_IA32_SYSENTER_CS, 0);
    vmcs_writel(HOST_IA32_SYSENTER_ESP, 0);
    vmcs_writel(HOST_IA32_SYSENTER_EIP, 0);
    vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
    if (policy.exit & VM_EXIT_LOAD_IA32_PAT)
        vmcs_write64(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmcs_writel(HOST_RIP, (u64)vmx_exit_entry);
}

static void write_segment(u32 sel_field, u16 sel, u32 ar)
{
    /* Selector, base, limit and AR fields of ES..GS are laid out at fixed
     * strides from ES (SDM Appendix B): selector +2, limit +2, AR +2, base +2. */
    u32 index = (sel_field - GUEST_ES_SELECTOR) / 2;
    __vmcs_write(GUEST_ES_SELECTOR + 2 * index, sel);
    __vmcs_write(GUEST_ES_BASE + 2 * index, 0);
    __vmcs_write(GUEST_ES_LIMIT + 2 * index, 0xffffffff);
    __vmcs_write(GUEST_ES_AR_BYTES + 2 * index, ar);
}

/* The CR0 the CPU runs with for a guest value v: the VMX-fixed bits forced,
 * except PE and PG, which follow the guest (unrestricted guest), and with
 * caching always on (turtle owns memory types through EPT). */
u64 guest_real_cr0(u64 v)
{
    u64 free = X86_CR0_PE | X86_CR0_PG;
    u64 real = ((v | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1 & ~free) | (v & free);
    return real & ~(X86_CR0_CD | X86_CR0_NW);
}

static void write_guest_state(struct vcpu *vcpu, const struct guest_boot_state *s)
{
    u64 cr0 = X86_CR0_PE | X86_CR0_ET, cr4 = 0, efer = 0;

    if (s->long_mode) {
        cr0 |= X86_CR0_PG | X86_CR0_WP;
        cr4 |= X86_CR4_PAE;
        efer |= EFER_LME | EFER_LMA;
    }
    /* The guest sees its own values; the CPU runs with turtle's fixed bits. */
    vmcs_writel(CR0_GUEST_HOST_MASK, policy.cr0_owned);
    vmcs_writel(CR4_GUEST_HOST_MASK, policy.cr4_owned);
    vmcs_writel(CR0_READ_SHADOW, cr0);
    vmcs_writel(CR4_READ_SHADOW, cr4);
    vmcs_writel(GUEST_CR0, guest_real_cr0(cr0));
    vmcs_writel(GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    vmcs_writel(GUEST_CR3, s->cr3);
    vmcs_write64(GUEST_IA32_EFER, efer);
    if (policy.entry & VM_ENTRY_LOAD_IA32_PAT)
        vmcs_write64(GUEST_IA32_PAT, PAT_POWER_ON);
    vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
    vmcs_writel(GUEST_DR7, DR7_RESET);
    vmcs_write32(VM_ENTRY_CONTROLS, policy.entry | (s->long_mode ? VM_ENTRY_IA32E_MODE : 0));

    u16 cs = s->cs ? s->cs : GUEST_CS, ds = s->ds ? s->ds : GUEST_DS;
    write_segment(GUEST_CS_SELECTOR, cs, s->long_mode ? AR_CODE64 : AR_CODE32);
    write_segment(GUEST_DS_SELECTOR, ds, AR_DATA);
    write_segment(GUEST_ES_SELECTOR, ds, AR_DATA);
    write_segment(GUEST_SS_SELECTOR, ds, AR_DATA);
    write_segment(GUEST_FS_SELECTOR, ds, AR_DATA);
    write_segment(GUEST_GS_SELECTOR, ds, AR_DATA);
    vmcs_write16(GUEST_TR_SELECTOR, 0);
    vmcs_writel(GUEST_TR_BASE, 0);
    vmcs_write32(GUEST_TR_LIMIT, 0xff);
    vmcs_write32(GUEST_TR_AR_BYTES, AR_TSS_BUSY);
    vmcs_write16(GUEST_LDTR_SELECTOR, 0);
    vmcs_writel(GUEST_LDTR_BASE, 0);
    vmcs_write32(GUEST_LDTR_LIMIT, 0);
    vmcs_write32(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
    vmcs_writel(GUEST_GDTR_BASE, s->gdt_base);
    vmcs_write32(GUEST_GDTR_LIMIT, s->gdt_limit);
    vmcs_writel(GUEST_IDTR_BASE, 0);
    vmcs_write32(GUEST_IDTR_LIMIT, 0);

    vmcs_writel(GUEST_RIP, s->rip);
    vmcs_writel(GUEST_RSP, 0);
    vmcs_writel(GUEST_RFLAGS, X86_RFLAGS_FIXED);
    vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
    vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_write32(GUEST_SYSENTER_CS, 0);
    vmcs_writel(GUEST_SYSENTER_ESP, 0);
    vmcs_writel(GUEST_SYSENTER_EIP, 0);
    vmcs_write64(VMCS_LINK_POINTER, ~0ULL);

    vcpu->regs.gpr[REG_RAX] = s->rax;
    vcpu->regs.gpr[REG_RBX] = s->rbx;
    vcpu->regs.gpr[REG_RSI] = s->rsi;
    vcpu->regs.gpr[REG_RDI] = s->rdi;
}

bool vmcs01_setup(struct vcpu *vcpu, const struct guest_boot_state *s)
{
    vcpu->vmcs01 = vmcs_alloc(false);
    if (!vcpu->vmcs01)
        return false;
    vcpu->vmcs = vcpu->vmcs01;
    vcpu->launched = false;
    vmcs_load(vcpu->vmcs01, "a new vmcs01");

    vmcs_write_host_state();
    vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, policy.pin);
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, policy.proc);
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, policy.proc2);
    vmcs_write32(VM_EXIT_CONTROLS, policy.exit);
    vmcs_write32(EXCEPTION_BITMAP, BIT(VECTOR_AC));   /* #AC: no delivery loops (reinjected) */
    vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmcs_write32(CR3_TARGET_COUNT, 0);
    vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
    vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmcs_write64(IO_BITMAP_A, policy.io_bitmap_a);
    vmcs_write64(IO_BITMAP_B, policy.io_bitmap_b);
    vmcs_write64(MSR_BITMAP, policy.msr_bitmap);
    vmcs_write64(EPT_POINTER, vcpu->vm->eptp);
    if (policy.proc2 & SECONDARY_EXEC_ENABLE_VPID)
        vmcs_write16(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
    write_guest_state(vcpu, s);
    return true;
}

u64 guest_read_cr0(void)
{
    return (vmcs_readl(GUEST_CR0) & ~policy.cr0_owned) | (vmcs_readl(CR0_READ_SHADOW) & policy.cr0_owned);
}

u64 guest_read_cr4(void)
{
    return (vmcs_readl(GUEST_CR4) & ~policy.cr4_owned) | (vmcs_readl(CR4_READ_SHADOW) & policy.cr4_owned);
}

void guest_update_paging_mode(struct vcpu *vcpu)
{
    u64 cr0 = guest_read_cr0(), cr4 = guest_read_cr4();
    u64 efer = vmcs_read64(GUEST_IA32_EFER);
    u32 entry = vmcs_read32(VM_ENTRY_CONTROLS);
    bool lma = (cr0 & X86_CR0_PG) && (efer & EFER_LME);

    efer = lma ? efer | EFER_LMA : efer & ~EFER_LMA;
    vmcs_write64(GUEST_IA32_EFER, efer);
    vmcs_write32(VM_ENTRY_CONTROLS, lma ? entry | VM_ENTRY_IA32E_MODE : entry & ~VM_ENTRY_IA32E_MODE);

    /* PAE paging outside IA-32e mode: with EPT the CPU takes the PDPTEs
     * from the VMCS at entry (SDM 28.3.2.4), so load them as MOV CR did. */
    if ((cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !lma) {
        u64 pdpte[4] = { 0 }, at = vmcs_readl(GUEST_CR3) & ~0x1fULL;
        /* An L2's CR3 is L2-physical: its L1's EPT12 says where it is. */
        if (!vcpu->guest_mode || nested_ops->gpa_to_l1(vcpu, at, &at))
            guest_copy_from(vcpu->vm, pdpte, at, sizeof(pdpte));
        vmcs_write64(GUEST_PDPTR0, pdpte[0]);
        vmcs_write64(GUEST_PDPTR1, pdpte[1]);
        vmcs_write64(GUEST_PDPTR2, pdpte[2]);
        vmcs_write64(GUEST_PDPTR3, pdpte[3]);
    }
}
