/*
 * The x86 decoder for MMIO instructions: legacy prefixes, REX, the one-
 * and two-byte opcodes listed in mmio_decode.h, ModRM/SIB/displacement
 * (16-bit and 32/64-bit addressing, RIP-relative) and immediates. Only the
 * length of the addressing bytes matters: the caller knows the
 * guest-physical address from the EPT violation.
 */
#include "vmx/mmio_decode.h"

#define PFX_LOCK            0xf0
#define PFX_REPNE           0xf2
#define PFX_REP             0xf3
#define PFX_ES              0x26
#define PFX_CS              0x2e
#define PFX_SS              0x36
#define PFX_DS              0x3e
#define PFX_FS              0x64
#define PFX_GS              0x65
#define PFX_OPSIZE          0x66
#define PFX_ADDRSIZE        0x67
#define REX_W               BIT(3)      /* 64-bit operand size */
#define REX_R               BIT(2)      /* ModRM.reg extension */
#define OPC_ESCAPE          0x0f

#define MODRM_MOD(m)        ((m) >> 6)
#define MODRM_REG(m)        (((m) >> 3) & 7)
#define MODRM_RM(m)         ((m) & 7)
#define SIB_BASE(s)         ((s) & 7)

struct dec {
    const u8 *b;
    u32 n;                      /* bytes available */
    u32 i;                      /* next byte */
    int err;
    enum mmio_cpu_mode mode;
    u8 rex;
    bool opsize, addrsize, repne;
};

/* The next byte, or 0 with d->err set: past 15 bytes is the #GP the CPU
 * would raise, past the bytes given is a truncated fetch. */
static u8 next(struct dec *d)
{
    if (d->err)
        return 0;
    if (d->i >= MMIO_INSN_MAX) {
        d->err = MMIO_ERR_TOO_LONG;
        return 0;
    }
    if (d->i >= d->n) {
        d->err = MMIO_ERR_TRUNCATED;
        return 0;
    }
    return d->b[d->i++];
}

/* n little-endian bytes, sign-extended to 64 bits. */
static u64 next_signed(struct dec *d, u32 n)
{
    u64 v = 0;

    for (u32 k = 0; k < n; k++)
        v |= (u64)next(d) << (8 * k);
    if (n < 8 && (v & BIT(8 * n - 1)))
        v |= ~0ULL << (8 * n);
    return v;
}

static u64 size_mask(u32 size)
{
    return size >= 8 ? ~0ULL : BIT(8 * size) - 1;
}

/* Operand size of a non-byte operation (SDM Vol. 1 3.6, Vol. 2 2.2.1.2). */
static u8 word_size(const struct dec *d)
{
    if (d->mode == MMIO_MODE_64 && (d->rex & REX_W))
        return 8;
    if (d->mode == MMIO_MODE_16)
        return d->opsize ? 4 : 2;
    return d->opsize ? 2 : 4;
}

static u8 addr_size(const struct dec *d)
{
    switch (d->mode) {
    case MMIO_MODE_64: return d->addrsize ? 4 : 8;
    case MMIO_MODE_32: return d->addrsize ? 2 : 4;
    default:           return d->addrsize ? 4 : 2;
    }
}

/* Consumes ModRM and its SIB/displacement bytes (SDM Vol. 2 Tables 2-1,
 * 2-2, 2-3; 64-bit mode RIP-relative 2.2.1.6). Returns ModRM; a register
 * operand (mod = 3) sets MMIO_ERR_NO_MEMORY. */
static u8 modrm(struct dec *d)
{
    u8 m = next(d);
    u32 disp = 0;

    if (d->err)
        return 0;
    if (MODRM_MOD(m) == 3) {
        d->err = MMIO_ERR_NO_MEMORY;
        return m;
    }
    if (addr_size(d) == 2) {
        if (MODRM_MOD(m) == 1)
            disp = 1;
        else if (MODRM_MOD(m) == 2 || MODRM_RM(m) == 6)
            disp = 2;
    } else {
        if (MODRM_RM(m) == 4 && SIB_BASE(next(d)) == 5 && MODRM_MOD(m) == 0)
            disp = 4;                   /* no base: disp32 */
        if (MODRM_MOD(m) == 1)
            disp = 1;
        else if (MODRM_MOD(m) == 2 || (MODRM_MOD(m) == 0 && MODRM_RM(m) == 5))
            disp = 4;                   /* disp32, or RIP/EIP-relative in 64-bit mode */
    }
    while (disp--)
        next(d);
    return m;
}

/* The register operand of ModRM for an operation of the given size: REX.R
 * extends it; without any REX, byte registers 4-7 are AH, CH, DH, BH. */
static void set_reg(struct dec *d, struct mmio_insn *in, u8 m, u8 size)
{
    in->reg = MODRM_REG(m) | ((d->rex & REX_R) ? 8 : 0);
    in->reg_size = size;
    in->reg_high8 = size == 1 && !d->rex && in->reg >= 4;
    if (in->reg_high8)
        in->reg -= 4;
}

