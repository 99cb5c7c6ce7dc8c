/*
 * The LAPIC register file, reached through the xAPIC MMIO page or the
 * x2APIC MSRs (SDM Vol. 3A 11.4.1 table 11-1, 11.12.1.2 table 11-6), and
 * the MSRs IA32_APIC_BASE and IA32_TSC_DEADLINE. One set of registers
 * serves both interfaces; what differs is the access rules:
 * - xAPIC: 32-bit registers on 16-byte boundaries. Reads of 1/2/4 bytes
 *   return bytes of the register's low dword; writes other than 4 bytes
 *   at a 16-byte boundary are dropped; reserved offsets read 0, drop
 *   writes and set ESR "illegal register address"; writes to read-only
 *   registers are ignored.
 * - x2APIC: every rule breach is #GP: reserved bits, read-only registers
 *   written, write-only registers (EOI, SELF IPI) read, MSRs with no
 *   register (APR, DFR, ICR high, remote read, CMCI), and any MSR
 *   0x800-0x8ff outside x2APIC mode.
 * Each access first brings the timer up to `now`.
 */
#include "vmx/dev/lapic_priv.h"

static bool is_lvt(u32 reg)
{
    return reg >= APIC_LVT_TIMER && reg <= APIC_LVT_ERROR;
}

static u32 lvt_index(u32 reg)
{
    return (reg - APIC_LVT_TIMER) >> 4;
}

/* A 16-byte aligned register both interfaces read the same way (the ID
 * register holds the mode's own format). false: no such register. */
static bool read_reg(struct lapic *l, u64 now, u32 reg, u32 *val)
{
    const struct lapic_state *s = &l->s;

    if (reg >= APIC_ISR && reg < APIC_TMR) {
        *val = s->isr[(reg - APIC_ISR) >> 4];
        return true;
    }
    if (reg >= APIC_TMR && reg < APIC_IRR) {
        *val = s->tmr[(reg - APIC_TMR) >> 4];
        return true;
    }
    if (reg >= APIC_IRR && reg < APIC_ESR) {
        *val = s->irr[(reg - APIC_IRR) >> 4];
        return true;
    }
    if (is_lvt(reg)) {
        *val = s->lvt[lvt_index(reg)];
        return true;
    }
    switch (reg) {
    case APIC_ID:           *val = s->id; return true;
    case APIC_VERSION:      *val = APIC_VERSION_VALUE; return true;
    case APIC_TPR:          *val = s->tpr; return true;
    case APIC_APR:          *val = lapic_apr(l); return true;
    case APIC_PPR:          *val = lapic_ppr(l); return true;
    case APIC_EOI:          *val = 0; return true;
    case APIC_LDR:          *val = s->ldr; return true;
    case APIC_DFR:          *val = s->dfr; return true;
    case APIC_SVR:          *val = s->svr; return true;
    case APIC_ESR:          *val = s->esr; return true;
    case APIC_ICR:          *val = s->icr_lo; return true;
    case APIC_ICR2:         *val = s->icr_hi; return true;
    case APIC_TIMER_ICR:    *val = s->timer_initial; return true;
    case APIC_TIMER_CCR:    *val = lapic_timer_ccr(l, now); return true;
    case APIC_TIMER_DCR:    *val = s->timer_dcr; return true;
    default:                return false;
    }
}

/* ESR write (11.5.3): the errors gathered since the last write become
 * readable, and gathering starts again. */
static void write_esr(struct lapic *l)
{
    l->s.esr = l->s.esr_pending;
    l->s.esr_pending = 0;
}

int lapic_mmio_read(struct lapic *l, u64 now, u32 offset, u32 size, u64 *val)
{
    u32 reg = offset & 0xff0, v = 0;

    *val = 0;
    if (!lapic_mmio_enabled(l) || offset >= 0x1000)
        return LAPIC_OK;
    lapic_advance(l, now);
    if (reg >= APIC_REG_END || !read_reg(l, now, reg, &v)) {
        lapic_error(l, APIC_ESR_ILLEGAL_REG);
        return LAPIC_OK;
    }
    v >>= 8 * (offset & 3);
    if (size == 1)
        v &= 0xff;
    else if (size == 2)
        v &= 0xffff;
    *val = v;
    return LAPIC_OK;
}

int lapic_mmio_write(struct lapic *l, u64 now, u32 offset, u32 size, u64 val64)
{
    struct lapic_state *s = &l->s;
    u32 reg = offset & 0xff0, val = (u32)val64, dummy;

    if (!lapic_mmio_enabled(l) || offset >= 0x1000 || size != 4 || (offset & 0xf))
        return LAPIC_OK;
    lapic_advance(l, now);
    if (is_lvt(reg)) {
        lapic_write_lvt(l, lvt_index(reg), val);
        return LAPIC_OK;
    }
    switch (reg) {
    case APIC_ID:           s->id = val & 0xff000000u; break;
    case APIC_TPR:          s->tpr = val & 0xff; break;
    case APIC_EOI:          lapic_eoi(l); break;
    case APIC_LDR:          s->ldr = val & 0xff000000u; break;
    case APIC_DFR:          s->dfr = (val & 0xf0000000u) | APIC_DFR_RESERVED_ONES; break;
    case APIC_SVR:          lapic_write_svr(l, val); break;
    case APIC_ESR:          write_esr(l); break;
    case APIC_ICR:
        s->icr_lo = val & APIC_ICR_WRITABLE;
        lapic_send_ipi(l, s->icr_lo, s->icr_hi);
        break;
    case APIC_ICR2:         s->icr_hi = val & APIC_ICR2_WRITABLE; break;
    case APIC_TIMER_ICR:    lapic_timer_write_icr(l, now, val); break;
    case APIC_TIMER_DCR:    lapic_timer_write_dcr(l, now, val); break;
    default:
        /* Read-only registers ignore writes; reserved ones are errors. */
        if (reg >= APIC_REG_END || !read_reg(l, now, reg, &dummy))
            lapic_error(l, APIC_ESR_ILLEGAL_REG);
        break;
    }
    return LAPIC_OK;
}

