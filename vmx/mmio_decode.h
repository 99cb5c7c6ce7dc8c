/*
 * Decoding the instruction that touched emulated MMIO. An access to a page
 * turtle leaves unmapped in EPT01 (the xAPIC, the IOAPIC) is an EPT
 * violation; the caller fetches up to 15 bytes at the guest's RIP and this
 * module says what the instruction does to its memory operand. Pure logic:
 * no VT-x, no guest memory, so the host unit tests compile it as it is.
 *
 * Decoded: the forms compilers emit for volatile loads and stores and the
 * read-modify-write forms kernels use on device registers (SDM Vol. 2,
 * Appendix A opcode map):
 *   MOV   88 89 8A 8B, C6 /0 C7 /0, A0-A3 (moffs)
 *   MOVZX 0F B6 0F B7, MOVSX 0F BE 0F BF
 *   ADD OR ADC SBB AND SUB XOR CMP: 00-03 08-0B 10-13 18-1B 20-23 28-2B
 *         30-33 38-3B, and 80 81 83 /0-/7
 *   TEST  84 85, F6 /0 F7 /0;  NOT NEG F6/F7 /2 /3;  INC DEC FE/FF /0 /1
 *   XCHG  86 87;  BT BTS BTR BTC 0F A3 AB B3 BB, 0F BA /4-/7
 *   STOS  AA AB (with or without REP)
 * with the prefixes 66, 67, REX, segment overrides and LOCK where the SDM
 * allows it. Everything else is refused with a reason, never guessed: an
 * unknown opcode, a register-only ModRM (no memory operand, so it cannot be
 * the MMIO access), LOCK on an instruction that #UDs with it, F2/F3 outside
 * STOS (REPNE STOS and the HLE hints included), MOVS (two memory operands).
 */
#ifndef TURTLE_MMIO_DECODE_H
#define TURTLE_MMIO_DECODE_H

#include "kernel/types.h"

#define MMIO_INSN_MAX       15          /* SDM Vol. 2 2.3.11: longer is #GP */

/* Default operand and address size of the code segment (CS.L, CS.D; real
 * and virtual-8086 mode decode as 16-bit). */
enum mmio_cpu_mode {
    MMIO_MODE_16,
    MMIO_MODE_32,
    MMIO_MODE_64,
};

/* What mmio_decode() and mmio_emulate() return. */
enum mmio_status {
    MMIO_OK = 0,
    MMIO_ERR_TRUNCATED,         /* the instruction runs past the bytes given */
    MMIO_ERR_TOO_LONG,          /* more than 15 bytes (#GP on hardware) */
    MMIO_ERR_OPCODE,            /* not an instruction turtle emulates on MMIO */
    MMIO_ERR_NO_MEMORY,         /* ModRM names a register: no memory operand */
    MMIO_ERR_LOCK,              /* LOCK where it is undefined (#UD) */
    MMIO_ERR_REP,               /* F2/F3 where turtle does not accept it */
    MMIO_ERR_BIT_OFFSET,        /* BT* register offset outside the operand */
    MMIO_ERR_DEVICE,            /* the read or write callback refused the access */
    MMIO_STATUS_COUNT,
};

/* The operation. */
enum mmio_op {
    MMIO_OP_ADD,                /* 0-7: the group-1 order, ModRM.reg of 80/81/83 */
    MMIO_OP_OR,
    MMIO_OP_ADC,
    MMIO_OP_SBB,
    MMIO_OP_AND,
    MMIO_OP_SUB,
    MMIO_OP_XOR,
    MMIO_OP_CMP,
    MMIO_OP_TEST,
    MMIO_OP_INC,
    MMIO_OP_DEC,
    MMIO_OP_NOT,
    MMIO_OP_NEG,
    MMIO_OP_BT,
    MMIO_OP_BTS,
    MMIO_OP_BTR,
    MMIO_OP_BTC,
    MMIO_OP_MOV,
    MMIO_OP_MOVZX,
    MMIO_OP_MOVSX,
    MMIO_OP_XCHG,
    MMIO_OP_STOS,
    MMIO_OP_COUNT,
};

/* Where the operands are. The memory operand is always the MMIO access. */
enum mmio_form {
    MMIO_FORM_MEM_REG,          /* memory is the destination, a register the source */
    MMIO_FORM_MEM_IMM,          /* memory is the destination, an immediate the source */
    MMIO_FORM_REG_MEM,          /* a register is the destination, memory the source */
    MMIO_FORM_MEM,              /* memory is the only operand (INC DEC NOT NEG) */
};

/* Register numbers: ModRM/REX order (SDM Vol. 2 Table 2-2). */
#define MMIO_REG_RAX        0
#define MMIO_REG_RCX        1
#define MMIO_REG_RDX        2
#define MMIO_REG_RBX        3
#define MMIO_REG_RSP        4
#define MMIO_REG_RBP        5
#define MMIO_REG_RSI        6
#define MMIO_REG_RDI        7

struct mmio_insn {
    u8 len;                     /* bytes, prefixes included; <= 15 */
    u8 op;                      /* enum mmio_op */
    u8 form;                    /* enum mmio_form */
    u8 size;                    /* memory operand: 1, 2, 4 or 8 bytes */
    u8 reg_size;                /* register operand (MOVZX/MOVSX: the destination) */
    u8 reg;                     /* register operand, 0-15 */
    bool reg_high8;             /* reg 0-3 names AH, CH, DH, BH */
    bool lock;
    bool rep;                   /* STOS only: F3 */
    u8 addr_size;               /* 2, 4 or 8: the width of rDI and rCX for STOS */
    u64 imm;                    /* the immediate, sign-extended and masked to size */
};

/* Decodes the instruction in bytes[0, n) executed with a code segment of
 * the given default size. On MMIO_OK *insn describes it; otherwise *insn
 * is unspecified and the status says why. Never reads past bytes[n - 1]
 * nor past bytes[14]. */
int mmio_decode(const u8 *bytes, u32 n, enum mmio_cpu_mode mode, struct mmio_insn *insn);

/* A short English reason for a status, for the message that stops the guest. */
const char *mmio_status_str(int status);

#endif
