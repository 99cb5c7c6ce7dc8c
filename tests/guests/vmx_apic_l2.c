/*
 * vmx_apic_l2: an L1 hypervisor that gives its own device pages to its L2
 * through EPT (issue 8, "L2 reaching L1's devices"). L1's EPT identity-maps
 * its first 4 MiB (code, data, stacks, page tables) and maps L2-physical
 * 0xfee00000 and 0xfec00000 to L1-physical 0xfee00000 (its local APIC's
 * xAPIC page) and 0xfec00000 (its IOAPIC), uncached. L2 runs with IF=0 on
 * L1's page tables, without external-interrupt exiting, and through those
 * mappings:
 *   - reads the APIC version and ID registers and the IOAPIC version;
 *   - writes TPR (L1's TPR is what changes);
 *   - sends itself a fixed IPI through the ICR (it lands in L1's IRR);
 *   - writes EOI, retiring the vector L1 left in service before the launch.
 * L1 then checks each effect in its own APIC, as on hardware, where L2's
 * accesses reach the APIC L1 gave it. Under turtle the EPT is EPT12 and the
 * accesses are emulated on L1's LAPIC and IOAPIC models (nested/ept02.c).
 * Needs VT-x with EPT (`nested` under turtle). No options.
 */
#include "lib/irq.h"
#include "lib/vmx.h"

#define APIC_PAGE       0xfee00000ull
#define IOAPIC_PAGE     0xfec00000ull
#define R_ID            0x20
#define R_VERSION       0x30
#define R_TPR           0x80
#define R_EOI           0xb0
#define R_SVR           0xf0
#define R_ISR           0x100
#define R_IRR           0x200
#define R_ICR           0x300
#define ICR_SELF        (1u << 18)
#define IOREGSEL        0x00
#define IOWIN           0x10
#define IOAPIC_VER      0x01
#define VEC_IPI         0x51            /* sent by L2 */
#define VEC_SERVED      0x62            /* left in service by L1, retired by L2 */
#define L2_TPR          0x30

#define EPT_RWX         VMX_EPT_RWX_MASK
#define EPT_WB          ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define EPT_UC          0ull
#define EPT_2M          VMX_EPT_LARGE_PAGE_BIT
#define PAGE_2M         (2ull << 20)
#define MAPPED_TOP      (4ull << 20)

static u32 rd(u64 base, u32 off) { return *(volatile u32 *)(uintptr_t)(base + off); }
static void wr(u64 base, u32 off, u32 v) { *(volatile u32 *)(uintptr_t)(base + off) = v; }
static bool bit_set(u32 reg, u8 v) { return (rd(APIC_PAGE, reg + (v >> 5) * 16) >> (v & 31)) & 1; }
static void eoi_hook(u8 v) { (void)v; wr(APIC_PAGE, R_EOI, 0); }

/* What L2 saw, for L1 to report. */
static volatile struct {
    u32 version, id, tpr, ioapic_version, irr_ipi, isr_before, isr_after;
    bool done;
} seen;

static u64 *pml4, *pdpt, *pd_low, *pd_top, *pt_apic, *pt_ioapic;

static u64 eptp(void) { return vmx_pa(pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4; }

static void build_ept(void)
{
    pml4 = vmx_alloc_page();
    pdpt = vmx_alloc_page();
    pd_low = vmx_alloc_page();
    pd_top = vmx_alloc_page();
    pt_apic = vmx_alloc_page();
    pt_ioapic = vmx_alloc_page();
    pml4[0] = vmx_pa(pdpt) | EPT_RWX;
    pdpt[0] = vmx_pa(pd_low) | EPT_RWX;
    pdpt[3] = vmx_pa(pd_top) | EPT_RWX;
    for (u64 a = 0; a < MAPPED_TOP; a += PAGE_2M)
        pd_low[a / PAGE_2M] = a | EPT_RWX | EPT_WB | EPT_2M;
    pd_top[(APIC_PAGE >> 21) & 0x1ff] = vmx_pa(pt_apic) | EPT_RWX;
    pd_top[(IOAPIC_PAGE >> 21) & 0x1ff] = vmx_pa(pt_ioapic) | EPT_RWX;
    pt_apic[(APIC_PAGE >> 12) & 0x1ff] = APIC_PAGE | VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK | EPT_UC;
    pt_ioapic[(IOAPIC_PAGE >> 12) & 0x1ff] = IOAPIC_PAGE | VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK |
                                            EPT_UC;
}

static bool has_ept(void) { return vmx_has_ept(); }

static void init(void)
{
    struct invept_desc d = { eptp(), 0 };

    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp());
    vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_MASK);
    invept(vmx_caps.ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL, &d);

    /* VEC_SERVED in service: taken through L1's IDT without an EOI. */
    irq_reset();
    irq_hook = NULL;
    wr(APIC_PAGE, R_ICR, ICR_SELF | VEC_SERVED);
    sti();
    busy_loop(100);
    cli();
    irq_hook = eoi_hook;
}

