/*
 * Guest linear addresses: the operands of emulated instructions. Decodes
 * the VM-exit instruction-information field (SDM 28.2.5, Tables 28-9 and
 * 28-13) into a linear address, and reads/writes guest memory through the
 * guest's own paging (SDM 4.3-4.5) as the CPU would, injecting #PF (or
 * #GP for a non-canonical address) when the access would fault.
 */
#ifndef TURTLE_GVA_H
#define TURTLE_GVA_H

#include "vmx/vcpu.h"

/* Fields of the VM-exit instruction information. */
#define INSN_INFO_SCALE(i)          ((i) & 3)
#define INSN_INFO_REG1(i)           (((i) >> 3) & 0xf)     /* register operand (VMREAD/VMWRITE) */
#define INSN_INFO_ADDR_SIZE(i)      (((i) >> 7) & 7)       /* 0: 16, 1: 32, 2: 64 bits */
#define INSN_INFO_IS_REG(i)         (((i) >> 10) & 1)      /* VMREAD/VMWRITE: register operand */
#define INSN_INFO_SEG(i)            (((i) >> 15) & 7)
#define INSN_INFO_INDEX(i)          (((i) >> 18) & 0xf)
#define INSN_INFO_INDEX_INVALID(i)  (((i) >> 22) & 1)
#define INSN_INFO_BASE(i)           (((i) >> 23) & 0xf)
#define INSN_INFO_BASE_INVALID(i)   (((i) >> 27) & 1)
#define INSN_INFO_REG2(i)           (((i) >> 28) & 0xf)

/* The linear address of an instruction's len-byte memory operand (write:
 * the instruction stores to it), from the instruction information and the
 * displacement in the exit qualification. Returns false, after injecting
 * #GP(0) or #SS(0), if the address is not canonical in 64-bit mode, or
 * otherwise if the segment is unusable, of a type that forbids the access,
 * or too small (expand-down segments included). */
bool insn_operand_address(struct vcpu *vcpu, u32 info, u64 displacement, u32 len, bool write, u64 *gla);

/* Copy to/from guest linear memory. On a fault the right exception is
 * injected and false returned; the caller then leaves the instruction. */
bool guest_read_linear(struct vcpu *vcpu, u64 gla, void *buf, u32 len);
bool guest_write_linear(struct vcpu *vcpu, u64 gla, const void *buf, u32 len);
/* The bytes of the instruction at CS:RIP, up to max, as far as they are
 * mapped (no fault is injected: the CPU fetched them already). Returns
 * how many it read. */
u32 guest_fetch_insn(struct vcpu *vcpu, u8 *buf, u32 max);

#endif
