/*
 * Local APIC model: state, IA32_APIC_BASE and its mode transitions,
 * priorities, acceptance of messages, EOI, the ICR and the LINT inputs.
 * SDM Vol. 3A chapter 11; the register file is lapic_access.c, the
 * timer lapic_timer.c.
 */
#include "vmx/dev/lapic_priv.h"
#include "kernel/mm.h"

int lapic_vec_highest(const u32 *r)
{
    for (int w = 7; w >= 0; w--)
        if (r[w])
            return w * 32 + 31 - __builtin_clz(r[w]);
    return -1;
}

/* x2APIC logical ID (11.12.10.2): cluster = ID[31:4] in LDR[31:16],
 * one bit for ID[3:0] in LDR[15:0]. */
static u32 x2apic_ldr(u32 id)
{
    return ((id >> 4) << 16) | ((u32)1 << (id & 0xf));
}

/* The register state after RESET or after a global disable (11.4.7.1):
 * everything cleared except the ID, every LVT masked, SVR 0xff, DFR all
 * ones. IA32_APIC_BASE and the pending NMI/INIT/SIPI are the caller's. */
static void reset_registers(struct lapic *l)
{
    struct lapic_state *s = &l->s;

    s->id = (l->cfg.apic_id & 0xff) << 24;
    s->tpr = 0;
    s->ldr = 0;
    s->dfr = 0xffffffff;
    s->svr = APIC_SVR_RESET;
    s->esr = 0;
    s->esr_pending = 0;
    s->icr_lo = 0;
    s->icr_hi = 0;
    for (u32 i = 0; i < LAPIC_NR_LVT; i++)
        s->lvt[i] = APIC_LVT_RESET;
    s->timer_initial = 0;
    s->timer_dcr = 0;
    s->timer_start = 0;
    s->timer_next = DEV_NO_DEADLINE;
    s->tsc_deadline = 0;
    memset(s->irr, 0, sizeof(s->irr));
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    s->extint_pending = false;
}

void lapic_reset(struct lapic *l, const struct lapic_config *cfg)
{
    memset(l, 0, sizeof(*l));
    l->cfg = *cfg;
    if (l->cfg.tsc_per_tick == 0)
        l->cfg.tsc_per_tick = 1;
    if (l->cfg.tsc_per_tick > 65536)
        l->cfg.tsc_per_tick = 65536;   /* keeps count * 128 * ratio in 64 bits */
    if (l->cfg.phys_bits < 32 || l->cfg.phys_bits > 52)
        l->cfg.phys_bits = 36;
    l->s.apic_base = APIC_DEFAULT_PHYS_BASE | APIC_BASE_EN |
                     (cfg->bsp ? APIC_BASE_BSP : 0);
    reset_registers(l);
}

bool lapic_x2apic(const struct lapic *l)
{
    return (l->s.apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) ==
           (APIC_BASE_EN | APIC_BASE_EXTD);
}

bool lapic_sw_enabled(const struct lapic *l)
{
    return lapic_hw_enabled(l) && (l->s.svr & APIC_SVR_ENABLE);
}

bool lapic_mmio_enabled(const struct lapic *l)
{
    return lapic_hw_enabled(l) && !lapic_x2apic(l);
}

u64 lapic_mmio_base(const struct lapic *l)
{
    return l->s.apic_base & APIC_BASE_ADDR_MASK;
}

/*
 * IA32_APIC_BASE write (11.4.4, 11.12.5.1). #GP for reserved bits (0-7,
 * 9, MAXPHYADDR and up), for EN=0 with EXTD=1, and for the transitions
 * the SDM forbids: x2APIC -> xAPIC and disabled -> x2APIC. BSP is the
 * platform's and is kept. Disabling resets the register state; entering
 * x2APIC mode gives the 32-bit ID and the derived LDR.
 */
int lapic_write_apic_base(struct lapic *l, u64 val)
{
    u64 reserved = 0xffull | BIT(9) | ~((BIT(l->cfg.phys_bits) - 1));
    u64 old = l->s.apic_base;
    bool old_en = old & APIC_BASE_EN, old_x2 = lapic_x2apic(l);
    bool en = val & APIC_BASE_EN, x2 = en && (val & APIC_BASE_EXTD);

    val &= ~APIC_BASE_BSP;
    if (val & reserved)
        return LAPIC_GP;
    if (!en && (val & APIC_BASE_EXTD))
        return LAPIC_GP;
    if (old_x2 && en && !x2)
        return LAPIC_GP;
    if (!old_en && x2)
        return LAPIC_GP;

    l->s.apic_base = val | (old & APIC_BASE_BSP);
    if (old_en && !en) {
        reset_registers(l);
    } else if (!old_x2 && x2) {
        l->s.id = l->cfg.apic_id;
        l->s.ldr = x2apic_ldr(l->cfg.apic_id);
    }
    return LAPIC_OK;
}