static void set_imm(struct dec *d, struct mmio_insn *in, u32 bytes)
{
    in->imm = next_signed(d, bytes) & size_mask(in->size);
}

/* Two-byte opcodes 0F xx. */
static int decode_0f(struct dec *d, struct mmio_insn *in)
{
    u8 opc = next(d), m;
    static const u8 bit_ops[4] = { MMIO_OP_BT, MMIO_OP_BTS, MMIO_OP_BTR, MMIO_OP_BTC };

    switch (opc) {
    case 0xb6: case 0xb7:               /* MOVZX r, r/m8 / r/m16 */
    case 0xbe: case 0xbf:               /* MOVSX r, r/m8 / r/m16 */
        in->op = (opc & 8) ? MMIO_OP_MOVSX : MMIO_OP_MOVZX;
        in->form = MMIO_FORM_REG_MEM;
        in->size = (opc & 1) ? 2 : 1;
        m = modrm(d);
        set_reg(d, in, m, word_size(d));
        return MMIO_OK;
    case 0xa3: case 0xab:               /* BT, BTS r/m, r */
    case 0xb3: case 0xbb:               /* BTR, BTC r/m, r */
        in->op = bit_ops[(opc >> 3) & 3];
        in->form = MMIO_FORM_MEM_REG;
        in->size = word_size(d);
        m = modrm(d);
        set_reg(d, in, m, in->size);
        return MMIO_OK;
    case 0xba:                          /* group 8: BT* r/m, imm8 */
        in->form = MMIO_FORM_MEM_IMM;
        in->size = word_size(d);
        m = modrm(d);
        if (!d->err && MODRM_REG(m) < 4)
            return MMIO_ERR_OPCODE;
        in->op = bit_ops[MODRM_REG(m) & 3];
        in->imm = next(d);              /* bit offset, taken modulo the size */
        return MMIO_OK;
    default:
        return MMIO_ERR_OPCODE;
    }
}

/* One-byte opcodes. */
static int decode_1byte(struct dec *d, struct mmio_insn *in, u8 opc)
{
    u8 m;
    u8 size = (opc & 1) ? word_size(d) : 1;

    in->size = size;
    if (opc < 0x40 && (opc & 7) < 4) {  /* ALU r/m,r / r,r/m: 00-03 ... 38-3B */
        in->op = opc >> 3;
        in->size = size;
        in->form = (opc & 2) ? MMIO_FORM_REG_MEM : MMIO_FORM_MEM_REG;
        m = modrm(d);
        set_reg(d, in, m, size);
        return MMIO_OK;
    }
    switch (opc) {
    case 0x80: case 0x81: case 0x83:    /* group 1: ALU r/m, imm */
        in->form = MMIO_FORM_MEM_IMM;
        m = modrm(d);
        in->op = MODRM_REG(m);
        set_imm(d, in, opc == 0x81 ? MIN(size, 4) : 1);
        return MMIO_OK;
    case 0x84: case 0x85:               /* TEST r/m, r */
    case 0x86: case 0x87:               /* XCHG r/m, r */
    case 0x88: case 0x89:               /* MOV r/m, r */
        in->op = opc < 0x86 ? MMIO_OP_TEST : opc < 0x88 ? MMIO_OP_XCHG : MMIO_OP_MOV;
        in->form = MMIO_FORM_MEM_REG;
        m = modrm(d);
        set_reg(d, in, m, size);
        return MMIO_OK;
    case 0x8a: case 0x8b:               /* MOV r, r/m */
        in->op = MMIO_OP_MOV;
        in->form = MMIO_FORM_REG_MEM;
        m = modrm(d);
        set_reg(d, in, m, size);
        return MMIO_OK;
    case 0xa0: case 0xa1:               /* MOV AL/rAX, moffs */
    case 0xa2: case 0xa3:               /* MOV moffs, AL/rAX */
        in->op = MMIO_OP_MOV;
        in->form = (opc & 2) ? MMIO_FORM_MEM_REG : MMIO_FORM_REG_MEM;
        in->reg = MMIO_REG_RAX;
        in->reg_size = size;
        next_signed(d, addr_size(d));   /* the offset: as wide as an address */
        return MMIO_OK;
    case 0xaa: case 0xab:               /* STOS m, AL/rAX (ES:rDI) */
        in->op = MMIO_OP_STOS;
        in->form = MMIO_FORM_MEM_REG;
        in->reg = MMIO_REG_RAX;
        in->reg_size = size;
        return MMIO_OK;
    case 0xc6: case 0xc7:               /* MOV r/m, imm (group 11) */
        in->op = MMIO_OP_MOV;
        in->form = MMIO_FORM_MEM_IMM;
        m = modrm(d);
        if (!d->err && MODRM_REG(m) != 0)
            return MMIO_ERR_OPCODE;     /* C6 F8 / C7 F8 are XABORT/XBEGIN */
        set_imm(d, in, MIN(size, 4));
        return MMIO_OK;
    case 0xf6: case 0xf7:               /* group 3 */
        m = modrm(d);
        switch (MODRM_REG(m)) {
        case 0:
            in->op = MMIO_OP_TEST;
            in->form = MMIO_FORM_MEM_IMM;
            set_imm(d, in, MIN(size, 4));
            return MMIO_OK;
        case 2: case 3:
            in->op = MODRM_REG(m) == 2 ? MMIO_OP_NOT : MMIO_OP_NEG;
            in->form = MMIO_FORM_MEM;
            return MMIO_OK;
        default:                        /* MUL/IMUL/DIV/IDIV, and /1 */
            return d->err ? MMIO_OK : MMIO_ERR_OPCODE;
        }
    case 0xfe: case 0xff:               /* groups 4 and 5: INC, DEC */
        m = modrm(d);
        if (!d->err && MODRM_REG(m) > 1)
            return MMIO_ERR_OPCODE;     /* CALL/JMP/PUSH through memory */
        in->op = MODRM_REG(m) ? MMIO_OP_DEC : MMIO_OP_INC;
        in->form = MMIO_FORM_MEM;
        return MMIO_OK;
    default:
        return MMIO_ERR_OPCODE;
    }
}

