/*
 * The 8259A pair. Facts from the Intel 8259A datasheet (order 231468) and
 * the PIIX4 datasheet (ELCR, section 4.1.x "Interrupt controller").
 *
 * Model of an input: the 8259A's IRR bit follows its IR pin, gated in edge
 * mode by the edge-sense latch, and the pin must stay high until the INTA
 * cycle ("the IR input must remain high until after the falling edge of the
 * first INTA"). So here a rising edge sets IRR (edge mode), a high level
 * keeps it set (level mode), and a falling line clears it in both modes.
 * INT, once raised, stays raised until the INTA cycle (or ICW1), even if
 * the request vanishes or is masked meanwhile: that INTA then finds no
 * request and answers with IR7, not setting ISR (spurious IRQ7; through
 * the slave, spurious IRQ15 with the master's IR2 in service). Bochs
 * latches INT the same way except that it also drops INT when an OCW1 or
 * EOI leaves no unmasked request at all.
 */
#include "vmx/dev/pic.h"

/* ICW1 (even port, bit 4 set) */
#define ICW1_IC4            0x01    /* ICW4 follows */
#define ICW1_SNGL           0x02    /* single chip, no ICW3 */
#define ICW1_LTIM           0x08    /* level-triggered mode */
#define ICW1_INIT           0x10
/* ICW4 */
#define ICW4_AEOI           0x02
#define ICW4_SFNM           0x10
/* OCW2 (even port, bits 4:3 = 00): R SL EOI in bits 7:5, level in 2:0 */
#define OCW2_MASK           0x18
#define OCW2_CMD(v)         (((v) >> 5) & 7)
#define OCW2_ROT_AEOI_CLR   0       /* rotate in automatic EOI mode (clear) */
#define OCW2_EOI            1       /* non-specific EOI */
#define OCW2_NOP            2
#define OCW2_SEOI           3       /* specific EOI */
#define OCW2_ROT_AEOI_SET   4       /* rotate in automatic EOI mode (set) */
#define OCW2_ROT_EOI        5       /* rotate on non-specific EOI */
#define OCW2_SET_PRIO       6       /* set priority: L becomes lowest */
#define OCW2_ROT_SEOI       7       /* rotate on specific EOI */
/* OCW3 (even port, bits 4:3 = 01) */
#define OCW3_SEL            0x08
#define OCW3_RIS            0x01
#define OCW3_RR             0x02
#define OCW3_POLL           0x04
#define OCW3_SMM            0x20
#define OCW3_ESMM           0x40
#define POLL_INT            0x80    /* poll word: an interrupt is pending */
#define SPURIOUS_IR         7
#define NO_IRQ              8
#define FLOATING_BUS        0xff
/* PIIX4 ELCR: IRQ 0, 1, 2 (master) and 8, 13 (slave) are edge only. */
#define ELCR1_WRITABLE      0xf8
#define ELCR2_WRITABLE      0xde

/* Priority rank of IR ir (0 = highest): IR lowest+1 ranks first. */
static u32 rank(const struct pic_chip *c, u32 ir)
{
    return (ir - c->lowest - 1) & 7;
}

/* The highest-priority IR in mask, or NO_IRQ. */
static u32 highest(const struct pic_chip *c, u8 mask)
{
    for (u32 r = 0; r < 8; r++) {
        u32 ir = (c->lowest + 1 + r) & 7;
        if (mask & BIT(ir))
            return ir;
    }
    return NO_IRQ;
}

/*
 * Priority resolution: the IR the chip would present now, or NO_IRQ.
 * A request beats the in-service levels above it only; in special mask
 * mode a masked in-service level inhibits nothing; in special fully nested
 * mode the master's cascade input is not blocked by itself being in service.
 */
static u32 resolve(const struct pic_chip *c, bool master)
{
    u32 req = highest(c, c->irr & ~c->imr);
    u8 busy = c->isr;

    if (req == NO_IRQ)
        return NO_IRQ;
    if (c->special_mask)
        busy &= ~c->imr;
    if (master && c->sfnm)
        busy &= ~c->icw3;
    u32 srv = highest(c, busy);
    if (srv != NO_IRQ && rank(c, srv) <= rank(c, req))
        return NO_IRQ;
    return req;
}

static bool is_level(const struct pic_chip *c, u32 ir)
{
    return c->ltim || (c->elcr & BIT(ir));
}

