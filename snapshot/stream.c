/*
 * The snapshot's way out: a framed binary stream (snapshot/format.h:
 * tsnap_frame_head, the file, tsnap_frame_tail) on a 16550 of its own,
 * COM2 by default (`snapport=` on turtle's command line), so COM1 stays a
 * readable console. The port runs at divisor 1 (115200 baud) with its
 * FIFO on: turtle waits for an empty FIFO and writes 16 bytes at a time
 * (Bochs models the transmit timing, so this is what keeps it fast).
 */
#include "kernel/serial.h"
#include "kernel/x86.h"
#include "snapshot/crc32c.h"
#include "snapshot/snapshot.h"
#include "snapshot/take_int.h"

#define UART_THR            0
#define UART_LSR            5
#define UART_LSR_THRE       0x20        /* with the FIFO on: the FIFO is empty */
#define UART_LSR_TEMT       0x40
#define UART_FIFO_BYTES     16
#define UART_SPIN_LIMIT     1000000     /* a missing port cannot hang turtle */
#define COM2_PORT           0x2f8

u16 snapshot_port = COM2_PORT;

static u32 fifo_free;

static void port_init(void)
{
    serial_port_init(snapshot_port, 1);
    fifo_free = 0;
}

static void tx(const u8 *p, u64 len)
{
    while (len) {
        if (!fifo_free) {
            for (int i = 0; i < UART_SPIN_LIMIT; i++) {
                if (inb(snapshot_port + UART_LSR) & UART_LSR_THRE)
                    break;
                cpu_relax();
            }
            fifo_free = UART_FIFO_BYTES;
        }
        outb(snapshot_port + UART_THR, *p++);
        fifo_free--;
        len--;
    }
}

void snap_stream_begin(u64 length)
{
    struct tsnap_frame_head h = { .length = length };

    port_init();
    __builtin_memcpy(h.magic, TSNAP_FRAME_HEAD_MAGIC, sizeof(h.magic));
    tx((const u8 *)&h, sizeof(h));
}

void snap_stream_put(struct snap_sink *s, const void *p, u64 len)
{
    tx(p, len);
    snap_sink_account(s, p, len);
}

void snap_stream_end(u32 crc)
{
    struct tsnap_frame_tail t = { .crc32c = crc };

    __builtin_memcpy(t.magic, TSNAP_FRAME_TAIL_MAGIC, sizeof(t.magic));
    tx((const u8 *)&t, sizeof(t));
    for (int i = 0; i < UART_SPIN_LIMIT; i++) {
        if (inb(snapshot_port + UART_LSR) & UART_LSR_TEMT)
            break;
        cpu_relax();
    }
}
