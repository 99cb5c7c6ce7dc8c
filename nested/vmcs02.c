/*
 * vmcs02: the hardware VMCS that runs L2. prepare_vmcs02() merges vmcs12
 * (what L1 asked for) with turtle's own policy (what L0 must keep: EPT,
 * every I/O port, its MSRs, its scheduling timer, its CR bits);
 * sync_vmcs02_to_vmcs12() copies L2's state back when an exit is
 * reflected. Field lists go through the encoding table of vmcs12, so a
 * field is named once.
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "nested/field_plan.h"
#include "nested/guest_fields.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"


/* Guest-state fields copied as they are, both ways (nested/guest_fields.h). */
#define ENCODING(enc, member)   enc,
static const u32 guest_fields[] = { VMCS02_GUEST_FIELDS(ENCODING) };
#undef ENCODING
VMCS02_GUEST_FIELDS(GUEST_FIELD_WIDTH_OK)

/* vmcs02's guest_fields into vmcs12 at a reflected exit: one VMREAD with a
 * constant encoding per field, no table walked. */
static void guest_fields_from_vmcs02(struct vmcs12 *v)
{
#define READ(enc, member)       v->member = (__typeof__(v->member))__vmcs_read(enc);
    VMCS02_GUEST_FIELDS(READ)
#undef READ
}

static const u32 pdptr_fields[] = { GUEST_PDPTR0, GUEST_PDPTR1, GUEST_PDPTR2, GUEST_PDPTR3 };

/* guest_fields sorted by width with their vmcs12 offsets, once: the
 * copies on every nested entry and exit move values, not look fields up. */
static struct field_plan guest_plan;
static void msr_bits_init(void);

void vmcs02_init(void)
{
    field_plan_init(&guest_plan, guest_fields, ARRAY_SIZE(guest_fields));
    msr_bits_init();
}

/* Whether vmcs02 takes this vmcs12 field as it is (a guest_fields entry). */
bool vmcs02_guest_field(u32 field)
{
    for (u32 i = 0; i < ARRAY_SIZE(guest_fields); i++)
        if (guest_fields[i] == field)
            return true;
    return false;
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
 * from turtle's, so only they are recomputed on each entry, not the page:
 * their bytes and masks (read and write, SDM 25.6.9) are found once, the
 * bits of neighbouring MSRs merged into one byte's mask (a handful). */
#define MSR_BITS_MAX    32
static struct {
    u16 offset;
    u8 mask;
} msr_bits[MSR_BITS_MAX];
static u32 n_msr_bits;

static void msr_bits_init(void)
{
    n_msr_bits = 0;
    for (u32 i = 0; i < vmx_policy->n_passthrough_msrs && n_msr_bits + 2 <= MSR_BITS_MAX; i++) {
        u32 msr = vmx_policy->passthrough_msrs[i], bit = msr & 0x1fff;
        u32 base = msr >= 0xc0000000 ? 1024 : 0;
        for (u32 w = 0; w <= 2048; w += 2048) {
            u16 off = (u16)(w + base + bit / 8);
            u32 j = 0;
            while (j < n_msr_bits && msr_bits[j].offset != off)
                j++;
            if (j == n_msr_bits) {
                msr_bits[j].offset = off;
                msr_bits[j].mask = 0;
                n_msr_bits++;
            }
            msr_bits[j].mask |= (u8)(1u << (bit % 8));
        }
    }
}

static void merge_msr_bitmap(struct vcpu *vcpu, const struct vmcs12 *v)
{
    u8 *dst = phys_to_virt(vcpu->nvmx->msr_bitmap02);

    /* The checks made the address page aligned; outside L1 RAM it reads
     * as all ones: every MSR exits to L1. */
    if (!(v->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS) || v->msr_bitmap >= vcpu->vm->mem_size) {
        for (u32 i = 0; i < n_msr_bits; i++)
            dst[msr_bits[i].offset] |= msr_bits[i].mask;
        apicv12_merge_x2apic(vcpu->nvmx, dst, NULL, v);
        return;
    }
    const u8 *l1 = phys_to_virt(guest_gpa_to_hpa(vcpu->vm, v->msr_bitmap));
    apicv12_merge_x2apic(vcpu->nvmx, dst, l1, v);
    for (u32 i = 0; i < n_msr_bits; i++) {
        u32 off = msr_bits[i].offset;
        u8 m = msr_bits[i].mask;
        dst[off] = (u8)((dst[off] & ~m) | (l1[off] & m));
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

/* EFER, PAT, DR7 and IA32_DEBUGCTL: vmcs12's when its entry controls load
 * them, otherwise L1's current values (SDM 27.3.2.1): every entry. */
static void prepare_l1_dependent(const struct vmcs12 *v, const struct l1_state *l1)
{
    bool ia32e = v->vm_entry_controls & VM_ENTRY_IA32E_MODE;
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
}

/* Without EPT12 vmcs02 runs on EPT01, which maps the APIC-access page of
 * L1's APIC virtualization at the xAPIC base while L1 uses it (vmx/apicv.c).
 * L2's accesses there must reach L1's LAPIC model, as they do through an
 * EPT01 violation when the page is not mapped: vmcs02 then virtualizes APIC
 * accesses on that page, without a TPR shadow, so that every access is an
 * APIC-access exit (SDM 30.4) that turtle completes like MMIO. Not when L1
 * runs APIC virtualization for L2 itself (nested/apicv12.c): vmcs02 has one
 * APIC-access page, a TPR shadow would serve L2's TPR accesses from L1's
 * virtual-APIC page, and x2APIC mode excludes APIC accesses: vmcs02 then
 * runs on a copy of EPT01 without that page (nested/apicv12_ept01.c). */
static u32 apic_access_proc2(struct vcpu *vcpu, const struct vmcs12 *v)
{
    if ((nested_proc2(v) & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES |
                            SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE)) ||
        (v->cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW))
        return 0;
    return vcpu->apicv.access_mapped ? SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES : 0;
}

static void prepare_apic_access(struct vcpu *vcpu, const struct vmcs12 *v)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 want = apic_access_proc2(vcpu, v);

    if (want == n->vmcs02_apic_access)
        return;
    u32 proc2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2 | want);
    n->vmcs02_apic_access = want;
}

