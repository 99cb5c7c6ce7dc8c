/*
 * APIC virtualization for L1 (vmx/apicv.h): the controls chosen once from
 * the CPU's capabilities, each vCPU's virtual-APIC page and APIC-access
 * page, and the two directions of the sync between the LAPIC model and the
 * page. The exits these controls cause are vmx/exit_apic.c's.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "vmx/caps.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "vmx/dev/lapic_regs.h"     /* after kernel/x86.h (IA32_APIC_BASE) */

/* What turtle uses, fixed at boot. */
static struct {
    bool tpr_shadow;            /* the base of it all: a virtual-APIC page */
    bool access;                /* virtualize APIC accesses (xAPIC page) */
    bool regs;                  /* APIC-register virtualization */
    bool vid;                   /* virtual-interrupt delivery */
    bool x2apic;                /* virtualize x2APIC mode */
    u64 x2apic_msr_bitmap[2];   /* vmcs01's MSR bitmap in x2APIC mode, [vid] */
} apicv;

/* The APIC-access page is mapped in EPT01, which is the VM's: one vCPU's
 * page per VM until VMs have more vCPUs (each vmcs01 would then name the
 * same page). */
_Static_assert(VM_MAX_VCPUS == 1, "one APIC-access page mapping per EPT01");

/* SDM 25.6.9: read-low at 0, write-low at 2048 (MSRs 0-0x1fff). */
static void msr_pass(u8 *bitmap, u32 msr, bool read, bool write)
{
    if (read)
        bitmap[msr / 8] &= (u8)~(1u << (msr % 8));
    if (write)
        bitmap[2048 + msr / 8] &= (u8)~(1u << (msr % 8));
}

/*
 * x2APIC mode (SDM 30.5): an RDMSR of 0x800-0x8ff that the bitmap lets
 * through reads the virtual-APIC page (with APIC-register virtualization;
 * without it only TPR), a WRMSR of TPR, and with virtual-interrupt delivery
 * of EOI and SELF IPI, is virtualized; any other access the bitmap let
 * through would reach the real local APIC. So reads pass for the
 * registers the page holds as x2APIC reads them (not PPR, which the model
 * computes; not the 64-bit ICR, whose high half the page keeps at 0x310;
 * not the timer's current count, nor the MSRs that #GP).
 */
static bool build_x2apic_bitmap(bool vid)
{
    static const u16 readable[] = {
        APIC_ID, APIC_VERSION, APIC_TPR, APIC_LDR, APIC_SVR, APIC_ESR,
        APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1,
        APIC_LVT_ERROR, APIC_TIMER_ICR, APIC_TIMER_DCR,
    };
    u64 pa = alloc_page();
    u8 *b;

    if (!pa)
        return false;
    b = phys_to_virt(pa);
    memcpy(b, phys_to_virt(vmx_policy->msr_bitmap), PAGE_SIZE);
    msr_pass(b, APIC_MSR(APIC_TPR), true, true);
    if (apicv.regs) {
        for (u32 i = 0; i < ARRAY_SIZE(readable); i++)
            msr_pass(b, APIC_MSR(readable[i]), true, false);
        for (u32 i = 0; i < 8; i++) {
            msr_pass(b, APIC_MSR(APIC_ISR + 16 * i), true, false);
            msr_pass(b, APIC_MSR(APIC_TMR + 16 * i), true, false);
            msr_pass(b, APIC_MSR(APIC_IRR + 16 * i), true, false);
        }
    }
    if (vid) {
        msr_pass(b, APIC_MSR(APIC_EOI), false, true);
        msr_pass(b, APIC_MSR(APIC_SELF_IPI), false, true);
    }
    apicv.x2apic_msr_bitmap[vid] = pa;
    return true;
}

