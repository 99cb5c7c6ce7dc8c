/*
 * vmx_fuzz: L2's sandbox (2 MiB of L1 RAM holding L2's page tables, GDT,
 * TSS, IDT, stack and code), the EPT that maps only it, the scratch
 * memory the CPU may write on L1's side, and the valid VMCS around them.
 */
#include "vmx_fuzz.h"

const u8 l2_code[6] = { 0x0f, 0x01, 0xc1, 0xf4, 0xeb, 0xfe };     /* vmcall; hlt; jmp $ */

u8 *sandbox;
static u64 *ept_pml4, *ept_pdpt, *ept_pd;
u64 eptp;

struct msr_entry store_list[STORE_LIST_ENTRIES] __attribute__((aligned(PAGE_4K)));
struct msr_entry load_list[PAGE_4K / sizeof(struct msr_entry)] __attribute__((aligned(PAGE_4K)));
u8 scratch[N_SCRATCH_PAGES][PAGE_4K] __attribute__((aligned(PAGE_4K)));
u8 shadow_vmcs[PAGE_4K] __attribute__((aligned(PAGE_4K)));

/* MSRs any CPU (and turtle) stores on VM exit. */
static const u32 storable_msrs[] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_TSC,
    MSR_IA32_EFER, MSR_IA32_PAT, MSR_STAR, MSR_LSTAR,
};
/* What a valid VM-entry MSR-load list loads into L2 (value 0 each). */
static const u32 loadable_msrs[LOAD_LIST_VALID] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_STAR,
    MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
};

static void zero_qwords(void *p, size_t bytes)
{
    void *d = p;
    size_t n = bytes / 8;
    __asm__ __volatile__("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

/* A 2 MiB-aligned block of available RAM above SANDBOX_MIN_BASE that no
 * boot data occupies; NULL if there is none. */
u8 *find_sandbox(const struct boot_params *bp)
{
    for (u64 base = SANDBOX_MIN_BASE; base + PAGE_2M <= bp->mem_top; base += PAGE_2M) {
        bool in_ram = false, taken = false;
        u64 end = base + PAGE_2M;
        for (u32 i = 0; i < bp->n_regions; i++) {
            const struct guest_region *r = &bp->regions[i];
            if (r->type == 1 && r->base <= base && end <= r->base + r->length)
                in_ram = true;
        }
        if (bp->info < end && base < bp->info + bp->info_size)
            taken = true;
        for (u32 i = 0; i < bp->n_modules; i++)
            if (bp->modules[i].start < end && base < bp->modules[i].end)
                taken = true;
        if (in_ram && !taken)
            return (u8 *)(uintptr_t)base;
    }
    return NULL;
}

/* Wipes the whole sandbox (whatever the last L2 wrote) and writes L2's
 * tables and code. */
void sandbox_reset(void)
{
    u64 *pml4 = (u64 *)(sandbox + SB_PML4), *pdpt = (u64 *)(sandbox + SB_PDPT), *pd = (u64 *)(sandbox + SB_PD);
    u64 *gdt = (u64 *)(sandbox + SB_GDT), *idt = (u64 *)(sandbox + SB_IDT);

    zero_qwords(sandbox, PAGE_2M);
    /* 64-bit paging: linear 0..2 MiB = L2-GPA 0..2 MiB, one 2 MiB page. */
    pml4[0] = SB_PDPT | PTE_P | PTE_W;
    pdpt[0] = SB_PD | PTE_P | PTE_W;
    pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
    gdt[SEL_CODE64 / 8] = GDT_CODE64;
    gdt[SEL_DATA / 8] = GDT_DATA;
    gdt[SEL_TSS / 8] = SB_TSS_LIMIT | ((u64)SB_TSS << 16) | GDT_TSS_BUSY;   /* base < 16 MiB */
    gdt[SEL_TSS / 8 + 1] = 0;
    for (int v = 0; v < 256; v++) {     /* 64-bit interrupt gates to SB_ISR (< 64 KiB) */
        idt[2 * v] = (SB_ISR & 0xffff) | ((u64)SEL_CODE64 << 16) | ((u64)IDT_GATE_INT64 << 40);
        idt[2 * v + 1] = 0;
    }
    memcpy(sandbox + SB_CODE, l2_code, sizeof(l2_code));
    memcpy(sandbox + SB_ISR, l2_code, sizeof(l2_code));
}

void scratch_reset(void)
{
    memset(store_list, 0, sizeof(store_list));
    for (size_t i = 0; i < STORE_LIST_ENTRIES; i++)
        store_list[i].index = storable_msrs[i % ARRAY_SIZE(storable_msrs)];
    memset(load_list, 0, sizeof(load_list));         /* after the valid ones: index 0, refused */
    for (size_t i = 0; i < LOAD_LIST_VALID; i++)
        load_list[i].index = loadable_msrs[i];
    memset(scratch, 0, sizeof(scratch));
    memset(shadow_vmcs, 0, sizeof(shadow_vmcs));
}

/* EPT12: L2-GPA [0, 2 MiB) -> the sandbox, one 2 MiB page; nothing else. */
void build_ept(void)
{
    ept_pml4 = vmx_alloc_page();
    ept_pdpt = vmx_alloc_page();
    ept_pd = vmx_alloc_page();
    ept_pml4[0] = vmx_pa(ept_pdpt) | VMX_EPT_RWX_MASK;
    ept_pdpt[0] = vmx_pa(ept_pd) | VMX_EPT_RWX_MASK;
    ept_pd[0] = vmx_pa(sandbox) | VMX_EPT_RWX_MASK | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT) |
                VMX_EPT_LARGE_PAGE_BIT;
    eptp = vmx_pa(ept_pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    if (vmx_caps.ept_vpid & VMX_EPT_INVEPT_BIT) {
        struct invept_desc d = { eptp, 0 };
        invept(vmx_caps.ept_vpid & VMX_EPT_EXTENT_GLOBAL_BIT ? VMX_EPT_EXTENT_GLOBAL : VMX_EPT_EXTENT_CONTEXT, &d);
    }
}

static void l2_unused(void)
{
}

/* The library's valid default VMCS, then L2 moved into the sandbox. */
void vmcs_sandbox(void)
{
    vmx_vmcs_setup(l2_unused);
    vmcs_write(GUEST_CR3, SB_PML4);
    vmcs_write(GUEST_RIP, SB_CODE);
    vmcs_write(GUEST_RSP, SB_STACK_TOP);
    vmcs_write(GUEST_GDTR_BASE, SB_GDT);
    vmcs_write(GUEST_GDTR_LIMIT, SB_GDT_LIMIT);
    vmcs_write(GUEST_IDTR_BASE, SB_IDT);
    vmcs_write(GUEST_IDTR_LIMIT, SB_IDT_LIMIT);
    vmcs_write(GUEST_TR_BASE, SB_TSS);
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    vmcs_write(VMX_PREEMPTION_TIMER_VALUE, timer_default);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp);
    /* Unused by the valid controls; where they point if a mutation enables them. */
    vmcs_write(VM_EXIT_MSR_STORE_ADDR, vmx_pa(store_list));
    vmcs_write(VM_EXIT_MSR_LOAD_ADDR, vmx_pa(load_list));
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(load_list));
    vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vmx_pa(scratch[PAGE_VIRTUAL_APIC]));
    vmcs_write(PML_ADDRESS, vmx_pa(scratch[PAGE_PML]));
    vmcs_write(POSTED_INTR_DESC_ADDR, vmx_pa(scratch[PAGE_POSTED_INTR]));
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(scratch[PAGE_EPTP_LIST]));
}
