/*
 * The ways a PC guest asks to be reset, apart from a triple fault:
 * - 0xcf9, the PIIX4/ICH reset control register (RST_CNT, byte access
 *   only: a 32-bit access to 0xcf8 is PCI CONFIG_ADDRESS, not this);
 *   the target of the FADT RESET_REG, conventionally value 0x06;
 * - 0x92, "System Control Port A" (fast INIT in bit 0, fast A20 in bit 1);
 * - the keyboard controller's pulse-output command at 0x64 (0xfe pulses
 *   the reset line; 0xf0-0xff pulse the lines whose bits 3:0 are 0).
 * The rest of the 8042 is absent in a documented way: an idle controller
 * whose status (0x64) and data (0x60) read 0x00 (no data, ready for a
 * command) and which never answers, so a driver's wait-for-input-empty
 * loop ends and its wait-for-data times out; no IRQ 1 or 12. (A port
 * that floated at 0xff would claim "input buffer full" forever and hang
 * the common `while (inb(0x64) & 2);` before the reset command.)
 */
#ifndef TURTLE_DEV_RESET_H
#define TURTLE_DEV_RESET_H

#include "kernel/types.h"

#define RESET_PORT_RST_CNT      0xcf9
#define RESET_PORT_SYSCTL_A     0x92
#define RESET_PORT_KBC_DATA     0x60
#define RESET_PORT_KBC_CMD      0x64

enum reset_kind {
    RESET_NONE,
    RESET_SOFT,         /* INIT-like: 0xcf9 with SYS_RST 0, port 0x92 */
    RESET_HARD,         /* platform reset: 0xcf9 SYS_RST/FULL_RST, 8042 pulse */
};

struct reset_ctl {
    u8 rst_cnt;         /* 0xcf9 bits 3:1 */
    u8 sysctl_a;        /* 0x92 */
    enum reset_kind requested;
    u16 port;           /* the port of the (strongest) request */
};

void reset_ctl_reset(struct reset_ctl *r);

/* Does this access belong to the reset paths (port and size)? */
bool reset_ctl_claims(u16 port, u32 size);

u32 reset_ctl_io_read(struct reset_ctl *r, u16 port, u32 size);
void reset_ctl_io_write(struct reset_ctl *r, u16 port, u32 size, u32 val);

/* A reset request, taken once (RESET_NONE if there is none). */
enum reset_kind reset_ctl_take(struct reset_ctl *r);
/* Where the last request came from, for the log: "port 0xcf9" (the FADT's
 * reset register too), "8042 reset pulse, port 0x64", "port 0x92 fast init". */
const char *reset_ctl_source(const struct reset_ctl *r);

#endif
