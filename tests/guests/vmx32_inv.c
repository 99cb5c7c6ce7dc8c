/*
 * vmx32: INVEPT and INVVPID from 32-bit protected mode, when the
 * capability MSRs show them (else a SKIP line). Invalid and supported
 * types (VMfailValid 28 or ok, per IA32_VMX_EPT_VPID_CAP), reserved
 * descriptor bits, VPID 0, and the 16-byte descriptor ending at and
 * crossing an ES limit.
 */
#include "vmx32.h"

static bool has_proc2(u32 bits)
{
    return ctl_allows(caps.proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) && ctl_allows(caps.proc2, bits);
}

/* INVVPID EDX, ES:[ebx] / INVEPT EDX, ES:[ebx] with ES = o->a, EBX = o->b, EDX = o->c (the type). */
static void op_invvpid_es(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "invvpid %%es:(%%ebx), %%edx\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), "b"(o->b), "d"(o->c), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

static void op_invept_es(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "invept %%es:(%%ebx), %%edx\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), "b"(o->b), "d"(o->c), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* ---- INVEPT / INVVPID ---- */
static int invept32(u32 type, const void *desc)
{
    u8 cf, zf;
    __asm__ __volatile__("invept 0x20(%%ebx), %%ecx\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"((u32)(uintptr_t)desc - 0x20), "c"(type)
                         : "cc", "memory");
    return vmx_flags(cf, zf);
}

static int invvpid32(u32 type, const void *desc)
{
    u8 cf, zf;
    u32 idx = 2;
    __asm__ __volatile__("invvpid (%%ebx,%%esi,8), %%edx\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"((u32)(uintptr_t)desc - 8 * idx), "S"(idx), "d"(type)
                         : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* A type the capability MSR may or may not show: ok, or VMfailValid 28. */
static void expect_type(int st, bool supported, const char *name)
{
    check(supported ? st == VMX_OK : failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID), name,
          "%s, error %u (type %ssupported)", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0,
          supported ? "" : "not ");
}

/*
 * The 16-byte descriptor through ES with a small limit: ending at the limit
 * (ok), crossing it (#GP(0)). Not tested: an unsupported type with such a
 * descriptor. The SDM's pseudocode checks the type before it reads the
 * descriptor (VMfailValid 28); Bochs reads the descriptor first (#GP(0)).
 */
static void inv_limit_tests(void (*fn)(void *), const char *insn, u32 type)
{
    static u32 desc[4];
    char name[128];
    struct op o;
    u32 err;
    int v;

    memset(desc, 0, sizeof(desc));
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)desc - (ES_SMALL_LIMIT - 15));
    load_gdt();
    o = (struct op){ .a = SEL_ES_SMALL, .b = ES_SMALL_LIMIT - 15, .c = type };
    v = catch(fn, &o, &err);
    snprintf(name, sizeof(name), "vmx32 %s ES:[ebx] with the descriptor ending at the ES limit", insn);
    check(v < 0 && o.status == VMX_OK, name, "vector %d, %s", v, status_name(o.status));

    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)down_area);
    load_gdt();
    o.b = ES_SMALL_LIMIT - 7;
    v = catch(fn, &o, &err);
    snprintf(name, sizeof(name), "vmx32 %s ES:[ebx] with the descriptor crossing the ES limit: #GP(0)", insn);
    check(v == X86_GP && err == 0, name, "%d, error %#x, %s", v, err, status_name(o.status));
}

void test_invept_invvpid(void)
{
    static u32 desc[4];
    u64 cap = caps.ept_vpid;
    int st;

    if (has_proc2(SECONDARY_EXEC_ENABLE_EPT) && (cap & VMX_EPT_INVEPT_BIT)) {
        memset(desc, 0, sizeof(desc));
        st = invept32(0, desc);
        check(failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID),
              "vmx32 INVEPT type 0 (ecx, [ebx+0x20]): VMfailValid 28", "%s, error %u", status_name(st),
              instr_error());
        st = invept32(3, desc);
        check(failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID), "vmx32 INVEPT type 3: VMfailValid 28",
              "%s, error %u", status_name(st), instr_error());
        st = invept32(VMX_EPT_EXTENT_GLOBAL, desc);
        expect_type(st, cap & VMX_EPT_EXTENT_GLOBAL_BIT,
                    "vmx32 INVEPT all-context (per EPT_VPID_CAP)");
        if (cap & VMX_EPT_EXTENT_GLOBAL_BIT)
            inv_limit_tests(op_invept_es, "INVEPT all-context", VMX_EPT_EXTENT_GLOBAL);
    } else {
        printf("SKIP: vmx32 INVEPT (not supported)\n");
    }

    if (has_proc2(SECONDARY_EXEC_ENABLE_VPID) && (cap & VMX_VPID_INVVPID_BIT)) {
        memset(desc, 0, sizeof(desc));
        st = invvpid32(4, desc);
        check(failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID),
              "vmx32 INVVPID type 4 (edx, [ebx+esi*8]): VMfailValid 28", "%s, error %u", status_name(st),
              instr_error());
        st = invvpid32(VMX_VPID_EXTENT_ALL_CONTEXT, desc);
        expect_type(st, cap & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT,
                    "vmx32 INVVPID all-context (per EPT_VPID_CAP)");
        desc[1] = 1;                        /* descriptor bits 63:32: reserved */
        st = invvpid32(VMX_VPID_EXTENT_ALL_CONTEXT, desc);
        check(failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID),
              "vmx32 INVVPID with descriptor bit 32 set: VMfailValid 28", "%s, error %u", status_name(st),
              instr_error());
        desc[1] = 0;
        desc[0] = 0;                        /* VPID 0 */
        st = invvpid32(VMX_VPID_EXTENT_SINGLE_CONTEXT, desc);
        check(failed_valid(st, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID),
              "vmx32 INVVPID single-context of VPID 0: VMfailValid 28", "%s, error %u", status_name(st),
              instr_error());
        desc[0] = 1;
        st = invvpid32(VMX_VPID_EXTENT_SINGLE_CONTEXT, desc);
        expect_type(st, cap & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT,
                    "vmx32 INVVPID single-context of VPID 1 (per EPT_VPID_CAP)");
        if (cap & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)
            inv_limit_tests(op_invvpid_es, "INVVPID all-context", VMX_VPID_EXTENT_ALL_CONTEXT);
        desc[2] = 0x1000;                   /* linear address */
        st = invvpid32(VMX_VPID_EXTENT_INDIVIDUAL_ADDR, desc);
        expect_type(st, cap & VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT,
                    "vmx32 INVVPID individual-address of VPID 1 (per EPT_VPID_CAP)");
    } else {
        printf("SKIP: vmx32 INVVPID (not supported)\n");
    }
}
