/*
 * vmcs02: the hardware VMCS that runs L2. prepare_vmcs02() merges vmcs12
 * (what L1 asked for) with turtle's own policy (what L0 must keep: EPT,
 * every I/O port, its MSRs, its scheduling timer, its CR bits);
 * sync_vmcs02_to_vmcs12() copies L2's state back when an exit is
 * reflected. Field lists go through the encoding table of vmcs12, so a
 * field is named once.
 */
#include "kernel/mm.h"
#include "nested/checks.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"


/* Guest-state fields copied as they are, both ways. */
static const u32 guest_fields[] = {
    GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
    GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR,
    GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
    GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT, GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT,
    GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES,
    GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
    GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE,
    GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE, GUEST_GDTR_BASE, GUEST_IDTR_BASE,
    GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_SYSENTER_CS,
    GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP, GUEST_RSP, GUEST_RIP, GUEST_RFLAGS,
    GUEST_PENDING_DBG_EXCEPTIONS, GUEST_CR3,
};

static const u32 pdptr_fields[] = { GUEST_PDPTR0, GUEST_PDPTR1, GUEST_PDPTR2, GUEST_PDPTR3 };

/* guest_fields resolved to vmcs12 offsets and widths once, so the copies
 * on every nested entry and exit move bytes rather than look fields up. */
static struct {
    u16 offset;
    u16 width;
} guest_slots[ARRAY_SIZE(guest_fields)];

void vmcs02_init(void)
{
    for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++) {
        guest_slots[i].offset = (u16)vmcs12_field_offset(guest_fields[i]);
        guest_slots[i].width = (u16)vmcs12_field_width(guest_fields[i]);
    }
}

static u64 v12(const struct vmcs12 *v, u32 field)
{
    u64 x = 0;
    vmcs12_read(v, field, &x);
    return x;
}

/* vmcs02's MSR bitmap: turtle's, where every MSR exits except the few
 * turtle passes through (vmx/vmcs01.c); each of those exits too if L1's
 * bitmap says so (or L1 uses no MSR bitmap). Only those bits can differ
 * from turtle's, so only they are recomputed on each entry, not the page. */
static bool l1_bit(const u8 *l1_bitmap, u32 offset, u32 msr)
{
    u32 bit = msr & 0x1fff;
    return !l1_bitmap || (l1_bitmap[offset + bit / 8] & (1u << (bit % 8)));
}

static void merge_msr_bitmap(struct vcpu *vcpu, const struct vmcs12 *v)
{
    u8 *dst = phys_to_virt(vcpu->nvmx->msr_bitmap02);
    const u8 *l1 = NULL;                /* NULL: every MSR exits to L1 */

    /* The checks made the address page aligned; outside L1 RAM it reads
     * as all ones, i.e. NULL. */
    if ((v->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS) &&
        v->msr_bitmap < vcpu->vm->mem_size)
        l1 = phys_to_virt(guest_gpa_to_hpa(vcpu->vm, v->msr_bitmap));

    for (u32 i = 0; i < vmx_policy->n_passthrough_msrs; i++) {
        u32 msr = vmx_policy->passthrough_msrs[i], bit = msr & 0x1fff;
        u32 base = msr >= 0xc0000000 ? 1024 : 0;
        for (u32 w = 0; w <= 2048; w += 2048) {
            u8 *b = &dst[w + base + bit / 8];
            if (l1_bit(l1, w + base, msr))
                *b |= (u8)(1u << (bit % 8));
            else
                *b &= (u8)~(1u << (bit % 8));
        }
    }
}

/* CR0/CR4: the guest/host mask is L1's plus turtle's; the read shadow
 * shows L1's shadow for L1's bits and L2's own value for turtle's. */
static void prepare_crs(const struct vmcs12 *v)
{
    vmcs_writel(CR0_GUEST_HOST_MASK, v->cr0_guest_host_mask | vmx_policy->cr0_owned);
    vmcs_writel(CR0_READ_SHADOW, (v->cr0_read_shadow & v->cr0_guest_host_mask) |
                                 (v->guest_cr0 & ~v->cr0_guest_host_mask));
    vmcs_writel(GUEST_CR0, guest_real_cr0(v->guest_cr0));
    vmcs_writel(CR4_GUEST_HOST_MASK, v->cr4_guest_host_mask | vmx_policy->cr4_owned);
    vmcs_writel(CR4_READ_SHADOW, (v->cr4_read_shadow & v->cr4_guest_host_mask) |
                                 (v->guest_cr4 & ~v->cr4_guest_host_mask));
    vmcs_writel(GUEST_CR4, vmx_fixed_cr4(v->guest_cr4));
}