bool apicv_init(void)
{
    const struct vmx_caps *c = &vmx_caps;
    u32 p2 = c->proc2.may_be_1;
    bool tpr = c->proc.may_be_1 & CPU_BASED_TPR_SHADOW;

    kprintf("turtle: vmx: APIC virtualization: %s%s%s%s%s%s\n",
            tpr ? "TPR shadow" : "no TPR shadow",
            p2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES ? ", APIC accesses" : "",
            p2 & SECONDARY_EXEC_APIC_REGISTER_VIRT ? ", APIC registers" : "",
            p2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY ? ", virtual interrupts" : "",
            p2 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE ? ", x2APIC mode" : "",
            !tpr ? "; not used" : turtle_opts.apicv_off ? "; off (apicv=off)" : "; in use");
    if (!tpr || turtle_opts.apicv_off)
        return true;
    apicv.tpr_shadow = true;
    apicv.access = p2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
    apicv.regs = p2 & SECONDARY_EXEC_APIC_REGISTER_VIRT;
    /* Virtual-interrupt delivery needs external-interrupt exiting (SDM
     * 26.2.1.1), which every vmcs01 has. */
    apicv.vid = (p2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) &&
                (vmx_policy->pin & PIN_BASED_EXT_INTR_MASK);
    apicv.x2apic = p2 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
    /* These controls are vmcs01's alone: vmcs02 is built from vmx_policy
     * (nested/vmcs02.c) and must never carry L1's virtual-APIC page. */
    ASSERT(!(vmx_policy->proc & CPU_BASED_TPR_SHADOW) &&
           !(vmx_policy->proc2 & (SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_APIC_REGISTER_VIRT |
                                  SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE)));
    return !apicv.x2apic || (build_x2apic_bitmap(false) && (!apicv.vid || build_x2apic_bitmap(true)));
}

bool apicv_vid(const struct vcpu *vcpu)
{
    return vcpu->apicv.vid && !vcpu->guest_mode;
}

/*
 * Controls and EPT01 for the vCPU's APIC mode (vmcs01 current): in x2APIC
 * mode "virtualize x2APIC mode" and its MSR bitmap; otherwise "virtualize
 * APIC accesses", with the APIC-access page mapped at the xAPIC base while
 * the xAPIC is enabled there. The page is mapped only at the default base,
 * whose EPT01 tables exist from the start: a relocated xAPIC page is
 * emulated through EPT violations as with apicv=off, and the guest sees
 * the same registers either way. Virtual-interrupt delivery only while the
 * APIC is software-enabled: a disabled APIC accepts no fixed interrupt
 * (11.4.7.2), but the CPU would still virtualize a self IPI; without it
 * the ICR, EOI and SELF IPI writes go to the model.
 */
static void choose_mode(struct vcpu *vcpu, bool vid)
{
    struct vcpu_apicv *a = &vcpu->apicv;
    const struct lapic *l = &vcpu->lapic;
    bool x2 = lapic_x2apic(l) && apicv.x2apic;
    bool map = apicv.access && lapic_mmio_enabled(l) && lapic_mmio_base(l) == APIC_DEFAULT_PHYS_BASE;
    u32 proc2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL) &
                ~(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE);

    if (x2)
        proc2 |= SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
    else if (apicv.access)
        proc2 |= SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
    proc2 = vid ? proc2 | SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY : proc2 & ~SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmcs_write64(MSR_BITMAP, x2 ? apicv.x2apic_msr_bitmap[vid] : vmx_policy->msr_bitmap);
    a->vid = vid;
    if (map != a->access_mapped) {
        u64 rwx = map ? VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK : 0;
        if (!ept_set_4k(NULL, vcpu->vm->ept_root, APIC_DEFAULT_PHYS_BASE, a->access_page, rwx, NULL))
            panic("EPT01 of '%s' lost its APIC-access page tables", vcpu->vm->name);
        ept_flush(vcpu->vm->eptp);
        vcpu->vm->ept_gen++;
        a->access_mapped = map;
    }
    a->apic_base = l->s.apic_base;
}

bool apicv_vcpu_init(struct vcpu *vcpu)
{
    const struct vmx_caps *c = &vmx_caps;
    struct vcpu_apicv *a = &vcpu->apicv;

    *a = (struct vcpu_apicv){ 0 };
    if (!apicv.tpr_shadow)
        return true;
    a->vapic_page = alloc_page();
    if (!a->vapic_page)
        return false;
    a->vapic = phys_to_virt(a->vapic_page);
    if (apicv.access) {
        /* EPT01's tables for the default xAPIC base, built now with the
         * leaf not present, so that mapping it later allocates nothing.
         * After a reset the tables are there already: the leaf is set
         * again, not present. */
        a->access_page = alloc_page();
        if (!a->access_page ||
            !ept_set_4k(NULL, vcpu->vm->ept_root, APIC_DEFAULT_PHYS_BASE, a->access_page, 0, NULL)) {
            apicv_vcpu_free(vcpu);
            return false;
        }
        vcpu->vm->ept_gen++;
        vmcs_write64(APIC_ACCESS_ADDR, a->access_page);
    }
    vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, a->vapic_page);
    vmcs_write32(TPR_THRESHOLD, 0);
    /* CR8 goes to the virtual-APIC page's TPR (SDM 30.3), unless the CPU
     * insists on the exits. */
    u32 proc = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
    proc &= ~(CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING);
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc | c->proc.must_be_1 | CPU_BASED_TPR_SHADOW);
    u32 proc2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL);
    if (apicv.regs)
        proc2 |= SECONDARY_EXEC_APIC_REGISTER_VIRT;
    if (apicv.vid) {                    /* turned on by choose_mode() */
        vmcs_write64(EOI_EXIT_BITMAP0, 0);
        vmcs_write64(EOI_EXIT_BITMAP1, 0);
        vmcs_write64(EOI_EXIT_BITMAP2, 0);
        vmcs_write64(EOI_EXIT_BITMAP3, 0);
        vmcs_write16(GUEST_INTR_STATUS, 0);
    }
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2);
    a->apic_base = ~0ULL;               /* choose_mode() at the first push */
    a->dirty = true;
    return true;
}

