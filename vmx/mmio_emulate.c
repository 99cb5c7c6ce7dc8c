/*
 * Executing one decoded MMIO instruction: fetch the register and memory
 * operands, run the ALU, write the device, then commit registers and
 * flags. Validation first, state last: a refused access leaves the guest
 * as it was.
 */
#include "kernel/x86.h"
#include "vmx/mmio_emulate.h"

static u64 mask_of(u32 size)
{
    return size >= 8 ? ~0ULL : BIT(8 * size) - 1;
}

static u64 sign_extend(u64 v, u32 size)
{
    if (size < 8 && (v & BIT(8 * size - 1)))
        v |= ~0ULL << (8 * size);
    return v;
}

static u64 gpr_get(const struct mmio_ops *ops, u32 reg, bool high8, u32 size)
{
    u64 v = ops->read_gpr(ops->ctx, reg);

    if (high8)
        v >>= 8;
    return v & mask_of(size);
}

/* Writes the low `size` bytes of reg with the architectural width rules
 * (see struct mmio_ops). */
static void gpr_set(const struct mmio_ops *ops, u32 reg, bool high8, u32 size, u64 val)
{
    u64 old, m;

    if (size >= 4) {
        ops->write_gpr(ops->ctx, reg, val & mask_of(size));
        return;
    }
    old = ops->read_gpr(ops->ctx, reg);
    m = mask_of(size) << (high8 ? 8 : 0);
    val = (val << (high8 ? 8 : 0)) & m;
    ops->write_gpr(ops->ctx, reg, (old & ~m) | val);
}

/* One iteration of STOS (SDM Vol. 2 "STOS"): store rAX to ES:rDI, step rDI
 * by the size in the direction of DF; with REP, count rCX down and stay on
 * the instruction until it reaches 0. rDI and rCX are as wide as the
 * address size. */
static int emulate_stos(const struct mmio_insn *in, u64 gpa, const struct mmio_ops *ops,
                        u64 rflags, u32 *rip_advance)
{
    u32 as = in->addr_size;
    u64 count = gpr_get(ops, MMIO_REG_RCX, false, as);
    u64 di = gpr_get(ops, MMIO_REG_RDI, false, as);

    *rip_advance = in->len;
    if (in->rep && count == 0)
        return MMIO_OK;                 /* no iteration, no access */
    if (!ops->write(ops->ctx, gpa, in->size, gpr_get(ops, MMIO_REG_RAX, false, in->size)))
        return MMIO_ERR_DEVICE;
    di = (rflags & MMIO_RFLAGS_DF) ? di - in->size : di + in->size;
    gpr_set(ops, MMIO_REG_RDI, false, as, di);
    if (in->rep) {
        gpr_set(ops, MMIO_REG_RCX, false, as, count - 1);
        if (count - 1 != 0)
            *rip_advance = 0;
    }
    return MMIO_OK;
}

/* Does the operation write its destination? */
static bool writes_dst(u32 op)
{
    return op != MMIO_OP_CMP && op != MMIO_OP_TEST && op != MMIO_OP_BT;
}

int mmio_emulate(const struct mmio_insn *in, u64 gpa, const struct mmio_ops *ops,
                 u64 *rflags, u32 *rip_advance)
{
    u64 mem = 0, src, dst, res, flags = *rflags, bits = 8 * (u64)in->size;
    bool mem_dst = in->form != MMIO_FORM_REG_MEM;
    bool load = in->op == MMIO_OP_MOV || in->op == MMIO_OP_MOVZX || in->op == MMIO_OP_MOVSX;

    *rip_advance = 0;
    if (in->op == MMIO_OP_STOS)
        return emulate_stos(in, gpa, ops, flags, rip_advance);

    /* The source operand. */
    switch (in->form) {
    case MMIO_FORM_MEM_REG:
        src = gpr_get(ops, in->reg, in->reg_high8, in->reg_size);
        if (in->op >= MMIO_OP_BT && in->op <= MMIO_OP_BTC) {
            /* A register bit offset is signed and may address another
             * operand (SDM Vol. 2 "BT"): only the faulting one is known. */
            if (sign_extend(src, in->size) >= bits)
                return MMIO_ERR_BIT_OFFSET;
        }
        break;
    case MMIO_FORM_MEM_IMM:
        src = in->imm;
        if (in->op >= MMIO_OP_BT && in->op <= MMIO_OP_BTC)
            src &= bits - 1;
        break;
    default:
        src = 0;
        break;
    }

    /* The memory operand: read unless a MOV only stores to it. */
    if (!(load && mem_dst) && !ops->read(ops->ctx, gpa, in->size, &mem))
        return MMIO_ERR_DEVICE;
    mem &= mask_of(in->size);

    if (!mem_dst) {                     /* reg = reg op mem, or a load */
        if (in->op == MMIO_OP_MOVSX)
            res = sign_extend(mem, in->size);
        else if (load)
            res = mem;
        else
            res = mmio_alu(in->op, in->size,
                           gpr_get(ops, in->reg, in->reg_high8, in->reg_size), mem, &flags);
        if (writes_dst(in->op))
            gpr_set(ops, in->reg, in->reg_high8, in->reg_size, res);
        *rflags = flags;
        *rip_advance = in->len;
        return MMIO_OK;
    }

    dst = mem;
    if (in->op == MMIO_OP_MOV || in->op == MMIO_OP_XCHG)
        res = src;
    else
        res = mmio_alu(in->op, in->size, dst, src, &flags);
    if (writes_dst(in->op) && !ops->write(ops->ctx, gpa, in->size, res & mask_of(in->size)))
        return MMIO_ERR_DEVICE;
    if (in->op == MMIO_OP_XCHG)
        gpr_set(ops, in->reg, in->reg_high8, in->reg_size, mem);
    *rflags = flags;
    *rip_advance = in->len;
    return MMIO_OK;
}

int mmio_run(const u8 *bytes, u32 n, enum mmio_cpu_mode mode, u64 gpa,
             const struct mmio_ops *ops, u64 *rflags, u32 *rip_advance,
             struct mmio_insn *in)
{
    int r = mmio_decode(bytes, n, mode, in);

    *rip_advance = 0;
    if (r != MMIO_OK)
        return r;
    return mmio_emulate(in, gpa, ops, rflags, rip_advance);
}