/* The EPT pointer for L2: EPT02's, or EPT01 when L1 uses no EPT (without
 * L1's xAPIC page when L1 runs APIC virtualization for L2: apicv12_ept01()). */
static inline __attribute__((always_inline)) void prepare_eptp(struct vcpu *vcpu, const struct vmcs12 *v,
                                                                bool ept12)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 eptp = ept12 ? ept02_eptp(n) : apicv12_ept01(vcpu, v);

    if (eptp != n->vmcs02_eptp) {
        vmcs_write64(EPT_POINTER, eptp);
        n->vmcs02_eptp = eptp;
    }
}

void vmcs02_load_eptp(struct vcpu *vcpu)
{
    prepare_eptp(vcpu, &vcpu->nvmx->cached12, true);     /* EPTP switching: EPT12 is on */
}

/*
 * The hot path's VMRESUME (docs/nested.md): vmcs02 still holds everything
 * the last entry put there and what L2 and its exits left, which is what
 * vmcs12 holds, except the fields L1 changed since (n->dirty_fields: guest
 * fields, the entry event, the exception bitmap; anything else took
 * DIRTY_VMCS02 and prepare_vmcs02()). The APIC fields, when L1 changed
 * one (DIRTY_APIC: a handful of VMWRITEs). Done again at every entry: what
 * prepare_vmcs02() takes from outside vmcs12 (L1's EFER/PAT/DR7/DEBUGCTL,
 * L1's MSR bitmap, whose memory may have changed, the EPT02 root). CR0 and
 * CR4 with their masks and read shadows, when L1 changed one of them
 * (DIRTY_CRS); otherwise vmcs02 holds what prepare_crs() would write, but
 * for CR0.CD/NW, which the exit saved from the CPU and no VM entry loads
 * (SDM 27.3.2.1).
 */