bool lapic_msr_owned(u32 msr)
{
    return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
           (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

static int x2apic_read(struct lapic *l, u64 now, u32 reg, u64 *val)
{
    u32 v;

    switch (reg) {
    case APIC_EOI:          /* write-only */
    case APIC_SELF_IPI:
    case APIC_APR:          /* no x2APIC MSR */
    case APIC_DFR:
    case APIC_ICR2:
        return LAPIC_GP;
    case APIC_ICR:
        *val = ((u64)l->s.icr_hi << 32) | l->s.icr_lo;
        return LAPIC_OK;
    default:
        if (!read_reg(l, now, reg, &v))
            return LAPIC_GP;
        *val = v;
        return LAPIC_OK;
    }
}

static int x2apic_write_lvt(struct lapic *l, u32 idx, u64 val)
{
    u32 ok = lapic_lvt_writable[idx] | APIC_LVT_DS | APIC_LVT_REMOTE_IRR;

    if (val & ~(u64)ok)
        return LAPIC_GP;
    if (idx == LAPIC_LVT_TIMER && (val & APIC_LVT_TIMER_MODE) == APIC_LVT_TIMER_MODE)
        return LAPIC_GP;
    lapic_write_lvt(l, idx, (u32)val);
    return LAPIC_OK;
}

static int x2apic_write(struct lapic *l, u64 now, u32 reg, u64 val)
{
    struct lapic_state *s = &l->s;

    /* Only the ICR is 64 bits wide. */
    if (reg != APIC_ICR && (val >> 32))
        return LAPIC_GP;
    if (is_lvt(reg))
        return x2apic_write_lvt(l, lvt_index(reg), val);
    switch (reg) {
    case APIC_TPR:
        if (val & ~0xffull)
            return LAPIC_GP;
        s->tpr = (u32)val;
        return LAPIC_OK;
    case APIC_EOI:
        if (val)
            return LAPIC_GP;
        lapic_eoi(l);
        return LAPIC_OK;
    case APIC_SVR:
        if (val & ~(u64)APIC_SVR_WRITABLE)
            return LAPIC_GP;
        lapic_write_svr(l, (u32)val);
        return LAPIC_OK;
    case APIC_ESR:
        if (val)
            return LAPIC_GP;
        write_esr(l);
        return LAPIC_OK;
    case APIC_ICR:
        if ((u32)val & X2APIC_ICR_RESERVED)
            return LAPIC_GP;
        s->icr_lo = (u32)val;
        s->icr_hi = (u32)(val >> 32);
        lapic_send_ipi(l, s->icr_lo, s->icr_hi);
        return LAPIC_OK;
    case APIC_TIMER_ICR:
        lapic_timer_write_icr(l, now, (u32)val);
        return LAPIC_OK;
    case APIC_TIMER_DCR:
        if (val & ~(u64)APIC_DCR_WRITABLE)
            return LAPIC_GP;
        lapic_timer_write_dcr(l, now, (u32)val);
        return LAPIC_OK;
    case APIC_SELF_IPI:     /* 11.12.11: a fixed, edge IPI to self */
        if (val & ~0xffull)
            return LAPIC_GP;
        lapic_send_ipi(l, (u32)val | (APIC_ICR_SH_SELF << APIC_ICR_SH_SHIFT), 0);
        return LAPIC_OK;
    default:                /* read-only or no such register */
        return LAPIC_GP;
    }
}

int lapic_msr_read(struct lapic *l, u64 now, u32 msr, u64 *val)
{
    *val = 0;
    if (msr == MSR_IA32_APIC_BASE) {
        *val = l->s.apic_base;
        return LAPIC_OK;
    }
    lapic_advance(l, now);
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *val = lapic_timer_read_deadline(l);
        return LAPIC_OK;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !lapic_x2apic(l))
        return LAPIC_GP;
    return x2apic_read(l, now, (msr - MSR_X2APIC_FIRST) << 4, val);
}

int lapic_msr_write(struct lapic *l, u64 now, u32 msr, u64 val)
{
    if (msr == MSR_IA32_APIC_BASE)
        return lapic_write_apic_base(l, val);
    lapic_advance(l, now);
    if (msr == MSR_IA32_TSC_DEADLINE) {
        lapic_timer_write_deadline(l, now, val);
        return LAPIC_OK;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !lapic_x2apic(l))
        return LAPIC_GP;
    return x2apic_write(l, now, (msr - MSR_X2APIC_FIRST) << 4, val);
}
