/*
 * A local APIC as KVM_GET_LAPIC gives it (each register at its xAPIC
 * offset in a 1 KiB page; x2APIC's ID is the whole register) and its timer,
 * with times relative to L1's TSC at the snapshot.
 */
#include "kernel/mm.h"
#include "snapshot/snap_int.h"
#include "vmx/vcpu.h"
#include "vmx/dev/lapic_priv.h"

static void put32(struct tsnap_kvm_lapic_state *p, u32 off, u32 v)
{
    memcpy(p->regs + off, &v, 4);
}

static u32 get32(const struct tsnap_kvm_lapic_state *p, u32 off)
{
    u32 v;

    memcpy(&v, p->regs + off, 4);
    return v;
}

static s64 rel_or_none(u64 t, u64 tsc)
{
    return t == DEV_NO_DEADLINE ? TSNAP_NO_DEADLINE_REL : snap_rel(t, tsc);
}

static u64 abs_or_none(s64 rel, u64 now)
{
    return rel == TSNAP_NO_DEADLINE_REL ? DEV_NO_DEADLINE : snap_abs(rel, now);
}

void snap_lapic_save(const struct vcpu *vcpu, u64 tsc, struct tsnap_kvm_lapic_state *p,
                     struct tsnap_dev_lapic_timer *t)
{
    const struct lapic_state *s = &vcpu->lapic.s;

    memset(p, 0, sizeof(*p));
    put32(p, APIC_ID, s->id);
    put32(p, APIC_VERSION, APIC_VERSION_VALUE);
    put32(p, APIC_TPR, s->tpr);
    put32(p, APIC_APR, lapic_apr(&vcpu->lapic));
    put32(p, APIC_PPR, lapic_ppr(&vcpu->lapic));
    put32(p, APIC_LDR, s->ldr);
    put32(p, APIC_DFR, s->dfr);
    put32(p, APIC_SVR, s->svr);
    for (u32 i = 0; i < 8; i++) {
        put32(p, APIC_ISR + 16 * i, s->isr[i]);
        put32(p, APIC_TMR + 16 * i, s->tmr[i]);
        put32(p, APIC_IRR + 16 * i, s->irr[i]);
    }
    put32(p, APIC_ESR, s->esr);
    put32(p, APIC_ICR, s->icr_lo);
    put32(p, APIC_ICR2, s->icr_hi);
    for (u32 i = 0; i < LAPIC_NR_LVT; i++)
        put32(p, APIC_LVT_TIMER + 16 * i, s->lvt[i]);
    put32(p, APIC_TIMER_ICR, s->timer_initial);
    put32(p, APIC_TIMER_DCR, s->timer_dcr);

    t->start_rel = snap_rel(s->timer_start, tsc);
    t->next_rel = rel_or_none(s->timer_next, tsc);
    t->tsc_deadline_rel = s->tsc_deadline ? snap_rel(s->tsc_deadline, tsc) : TSNAP_NO_DEADLINE_REL;
    t->tsc_per_tick = vcpu->lapic.cfg.tsc_per_tick;
    t->pad0 = 0;
}

/* The registers are taken as stored: restore.c has checked the page's
 * reserved bits are those a LAPIC could hold. */
void snap_lapic_load(struct vcpu *vcpu, u64 now, const struct tsnap_kvm_lapic_state *p,
                     const struct tsnap_dev_lapic_timer *t)
{
    struct lapic_state *s = &vcpu->lapic.s;

    s->id = get32(p, APIC_ID);
    s->tpr = get32(p, APIC_TPR);
    s->ldr = get32(p, APIC_LDR);
    s->dfr = get32(p, APIC_DFR);
    s->svr = get32(p, APIC_SVR);
    for (u32 i = 0; i < 8; i++) {
        s->isr[i] = get32(p, APIC_ISR + 16 * i);
        s->tmr[i] = get32(p, APIC_TMR + 16 * i);
        s->irr[i] = get32(p, APIC_IRR + 16 * i);
    }
    s->esr = get32(p, APIC_ESR);
    s->icr_lo = get32(p, APIC_ICR);
    s->icr_hi = get32(p, APIC_ICR2);
    for (u32 i = 0; i < LAPIC_NR_LVT; i++)
        s->lvt[i] = get32(p, APIC_LVT_TIMER + 16 * i) &
                    (lapic_lvt_writable[i] | APIC_LVT_DS | APIC_LVT_REMOTE_IRR);
    s->timer_initial = get32(p, APIC_TIMER_ICR);
    s->timer_dcr = get32(p, APIC_TIMER_DCR);
    s->timer_start = snap_abs(t->start_rel, now);
    s->timer_next = abs_or_none(t->next_rel, now);
    s->tsc_deadline = t->tsc_deadline_rel == TSNAP_NO_DEADLINE_REL ? 0 : snap_abs(t->tsc_deadline_rel, now);
    if (t->tsc_per_tick)
        vcpu->lapic.cfg.tsc_per_tick = t->tsc_per_tick;
}
