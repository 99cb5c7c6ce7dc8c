/*
 * The 8042 keyboard controller at ports 0x60 (data) and 0x64 (status and
 * command), PS/2 style (a keyboard port and an auxiliary/mouse port), with
 * nothing plugged into either port. Facts: IBM PC/AT Technical Reference
 * ("Keyboard Controller": status register, commands 0x20-0xff, output
 * port), the PS/2 additions (commands 0xa7-0xa9, 0xd2-0xd4; status bit 5
 * "auxiliary output buffer full", bit 6 "time-out").
 *
 * The controller itself is complete: it passes its self-test (0xaa ->
 * 0x55) and its interface tests (0xab, 0xa9 -> 0x00: the clock and data
 * lines of an empty port are pulled up, so they test good), keeps its
 * command byte and internal RAM, loops bytes back through 0xd2/0xd3, and
 * raises IRQ 1 (keyboard data) and IRQ 12 (auxiliary data) while its
 * output buffer is full and the command byte enables that interrupt.
 * A byte sent to a device (a write to 0x60, or 0xd4 then 0x60) finds no
 * device: the controller reports a time-out, as a real one does once the
 * device has not clocked the byte in, straight away rather than after
 * the ~15 ms a real controller waits: status TIMEOUT, data 0xfe, the
 * port's interrupt. A driver's command to a missing keyboard or mouse
 * therefore fails at once instead of waiting out its own timer.
 *
 * Commands complete at once, so "input buffer full" (status bit 1) never
 * reads set and a wait-for-input-empty loop ends immediately.
 *
 * The output port's reset line (bit 0), pulsed by 0xf0-0xfe or written 0
 * by 0xd1, asks for a platform reset: i8042_take_reset() reports it and
 * the platform decides what a reset does (vmx/dev/reset.h). Pure logic:
 * tests/unit/test_i8042.c runs it on the host.
 */
#ifndef TURTLE_DEV_I8042_H
#define TURTLE_DEV_I8042_H

#include "vmx/dev/irq.h"

#define I8042_PORT_DATA         0x60
#define I8042_PORT_CMD          0x64    /* read: status register */

/* Status register (read at 0x64). */
#define I8042_STR_OBF           0x01    /* output buffer full: 0x60 has a byte */
#define I8042_STR_IBF           0x02    /* input buffer full (never: commands complete at once) */
#define I8042_STR_SYS           0x04    /* system flag: the self-test passed */
#define I8042_STR_CMD           0x08    /* the last write went to 0x64 */
#define I8042_STR_UNLOCKED      0x10    /* keyboard not inhibited by the key lock */
#define I8042_STR_AUXDATA       0x20    /* the byte in the output buffer is the aux port's */
#define I8042_STR_TIMEOUT       0x40    /* a byte sent to a device was not taken */

/* Command byte (controller RAM byte 0). */
#define I8042_CTR_KBDINT        0x01    /* IRQ 1 on keyboard data */
#define I8042_CTR_AUXINT        0x02    /* IRQ 12 on aux data */
#define I8042_CTR_SYS           0x04
#define I8042_CTR_KBDDIS        0x10    /* keyboard clock disabled */
#define I8042_CTR_AUXDIS        0x20    /* aux clock disabled */
#define I8042_CTR_XLATE         0x40    /* scan code translation */

#define I8042_IRQ_KBD           1
#define I8042_IRQ_AUX           12
#define I8042_RAM_SIZE          32

struct i8042 {
    u8 status;
    u8 ram[I8042_RAM_SIZE];     /* ram[0]: the command byte */
    u8 obuf;                    /* output buffer, valid while status has OBF */
    u8 pending;                 /* a command waiting for its data byte, or 0 */
    u8 outport;                 /* output port: bit 0 reset (active low), bit 1 A20 */
    bool reset_requested;
    struct irq_line kbd_irq, aux_irq;
    bool kbd_level, aux_level;
};

/* The controller as firmware leaves it: self-test passed (SYS), command
 * byte 0x45 (keyboard interrupt, system flag, translation; the aux port's
 * interrupt off), output buffer empty, A20 on. */
void i8042_reset(struct i8042 *k, const struct irq_line *kbd_irq, const struct irq_line *aux_irq);

/* Byte accesses at 0x60 or 0x64 (the bus splits wider ones). */
u8 i8042_io_read(struct i8042 *k, u16 port);
void i8042_io_write(struct i8042 *k, u16 port, u8 val);

/* A pulse or write of the output port's reset line, taken once. */
bool i8042_take_reset(struct i8042 *k);

#endif
