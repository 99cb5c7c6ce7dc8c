/*
 * The 8042 keyboard controller with no keyboard and no mouse
 * (vmx/dev/i8042.h has the facts and the behaviour).
 */
#include "vmx/dev/i8042.h"

/* Controller commands (written to 0x64). */
#define CMD_READ_RAM        0x20    /* 0x20-0x3f: RAM byte n -> output buffer */
#define CMD_WRITE_RAM       0x60    /* 0x60-0x7f: next data byte -> RAM byte n */
#define CMD_RAM_MASK        0x1f
#define CMD_AUX_DISABLE     0xa7
#define CMD_AUX_ENABLE      0xa8
#define CMD_AUX_TEST        0xa9    /* aux interface test */
#define CMD_SELF_TEST       0xaa
#define CMD_KBD_TEST        0xab    /* keyboard interface test */
#define CMD_KBD_DISABLE     0xad
#define CMD_KBD_ENABLE      0xae
#define CMD_READ_INPUT      0xc0
#define CMD_READ_OUTPUT     0xd0
#define CMD_WRITE_OUTPUT    0xd1
#define CMD_WRITE_KBD_OBUF  0xd2    /* next data byte appears as keyboard data */
#define CMD_WRITE_AUX_OBUF  0xd3    /* ... as aux data (the aux loopback) */
#define CMD_WRITE_AUX       0xd4    /* next data byte goes to the aux device */
#define CMD_READ_TEST       0xe0    /* test inputs T0/T1 */
#define CMD_PULSE_BASE      0xf0    /* 0xf0-0xff: pulse output lines whose bit is 0 */

#define SELF_TEST_OK        0x55
#define INTERFACE_OK        0x00
#define NO_DEVICE           0xfe    /* what a time-out leaves in the output buffer */
#define INPUT_PORT          0xb0    /* keyboard not inhibited, no manufacturing jumper, colour */
#define TEST_INPUTS         0x03    /* T0/T1 (the ports' clock lines) high: idle */
#define OUT_RESET           0x01    /* output port bit 0, active low */
#define OUT_A20             0x02
#define OUT_KBD_OBF         0x10    /* output port bits 4/5: the IRQ 1/12 lines */
#define OUT_AUX_OBF         0x20
#define OUT_CLOCK_DATA      0xc0    /* keyboard clock and data lines high */
#define CTR_DEFAULT         (I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE)

/* The interrupt lines follow the output buffer and the command byte. */
static void update_irqs(struct i8042 *k)
{
    bool full = k->status & I8042_STR_OBF, aux = k->status & I8042_STR_AUXDATA;
    bool kbd_level = full && !aux && (k->ram[0] & I8042_CTR_KBDINT);
    bool aux_level = full && aux && (k->ram[0] & I8042_CTR_AUXINT);

    if (kbd_level != k->kbd_level) {
        k->kbd_level = kbd_level;
        irq_line_set(&k->kbd_irq, kbd_level);
    }
    if (aux_level != k->aux_level) {
        k->aux_level = aux_level;
        irq_line_set(&k->aux_irq, aux_level);
    }
}

