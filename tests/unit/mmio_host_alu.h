/*
 * The host CPU as the reference for the MMIO emulator's arithmetic: each
 * operation runs on the host with inline asm, its flags loaded before with
 * POPF (for the carry of ADC/SBB and the flags INC, DEC and BT keep) and
 * read back with PUSHF. x86-64 hosts only. The red zone below RSP is
 * stepped over before pushing.
 */
#ifndef TURTLE_TEST_MMIO_HOST_ALU_H
#define TURTLE_TEST_MMIO_HOST_ALU_H

#include <stdlib.h>

#include "kernel/types.h"
#include "vmx/mmio_decode.h"

#define HOST_FLAGS_IN(f)    "lea -128(%%rsp),%%rsp\n\tpush %[f]\n\tpopf\n\t"
#define HOST_FLAGS_OUT      "\n\tpushf\n\tpop %[f]\n\tlea 128(%%rsp),%%rsp"

/* One size of dst = dst INSN src: the suffix, operand modifier, type and
 * register constraint. */
#define HOST_BIN_SIZE(insn, suf, mod, T, con)                                       \
    { T x = (T)d, y = (T)s;                                                         \
      __asm__ __volatile__(HOST_FLAGS_IN(f) insn suf " %" mod "[y],%" mod "[x]"     \
                           HOST_FLAGS_OUT                                           \
                           : [x] "+" con(x), [f] "+r"(f) : [y] con(y) : "cc", "memory"); \
      d = x; }

#define HOST_UN_SIZE(insn, suf, mod, T, con)                                        \
    { T x = (T)d;                                                                   \
      __asm__ __volatile__(HOST_FLAGS_IN(f) insn suf " %" mod "[x]" HOST_FLAGS_OUT  \
                           : [x] "+" con(x), [f] "+r"(f) : : "cc", "memory");       \
      d = x; }

/* dst = dst INSN src (byte: with_byte 1) or dst = INSN dst, by size. */
#define HOST_FN(name, insn, SIZE, with_byte)                                        \
static u64 name(u32 size, u64 d, u64 s, u64 *fl)                                    \
{                                                                                   \
    u64 f = *fl;                                                                    \
    (void)s;                                                                        \
    switch (size) {                                                                 \
    case 1: with_byte(SIZE(insn, "b", "b", u8, "q")) break;                         \
    case 2: SIZE(insn, "w", "w", u16, "r") break;                                   \
    case 4: SIZE(insn, "l", "k", u32, "r") break;                                   \
    default: SIZE(insn, "q", "q", u64, "r") break;                                  \
    }                                                                               \
    *fl = f;                                                                        \
    return d;                                                                       \
}
#define HOST_BYTE(x)        x
#define HOST_NO_BYTE(x)     abort();
#define HOST_BIN(name, insn)    HOST_FN(name, insn, HOST_BIN_SIZE, HOST_BYTE)
#define HOST_BIT(name, insn)    HOST_FN(name, insn, HOST_BIN_SIZE, HOST_NO_BYTE)
#define HOST_UN(name, insn)     HOST_FN(name, insn, HOST_UN_SIZE, HOST_BYTE)

HOST_BIN(host_add, "add")
HOST_BIN(host_or, "or")
HOST_BIN(host_adc, "adc")
HOST_BIN(host_sbb, "sbb")
HOST_BIN(host_and, "and")
HOST_BIN(host_sub, "sub")
HOST_BIN(host_xor, "xor")
HOST_BIN(host_cmp, "cmp")
HOST_BIN(host_test, "test")
HOST_BIT(host_bt, "bt")
HOST_BIT(host_bts, "bts")
HOST_BIT(host_btr, "btr")
HOST_BIT(host_btc, "btc")
HOST_UN(host_inc, "inc")
HOST_UN(host_dec, "dec")
HOST_UN(host_not, "not")
HOST_UN(host_neg, "neg")

typedef u64 (*host_fn)(u32 size, u64 d, u64 s, u64 *fl);

static const host_fn host_ops[] = {
    [MMIO_OP_ADD] = host_add, [MMIO_OP_OR] = host_or, [MMIO_OP_ADC] = host_adc,
    [MMIO_OP_SBB] = host_sbb, [MMIO_OP_AND] = host_and, [MMIO_OP_SUB] = host_sub,
    [MMIO_OP_XOR] = host_xor, [MMIO_OP_CMP] = host_cmp, [MMIO_OP_TEST] = host_test,
    [MMIO_OP_INC] = host_inc, [MMIO_OP_DEC] = host_dec, [MMIO_OP_NOT] = host_not,
    [MMIO_OP_NEG] = host_neg, [MMIO_OP_BT] = host_bt, [MMIO_OP_BTS] = host_bts,
    [MMIO_OP_BTR] = host_btr, [MMIO_OP_BTC] = host_btc,
};

/* The flags the SDM defines for op (the ones a comparison with the host
 * may use): AF is undefined after the logical operations, and BT* define
 * only CF. */
static u64 host_defined_flags(u32 op)
{
    switch (op) {
    case MMIO_OP_AND: case MMIO_OP_OR: case MMIO_OP_XOR: case MMIO_OP_TEST:
        return 0x8c5;                   /* OF SF ZF PF CF */
    case MMIO_OP_BT: case MMIO_OP_BTS: case MMIO_OP_BTR: case MMIO_OP_BTC:
        return 0x001;                   /* CF */
    case MMIO_OP_NOT:
        return 0;
    default:
        return 0x8d5;                   /* OF SF ZF AF PF CF */
    }
}

/* dst op src on the host; CMP, TEST and BT return dst unchanged. Only the
 * arithmetic flags of *fl are loaded (and TF/DF/IF never are). */
static u64 host_alu(u32 op, u32 size, u64 d, u64 s, u64 *fl)
{
    u64 f = (*fl & 0x8d5) | 0x2, r;

    r = host_ops[op](size, d, s, &f);
    *fl = (*fl & ~0x8d5ULL) | (f & 0x8d5);
    return r;
}

#endif