static void chip_set_line(struct pic_chip *c, u32 ir, bool level)
{
    u8 b = (u8)BIT(ir);

    if (level) {
        if (is_level(c, ir) || !(c->line & b))
            c->irr |= b;
        c->line |= b;
    } else {
        c->irr &= ~b;
        c->line &= ~b;
    }
}

/* Raise INT when the priority resolver finds a request. */
static void chip_eval(struct pic_chip *c, bool master)
{
    if (!c->int_out && resolve(c, master) != NO_IRQ)
        c->int_out = true;
}

/* Propagate the slave's INT to the master's IR2 and the master's INT to
 * the platform; called after every state change. */
static void update(struct pic *p)
{
    struct pic_chip *m = &p->chip[0];

    chip_eval(&p->chip[1], false);
    chip_set_line(m, PIC_CASCADE_IRQ, p->chip[1].int_out);
    chip_eval(m, true);
    bool lvl = m->int_out;
    if (lvl != p->intr_level) {
        p->intr_level = lvl;
        irq_line_set(&p->intr, lvl);
    }
}

void pic_reset(struct pic *p, const struct irq_line *intr)
{
    *p = (struct pic){ 0 };
    if (intr)
        p->intr = *intr;
    for (u32 i = 0; i < 2; i++) {
        p->chip[i].lowest = 7;
        p->chip[i].icw3 = i ? PIC_CASCADE_IRQ : BIT(PIC_CASCADE_IRQ);
    }
    p->chip[0].elcr_mask = ELCR1_WRITABLE;
    p->chip[1].elcr_mask = ELCR2_WRITABLE;
}

void pic_set_irq(void *ctx, u32 pin, bool level)
{
    struct pic *p = ctx;

    if (pin >= PIC_IRQS || pin == PIC_CASCADE_IRQ)
        return;
    chip_set_line(&p->chip[pin >> 3], pin & 7, level);
    update(p);
}

bool pic_intr_pending(const struct pic *p)
{
    return p->chip[0].int_out;
}

/* The chip's part of an INTA cycle (or of a poll): ir (resolved, not
 * NO_IRQ) goes in service, or is retired at once in automatic EOI mode;
 * an edge request is consumed, a level one stays while its line is high. */
static void chip_ack(struct pic_chip *c, u32 ir)
{
    u8 b = (u8)BIT(ir);

    c->int_out = false;
    if (!is_level(c, ir))
        c->irr &= ~b;
    if (c->auto_eoi) {
        if (c->rotate_aeoi)
            c->lowest = (u8)ir;
    } else {
        c->isr |= b;
    }
}

u8 pic_acknowledge(struct pic *p)
{
    struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
    u32 ir = resolve(m, true);
    u8 vec;

    m->int_out = false;
    if (ir == NO_IRQ) {
        vec = m->vector_base | SPURIOUS_IR;     /* no ISR bit set */
    } else if (ir == PIC_CASCADE_IRQ && !m->single &&
               (m->icw3 & BIT(PIC_CASCADE_IRQ))) {
        chip_ack(m, ir);
        u32 sir = resolve(s, false);
        if (s->icw3 != PIC_CASCADE_IRQ) {
            s->int_out = false;
            vec = FLOATING_BUS;                 /* no slave answers */
        } else if (sir == NO_IRQ) {
            s->int_out = false;
            vec = s->vector_base | SPURIOUS_IR; /* master ISR2 stays set */
        } else {
            chip_ack(s, sir);
            vec = s->vector_base | (u8)sir;
        }
    } else {
        chip_ack(m, ir);
        vec = m->vector_base | (u8)ir;
    }
    update(p);
    return vec;
}

/* OCW2: end of interrupt and rotation commands. */
static void ocw2(struct pic_chip *c, u8 v)
{
    u32 level = v & 7;
    u32 top = highest(c, c->isr);

    switch (OCW2_CMD(v)) {
    case OCW2_ROT_AEOI_CLR:
        c->rotate_aeoi = false;
        break;
    case OCW2_ROT_AEOI_SET:
        c->rotate_aeoi = true;
        break;
    case OCW2_EOI:
    case OCW2_ROT_EOI:
        if (top == NO_IRQ)
            break;
        c->isr &= ~BIT(top);
        if (OCW2_CMD(v) == OCW2_ROT_EOI)
            c->lowest = (u8)top;
        break;
    case OCW2_SEOI:
        c->isr &= ~BIT(level);
        break;
    case OCW2_ROT_SEOI:
        c->isr &= ~BIT(level);
        c->lowest = (u8)level;
        break;
    case OCW2_SET_PRIO:
        c->lowest = (u8)level;
        break;
    case OCW2_NOP:
        break;
    }
}