/* A byte into the output buffer, from the keyboard side or the aux side. */
static void output(struct i8042 *k, u8 byte, bool aux, bool timeout)
{
    k->obuf = byte;
    k->status &= (u8)~(I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
    k->status |= I8042_STR_OBF | (aux ? I8042_STR_AUXDATA : 0) | (timeout ? I8042_STR_TIMEOUT : 0);
    update_irqs(k);
}

void i8042_reset(struct i8042 *k, const struct irq_line *kbd_irq, const struct irq_line *aux_irq)
{
    *k = (struct i8042){
        .status = I8042_STR_SYS | I8042_STR_UNLOCKED,
        .outport = OUT_RESET | OUT_A20,
        .kbd_irq = *kbd_irq,
        .aux_irq = *aux_irq,
    };
    k->ram[0] = CTR_DEFAULT;
}

static u8 output_port(const struct i8042 *k)
{
    return (u8)((k->outport & (OUT_RESET | OUT_A20)) | OUT_CLOCK_DATA | (k->kbd_level ? OUT_KBD_OBF : 0) |
                (k->aux_level ? OUT_AUX_OBF : 0));
}

u8 i8042_io_read(struct i8042 *k, u16 port)
{
    if (port == I8042_PORT_CMD)
        return k->status;
    if (port != I8042_PORT_DATA)
        return 0xff;
    /* Reading the data port empties the buffer (a second read returns the
     * same byte, as the latch keeps it). */
    k->status &= (u8)~I8042_STR_OBF;
    update_irqs(k);
    return k->obuf;
}

static void command(struct i8042 *k, u8 cmd)
{
    if (cmd >= CMD_READ_RAM && cmd <= (CMD_READ_RAM | CMD_RAM_MASK)) {
        output(k, k->ram[cmd & CMD_RAM_MASK], false, false);
        return;
    }
    if (cmd >= CMD_PULSE_BASE) {
        if (!(cmd & OUT_RESET))
            k->reset_requested = true;
        return;
    }
    switch (cmd) {
    case CMD_AUX_DISABLE:   k->ram[0] |= I8042_CTR_AUXDIS; break;
    case CMD_AUX_ENABLE:    k->ram[0] &= (u8)~I8042_CTR_AUXDIS; break;
    case CMD_KBD_DISABLE:   k->ram[0] |= I8042_CTR_KBDDIS; break;
    case CMD_KBD_ENABLE:    k->ram[0] &= (u8)~I8042_CTR_KBDDIS; break;
    case CMD_AUX_TEST:
    case CMD_KBD_TEST:      output(k, INTERFACE_OK, false, false); break;
    case CMD_SELF_TEST:
        k->status |= I8042_STR_SYS;
        output(k, SELF_TEST_OK, false, false);
        break;
    case CMD_READ_INPUT:    output(k, INPUT_PORT, false, false); break;
    case CMD_READ_OUTPUT:   output(k, output_port(k), false, false); break;
    case CMD_READ_TEST:     output(k, TEST_INPUTS, false, false); break;
    case CMD_WRITE_OUTPUT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX:
        k->pending = cmd;
        break;
    default:
        if (cmd >= CMD_WRITE_RAM && cmd <= (CMD_WRITE_RAM | CMD_RAM_MASK))
            k->pending = cmd;
        /* other commands (password, vendor ones) do nothing here */
        break;
    }
}

/* The data byte of a pending command, or a byte for the keyboard. */
static void data(struct i8042 *k, u8 val)
{
    u8 cmd = k->pending;

    k->pending = 0;
    if (cmd >= CMD_WRITE_RAM && cmd <= (CMD_WRITE_RAM | CMD_RAM_MASK)) {
        k->ram[cmd & CMD_RAM_MASK] = val;
        if (!(cmd & CMD_RAM_MASK)) {
            /* The command byte's SYS bit is the status register's. */
            k->status = (u8)((k->status & ~I8042_STR_SYS) | (val & I8042_CTR_SYS));
            update_irqs(k);
        }
        return;
    }
    switch (cmd) {
    case CMD_WRITE_OUTPUT:
        if (!(val & OUT_RESET))
            k->reset_requested = true;
        k->outport = (u8)((val & OUT_A20) | OUT_RESET);
        break;
    case CMD_WRITE_KBD_OBUF:    output(k, val, false, false); break;
    case CMD_WRITE_AUX_OBUF:    output(k, val, true, false); break;
    case CMD_WRITE_AUX:         output(k, NO_DEVICE, true, true); break;   /* no mouse */
    default:                    output(k, NO_DEVICE, false, true); break;  /* no keyboard */
    }
}

void i8042_io_write(struct i8042 *k, u16 port, u8 val)
{
    if (port == I8042_PORT_CMD) {
        k->status |= I8042_STR_CMD;
        k->pending = 0;                 /* a new command drops a pending one */
        command(k, val);
    } else if (port == I8042_PORT_DATA) {
        k->status &= (u8)~I8042_STR_CMD;
        data(k, val);
    }
}

bool i8042_take_reset(struct i8042 *k)
{
    bool r = k->reset_requested;

    k->reset_requested = false;
    return r;
}