u32 lapic_ppr(const struct lapic *l)
{
    int isrv = lapic_vec_highest(l->s.isr);
    u32 isr_class = isrv < 0 ? 0 : (u32)isrv & APIC_PRIO_CLASS;

    if ((l->s.tpr & APIC_PRIO_CLASS) >= isr_class)
        return l->s.tpr & 0xff;
    return isr_class;
}

/* 11.6.2.4: APR from TPR, the highest ISR vector and the highest IRR
 * vector (used by lowest-priority arbitration). */
u32 lapic_apr(const struct lapic *l)
{
    int isrv = lapic_vec_highest(l->s.isr), irrv = lapic_vec_highest(l->s.irr);
    u32 tpr_c = l->s.tpr & APIC_PRIO_CLASS;
    u32 isr_c = isrv < 0 ? 0 : (u32)isrv & APIC_PRIO_CLASS;
    u32 irr_c = irrv < 0 ? 0 : (u32)irrv & APIC_PRIO_CLASS;

    if (tpr_c >= irr_c && tpr_c > isr_c)
        return l->s.tpr & 0xff;
    return MAX(tpr_c, MAX(isr_c, irr_c));
}

u64 lapic_read_cr8(const struct lapic *l)
{
    return (l->s.tpr >> 4) & 0xf;
}

void lapic_write_cr8(struct lapic *l, u64 cr8)
{
    l->s.tpr = (u32)(cr8 & 0xf) << 4;
}

void lapic_error(struct lapic *l, u32 bits)
{
    u32 fresh = bits & ~l->s.esr_pending;
    u32 lvt = l->s.lvt[LAPIC_LVT_ERROR];

    l->s.esr_pending |= bits;
    if (!fresh || (lvt & APIC_LVT_MASKED) || !lapic_sw_enabled(l))
        return;
    /* An illegal vector in the error LVT itself only records the error:
     * no recursion. */
    if ((lvt & APIC_LVT_VECTOR) < 16) {
        l->s.esr_pending |= APIC_ESR_RECV_ILLEGAL;
        return;
    }
    vec_set(l->s.irr, lvt & APIC_LVT_VECTOR);
    vec_clear(l->s.tmr, lvt & APIC_LVT_VECTOR);
}

/* A fixed interrupt reaching IRR: vectors 0-15 are illegal (11.5.3). */
static bool accept_fixed(struct lapic *l, u8 vector, bool level)
{
    if (vector < 16) {
        lapic_error(l, APIC_ESR_RECV_ILLEGAL);
        return false;
    }
    vec_set(l->s.irr, vector);
    if (level)
        vec_set(l->s.tmr, vector);
    else
        vec_clear(l->s.tmr, vector);
    return true;
}

bool lapic_accept(struct lapic *l, const struct apic_msg *msg)
{
    if (!lapic_hw_enabled(l))
        return false;
    switch (msg->delivery_mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        /* A software-disabled APIC takes no fixed interrupts (11.4.7.2). */
        if (!lapic_sw_enabled(l))
            return false;
        return accept_fixed(l, msg->vector, msg->level);
    case APIC_DM_NMI:
        l->s.nmi_pending = true;
        return true;
    case APIC_DM_INIT:
        l->s.init_pending = true;
        return true;
    case APIC_DM_STARTUP:
        l->s.sipi_pending = true;
        l->s.sipi_vector = msg->vector;
        return true;
    case APIC_DM_EXTINT:
        l->s.extint_pending = true;
        return true;
    default:            /* SMI: no SMM here; reserved modes */
        return false;
    }
}

bool lapic_match_dest(const struct lapic *l, u32 dest, bool logical)
{
    u32 d8 = dest & 0xff, ldr8 = l->s.ldr >> 24;

    if (!lapic_hw_enabled(l))
        return false;
    if (lapic_x2apic(l)) {
        if (dest == APIC_BROADCAST_X2APIC)
            return true;
        if (!logical)
            return dest == l->s.id;
        return (dest >> 16) == (l->s.ldr >> 16) && (dest & l->s.ldr & 0xffff);
    }
    if (d8 == APIC_BROADCAST_XAPIC)
        return true;
    if (!logical)
        return d8 == l->s.id >> 24;
    switch (l->s.dfr >> APIC_DFR_MODEL_SHIFT) {
    case APIC_DFR_FLAT:
        return (d8 & ldr8) != 0;
    case APIC_DFR_CLUSTER:
        return (d8 >> 4) == (ldr8 >> 4) && (d8 & ldr8 & 0xf);
    default:
        return false;
    }
}

