/*
 * The ALU of the MMIO emulator: results and arithmetic flags of the
 * read-modify-write operations, computed from the operands alone (SDM
 * Vol. 2 instruction pages, "Flags Affected"). The host unit test compares
 * every operation and size with what the host CPU computes.
 */
#include "kernel/x86.h"
#include "vmx/mmio_emulate.h"

static u64 mask_of(u32 size)
{
    return size >= 8 ? ~0ULL : BIT(8 * size) - 1;
}

/* PF: set when the low byte of the result has an even number of ones. */
static bool parity_even(u64 r)
{
    u8 b = (u8)r;

    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return !(b & 1);
}

/* ZF, SF, PF from a result; CF, OF, AF as given. */
static u64 flags_of(u64 r, u64 msb, bool cf, bool of, bool af)
{
    u64 f = 0;

    if (cf)
        f |= X86_RFLAGS_CF;
    if (parity_even(r))
        f |= X86_RFLAGS_PF;
    if (af)
        f |= X86_RFLAGS_AF;
    if (r == 0)
        f |= X86_RFLAGS_ZF;
    if (r & msb)
        f |= X86_RFLAGS_SF;
    if (of)
        f |= X86_RFLAGS_OF;
    return f;
}

#define ARITH   (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
                 X86_RFLAGS_SF | X86_RFLAGS_OF)
_Static_assert(ARITH == MMIO_FLAGS_ARITH, "arithmetic flags");

u64 mmio_alu(u32 op, u32 size, u64 a, u64 b, u64 *rflags)
{
    u64 m = mask_of(size), msb = BIT(8 * size - 1), r, f;
    bool cin = *rflags & X86_RFLAGS_CF, cf;

    a &= m;
    b &= m;
    switch (op) {
    case MMIO_OP_ADD:
    case MMIO_OP_ADC:
    case MMIO_OP_INC:
        if (op == MMIO_OP_INC)
            b = 1;
        if (op != MMIO_OP_ADC)
            cin = false;
        r = (a + b + cin) & m;
        cf = cin ? r <= a : r < a;
        f = flags_of(r, msb, cf, (a ^ r) & (b ^ r) & msb, (a ^ b ^ r) & 0x10);
        if (op == MMIO_OP_INC)          /* INC leaves CF alone */
            f = (f & ~X86_RFLAGS_CF) | (*rflags & X86_RFLAGS_CF);
        break;
    case MMIO_OP_SUB:
    case MMIO_OP_SBB:
    case MMIO_OP_CMP:
    case MMIO_OP_DEC:
    case MMIO_OP_NEG:
        if (op == MMIO_OP_DEC)
            b = 1;
        if (op == MMIO_OP_NEG) {        /* 0 - a */
            b = a;
            a = 0;
        }
        if (op != MMIO_OP_SBB)
            cin = false;
        r = (a - b - cin) & m;
        cf = cin ? a <= b : a < b;
        f = flags_of(r, msb, cf, (a ^ b) & (a ^ r) & msb, (a ^ b ^ r) & 0x10);
        if (op == MMIO_OP_DEC)
            f = (f & ~X86_RFLAGS_CF) | (*rflags & X86_RFLAGS_CF);
        if (op == MMIO_OP_CMP)
            r = a;
        break;
    case MMIO_OP_AND:
    case MMIO_OP_TEST:
        r = a & b;
        f = flags_of(r, msb, false, false, false);
        if (op == MMIO_OP_TEST)
            r = a;
        break;
    case MMIO_OP_OR:
        r = a | b;
        f = flags_of(r, msb, false, false, false);
        break;
    case MMIO_OP_XOR:
        r = a ^ b;
        f = flags_of(r, msb, false, false, false);
        break;
    case MMIO_OP_NOT:
        return ~a & m;                  /* no flags */
    case MMIO_OP_BT:
    case MMIO_OP_BTS:
    case MMIO_OP_BTR:
    case MMIO_OP_BTC:
        b &= 8 * size - 1;
        f = (*rflags & ARITH & ~X86_RFLAGS_CF) | ((a >> b) & 1 ? X86_RFLAGS_CF : 0);
        r = op == MMIO_OP_BTS ? a | BIT(b) :
            op == MMIO_OP_BTR ? a & ~BIT(b) :
            op == MMIO_OP_BTC ? a ^ BIT(b) : a;
        break;
    default:                            /* MOV, XCHG, STOS: no arithmetic */
        return b;
    }
    *rflags = (*rflags & ~(u64)ARITH) | f;
    return r & m;
}
