/*
 * Typed access to the current VMCS. The width is checked at compile time
 * when the field is a constant (the encoding's bits 14:13, SDM 25.11.2), and
 * every VMREAD/VMWRITE checks for VMfail: a failure is an L0 bug (turtle
 * built a bad vmcs01/vmcs02 or used a wrong field), so it panics naming the
 * field and VM_INSTRUCTION_ERROR after dumping the VMCS.
 */
#ifndef TURTLE_VMCS_H
#define TURTLE_VMCS_H

#include "kernel/types.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vmx_arch.h"
#include "vmx/vmx_insn.h"

__noreturn void vmcs_access_failed(const char *op, u32 field, enum vmx_result r);

/* The hot paths make hundreds of these per nested round trip: the check
 * is one branch on CF|ZF (asm goto); only a failure asks again, with
 * vmread_raw()/vmwrite_raw(), which of VMfailInvalid/VMfailValid it was. */
static inline u64 __vmcs_read(u32 field)
{
    u64 v;
    __asm__ goto("vmread %[f], %[v]\n\tjbe %l[failed]"
                 : [v] "=r"(v) : [f] "r"((u64)field) : "cc" : failed);
    return v;
failed:
    vmcs_access_failed("vmread", field, vmread_raw(field, &v));
}

static inline void __vmcs_write(u32 field, u64 v)
{
    __asm__ goto("vmwrite %[v], %[f]\n\tjbe %l[failed]"
                 :: [f] "r"((u64)field), [v] "rm"(v) : "cc" : failed);
    return;
failed:
    vmcs_access_failed("vmwrite", field, vmwrite_raw(field, v));
}

/* Named-constant fields only: the width is checked at compile time. A
 * field number computed at run time goes through __vmcs_read/__vmcs_write. */
#define VMCS_WIDTH_IS(f, w) \
    _Static_assert(VMCS_FIELD_WIDTH(f) == VMCS_FIELD_WIDTH_##w, #f " is not a " #w " field")
#define vmcs_read16(f)      ({ VMCS_WIDTH_IS(f, 16); (u16)__vmcs_read(f); })
#define vmcs_read32(f)      ({ VMCS_WIDTH_IS(f, 32); (u32)__vmcs_read(f); })
#define vmcs_read64(f)      ({ VMCS_WIDTH_IS(f, 64); __vmcs_read(f); })
#define vmcs_readl(f)       ({ VMCS_WIDTH_IS(f, NATURAL); __vmcs_read(f); })
#define vmcs_write16(f, v)  ({ VMCS_WIDTH_IS(f, 16); __vmcs_write((f), (u16)(v)); })
#define vmcs_write32(f, v)  ({ VMCS_WIDTH_IS(f, 32); __vmcs_write((f), (u32)(v)); })
#define vmcs_write64(f, v)  ({ VMCS_WIDTH_IS(f, 64); __vmcs_write((f), (u64)(v)); })
#define vmcs_writel(f, v)   ({ VMCS_WIDTH_IS(f, NATURAL); __vmcs_write((f), (u64)(v)); })

/* Prints every field of the current VMCS that the CPU supports (used by
 * every diagnostic path: entry failures, unexpected exits, vmcs02 bugs). */
void vmcs_dump(void);

#endif