void lapic_deliver_lvt(struct lapic *l, u32 idx)
{
    u32 lvt = l->s.lvt[idx];
    u32 dm = (lvt & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT;
    bool lint = idx == LAPIC_LVT_LINT0 || idx == LAPIC_LVT_LINT1;
    bool level = lint && (lvt & APIC_LVT_LEVEL);

    if (lvt & APIC_LVT_MASKED)
        return;
    /* The timer and error entries have no delivery-mode field. */
    if (idx == LAPIC_LVT_TIMER || idx == LAPIC_LVT_ERROR)
        dm = APIC_DM_FIXED;
    switch (dm) {
    case APIC_DM_FIXED:
        if (accept_fixed(l, lvt & APIC_LVT_VECTOR, level) && level)
            l->s.lvt[idx] |= APIC_LVT_REMOTE_IRR;
        break;
    case APIC_DM_NMI:
        l->s.nmi_pending = true;
        break;
    case APIC_DM_INIT:
        l->s.init_pending = true;
        break;
    case APIC_DM_EXTINT:
        l->s.extint_pending = true;
        break;
    default:            /* SMI, reserved */
        break;
    }
}

/*
 * LINT0/LINT1 input (11.5.1). An edge-triggered entry delivers on the
 * rising edge; a level-triggered fixed entry delivers while the line is
 * high and remote IRR is clear. With the APIC globally disabled, LINT1
 * is the NMI pin; LINT0 (INTR) is the PIC's, see lapic_accepts_pic().
 */
void lapic_set_lint(void *ctx, u32 pin, bool level)
{
    struct lapic *l = ctx;
    u32 idx, lvt;
    bool was;

    if (pin > 1)
        return;
    was = (l->s.lint_level >> pin) & 1;
    l->s.lint_level = (u8)((l->s.lint_level & ~(1u << pin)) | ((u32)level << pin));
    if (!lapic_hw_enabled(l)) {
        if (pin == 1 && level && !was)
            l->s.nmi_pending = true;
        return;
    }
    idx = pin ? LAPIC_LVT_LINT1 : LAPIC_LVT_LINT0;
    lvt = l->s.lvt[idx];
    if (!level)
        return;
    if ((lvt & APIC_LVT_LEVEL) &&
        ((lvt & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT) == APIC_DM_FIXED) {
        if (!(lvt & APIC_LVT_REMOTE_IRR))
            lapic_deliver_lvt(l, idx);
    } else if (!was) {
        lapic_deliver_lvt(l, idx);
    }
}

bool lapic_accepts_pic(const struct lapic *l)
{
    u32 lvt = l->s.lvt[LAPIC_LVT_LINT0];

    if (!lapic_hw_enabled(l))
        return true;
    return !(lvt & APIC_LVT_MASKED) &&
           ((lvt & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT) == APIC_DM_EXTINT;
}

int lapic_pending_vector(const struct lapic *l)
{
    int v;

    if (!lapic_sw_enabled(l))
        return -1;
    v = lapic_vec_highest(l->s.irr);
    if (v < 0 || ((u32)v & APIC_PRIO_CLASS) <= (lapic_ppr(l) & APIC_PRIO_CLASS))
        return -1;
    return v;
}

void lapic_ack(struct lapic *l, u8 vector)
{
    vec_clear(l->s.irr, vector);
    vec_set(l->s.isr, vector);
}

bool lapic_take_nmi(struct lapic *l)
{
    bool p = l->s.nmi_pending;

    l->s.nmi_pending = false;
    return p;
}

bool lapic_take_init(struct lapic *l)
{
    bool p = l->s.init_pending;

    l->s.init_pending = false;
    return p;
}

int lapic_take_sipi(struct lapic *l)
{
    if (!l->s.sipi_pending)
        return -1;
    l->s.sipi_pending = false;
    return l->s.sipi_vector;
}

bool lapic_take_extint(struct lapic *l)
{
    bool p = l->s.extint_pending;

    l->s.extint_pending = false;
    return p;
}

/*
 * EOI (11.8.5): clears the highest ISR bit. A level-triggered vector
 * (TMR set) is broadcast to the IOAPICs (no EOI-broadcast suppression:
 * the version register does not offer it), and clears the remote IRR of
 * a level-triggered LINT entry with that vector.
 */
void lapic_eoi(struct lapic *l)
{
    int v = lapic_vec_highest(l->s.isr);

    if (v >= 0)
        lapic_eoi_vector(l, (u8)v);
}

void lapic_eoi_vector(struct lapic *l, u8 v)
{
    vec_clear(l->s.isr, v);
    if (!vec_test(l->s.tmr, v))
        return;
    for (u32 i = LAPIC_LVT_LINT0; i <= LAPIC_LVT_LINT1; i++)
        if ((l->s.lvt[i] & APIC_LVT_VECTOR) == v)
            l->s.lvt[i] &= ~APIC_LVT_REMOTE_IRR;
    if (l->cfg.bus.eoi)
        l->cfg.bus.eoi(l->cfg.bus.ctx, v);
}

void lapic_write_svr(struct lapic *l, u32 val)
{
    l->s.svr = val & APIC_SVR_WRITABLE;
    if (!(val & APIC_SVR_ENABLE))
        for (u32 i = 0; i < LAPIC_NR_LVT; i++)
            l->s.lvt[i] |= APIC_LVT_MASKED;
}

/*
 * Sends an IPI (11.6.1). Fixed and lowest-priority with a vector below 16
 * set "send illegal vector" and go nowhere. INIT level de-assert is a
 * no-op on P4 and later. Self-addressed parts are accepted here
 * directly; the rest goes to the bus: a plain destination as is, the
 * "all" shorthands as a physical broadcast that skips the sender.
 */
void lapic_send_ipi(struct lapic *l, u32 lo, u32 hi)
{
    bool x2 = lapic_x2apic(l);
    struct apic_msg msg = {
        .vector = lo & APIC_ICR_VECTOR,
        .delivery_mode = (lo >> APIC_ICR_DM_SHIFT) & 7,
        .dest_logical = lo & APIC_ICR_DEST_LOGICAL,
        .level = lo & APIC_ICR_LEVEL,
        .dest = x2 ? hi : hi >> APIC_ICR2_DEST_SHIFT,
    };
    u32 sh = (lo >> APIC_ICR_SH_SHIFT) & 3;

    if (msg.delivery_mode == APIC_DM_INIT && !(lo & APIC_ICR_ASSERT) &&
        (lo & APIC_ICR_LEVEL))
        return;
    if ((msg.delivery_mode == APIC_DM_FIXED || msg.delivery_mode == APIC_DM_LOWEST) &&
        msg.vector < 16) {
        lapic_error(l, APIC_ESR_SEND_ILLEGAL);
        return;
    }
    if (sh == APIC_ICR_SH_SELF || sh == APIC_ICR_SH_ALL)
        lapic_accept(l, &msg);
    if (sh == APIC_ICR_SH_SELF)
        return;
    if (sh != APIC_ICR_SH_NONE) {
        msg.dest_logical = false;
        msg.dest = x2 ? APIC_BROADCAST_X2APIC : APIC_BROADCAST_XAPIC;
        msg.all_but_self = true;
    }
    if (l->cfg.bus.send)
        l->cfg.bus.send(l->cfg.bus.ctx, &msg);
}

const u32 lapic_lvt_writable[LAPIC_NR_LVT] = {
    [LAPIC_LVT_TIMER] = APIC_LVT_TIMER_WRITABLE,
    [LAPIC_LVT_THERMAL] = APIC_LVT_DM_WRITABLE,
    [LAPIC_LVT_PERF] = APIC_LVT_DM_WRITABLE,
    [LAPIC_LVT_LINT0] = APIC_LVT_LINT_WRITABLE,
    [LAPIC_LVT_LINT1] = APIC_LVT_LINT_WRITABLE,
    [LAPIC_LVT_ERROR] = APIC_LVT_ERROR_WRITABLE,
};

void lapic_write_lvt(struct lapic *l, u32 idx, u32 val)
{
    u32 old = l->s.lvt[idx];

    val &= lapic_lvt_writable[idx];
    if (!(l->s.svr & APIC_SVR_ENABLE))
        val |= APIC_LVT_MASKED;
    /* Remote IRR stays until EOI (or until the entry becomes edge). */
    if (idx == LAPIC_LVT_LINT0 || idx == LAPIC_LVT_LINT1)
        if (val & APIC_LVT_LEVEL)
            val |= old & APIC_LVT_REMOTE_IRR;
    /* Entering or leaving TSC-deadline mode disarms the timer (11.5.4.1). */
    if (idx == LAPIC_LVT_TIMER &&
        ((old ^ val) & APIC_LVT_TIMER_TSCDEADLINE))
        lapic_timer_disarm(l);
    l->s.lvt[idx] = val;
}
