/*
 * The platform devices and COM1 between turtle's models (vmx/dev/) and
 * their snapshot sections (snapshot/format.h, version 1 of each). Only
 * state is copied: wiring (interrupt lines, bus contexts, the LAPIC
 * message bus) is the restoring VM's own, built by platform_init(). Times
 * are relative to L1's TSC at the snapshot. snap_device_table lists each
 * device once: its section, its payload in struct snap_devices and its
 * save/load pair; take.c writes and restore.c gathers the sections from it.
 */
#include "kernel/mm.h"
#include "snapshot/snap_int.h"
#include "vmx/vm.h"

static void pic_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct pic *p = &vm->platform.pic;
    struct tsnap_dev_pic *d = &out->pic;

    (void)tsc;
    for (int i = 0; i < 2; i++) {
        const struct pic_chip *c = &p->chip[i];
        d->chip[i] = (struct tsnap_dev_pic_chip){
            c->irr, c->isr, c->imr, c->line, c->elcr, c->elcr_mask, c->vector_base, c->icw3,
            c->lowest, c->init_step, c->icw4_needed, c->single, c->ltim, c->auto_eoi, c->sfnm,
            c->rotate_aeoi, c->special_mask, c->read_isr, c->poll, c->int_out,
        };
    }
    d->intr_level = p->intr_level;
}

static void pic_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct pic *p = &vm->platform.pic;
    const struct tsnap_dev_pic *d = &in->pic;

    (void)now;
    for (int i = 0; i < 2; i++) {
        struct pic_chip *c = &p->chip[i];
        const struct tsnap_dev_pic_chip *s = &d->chip[i];
        c->irr = s->irr; c->isr = s->isr; c->imr = s->imr; c->line = s->line;
        c->elcr = s->elcr & s->elcr_mask; c->elcr_mask = c->elcr_mask & s->elcr_mask;
        c->vector_base = s->vector_base & 0xf8; c->icw3 = s->icw3; c->lowest = s->lowest & 7;
        c->init_step = s->init_step <= 4 ? s->init_step : 0;
        c->icw4_needed = s->icw4_needed; c->single = s->single; c->ltim = s->ltim;
        c->auto_eoi = s->auto_eoi; c->sfnm = s->sfnm; c->rotate_aeoi = s->rotate_aeoi;
        c->special_mask = s->special_mask; c->read_isr = s->read_isr; c->poll = s->poll;
        c->int_out = s->int_out;
    }
    p->intr_level = d->intr_level;
}

static void pit_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct pit *p = &vm->platform.pit;
    struct tsnap_dev_pit *d = &out->pit;

    for (int i = 0; i < 3; i++) {
        const struct pit_channel *c = &p->ch[i];
        d->ch[i] = (struct tsnap_dev_pit_channel){
            .ctrl = c->ctrl, .mode = c->mode, .rw = c->rw, .bcd = c->bcd, .state = (u8)c->state,
            .gate = c->gate, .frozen = c->frozen, .pending = c->pending, .write_msb = c->write_msb,
            .write_lsb = c->write_lsb, .read_msb = c->read_msb, .latch_left = c->latch_left,
            .status_latched = c->status_latched, .status = c->status, .latched = c->latched,
            .cr = c->cr, .n = c->n, .load_tick = c->load_tick, .frozen_d = c->frozen_d,
            .pending_tick = c->pending_tick, .edges = c->edges,
        };
    }
    d->irq0_level = p->irq0_level;
    d->nmi_sc = p->nmi_sc;
    d->tsc_khz = p->tsc_khz;
    d->base_rel = snap_rel(p->base_tsc, tsc);
}

