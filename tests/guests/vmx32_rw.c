/*
 * vmx32: VMREAD and VMWRITE from 32-bit protected mode. 64-bit fields
 * through their full and _HIGH encodings, 16-bit, 32-bit and natural-width
 * fields from and to 32-bit registers, 32-bit memory operands (addressing
 * forms, ending at and crossing an ES limit), unsupported field encodings
 * and the read-only VM_EXIT_REASON (as IA32_VMX_MISC[29] says).
 */
#include "vmx32.h"

#define UNSUPPORTED_FIELD       0x6ffe  /* natural-width host field, index 0x1ff */

/* VMWRITE EAX, ES:[ebx] with ES = o->a, EBX = o->b, EAX = o->c (the field). */
static void op_vmwrite_es(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "vmwrite %%es:(%%ebx), %%eax\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), "b"(o->b), "a"(o->c), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* VMREAD ES:[ebx], EAX with ES = o->a, EBX = o->b, EAX = o->c (the field). */
static void op_vmread_es(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "vmread %%eax, %%es:(%%ebx)\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), "b"(o->b), "a"(o->c), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

void test_vmread_vmwrite(void)
{
    u32 lo, hi;
    int st1, st2, st3;

    /* A 64-bit field: full encoding = bits 31:0 in 32-bit mode, _HIGH = bits 63:32. */
    st1 = vmwrite32(TSC_OFFSET, 0x89abcdef);
    st2 = vmwrite32(TSC_OFFSET_HIGH, 0x01234567);
    lo = hi = 0xffffffff;
    st3 = vmread32(TSC_OFFSET, &lo) | vmread32(TSC_OFFSET_HIGH, &hi);
    check(st1 == VMX_OK && st2 == VMX_OK && st3 == VMX_OK && lo == 0x89abcdef && hi == 0x01234567,
          "vmx32 VMWRITE/VMREAD TSC_OFFSET through its full and _HIGH encodings", "%#x_%08x", hi, lo);

    st1 = vmwrite32(TSC_OFFSET, 0x13572468);
    lo = hi = 0xffffffff;
    st3 = vmread32(TSC_OFFSET, &lo) | vmread32(TSC_OFFSET_HIGH, &hi);
    check(st1 == VMX_OK && st3 == VMX_OK && lo == 0x13572468 && hi == 0,
          "vmx32 VMWRITE of a 64-bit field's full encoding clears bits 63:32", "%#x_%08x", hi, lo);

    /* A 16-bit field: high bits of the source ignored, of the destination cleared. */
    st1 = vmwrite32(GUEST_ES_SELECTOR, 0xabcd1234);
    lo = 0xffffffff;
    st3 = vmread32(GUEST_ES_SELECTOR, &lo);
    check(st1 == VMX_OK && st3 == VMX_OK && lo == 0x1234,
          "vmx32 VMWRITE/VMREAD a 16-bit field from/to a 32-bit register", "%#x", lo);

    /* A 32-bit field and a natural-width one. */
    st1 = vmwrite32(EXCEPTION_BITMAP, 0x87654321);
    lo = 0;
    st3 = vmread32(EXCEPTION_BITMAP, &lo);
    check(st1 == VMX_OK && st3 == VMX_OK && lo == 0x87654321, "vmx32 VMWRITE/VMREAD a 32-bit field", "%#x", lo);
    st1 = vmwrite32(GUEST_RIP, 0xdeadbeef);
    lo = 0;
    st3 = vmread32(GUEST_RIP, &lo);
    check(st1 == VMX_OK && st3 == VMX_OK && lo == 0xdeadbeef, "vmx32 VMWRITE/VMREAD natural-width GUEST_RIP", "%#x",
          lo);

    /* Memory operands: 32 bits read, 32 bits written. */
    static u32 mem[4];
    u8 cf, zf;
    mem[0] = 0x2468ace0;
    mem[1] = 0xffffffff;                    /* not part of the operand */
    __asm__ __volatile__("vmwrite (%%ebx), %%eax\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"(&mem[0]), "a"(TSC_OFFSET) : "cc", "memory");
    st1 = vmx_flags(cf, zf);
    lo = hi = 0xffffffff;
    st3 = vmread32(TSC_OFFSET, &lo) | vmread32(TSC_OFFSET_HIGH, &hi);
    check(st1 == VMX_OK && st3 == VMX_OK && lo == 0x2468ace0 && hi == 0,
          "vmx32 VMWRITE eax, [ebx] reads a 32-bit operand", "%#x_%08x", hi, lo);

    mem[0] = mem[1] = mem[2] = mem[3] = 0xa5a5a5a5;
    u32 idx = 1;
    __asm__ __volatile__("vmread %%eax, 4(%%ebx,%%esi,4)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"(&mem[0]), "S"(idx), "a"(TSC_OFFSET) : "cc", "memory");
    st1 = vmx_flags(cf, zf);
    check(st1 == VMX_OK && mem[1] == 0xa5a5a5a5 && mem[2] == 0x2468ace0 && mem[3] == 0xa5a5a5a5,
          "vmx32 VMREAD [ebx+esi*4+4], eax writes 32 bits", "%#x %#x %#x", mem[1], mem[2], mem[3]);

    mem[0] = mem[1] = 0xa5a5a5a5;
    __asm__ __volatile__("vmread %%eax, (%%ebx)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"(&mem[0]), "a"(GUEST_ES_SELECTOR) : "cc", "memory");
    st1 = vmx_flags(cf, zf);
    check(st1 == VMX_OK && mem[0] == 0x1234 && mem[1] == 0xa5a5a5a5,
          "vmx32 VMREAD [ebx] of a 16-bit field zero-extends to 32 bits", "%#x %#x", mem[0], mem[1]);

    /* 32-bit memory operands ending at a segment limit. */
    struct op o;
    u32 err;
    int v;
    mem[0] = 0x0badf00d;
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)&mem[0] - (ES_SMALL_LIMIT - 3));
    load_gdt();
    o = (struct op){ .a = SEL_ES_SMALL, .b = ES_SMALL_LIMIT - 3, .c = TSC_OFFSET };
    v = catch(op_vmwrite_es, &o, &err);
    lo = 0;
    vmread32(TSC_OFFSET, &lo);
    check(v < 0 && o.status == VMX_OK && lo == 0x0badf00d,
          "vmx32 VMWRITE eax, ES:[ebx] with the 4-byte operand ending at the ES limit", "vector %d, %s, %#x", v,
          status_name(o.status), lo);
    mem[0] = mem[1] = 0xa5a5a5a5;
    v = catch(op_vmread_es, &o, &err);
    check(v < 0 && o.status == VMX_OK && mem[0] == 0x0badf00d && mem[1] == 0xa5a5a5a5,
          "vmx32 VMREAD ES:[ebx], eax with the 4-byte operand ending at the ES limit", "vector %d, %s, %#x", v,
          status_name(o.status), mem[0]);
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)down_area);
    load_gdt();
    o.b = ES_SMALL_LIMIT - 2;
    v = catch(op_vmread_es, &o, &err);
    check(v == X86_GP && err == 0, "vmx32 VMREAD ES:[ebx], eax crossing the ES limit: #GP(0)", "%d, error %#x", v,
          err);
    v = catch(op_vmwrite_es, &o, &err);
    check(v == X86_GP && err == 0, "vmx32 VMWRITE eax, ES:[ebx] crossing the ES limit: #GP(0)", "%d, error %#x", v,
          err);

    /* Unsupported fields. */
    lo = 0x5a5a5a5a;
    st1 = vmread32(UNSUPPORTED_FIELD, &lo);
    check(failed_valid(st1, VMXERR_UNSUPPORTED_VMCS_COMPONENT) && lo == 0x5a5a5a5a,
          "vmx32 VMREAD of field 0x6ffe: VMfailValid 12", "%s, error %u", status_name(st1), instr_error());
    st1 = vmwrite32(UNSUPPORTED_FIELD, 0);
    check(failed_valid(st1, VMXERR_UNSUPPORTED_VMCS_COMPONENT), "vmx32 VMWRITE of field 0x6ffe: VMfailValid 12",
          "%s, error %u", status_name(st1), instr_error());
    st1 = vmread32(0x80000000u | TSC_OFFSET, &lo);
    check(failed_valid(st1, VMXERR_UNSUPPORTED_VMCS_COMPONENT),
          "vmx32 VMREAD of TSC_OFFSET with encoding bit 31 set: VMfailValid 12", "%s, error %u", status_name(st1),
          instr_error());

    /* A read-only field: writable only with IA32_VMX_MISC[29] (else VMfailValid 13). */
    st1 = vmwrite32(VM_EXIT_REASON, 0);
    check((caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS) ? st1 == VMX_OK :
          failed_valid(st1, VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT),
          "vmx32 VMWRITE of read-only VM_EXIT_REASON: as IA32_VMX_MISC[29] says", "%s, error %u",
          status_name(st1), st1 == VMX_FAIL_VALID ? instr_error() : 0);
}