void prepare_vmcs02(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 proc2_12 = nested_proc2(v);
    bool ept12 = proc2_12 & SECONDARY_EXEC_ENABLE_EPT;
    bool ia32e = v->vm_entry_controls & VM_ENTRY_IA32E_MODE;

    /* turtle's host state never changes: written once per vmcs02. */
    if (!n->vmcs02_host_written) {
        vmcs_write_host_state();
        n->vmcs02_host_written = true;
    }
    for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++) {
        u64 x = 0;
        memcpy(&x, (const u8 *)v + guest_slots[i].offset, guest_slots[i].width);
        __vmcs_write(guest_fields[i], x);
    }
    prepare_crs(v);
    vmcs_write64(VMCS_LINK_POINTER, ~0ULL);

    u64 efer = (v->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER) ? v->guest_ia32_efer : l1->efer;
    if (!(v->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER)) {
        efer = ia32e ? efer | EFER_LMA : efer & ~EFER_LMA;
        if (v->guest_cr0 & X86_CR0_PG)
            efer = ia32e ? efer | EFER_LME : efer & ~EFER_LME;
    }
    vmcs_write64(GUEST_IA32_EFER, efer);
    if (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT)
        vmcs_write64(GUEST_IA32_PAT, (v->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) ? v->guest_ia32_pat : l1->pat);
    bool dbg = v->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS;
    vmcs_writel(GUEST_DR7, dbg ? v->guest_dr7 : l1->dr7);
    vmcs_write64(GUEST_IA32_DEBUGCTL, dbg ? v->guest_ia32_debugctl : l1->debugctl);

    /* PAE paging outside IA-32e mode: with EPT the CPU takes the PDPTEs
     * from the VMCS (SDM 28.3.2.4). With EPT12, L1 supplied them; without,
     * they are read from L2's CR3 in L1 memory, as the CPU would. */
    if ((v->guest_cr0 & X86_CR0_PG) && (v->guest_cr4 & X86_CR4_PAE) && !ia32e) {
        u64 pdpte[4] = { 0 };
        if (ept12) {
            for (u32 i = 0; i < 4; i++)
                pdpte[i] = v12(v, pdptr_fields[i]);
        } else {
            guest_copy_from(vcpu->vm, pdpte, v->guest_cr3 & ~0x1fULL, sizeof(pdpte));
        }
        for (u32 i = 0; i < 4; i++)
            __vmcs_write(pdptr_fields[i], pdpte[i]);
    }

    /* Controls: L1's, plus everything turtle needs for itself. */
    vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, v->pin_based_vm_exec_control | vmx_policy->pin);
    u32 proc = (v->cpu_based_vm_exec_control & ~CPU_BASED_UNCOND_IO_EXITING) | vmx_policy->proc;
    if (!(v->cpu_based_vm_exec_control & CPU_BASED_HLT_EXITING))
        proc &= ~CPU_BASED_HLT_EXITING;     /* a halted L2 waits for the timer */
    if (vcpu->vm->tsc_offset)           /* L1's own TSC is offset (a restored snapshot) */
        proc |= CPU_BASED_USE_TSC_OFFSETTING;
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
    /* RDTSCP is L1's to allow (turtle's own setting must not leak). */
    u32 proc2 = (proc2_12 & (SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_DESC |
                             SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_RDRAND_EXITING |
                             SECONDARY_EXEC_RDSEED_EXITING)) |
                (vmx_policy->proc2 & ~SECONDARY_EXEC_ENABLE_RDTSCP);
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmcs_write32(VM_EXIT_CONTROLS, vmx_policy->exit);
    vmcs_write32(VM_ENTRY_CONTROLS, (vmx_policy->entry & ~VM_ENTRY_IA32E_MODE) | (ia32e ? VM_ENTRY_IA32E_MODE : 0));
    vmcs_write32(EXCEPTION_BITMAP, v->exception_bitmap | BIT(VECTOR_AC));
    vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, v->page_fault_error_code_mask);
    vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, v->page_fault_error_code_match);
    vmcs_write32(CR3_TARGET_COUNT, 0);
    vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
    vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, v->vm_entry_intr_info_field);
    vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, v->vm_entry_exception_error_code);
    vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, v->vm_entry_instruction_len);
    vmcs_write64(TSC_OFFSET, vcpu->vm->tsc_offset +
                 ((v->cpu_based_vm_exec_control & CPU_BASED_USE_TSC_OFFSETTING) ? v->tsc_offset : 0));
    vmcs_write64(IO_BITMAP_A, vmx_policy->io_bitmap_a);
    vmcs_write64(IO_BITMAP_B, vmx_policy->io_bitmap_b);
    merge_msr_bitmap(vcpu, v);
    vmcs_write64(MSR_BITMAP, n->msr_bitmap02);
    if (vmx_policy->proc2 & SECONDARY_EXEC_ENABLE_VPID)
        vmcs_write16(VIRTUAL_PROCESSOR_ID, n->vpid02);
    vmcs_write64(EPT_POINTER, ept12 ? ept_make_eptp(n->ept02_root) : vcpu->vm->eptp);
}

