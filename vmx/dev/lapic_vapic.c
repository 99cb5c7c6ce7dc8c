/*
 * The LAPIC model and the virtual-APIC page (SDM Vol. 3C 30.1-30.6).
 * With APIC virtualization the CPU serves register reads from the page,
 * keeps TPR there (TPR shadow) and, with virtual-interrupt delivery, moves
 * vectors between its IRR and ISR by itself (delivery, EOI and self-IPI
 * virtualization). The model remains the one source of truth: the platform
 * stores it into the page before an entry whenever it changed, and loads
 * back after an exit only what the CPU may have written. Pure logic:
 * tests/unit/test_lapic_vapic.c runs it on the host.
 */
#include "vmx/dev/lapic_priv.h"

#define PAGE_REG(off)       ((off) / 4)

void lapic_vapic_store(const struct lapic *l, u32 *page)
{
    const struct lapic_state *s = &l->s;

    page[PAGE_REG(APIC_ID)] = s->id;
    page[PAGE_REG(APIC_VERSION)] = APIC_VERSION_VALUE;
    page[PAGE_REG(APIC_TPR)] = s->tpr;
    page[PAGE_REG(APIC_APR)] = lapic_apr(l);
    page[PAGE_REG(APIC_PPR)] = lapic_ppr(l);
    page[PAGE_REG(APIC_EOI)] = 0;
    page[PAGE_REG(APIC_LDR)] = s->ldr;
    page[PAGE_REG(APIC_DFR)] = s->dfr;
    page[PAGE_REG(APIC_SVR)] = s->svr;
    for (u32 i = 0; i < 8; i++) {
        page[PAGE_REG(APIC_ISR + 16 * i)] = s->isr[i];
        page[PAGE_REG(APIC_TMR + 16 * i)] = s->tmr[i];
        page[PAGE_REG(APIC_IRR + 16 * i)] = s->irr[i];
    }
    page[PAGE_REG(APIC_ESR)] = s->esr;
    page[PAGE_REG(APIC_ICR)] = s->icr_lo;
    page[PAGE_REG(APIC_ICR2)] = s->icr_hi;
    for (u32 i = 0; i < LAPIC_NR_LVT; i++)
        page[PAGE_REG(APIC_LVT_TIMER + 16 * i)] = s->lvt[i];
    page[PAGE_REG(APIC_TIMER_ICR)] = s->timer_initial;
    page[PAGE_REG(APIC_TIMER_DCR)] = s->timer_dcr;
}

bool lapic_vapic_load(struct lapic *l, const u32 *page, bool irr_isr)
{
    struct lapic_state *s = &l->s;
    u32 tpr = page[PAGE_REG(APIC_TPR)];

    /* A 32-bit MMIO write stores all of VTPR; the register keeps 7:0. */
    s->tpr = tpr & 0xff;
    s->icr_lo = page[PAGE_REG(APIC_ICR)] & APIC_ICR_WRITABLE;
    s->icr_hi = page[PAGE_REG(APIC_ICR2)] & (lapic_x2apic(l) ? ~0u : APIC_ICR2_WRITABLE);
    if (irr_isr) {
        for (u32 i = 0; i < 8; i++) {
            s->irr[i] = page[PAGE_REG(APIC_IRR + 16 * i)];
            s->isr[i] = page[PAGE_REG(APIC_ISR + 16 * i)];
        }
    }
    return tpr != s->tpr;
}

u16 lapic_vapic_intr_status(const struct lapic *l)
{
    int rvi = lapic_sw_enabled(l) ? lapic_vec_highest(l->s.irr) : -1;
    int svi = lapic_vec_highest(l->s.isr);

    return (u16)((rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi << 8));
}

void lapic_eoi_exit_bitmap(const struct lapic *l, u64 bitmap[4])
{
    for (u32 i = 0; i < 4; i++)
        bitmap[i] = l->s.tmr[2 * i] | (u64)l->s.tmr[2 * i + 1] << 32;
}

u32 lapic_tpr_threshold(const struct lapic *l)
{
    int irrv = lapic_sw_enabled(l) ? lapic_vec_highest(l->s.irr) : -1;
    int isrv = lapic_vec_highest(l->s.isr);
    u32 irr_class = irrv < 0 ? 0 : (u32)irrv >> 4;
    u32 isr_class = isrv < 0 ? 0 : (u32)isrv >> 4;
    u32 tpr_class = (l->s.tpr & APIC_PRIO_CLASS) >> 4;

    if (irrv < 0 || irr_class <= isr_class || irr_class > tpr_class)
        return 0;
    return irr_class;
}
