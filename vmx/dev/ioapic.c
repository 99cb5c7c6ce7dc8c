/*
 * The 82093AA I/O APIC (datasheet 290566). An edge-triggered pin sends
 * one message per rising edge while unmasked (edges that arrive masked
 * are lost). A level-triggered pin sends while it is asserted, unmasked
 * and remote IRR is clear, and sets remote IRR; the LAPICs' EOI of its
 * vector clears remote IRR, and a pin still asserted sends again. Pins
 * keep their level while masked, so unmasking an asserted level pin
 * delivers. Delivery status always reads idle: the message is handed to
 * the bus at once.
 */
#include "vmx/dev/ioapic.h"
#include "kernel/mm.h"

void ioapic_reset(struct ioapic *io, u64 base, const struct apic_bus *bus)
{
    memset(io, 0, sizeof(*io));
    io->base = base;
    if (bus)
        io->bus = *bus;
    for (u32 i = 0; i < IOAPIC_NUM_PINS; i++)
        io->s.redir[i] = IOAPIC_RTE_MASKED;
}

static bool pin_asserted(const struct ioapic *io, u32 pin)
{
    return (io->s.pin_level >> pin) & 1;
}

/* Sends pin's message if its entry lets it (checked by the callers:
 * unmasked, and for level pins remote IRR clear). Reserved delivery
 * modes (3, 6) send nothing. */
static void send(struct ioapic *io, u32 pin)
{
    u64 e = io->s.redir[pin];
    struct apic_msg msg = {
        .vector = e & IOAPIC_RTE_VECTOR,
        .delivery_mode = (e >> IOAPIC_RTE_DM_SHIFT) & 7,
        .dest_logical = e & IOAPIC_RTE_DEST_LOGICAL,
        .level = e & IOAPIC_RTE_LEVEL,
        .dest = (u32)(e >> IOAPIC_RTE_DEST_SHIFT),
    };

    if (msg.delivery_mode == 3 || msg.delivery_mode == APIC_DM_STARTUP)
        return;
    if (msg.level)
        io->s.redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
    if (io->bus.send)
        io->bus.send(io->bus.ctx, &msg);
}

/* A level pin that may send now. */
static void service_level(struct ioapic *io, u32 pin)
{
    u64 e = io->s.redir[pin];

    if ((e & IOAPIC_RTE_LEVEL) && !(e & IOAPIC_RTE_MASKED) &&
        !(e & IOAPIC_RTE_REMOTE_IRR) && pin_asserted(io, pin))
        send(io, pin);
}

void ioapic_set_irq(void *ctx, u32 pin, bool level)
{
    struct ioapic *io = ctx;
    bool was;

    if (pin >= IOAPIC_NUM_PINS)
        return;
    was = pin_asserted(io, pin);
    if (level)
        io->s.pin_level |= (u32)1 << pin;
    else
        io->s.pin_level &= ~((u32)1 << pin);
    if (io->s.redir[pin] & IOAPIC_RTE_LEVEL)
        service_level(io, pin);
    else if (level && !was && !(io->s.redir[pin] & IOAPIC_RTE_MASKED))
        send(io, pin);
}

void ioapic_eoi(struct ioapic *io, u8 vector)
{
    for (u32 pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        u64 e = io->s.redir[pin];

        if ((e & IOAPIC_RTE_VECTOR) != vector || !(e & IOAPIC_RTE_REMOTE_IRR))
            continue;
        io->s.redir[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
        service_level(io, pin);
    }
}

static u32 read_reg(const struct ioapic *io, u32 reg)
{
    if (reg == IOAPIC_REG_ID)
        return io->s.id;
    if (reg == IOAPIC_REG_VER)
        return IOAPIC_VER_VALUE;
    /* The arbitration ID follows the APIC ID (datasheet 3.2.3). */
    if (reg == IOAPIC_REG_ARB)
        return io->s.id;
    if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        u64 e = io->s.redir[(reg - IOAPIC_REG_REDTBL) >> 1];

        return (reg & 1) ? (u32)(e >> 32) : (u32)e;
    }
    return 0;       /* unimplemented registers read 0 */
}

/*
 * Entry write. A level entry that becomes unmasked (or newly level) with
 * its pin asserted delivers; an entry turning edge-triggered drops remote
 * IRR, which means nothing for edge pins.
 */
static void write_redir(struct ioapic *io, u32 pin, bool high, u32 val)
{
    u64 e = io->s.redir[pin];

    if (high) {
        e = (e & 0xffffffffull) | ((u64)(val & IOAPIC_RTE_HI_WRITABLE) << 32);
    } else {
        e = (e & ~0xffffffffull) | (e & IOAPIC_RTE_REMOTE_IRR) |
            (val & IOAPIC_RTE_LO_WRITABLE);
        if (!(e & IOAPIC_RTE_LEVEL))
            e &= ~IOAPIC_RTE_REMOTE_IRR;
    }
    io->s.redir[pin] = e;
    service_level(io, pin);
}

static void write_reg(struct ioapic *io, u32 reg, u32 val)
{
    if (reg == IOAPIC_REG_ID) {
        io->s.id = val & IOAPIC_ID_MASK;
        return;
    }
    if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS)
        write_redir(io, (reg - IOAPIC_REG_REDTBL) >> 1, reg & 1, val);
    /* version, arbitration and unimplemented registers ignore writes */
}

void ioapic_mmio_read(struct ioapic *io, u32 offset, u32 size, u64 *val)
{
    *val = 0;
    if (size != 4)
        return;
    if (offset == IOAPIC_IOREGSEL)
        *val = io->s.ioregsel;
    else if (offset == IOAPIC_IOWIN)
        *val = read_reg(io, io->s.ioregsel);
}

void ioapic_mmio_write(struct ioapic *io, u32 offset, u32 size, u64 val)
{
    if (size != 4)
        return;
    if (offset == IOAPIC_IOREGSEL)
        io->s.ioregsel = (u32)val & 0xff;
    else if (offset == IOAPIC_IOWIN)
        write_reg(io, io->s.ioregsel, (u32)val);
}