void prepare_vmcs02_dirty(struct vcpu *vcpu, const struct vmcs12 *v, const struct l1_state *l1)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 proc2_12 = nested_proc2(v);
    bool ept12 = proc2_12 & SECONDARY_EXEC_ENABLE_EPT;

    for (u32 i = 0; i < n->n_dirty_fields; i++) {
        u32 f = n->dirty_fields[i];
        u64 x = n->dirty_vals[i];
        if (f == EXCEPTION_BITMAP)
            x |= BIT(VECTOR_AC);
        __vmcs_write(f, x);
    }
    if (n->dirty & DIRTY_CRS)
        prepare_crs(v);
    if (n->dirty & DIRTY_APIC)
        apicv12_prepare_fields(vcpu, v);
    prepare_l1_dependent(v, l1);
    merge_msr_bitmap(vcpu, v);
    prepare_eptp(vcpu, v, ept12);
    prepare_apic_access(vcpu, v);
    if (proc2_12 & SECONDARY_EXEC_SHADOW_VMCS)
        shadow12_prepare(vcpu, v);
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
    field_plan_to_vmcs(&guest_plan, v);
    prepare_crs(v);
    prepare_l1_dependent(v, l1);

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
    /* RDTSCP and INVPCID are L1's to allow (turtle's own settings must
     * not leak: without them L2 gets #UD). */
    u32 proc2 = (proc2_12 & (SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_DESC |
                             SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_RDRAND_EXITING |
                             SECONDARY_EXEC_RDSEED_EXITING | SECONDARY_EXEC_SHADOW_VMCS |
                             SECONDARY_EXEC_ENABLE_INVPCID | SECONDARY_EXEC_ENABLE_VMFUNC)) |
                (vmx_policy->proc2 & ~(SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_INVPCID));
    apicv12_prepare(vcpu, v, &proc, &proc2);
    n->vmcs02_apic_access = apic_access_proc2(vcpu, v);
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2 | n->vmcs02_apic_access);
    /* L2's VM functions: each one exits to turtle (nested/vmfunc.c). */
    if (proc2 & SECONDARY_EXEC_ENABLE_VMFUNC)
        vmcs_write64(VM_FUNCTION_CONTROL, 0);
    if (!(proc2_12 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) && vcpu->apicv.access_page)
        vmcs_write64(APIC_ACCESS_ADDR, vcpu->apicv.access_page);
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
    n->vmcs02_eptp = 0;
    prepare_eptp(vcpu, v, ept12);
    shadow12_prepare(vcpu, v);
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
    u32 entry12 = v->vm_entry_controls;
    u64 cr0_12 = v->guest_cr0;

    guest_fields_from_vmcs02(v);
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
    /* With EPT, the PDPTEs of a PAE L2 (SDM 28.3.4; otherwise undefined:
     * vmcs12 keeps what it had). */
    if ((proc2_12 & SECONDARY_EXEC_ENABLE_EPT) && (v->guest_cr0 & X86_CR0_PG) &&
        (v->guest_cr4 & X86_CR4_PAE) && !(vmcs_read32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE)) {
        v->guest_pdptr0 = vmcs_read64(GUEST_PDPTR0);
        v->guest_pdptr1 = vmcs_read64(GUEST_PDPTR1);
        v->guest_pdptr2 = vmcs_read64(GUEST_PDPTR2);
        v->guest_pdptr3 = vmcs_read64(GUEST_PDPTR3);
    }
    apicv12_sync(v);
    /* "IA-32e mode guest" follows L2's EFER.LMA (SDM 28.2: saved on exit). */
    v->vm_entry_controls = (v->vm_entry_controls & ~VM_ENTRY_IA32E_MODE) |
                           (vmcs_read32(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE);
    /* An input of the control and host-state checks changed with L2. */
    if (v->vm_entry_controls != entry12 || ((v->guest_cr0 ^ cr0_12) & X86_CR0_PE))
        vcpu->nvmx->dirty |= DIRTY_CONTROLS | DIRTY_HOST;
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

/* Debug mode: what prepare_vmcs02() writes besides guest_fields. */
static const u32 verify_fields[] = {
    CR0_GUEST_HOST_MASK, CR0_READ_SHADOW, GUEST_CR0, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW,
    GUEST_CR4, VMCS_LINK_POINTER, GUEST_IA32_EFER, GUEST_IA32_PAT, GUEST_DR7, GUEST_IA32_DEBUGCTL,
    PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL,
    VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS, EXCEPTION_BITMAP, PAGE_FAULT_ERROR_CODE_MASK,
    PAGE_FAULT_ERROR_CODE_MATCH, CR3_TARGET_COUNT, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_LOAD_COUNT,
    VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE,
    VM_ENTRY_INSTRUCTION_LEN, TSC_OFFSET, IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP, VIRTUAL_PROCESSOR_ID,
    EPT_POINTER, VIRTUAL_APIC_PAGE_ADDR, TPR_THRESHOLD, APIC_ACCESS_ADDR, EOI_EXIT_BITMAP0,
    EOI_EXIT_BITMAP1, EOI_EXIT_BITMAP2, EOI_EXIT_BITMAP3, GUEST_INTR_STATUS,
};
#define N_VERIFY    (ARRAY_SIZE(guest_fields) + ARRAY_SIZE(verify_fields))
_Static_assert(N_VERIFY <= VMCS02_VERIFY_FIELDS, "vmcs02_snapshot()'s array holds every field");

static u32 verify_field(u32 i)
{
    return i < ARRAY_SIZE(guest_fields) ? guest_fields[i] : verify_fields[i - ARRAY_SIZE(guest_fields)];
}

/* Whether the CPU has this APIC field (any other field: true). */
static bool vmcs02_has_field(u32 f)
{
    switch (f) {
    case VIRTUAL_APIC_PAGE_ADDR:
    case TPR_THRESHOLD:
        return vmx_caps.proc.may_be_1 & CPU_BASED_TPR_SHADOW;
    case APIC_ACCESS_ADDR:
        return vmx_caps.proc2.may_be_1 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
    case EOI_EXIT_BITMAP0:
    case EOI_EXIT_BITMAP1:
    case EOI_EXIT_BITMAP2:
    case EOI_EXIT_BITMAP3:
    case GUEST_INTR_STATUS:
        return vmx_caps.proc2.may_be_1 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
    default:
        return true;
    }
}

/* Fields this CPU's vmcs02 does not have read as 0. */
void vmcs02_snapshot(u64 *vals)
{
    for (u32 i = 0; i < N_VERIFY; i++) {
        u32 f = verify_field(i);
        vals[i] = 0;
        if (f == GUEST_IA32_PAT && !(vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT))
            continue;
        if (f == VIRTUAL_PROCESSOR_ID && !(vmx_policy->proc2 & SECONDARY_EXEC_ENABLE_VPID))
            continue;
        if (!vmcs02_has_field(f))
            continue;
        vals[i] = __vmcs_read(f);
    }
}

static u64 snap(const u64 *vals, u32 field)
{
    for (u32 i = 0; i < N_VERIFY; i++)
        if (verify_field(i) == field)
            return vals[i];
    return 0;
}

bool vmcs02_snapshot_diff(const u64 *a, const u64 *b, u32 *field, u64 *xa, u64 *yb)
{
    bool event = (snap(a, VM_ENTRY_INTR_INFO_FIELD) | snap(b, VM_ENTRY_INTR_INFO_FIELD)) & INTR_INFO_VALID_MASK;
    for (u32 i = 0; i < N_VERIFY; i++) {
        u32 f = verify_field(i);
        u64 x = a[i], y = b[i];
        /* A read-shadow bit outside the guest/host mask is never seen;
         * the event fields mean nothing without the valid bit. */
        if (f == CR0_READ_SHADOW || f == CR4_READ_SHADOW) {
            u64 mask = snap(a, f == CR0_READ_SHADOW ? CR0_GUEST_HOST_MASK : CR4_GUEST_HOST_MASK);
            x &= mask;
            y &= mask;
        }
        /* No VM entry loads CR0.CD/NW (SDM 27.3.2.1). */
        if (f == GUEST_CR0) {
            x &= ~(u64)(X86_CR0_CD | X86_CR0_NW);
            y &= ~(u64)(X86_CR0_CD | X86_CR0_NW);
        }
        if (!event && (f == VM_ENTRY_INTR_INFO_FIELD || f == VM_ENTRY_EXCEPTION_ERROR_CODE ||
                       f == VM_ENTRY_INSTRUCTION_LEN))
            continue;
        if (x != y) {
            *field = f;
            *xa = x;
            *yb = y;
            return true;
        }
    }
    return false;
}