/* L2's architectural CR0 (or CR4): L1's bits are as vmcs12 has them (L2
 * cannot change them without an exit), turtle's as L2 last wrote them
 * (the read shadow), the rest as the CPU holds them. */
static u64 l2_cr(u64 real, u64 shadow02, u64 owned0, u64 mask12, u64 old12)
{
    return (real & ~(owned0 | mask12)) | (shadow02 & owned0 & ~mask12) | (old12 & mask12);
}

void sync_vmcs02_to_vmcs12(struct vcpu *vcpu, struct vmcs12 *v)
{
    u32 proc2_12 = nested_proc2(v);

    (void)vcpu;
    for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++) {
        u64 x = __vmcs_read(guest_fields[i]);
        memcpy((u8 *)v + guest_slots[i].offset, &x, guest_slots[i].width);
    }
    v->guest_cr0 = l2_cr(vmcs_readl(GUEST_CR0), vmcs_readl(CR0_READ_SHADOW), vmx_policy->cr0_owned,
                         v->cr0_guest_host_mask, v->guest_cr0);
    v->guest_cr4 = l2_cr(vmcs_readl(GUEST_CR4), vmcs_readl(CR4_READ_SHADOW), vmx_policy->cr4_owned,
                         v->cr4_guest_host_mask, v->guest_cr4);
    if (v->vm_exit_controls & VM_EXIT_SAVE_IA32_EFER)
        v->guest_ia32_efer = vmcs_read64(GUEST_IA32_EFER);
    if (v->vm_exit_controls & VM_EXIT_SAVE_IA32_PAT)
        v->guest_ia32_pat = vmcs_read64(GUEST_IA32_PAT);
    if (v->vm_exit_controls & VM_EXIT_SAVE_DEBUG_CONTROLS) {
        v->guest_dr7 = vmcs_readl(GUEST_DR7);
        v->guest_ia32_debugctl = vmcs_read64(GUEST_IA32_DEBUGCTL);
    }
    if (proc2_12 & SECONDARY_EXEC_ENABLE_EPT)
        for (u32 i = 0; i < 4; i++)
            vmcs12_write(v, pdptr_fields[i], __vmcs_read(pdptr_fields[i]));
    /* "IA-32e mode guest" follows L2's EFER.LMA (SDM 28.2: saved on exit). */
    v->vm_entry_controls = (v->vm_entry_controls & ~VM_ENTRY_IA32E_MODE) |
                           (vmcs_read32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE);
    /* The VM-entry event was delivered, or is in IDT-vectoring info now. */
    v->vm_entry_intr_info_field &= ~INTR_INFO_VALID_MASK;
}

/* Exit information fields (SDM 25.9), from vmcs02. */
void copy_exit_info(struct vmcs12 *v)
{
    v->exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
    v->guest_linear_address = vmcs_readl(GUEST_LINEAR_ADDRESS);
    v->guest_physical_address = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
    v->vm_exit_intr_info = vmcs_read32(VM_EXIT_INTR_INFO);
    v->vm_exit_intr_error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
    v->idt_vectoring_info_field = vmcs_read32(IDT_VECTORING_INFO_FIELD);
    v->idt_vectoring_error_code = vmcs_read32(IDT_VECTORING_ERROR_CODE);
    v->vm_exit_instruction_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
    v->vmx_instruction_info = vmcs_read32(VMX_INSTRUCTION_INFO);
}
