/*
 * The VMX instructions as inline wrappers (SDM Vol. 3 31.3). Each returns
 * the VMX result: VMX_OK, VMX_FAIL_INVALID (CF=1: no current VMCS) or
 * VMX_FAIL_VALID (ZF=1: the reason is in VM_INSTRUCTION_ERROR).
 */
#ifndef TURTLE_VMX_INSN_H
#define TURTLE_VMX_INSN_H

#include "kernel/types.h"

enum vmx_result {
    VMX_OK = 0,
    VMX_FAIL_INVALID = 1,
    VMX_FAIL_VALID = 2,
};

/* setbe catches CF|ZF, setb CF alone: fail-invalid wins when both are set. */
#define VMX_RESULT(cf, zf)  ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

static inline enum vmx_result vmxon(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmxon %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return VMX_RESULT(cf, zf);
}

static inline enum vmx_result vmclear(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmclear %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return VMX_RESULT(cf, zf);
}

static inline enum vmx_result vmptrld(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmptrld %2; setc %0; setz %1" : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return VMX_RESULT(cf, zf);
}

static inline enum vmx_result vmread_raw(u64 field, u64 *val)
{
    u8 cf, zf;
    u64 v;
    __asm__ __volatile__("vmread %3, %2; setc %0; setz %1"
                         : "=qm"(cf), "=qm"(zf), "=rm"(v) : "r"(field) : "cc");
    *val = v;
    return VMX_RESULT(cf, zf);
}

static inline enum vmx_result vmwrite_raw(u64 field, u64 val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmwrite %3, %2; setc %0; setz %1"
                         : "=qm"(cf), "=qm"(zf) : "r"(field), "rm"(val) : "cc");
    return VMX_RESULT(cf, zf);
}

struct invept_desc {
    u64 eptp;
    u64 reserved;
};

struct invvpid_desc {
    u64 vpid;                   /* bits 15:0 */
    u64 linear_address;
};

static inline enum vmx_result invept(u64 type, u64 eptp)
{
    struct invept_desc d = { eptp, 0 };
    u8 cf, zf;
    __asm__ __volatile__("invept %2, %3; setc %0; setz %1"
                         : "=qm"(cf), "=qm"(zf) : "m"(d), "r"(type) : "cc", "memory");
    return VMX_RESULT(cf, zf);
}

static inline enum vmx_result invvpid(u64 type, u16 vpid, u64 gva)
{
    struct invvpid_desc d = { vpid, gva };
    u8 cf, zf;
    __asm__ __volatile__("invvpid %2, %3; setc %0; setz %1"
                         : "=qm"(cf), "=qm"(zf) : "m"(d), "r"(type) : "cc", "memory");
    return VMX_RESULT(cf, zf);
}

static inline void vmxoff(void)
{
    __asm__ __volatile__("vmxoff" ::: "cc", "memory");
}

#endif