static void pit_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct pit *p = &vm->platform.pit;
    const struct tsnap_dev_pit *d = &in->pit;

    for (int i = 0; i < 3; i++) {
        struct pit_channel *c = &p->ch[i];
        const struct tsnap_dev_pit_channel *s = &d->ch[i];
        c->ctrl = s->ctrl & 0x3f; c->mode = s->mode & 7; c->rw = s->rw & 3; c->bcd = s->bcd;
        c->state = (enum pit_state)s->state; c->gate = s->gate; c->frozen = s->frozen;
        c->pending = s->pending; c->write_msb = s->write_msb; c->write_lsb = s->write_lsb;
        c->read_msb = s->read_msb; c->latch_left = s->latch_left <= 2 ? s->latch_left : 0;
        c->status_latched = s->status_latched; c->status = s->status; c->latched = s->latched;
        c->cr = s->cr; c->n = s->n; c->load_tick = s->load_tick; c->frozen_d = s->frozen_d;
        c->pending_tick = s->pending_tick; c->edges = s->edges;
    }
    p->irq0_level = d->irq0_level;
    p->nmi_sc = d->nmi_sc;
    p->base_tsc = snap_abs(d->base_rel, now);
}

static void rtc_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct rtc *r = &vm->platform.rtc;
    struct tsnap_dev_rtc *d = &out->rtc;

    memcpy(d->cmos, r->cmos, sizeof(d->cmos));
    d->index = r->index;
    d->nmi_disabled = r->nmi_disabled;
    d->irq_level = r->irq_level;
    d->tsc_khz = r->tsc_khz;
    d->div_base_rel = snap_rel(r->div_base_tsc, tsc);
    d->base_secs = r->base_secs;
    d->base_idx = r->base_idx;
    d->last_idx = r->last_idx;
    d->last_period = r->last_period;
}

static void rtc_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct rtc *r = &vm->platform.rtc;
    const struct tsnap_dev_rtc *d = &in->rtc;

    memcpy(r->cmos, d->cmos, sizeof(r->cmos));
    r->index = d->index & (RTC_CMOS_SIZE - 1);
    r->nmi_disabled = d->nmi_disabled;
    r->irq_level = d->irq_level;
    r->div_base_tsc = snap_abs(d->div_base_rel, now);
    r->base_secs = d->base_secs;
    r->base_idx = d->base_idx;
    r->last_idx = d->last_idx;
    r->last_period = d->last_period;
}

static void pm_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct acpi_pm *pm = &vm->platform.pm;
    struct tsnap_dev_acpi_pm *d = &out->pm;

    d->sts = pm->sts;
    d->en = pm->en;
    d->cnt = pm->cnt;
    d->sci_level = pm->sci_level;
    d->sleep_requested = pm->sleep_requested;
    d->sleep_type = pm->sleep_type;
    d->tsc_khz = pm->cfg.tsc_khz;
    d->base_rel = snap_rel(pm->base_tsc, tsc);
    d->last_half = pm->last_half;
}

static void pm_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct acpi_pm *pm = &vm->platform.pm;
    const struct tsnap_dev_acpi_pm *d = &in->pm;

    pm->sts = d->sts;
    pm->en = d->en;
    pm->cnt = d->cnt;
    pm->sci_level = d->sci_level;
    pm->sleep_requested = d->sleep_requested;
    pm->sleep_type = d->sleep_type;
    pm->base_tsc = snap_abs(d->base_rel, now);
    pm->last_half = d->last_half;
}

static void uart_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct uart16550 *u = &vm->uart;
    struct tsnap_dev_uart *d = &out->uart;

    (void)tsc;
    *d = (struct tsnap_dev_uart){
        .ier = u->ier, .lcr = u->lcr, .mcr = u->mcr, .scr = u->scr, .dll = u->dll, .dlm = u->dlm,
        .fcr = u->fcr, .lsr_errors = u->lsr_errors, .thre_pending = u->thre_pending,
        .msr_delta = u->msr_delta, .irq_level = u->irq_level, .rx_head = u->rx_head,
        .rx_count = u->rx_count, .line_len = u->len,
    };
    memcpy(d->rx, u->rx, sizeof(d->rx));
    memcpy(d->line, u->line, sizeof(d->line));
}