/* ICW1 starts initialisation (datasheet "Initialization command words"):
 * edge-sense latches reset, IMR cleared, IR7 lowest priority, special mask
 * mode off, status read = IRR, ICW4 functions zero unless IC4. ISR is
 * cleared too, so no stale in-service level survives re-initialisation. */
static void icw1(struct pic_chip *c, u8 v)
{
    c->icw4_needed = v & ICW1_IC4;
    c->single = v & ICW1_SNGL;
    c->ltim = v & ICW1_LTIM;
    c->imr = 0;
    c->isr = 0;
    c->irr = 0;
    for (u32 ir = 0; ir < 8; ir++)
        if ((c->line & BIT(ir)) && is_level(c, ir))
            c->irr |= BIT(ir);
    c->lowest = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_aeoi = false;
    c->auto_eoi = false;
    c->sfnm = false;
    c->int_out = false;
    c->init_step = 2;
}

static void write_data(struct pic_chip *c, u8 v)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xf8;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:
        c->auto_eoi = v & ICW4_AEOI;
        c->sfnm = v & ICW4_SFNM;
        c->init_step = 0;
        break;
    default:
        c->imr = v;                             /* OCW1 */
        break;
    }
}

static void write_cmd(struct pic_chip *c, u8 v)
{
    if (v & ICW1_INIT) {
        icw1(c, v);
    } else if (!(v & OCW2_MASK)) {
        ocw2(c, v);
    } else if ((v & OCW2_MASK) == OCW3_SEL) {
        if (v & OCW3_ESMM)
            c->special_mask = v & OCW3_SMM;
        if (v & OCW3_RR)
            c->read_isr = v & OCW3_RIS;
        c->poll = v & OCW3_POLL;
    }
    /* bits 4:3 = 11 is no command word; ignored */
}

/* Even-port read: the poll word (an INTA without the cycle) or IRR/ISR. */
static u8 read_cmd(struct pic *p, struct pic_chip *c)
{
    if (c->poll) {
        c->poll = false;
        u32 ir = resolve(c, c == &p->chip[0]);
        if (ir == NO_IRQ) {
            c->int_out = false;
            return 0;
        }
        chip_ack(c, ir);
        return POLL_INT | (u8)ir;
    }
    return c->read_isr ? c->isr : c->irr;
}

static u8 read8(struct pic *p, u16 port)
{
    switch (port) {
    case PIC_MASTER_CMD:
    case PIC_SLAVE_CMD:
        return read_cmd(p, &p->chip[port == PIC_SLAVE_CMD]);
    case PIC_MASTER_DATA:
    case PIC_SLAVE_DATA:
        return p->chip[port == PIC_SLAVE_DATA].imr;
    case PIC_ELCR1:
    case PIC_ELCR2:
        return p->chip[port == PIC_ELCR2].elcr;
    }
    return FLOATING_BUS;
}

static void write8(struct pic *p, u16 port, u8 v)
{
    struct pic_chip *c;

    switch (port) {
    case PIC_MASTER_CMD:
    case PIC_SLAVE_CMD:
        write_cmd(&p->chip[port == PIC_SLAVE_CMD], v);
        break;
    case PIC_MASTER_DATA:
    case PIC_SLAVE_DATA:
        write_data(&p->chip[port == PIC_SLAVE_DATA], v);
        break;
    case PIC_ELCR1:
    case PIC_ELCR2:
        c = &p->chip[port == PIC_ELCR2];
        c->elcr = v & c->elcr_mask;
        /* a level input's IRR follows its line at once */
        c->irr = (u8)((c->irr & ~c->elcr) | (c->line & c->elcr));
        break;
    }
}

u32 pic_io_read(struct pic *p, u16 port, u32 size)
{
    u32 val = 0;

    for (u32 i = 0; i < size && i < 4; i++)
        val |= (u32)read8(p, (u16)(port + i)) << (8 * i);
    update(p);
    return val;
}

void pic_io_write(struct pic *p, u16 port, u32 size, u32 val)
{
    for (u32 i = 0; i < size && i < 4; i++)
        write8(p, (u16)(port + i), (u8)(val >> (8 * i)));
    update(p);
}
