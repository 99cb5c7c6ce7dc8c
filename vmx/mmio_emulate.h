/*
 * Executing a decoded MMIO instruction (vmx/mmio_decode.h) against a
 * device. Pure logic: the caller supplies the guest's registers and the
 * device through struct mmio_ops, so the same code runs in turtle and in
 * the host unit tests.
 */
#ifndef TURTLE_MMIO_EMULATE_H
#define TURTLE_MMIO_EMULATE_H

#include "vmx/mmio_decode.h"

/* The arithmetic flags the ALU operations write (SDM Vol. 1 3.4.3.1). */
#define MMIO_FLAGS_ARITH    0x8d5       /* OF SF ZF AF PF CF */
#define MMIO_RFLAGS_DF      BIT(10)     /* string direction */

/*
 * What the emulator needs from its caller.
 * - read_gpr/write_gpr move a whole 64-bit register, numbered as in ModRM
 *   with REX (0 RAX ... 15 R15). The emulator applies the width rules
 *   itself: 8- and 16-bit writes merge into the old value, 32-bit writes
 *   zero-extend (SDM Vol. 1 3.4.1.1; outside 64-bit mode the upper half is
 *   not visible, so zero-extending there is harmless), AH-BH are bits 8-15
 *   of registers 0-3.
 * - read/write access the device at a guest-physical address with a size
 *   of 1, 2, 4 or 8 bytes; they return false if no device takes the
 *   access, and the instruction then has no effect on the guest.
 */
struct mmio_ops {
    u64 (*read_gpr)(void *ctx, u32 reg);
    void (*write_gpr)(void *ctx, u32 reg, u64 val);
    bool (*read)(void *ctx, u64 gpa, u32 size, u64 *val);
    bool (*write)(void *ctx, u64 gpa, u32 size, u64 val);
    void *ctx;
};

/*
 * Emulates *in, whose memory operand starts at guest-physical address gpa
 * (the caller has checked that [gpa, gpa + in->size) is one device's).
 * The device is read only when the instruction reads its operand (a MOV
 * store never reads; CMP, TEST and BT never write), once, before the
 * write. Registers and *rflags change only after the device accepted every
 * access. *rip_advance is how far RIP moves: in->len, or 0 after one
 * iteration of a REP STOS that has more to do (the guest re-executes it,
 * as after an interrupt between iterations).
 * Returns MMIO_OK, MMIO_ERR_BIT_OFFSET (a BT* register offset that selects
 * a bit outside the operand, i.e. another address), or MMIO_ERR_DEVICE.
 */
int mmio_emulate(const struct mmio_insn *in, u64 gpa, const struct mmio_ops *ops,
                 u64 *rflags, u32 *rip_advance);

/* Decode and emulate in one call: *in receives the decoded instruction
 * (its len is valid when the status is not a decode error) for messages. */
int mmio_run(const u8 *bytes, u32 n, enum mmio_cpu_mode mode, u64 gpa,
             const struct mmio_ops *ops, u64 *rflags, u32 *rip_advance,
             struct mmio_insn *in);

/*
 * The arithmetic of one ALU operation of `size` bytes (ADD ... CMP, TEST,
 * INC, DEC, NOT, NEG, BT ... BTC; for BT* src is the bit offset, already
 * reduced modulo the operand width). dst and src are masked to size.
 * Returns the result (for CMP, TEST and BT the unchanged dst) and updates
 * the flags in *rflags as the SDM defines them: exactly for the defined
 * flags; AF is cleared by the logical operations (undefined by the SDM);
 * BT* change only CF, leaving the undefined OF SF AF PF as they were.
 */
u64 mmio_alu(u32 op, u32 size, u64 dst, u64 src, u64 *rflags);

#endif
