/*
 * The ways a PC guest asks to be reset, apart from a triple fault:
 * - 0xcf9, the PIIX4/ICH reset control register (RST_CNT, byte access
 *   only: a 32-bit access to 0xcf8 is PCI CONFIG_ADDRESS, not this);
 *   the target of the FADT RESET_REG, conventionally value 0x06;
 * - 0x92, "System Control Port A" (fast INIT in bit 0, fast A20 in bit 1);
 * - the keyboard controller's reset line (vmx/dev/i8042.c owns ports
 *   0x60/0x64 and hands its reset requests to reset_ctl_request()).
 */
#ifndef TURTLE_DEV_RESET_H
#define TURTLE_DEV_RESET_H

#include "kernel/types.h"

#define RESET_PORT_RST_CNT      0xcf9
#define RESET_PORT_SYSCTL_A     0x92

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

/* A reset asked for through port `port` (also by another device: the
 * 8042's reset line, port 0x64). A weaker request never replaces a
 * stronger one, nor its port. */
#define RESET_PORT_KBC_CMD      0x64
void reset_ctl_request(struct reset_ctl *r, enum reset_kind k, u16 port);

/* A reset request, taken once (RESET_NONE if there is none). */
enum reset_kind reset_ctl_take(struct reset_ctl *r);
/* Where the last request came from, for the log: "port 0xcf9" (the FADT's
 * reset register too), "8042 reset pulse, port 0x64", "port 0x92 fast init". */
const char *reset_ctl_source(const struct reset_ctl *r);

#endif