static void uart_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct uart16550 *u = &vm->uart;
    const struct tsnap_dev_uart *d = &in->uart;

    (void)now;
    u->ier = d->ier; u->lcr = d->lcr; u->mcr = d->mcr; u->scr = d->scr;
    u->dll = d->dll; u->dlm = d->dlm; u->fcr = d->fcr; u->lsr_errors = d->lsr_errors;
    u->thre_pending = d->thre_pending; u->msr_delta = d->msr_delta; u->irq_level = d->irq_level;
    u->rx_head = d->rx_head % UART_FIFO_SIZE;
    u->rx_count = MIN(d->rx_count, (u32)UART_FIFO_SIZE);
    memcpy(u->rx, d->rx, sizeof(u->rx));
    u->len = MIN(d->line_len, (u32)UART_LINE_MAX - 1);
    memcpy(u->line, d->line, sizeof(u->line));
}

static void ioapic_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct ioapic *io = &vm->platform.ioapic;

    (void)tsc;
    out->ioapic.ioregsel = io->s.ioregsel;
    out->ioapic.id = io->s.id;
    out->ioapic.pin_level = io->s.pin_level;
    memcpy(out->ioapic.redir, io->s.redir, sizeof(out->ioapic.redir));
}

static void ioapic_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct ioapic *io = &vm->platform.ioapic;

    (void)now;
    io->s.ioregsel = in->ioapic.ioregsel;
    io->s.id = in->ioapic.id & IOAPIC_ID_MASK;
    io->s.pin_level = in->ioapic.pin_level & ((1u << IOAPIC_NUM_PINS) - 1);
    memcpy(io->s.redir, in->ioapic.redir, sizeof(io->s.redir));
}

static void reset_save(const struct vm *vm, u64 tsc, struct snap_devices *out)
{
    const struct reset_ctl *r = &vm->platform.reset;

    (void)tsc;
    out->reset.rst_cnt = r->rst_cnt;
    out->reset.sysctl_a = r->sysctl_a;
    out->reset.requested = (u32)r->requested;
}

static void reset_load(struct vm *vm, u64 now, const struct snap_devices *in)
{
    struct reset_ctl *r = &vm->platform.reset;

    (void)now;
    r->rst_cnt = in->reset.rst_cnt;
    r->sysctl_a = in->reset.sysctl_a;
    r->requested = in->reset.requested <= RESET_HARD ? (enum reset_kind)in->reset.requested : RESET_NONE;
}

#define DEVICE(field, inst) \
    { #field, inst, offsetof(struct snap_devices, field), sizeof(((struct snap_devices *)0)->field), \
      field##_save, field##_load }

/* In the order of their sections in a file turtle writes. */
const struct snap_device snap_device_table[] = {
    DEVICE(pic, TSNAP_DEV_PIC),
    DEVICE(pit, TSNAP_DEV_PIT),
    DEVICE(rtc, TSNAP_DEV_RTC),
    DEVICE(pm, TSNAP_DEV_ACPI_PM),
    DEVICE(ioapic, TSNAP_DEV_IOAPIC),
    DEVICE(uart, TSNAP_DEV_UART_COM1),
    DEVICE(reset, TSNAP_DEV_RESET),
};
const u32 snap_n_devices = ARRAY_SIZE(snap_device_table);
_Static_assert(ARRAY_SIZE(snap_device_table) == TSNAP_DEV_LAPIC_TIMER - TSNAP_DEV_PIC,
               "a table entry for every platform device");

void snap_devices_save(const struct vm *vm, u64 tsc, struct snap_devices *d)
{
    memset(d, 0, sizeof(*d));
    for (u32 i = 0; i < snap_n_devices; i++)
        snap_device_table[i].save(vm, tsc, d);
}

void snap_devices_load(struct vm *vm, u64 now, const struct snap_devices *d)
{
    for (u32 i = 0; i < snap_n_devices; i++)
        snap_device_table[i].load(vm, now, d);
    vm->platform.next_deadline = 0;     /* recomputed at the first entry */
}