void apicv_vcpu_free(struct vcpu *vcpu)
{
    struct vcpu_apicv *a = &vcpu->apicv;

    /* EPT01 no longer names the page once it is freed (a reset keeps
     * EPT01; vm_free() flushes it as a whole). */
    if (a->access_mapped) {
        if (ept_set_4k(NULL, vcpu->vm->ept_root, APIC_DEFAULT_PHYS_BASE, 0, 0, NULL))
            ept_flush(vcpu->vm->eptp);
        vcpu->vm->ept_gen++;
        a->access_mapped = false;
    }
    if (a->access_page)
        free_pages(a->access_page, 1);
    if (a->vapic_page)
        free_pages(a->vapic_page, 1);
    a->access_page = a->vapic_page = 0;
}

void apicv_push(struct vcpu *vcpu)
{
    struct vcpu_apicv *a = &vcpu->apicv;
    const struct lapic *l = &vcpu->lapic;

    bool vid = apicv.vid && lapic_sw_enabled(l);

    a->dirty = false;
    if (l->s.apic_base != a->apic_base || vid != a->vid)
        choose_mode(vcpu, vid);
    lapic_vapic_store(l, a->vapic);
    if (!vid) {
        a->status = 0;
        vmcs_write32(TPR_THRESHOLD, lapic_tpr_threshold(l));
        return;
    }
    a->status = lapic_vapic_intr_status(l);
    vmcs_write16(GUEST_INTR_STATUS, a->status);
    u64 eoi[4];
    lapic_eoi_exit_bitmap(l, eoi);
    if (eoi[0] != a->eoi_exit[0] || eoi[1] != a->eoi_exit[1] || eoi[2] != a->eoi_exit[2] ||
        eoi[3] != a->eoi_exit[3]) {
        vmcs_write64(EOI_EXIT_BITMAP0, eoi[0]);
        vmcs_write64(EOI_EXIT_BITMAP1, eoi[1]);
        vmcs_write64(EOI_EXIT_BITMAP2, eoi[2]);
        vmcs_write64(EOI_EXIT_BITMAP3, eoi[3]);
        memcpy(a->eoi_exit, eoi, sizeof(eoi));
    }
}

/*
 * What the CPU may have written while L1 ran: TPR (CR8, MMIO, WRMSR), the
 * ICR (a virtualized self-IPI, an ICR-high write) and, with virtual-
 * interrupt delivery, IRR and ISR. Those two change only while RVI or SVI
 * is non-zero at the entry or at the exit (a self-IPI raises RVI; an EOI
 * of the last vector in service leaves SVI 0): otherwise they are the
 * model's and are not read again.
 */
void apicv_pull(struct vcpu *vcpu)
{
    struct vcpu_apicv *a = &vcpu->apicv;
    const struct lapic_state *s = &vcpu->lapic.s;
    const u32 *p = a->vapic;
    u16 st = a->vid ? vmcs_read16(GUEST_INTR_STATUS) : 0;
    bool irr_isr = st || a->status;

    a->stale = false;
    /* Most pulls find nothing written: that answer is quick. */
    if (!irr_isr && p[APIC_TPR / 4] == s->tpr && p[APIC_ICR / 4] == s->icr_lo &&
        p[APIC_ICR2 / 4] == s->icr_hi)
        return;
    a->status = st;
    if (lapic_vapic_load(&vcpu->lapic, p, irr_isr))
        a->dirty = true;
}
