/*
 * Port I/O: every port exits (I/O bitmaps all ones). COM1 is the guest's
 * virtual UART, port 0xf4 its debug-exit device; every other port reads as
 * all ones and drops writes, as an empty ISA bus does.
 */
#include "vmx/exit.h"

#define DEBUG_EXIT_PORT     0xf4
#define IO_QUAL_SIZE(q)     (((q) & 7) + 1)         /* 1, 2 or 4 bytes */
#define IO_QUAL_IN          BIT(3)
#define IO_QUAL_STRING      BIT(4)
#define IO_QUAL_PORT(q)     ((u16)((q) >> 16))

void handle_io(struct guest *g, u64 qual)
{
    u16 port = IO_QUAL_PORT(qual);
    u32 size = (u32)IO_QUAL_SIZE(qual);
    bool in = qual & IO_QUAL_IN;
    u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    u32 val = in ? 0 : (u32)g->regs.gpr[REG_RAX] & mask;

    if (qual & IO_QUAL_STRING) {
        /* INS/OUTS would need the guest's segmentation and paging to
         * emulate; none of turtle's devices needs them. */
        guest_stop(g, true, "string I/O (INS/OUTS) to port %x is not emulated", port);
        return;
    }
    if (!vuart_io(g, port, in, size, &val)) {
        if (port == DEBUG_EXIT_PORT && !in) {
            vuart_flush(g);
            g->exit_status = val;
            guest_stop(g, val != 0, "exit status %u", val);
            return;
        }
        val = 0xffffffff;               /* open bus */
    }
    if (in) {
        u64 rax = g->regs.gpr[REG_RAX];
        /* A 32-bit IN zero-extends into RAX; 8/16-bit ones merge. */
        g->regs.gpr[REG_RAX] = size == 4 ? (val & mask) : (rax & ~(u64)mask) | (val & mask);
    }
    skip_instruction();
}
