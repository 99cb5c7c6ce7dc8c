/*
 * Reset paths. Facts: PIIX4 datasheet "Reset Control Register (RC) - I/O
 * address 0CF9h" (bit 1 SYS_RST: hard vs soft reset, bit 2 RST_CPU: the
 * reset starts on its 0-to-1 transition; ICH adds bit 3 FULL_RST) and
 * "Port 92" (bit 0 FAST_INIT on a 0-to-1 transition, bit 1 fast A20).
 * The 8042's reset line comes through reset_ctl_request().
 */
#include "vmx/dev/reset.h"

#define RST_CNT_SYS_RST     0x02
#define RST_CNT_RST_CPU     0x04
#define RST_CNT_FULL_RST    0x08
#define RST_CNT_STORED      0x0e
#define SYSCTL_FAST_INIT    0x01
#define SYSCTL_A20          0x02    /* turtle never masks A20: stored only */
#define SYSCTL_STORED       0x03
#define FLOATING_BUS        0xff

void reset_ctl_reset(struct reset_ctl *r)
{
    r->rst_cnt = 0;
    r->sysctl_a = SYSCTL_A20;       /* A20 on, as after a BIOS */
    r->requested = RESET_NONE;
}

bool reset_ctl_claims(u16 port, u32 size)
{
    if (port == RESET_PORT_RST_CNT)
        return size == 1;
    return port == RESET_PORT_SYSCTL_A;
}

void reset_ctl_request(struct reset_ctl *r, enum reset_kind k, u16 port)
{
    if (k > r->requested) {
        r->requested = k;
        r->port = port;
    }
}

static u8 read8(const struct reset_ctl *r, u16 port)
{
    switch (port) {
    case RESET_PORT_RST_CNT:
        return r->rst_cnt;
    case RESET_PORT_SYSCTL_A:
        return r->sysctl_a;
    }
    return FLOATING_BUS;
}

static void write8(struct reset_ctl *r, u16 port, u8 v)
{
    switch (port) {
    case RESET_PORT_RST_CNT:
        if ((v & RST_CNT_RST_CPU) && !(r->rst_cnt & RST_CNT_RST_CPU))
            reset_ctl_request(r, v & (RST_CNT_SYS_RST | RST_CNT_FULL_RST) ? RESET_HARD : RESET_SOFT, port);
        r->rst_cnt = v & RST_CNT_STORED;
        break;
    case RESET_PORT_SYSCTL_A:
        if ((v & SYSCTL_FAST_INIT) && !(r->sysctl_a & SYSCTL_FAST_INIT))
            reset_ctl_request(r, RESET_SOFT, port);
        r->sysctl_a = v & SYSCTL_STORED;
        break;
    }
}

u32 reset_ctl_io_read(struct reset_ctl *r, u16 port, u32 size)
{
    u32 val = 0;

    for (u32 i = 0; i < size && i < 4; i++)
        val |= (u32)read8(r, (u16)(port + i)) << (8 * i);
    return val;
}

void reset_ctl_io_write(struct reset_ctl *r, u16 port, u32 size, u32 val)
{
    if (port == RESET_PORT_RST_CNT && size != 1)
        return;                     /* that is PCI configuration space */
    for (u32 i = 0; i < size && i < 4; i++)
        write8(r, (u16)(port + i), (u8)(val >> (8 * i)));
}

enum reset_kind reset_ctl_take(struct reset_ctl *r)
{
    enum reset_kind k = r->requested;

    r->requested = RESET_NONE;
    return k;
}

const char *reset_ctl_source(const struct reset_ctl *r)
{
    switch (r->port) {
    case RESET_PORT_RST_CNT:    return "port 0xcf9";
    case RESET_PORT_KBC_CMD:    return "8042 reset pulse, port 0x64";
    case RESET_PORT_SYSCTL_A:   return "port 0x92 fast init";
    }
    return "reset control";
}
