/*
 * vmx_fuzz: VM functions. Where the CPU shows EPTP switching, one
 * iteration in VMFUNC_ODDS turns it on and starts L2 at a VMFUNC of random
 * leaf and index; the EPTP list holds only the sandbox's EPTP and EPTPs no
 * VM entry accepts, so no VMFUNC leaves the sandbox (vmx_fuzz.c checks the
 * EPT pointer after every exit).
 */
#include "vmx_fuzz.h"

#define OP_MOV_EAX_IMM32    0xb8
#define OP_MOV_ECX_IMM32    0xb9
#define VMFUNC_ODDS         4                   /* one iteration in 4 */
static const u8 op_vmfunc[] = { 0x0f, 0x01, 0xd4 };

/* An EPTP no VM entry (and so no VMFUNC) accepts, whatever the CPU. */
static u64 invalid_eptp(u64 *s)
{
    switch (rnd_below(s, 5)) {
    case 0:  return (eptp & ~VMX_EPTP_MT_MASK) | (rnd_below(s, 2) ? 2 : 7);    /* reserved memory type */
    case 1:  return (eptp & ~VMX_EPTP_PWL_MASK) | (1 << 3);                     /* a 2-level walk */
    case 2:  return eptp | BIT(7 + rnd_below(s, 5));                            /* bits 11:7 reserved */
    case 3:  return eptp | BEYOND_ANY_WIDTH(rnd_next(s));
    default: return rnd_next(s) | BIT(7);
    }
}

/* VM functions with EPTP switching, from a stream of its own (each seed's
 * mutations stay what they were), in one iteration out of VMFUNC_ODDS: the
 * EPTP list holds the sandbox's EPTP (with or without A/D flags where
 * offered) at some indices and EPTPs nothing accepts at the others, so
 * that no VMFUNC leaves the sandbox; L2 starts with a VMFUNC of random
 * leaf and index. The mutations may then change any of it. */
void vmfunc_variation(u64 s)
{
    u64 *list = (u64 *)scratch[PAGE_EPTP_LIST];
    u8 *code = sandbox + SB_VMFUNC;
    u32 leaf, index, valid = (u32)rnd_below(&s, 512);

    if (!vmx_has_proc2(SECONDARY_EXEC_ENABLE_VMFUNC) || !(vmx_caps.vmfunc & VMX_VMFUNC_EPTP_SWITCHING) ||
        rnd_below(&s, VMFUNC_ODDS))
        return;
    for (u32 i = 0; i < 512; i++) {
        u64 ad = (vmx_caps.ept_vpid & VMX_EPT_AD_BIT) && rnd_below(&s, 2) ? VMX_EPTP_AD_ENABLE_BIT : 0;
        list[i] = i == valid || !rnd_below(&s, 8) ? eptp | ad : invalid_eptp(&s);
    }
    switch (rnd_below(&s, 8)) {
    case 0:  leaf = 1 + (u32)rnd_below(&s, 63); break;     /* a leaf no CPU enables */
    case 1:  leaf = (u32)rnd_next(&s); break;              /* 64 and above too */
    default: leaf = 0; break;
    }
    switch (rnd_below(&s, 4)) {
    case 0:  index = (u32)rnd_below(&s, 512); break;
    case 1:  index = (u32)rnd_next(&s); break;
    default: index = valid; break;
    }
    *code++ = OP_MOV_EAX_IMM32;
    memcpy(code, &leaf, 4), code += 4;
    *code++ = OP_MOV_ECX_IMM32;
    memcpy(code, &index, 4), code += 4;
    memcpy(code, op_vmfunc, sizeof(op_vmfunc)), code += sizeof(op_vmfunc);
    memcpy(code, l2_code, sizeof(l2_code));
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VMFUNC);
    vmcs_write(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
    vmcs_write(GUEST_RIP, SB_VMFUNC);
}