/* LOCK is allowed only on a read-modify-write of the memory operand
 * (SDM Vol. 2 "LOCK"); otherwise the CPU raises #UD. */
static bool lock_allowed(const struct mmio_insn *in)
{
    switch (in->op) {
    case MMIO_OP_ADD: case MMIO_OP_OR: case MMIO_OP_ADC: case MMIO_OP_SBB:
    case MMIO_OP_AND: case MMIO_OP_SUB: case MMIO_OP_XOR:
        return in->form != MMIO_FORM_REG_MEM;
    case MMIO_OP_INC: case MMIO_OP_DEC: case MMIO_OP_NOT: case MMIO_OP_NEG:
    case MMIO_OP_BTS: case MMIO_OP_BTR: case MMIO_OP_BTC: case MMIO_OP_XCHG:
        return true;
    default:
        return false;
    }
}

int mmio_decode(const u8 *bytes, u32 n, enum mmio_cpu_mode mode, struct mmio_insn *in)
{
    struct dec d = { .b = bytes, .n = n, .mode = mode };
    bool rep = false;
    int r;
    u8 c;

    *in = (struct mmio_insn){ 0 };
    for (;;) {
        c = next(&d);
        if (d.err)
            return d.err;
        if (mode == MMIO_MODE_64 && (c & 0xf0) == 0x40) {
            d.rex = c;                  /* only the last REX before the opcode counts */
            continue;
        }
        switch (c) {
        case PFX_LOCK:  in->lock = true; break;
        case PFX_REPNE: d.repne = true; break;
        case PFX_REP:   rep = true; break;
        case PFX_OPSIZE: d.opsize = true; break;
        case PFX_ADDRSIZE: d.addrsize = true; break;
        case PFX_ES: case PFX_CS: case PFX_SS:
        case PFX_DS: case PFX_FS: case PFX_GS:
            break;                      /* the caller has the physical address */
        default:
            goto opcode;
        }
        d.rex = 0;                      /* a REX not right before the opcode is ignored */
    }
opcode:
    r = c == OPC_ESCAPE ? decode_0f(&d, in) : decode_1byte(&d, in, c);
    if (d.err)
        return d.err;                   /* truncation and length first, as a fetch would */
    if (r != MMIO_OK)
        return r;
    in->len = (u8)d.i;
    in->addr_size = addr_size(&d);
    if (in->lock && !lock_allowed(in))
        return MMIO_ERR_LOCK;
    if (d.repne || (rep && in->op != MMIO_OP_STOS))
        return MMIO_ERR_REP;
    in->rep = rep;
    return MMIO_OK;
}

const char *mmio_status_str(int status)
{
    static const char *const str[MMIO_STATUS_COUNT] = {
        [MMIO_OK] = "ok",
        [MMIO_ERR_TRUNCATED] = "instruction runs past the bytes fetched",
        [MMIO_ERR_TOO_LONG] = "instruction longer than 15 bytes",
        [MMIO_ERR_OPCODE] = "instruction not emulated on MMIO",
        [MMIO_ERR_NO_MEMORY] = "instruction has no memory operand",
        [MMIO_ERR_LOCK] = "LOCK prefix not allowed here",
        [MMIO_ERR_REP] = "REP/REPNE prefix not emulated here",
        [MMIO_ERR_BIT_OFFSET] = "bit offset outside the MMIO operand",
        [MMIO_ERR_DEVICE] = "no device accepted the access",
    };

    if (status < 0 || status >= MMIO_STATUS_COUNT)
        return "unknown status";
    return str[status];
}