/* L2: every access goes through EPT to L1's device pages. */
static void l2_main(void)
{
    seen.version = rd(APIC_PAGE, R_VERSION);
    seen.id = rd(APIC_PAGE, R_ID);
    wr(IOAPIC_PAGE, IOREGSEL, IOAPIC_VER);
    seen.ioapic_version = rd(IOAPIC_PAGE, IOWIN);
    wr(APIC_PAGE, R_TPR, L2_TPR);
    seen.tpr = rd(APIC_PAGE, R_TPR);
    wr(APIC_PAGE, R_ICR, ICR_SELF | VEC_IPI);
    seen.irr_ipi = bit_set(R_IRR, VEC_IPI);
    seen.isr_before = bit_set(R_ISR, VEC_SERVED);
    wr(APIC_PAGE, R_EOI, 0);
    seen.isr_after = bit_set(R_ISR, VEC_SERVED);
    seen.done = true;
}

static enum vmx_action on_exit(struct vmx_exit *e)
{
    u32 ioapic_version;

    if (!report(e->status == VMX_OK && vmx_is_l2_done(e) && seen.done,
                "L2 ran to its end on L1's device pages (reason %#x, qual %#lx)", e->reason,
                (unsigned long)e->qual))
        return VMX_STOP;
    wr(IOAPIC_PAGE, IOREGSEL, IOAPIC_VER);
    ioapic_version = rd(IOAPIC_PAGE, IOWIN);
    report(seen.version == rd(APIC_PAGE, R_VERSION), "L2 reads L1's APIC version register (%#x)", seen.version);
    report(seen.id == rd(APIC_PAGE, R_ID), "L2 reads L1's APIC ID register (%#x)", seen.id);
    report(seen.ioapic_version == ioapic_version, "L2 reads L1's IOAPIC version register (%#x)",
           seen.ioapic_version);
    report(seen.tpr == L2_TPR && rd(APIC_PAGE, R_TPR) == L2_TPR, "L2's TPR write is L1's TPR (%#x, %#x)",
           seen.tpr, rd(APIC_PAGE, R_TPR));
    wr(APIC_PAGE, R_TPR, 0);
    report(seen.irr_ipi && bit_set(R_IRR, VEC_IPI), "L2's self IPI is pending in L1's IRR");
    report(seen.isr_before && !seen.isr_after && !bit_set(R_ISR, VEC_SERVED),
           "L2's EOI retires the vector L1 had in service");
    sti();
    busy_loop(100);
    cli();
    report(irq_count[VEC_IPI] == 1 && !bit_set(R_IRR, VEC_IPI) && !bit_set(R_ISR, VEC_IPI),
           "L1 takes L2's IPI through its own IDT");
    return VMX_STOP;
}

static const struct vmx_test tests[] = {
    { "L2 on L1's APIC and IOAPIC pages", has_ept, NULL, init, l2_main, on_exit },
};

void guest_main(const struct boot_params *bp)
{
    (void)bp;
    irq_init();
    irq_hook = eoi_hook;
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    wr(APIC_PAGE, R_SVR, 0x1ff);
    wr(APIC_PAGE, R_TPR, 0);
    build_ept();
    vmx_test_main("vmx_apic_l2", tests, ARRAY_SIZE(tests));
}
