/*
 * vmx32: VMXON, VMCLEAR, VMPTRLD and VMPTRST from 32-bit protected mode.
 * VMXON's #UD (CR4.VMXE clear), #GP (CR0.NE clear) and VMfailInvalid
 * cases; the instructions without a current VMCS; VMfailValid errors
 * (unaligned pointers, the VMXON pointer, a wrong revision); and where the
 * 64-bit operand is read or written through every addressing form: base,
 * index, scale, negative displacements, a wrap at 4 GiB, [disp32], 16-bit
 * addressing, segment bases and limits, expand-down, SS for ESP, read-only
 * data, code and null segments. test_vmxoff runs last: VMXOFF after the
 * other tests, then #UD for VMX instructions outside VMX operation.
 */
#include "vmx32.h"

u32 vmx32_abs_slot[2];                  /* named in an absolute [disp32] operand */

static void op_vmxon(void *arg)
{
    struct op *o = arg;
    o->status = vmxon_at((const u64 *)(uintptr_t)o->a);
}

static void op_vmread(void *arg)
{
    struct op *o = arg;
    o->status = vmread32(o->a, &o->b);
}

static void op_vmxoff(void *arg)
{
    struct op *o = arg;
    o->status = vmxoff();
}

static void op_vmptrst(void *arg)
{
    struct op *o = arg;
    o->status = vmptrst_at((const u64 *)(uintptr_t)o->a);
}

/* VMPTRST ES:[ebx] with ES = o->a, EBX = o->b. */
static void op_vmptrst_es(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "vmptrst %%es:(%[off])\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), [off] "b"(o->b), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* VMPTRST ES:[bx+si] (16-bit addressing) with ES = o->a, BX = o->b, SI = o->c. */
static void op_vmptrst_es16(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%es\n\t"
                         "vmptrst %%es:(%%bx,%%si)\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%es"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"(o->a), "b"(o->b), "S"(o->c), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* VMPTRST [esp + o->a] with SS = SEL_SS_SMALL (the default segment of ESP). */
static void op_vmptrst_ss(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("mov %[sel], %%ss\n\t"
                         "nop\n\t"
                         "vmptrst (%%esp,%[off])\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%ss"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"((u32)SEL_SS_SMALL), [off] "r"(o->a), [data] "r"((u32)SEL_DATA)
                         : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* VMPTRST CS:[ebx] with EBX = o->b (a write through a code segment). */
static void op_vmptrst_cs(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("vmptrst %%cs:(%%ebx)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"(o->b) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

/* VMPTRLD CS:[ebx] with EBX = o->b (a read through a readable code segment). */
static void op_vmptrld_cs(void *arg)
{
    struct op *o = arg;
    u8 cf, zf;
    __asm__ __volatile__("vmptrld %%cs:(%%ebx)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"(o->b) : "cc", "memory");
    o->status = vmx_flags(cf, zf);
}

void test_vmxon(void)
{
    struct op o;
    u32 err;
    int v;

    /* CR4.VMXE clear: #UD. */
    unsigned long cr4 = read_cr4();
    write_cr4(cr4 & ~(unsigned long)X86_CR4_VMXE);
    o.a = (u32)(uintptr_t)&vmxon_ptr;
    v = catch(op_vmxon, &o, &err);
    write_cr4(cr4);
    check(v == X86_UD, "vmx32 VMXON with CR4.VMXE clear: #UD", "%d", v);

    /* CR0.NE clear (when FIXED0 requires it): #GP(0). */
    if (caps.cr0_fixed0 & X86_CR0_NE) {
        unsigned long cr0 = read_cr0();
        write_cr0(cr0 & ~(unsigned long)X86_CR0_NE);
        v = catch(op_vmxon, &o, &err);
        write_cr0(cr0);
        check(v == X86_GP && err == 0, "vmx32 VMXON with CR0.NE clear: #GP(0)", "%d, error %#x", v, err);
    }

    static u64 bad_ptr;
    bad_ptr = (u32)(uintptr_t)bad_rev_region;
    int st = vmxon_at(&bad_ptr);
    check(st == VMX_FAIL_INVALID, "vmx32 VMXON with a wrong revision: VMfailInvalid", "%s", status_name(st));
    bad_ptr = vmxon_ptr + 0x10;
    st = vmxon_at(&bad_ptr);
    check(st == VMX_FAIL_INVALID, "vmx32 VMXON of an unaligned address: VMfailInvalid", "%s", status_name(st));

    st = vmxon_at(&vmxon_ptr);
    check(st == VMX_OK, "vmx32 VMXON [ebx] ok", "%s", status_name(st));
}

void test_no_current_vmcs(void)
{
    static u64 slot, unaligned;
    int st;

    slot = 0x0123456789abcdefULL;
    st = vmptrst_at(&slot);
    check(st == VMX_OK && (u32)slot == 0xffffffff && (u32)(slot >> 32) == 0xffffffff,
          "vmx32 VMPTRST without a current VMCS stores 0xffffffff_ffffffff", "%s, %#x_%08x", status_name(st),
          (u32)(slot >> 32), (u32)slot);

    unaligned = vmcs_ptr + 0x800;
    st = vmclear_at(&unaligned);
    check(st == VMX_FAIL_INVALID, "vmx32 VMCLEAR of an unaligned address, no current VMCS: VMfailInvalid", "%s",
          status_name(st));
    st = vmptrld_at(&unaligned);
    check(st == VMX_FAIL_INVALID, "vmx32 VMPTRLD of an unaligned address, no current VMCS: VMfailInvalid", "%s",
          status_name(st));
    u32 val = 0x5a5a5a5a;
    st = vmread32(GUEST_RIP, &val);
    check(st == VMX_FAIL_INVALID && val == 0x5a5a5a5a, "vmx32 VMREAD without a current VMCS: VMfailInvalid", "%s",
          status_name(st));
    st = vmwrite32(GUEST_RIP, 0x1000);
    check(st == VMX_FAIL_INVALID, "vmx32 VMWRITE without a current VMCS: VMfailInvalid", "%s", status_name(st));
    st = vmxon_at(&vmxon_ptr);
    check(st == VMX_FAIL_INVALID, "vmx32 VMXON in VMX root operation, no current VMCS: VMfailInvalid", "%s",
          status_name(st));

    /* VMXOFF, then VMXON again through [ebx+esi*4+disp]. */
    st = vmxoff();
    check(st == VMX_OK, "vmx32 VMXOFF ok", "%s", status_name(st));
    u8 cf, zf;
    u32 idx = 3;
    __asm__ __volatile__("vmxon 0x40(%%ebx,%%esi,4)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : "b"((u32)(uintptr_t)&vmxon_ptr - 0x40 - 4 * idx), "S"(idx) : "cc", "memory");
    st = vmx_flags(cf, zf);
    check(st == VMX_OK, "vmx32 VMXON [ebx+esi*4+0x40] ok", "%s", status_name(st));
}

void test_vmclear_vmptrld(void)
{
    static u64 p, slot[2];
    u8 cf, zf;
    int st;

    /* VMCLEAR [ebx+esi*2-0x100] (negative displacement). */
    u32 idx = 0x90;
    __asm__ __volatile__("vmclear -0x100(%%ebx,%%esi,2)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : "b"((u32)(uintptr_t)&vmcs_ptr + 0x100 - 2 * idx), "S"(idx) : "cc", "memory");
    st = vmx_flags(cf, zf);
    check(st == VMX_OK, "vmx32 VMCLEAR [ebx+esi*2-0x100] ok", "%s", status_name(st));

    /* VMPTRLD [ebx+esi*8+0x12345] ok. */
    idx = 5;
    __asm__ __volatile__("vmptrld 0x12345(%%ebx,%%esi,8)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : "b"((u32)(uintptr_t)&vmcs_ptr - 0x12345 - 8 * idx), "S"(idx) : "cc", "memory");
    st = vmx_flags(cf, zf);
    check(st == VMX_OK, "vmx32 VMPTRLD [ebx+esi*8+0x12345] ok", "%s", status_name(st));

    slot[0] = slot[1] = ~0ULL;
    st = vmptrst_at(&slot[0]);
    check(st == VMX_OK && (u32)slot[0] == (u32)vmcs_ptr && (u32)(slot[0] >> 32) == 0 && slot[1] == ~0ULL,
          "vmx32 VMPTRST [ebx] stores the 64-bit pointer", "%s, %#x_%08x", status_name(st), (u32)(slot[0] >> 32),
          (u32)slot[0]);

    st = vmxon_at(&vmxon_ptr);
    check(failed_valid(st, VMXERR_VMXON_IN_VMX_ROOT_OPERATION),
          "vmx32 VMXON in VMX root operation with a current VMCS: VMfailValid 15", "%s, error %u",
          status_name(st), instr_error());

    p = vmcs_ptr + 0x8;
    st = vmclear_at(&p);
    check(failed_valid(st, VMXERR_VMCLEAR_INVALID_ADDRESS), "vmx32 VMCLEAR of an unaligned address: VMfailValid 2",
          "%s, error %u", status_name(st), instr_error());
    st = vmptrld_at(&p);
    check(failed_valid(st, VMXERR_VMPTRLD_INVALID_ADDRESS), "vmx32 VMPTRLD of an unaligned address: VMfailValid 9",
          "%s, error %u", status_name(st), instr_error());
    st = vmclear_at(&vmxon_ptr);
    check(failed_valid(st, VMXERR_VMCLEAR_VMXON_POINTER), "vmx32 VMCLEAR of the VMXON pointer: VMfailValid 3",
          "%s, error %u", status_name(st), instr_error());
    st = vmptrld_at(&vmxon_ptr);
    check(failed_valid(st, VMXERR_VMPTRLD_VMXON_POINTER), "vmx32 VMPTRLD of the VMXON pointer: VMfailValid 10",
          "%s, error %u", status_name(st), instr_error());
    p = (u32)(uintptr_t)bad_rev_region;
    st = vmptrld_at(&p);
    check(failed_valid(st, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID),
          "vmx32 VMPTRLD with a wrong revision: VMfailValid 11", "%s, error %u", status_name(st), instr_error());
    slot[0] = 0;
    st = vmptrst_at(&slot[0]);
    report(st == VMX_OK && slot[0] == vmcs_ptr, "vmx32 failed VMPTRLDs leave the current VMCS alone");
}

/* Where VMPTRST stores, through the addressing forms of 32-bit mode. */
void test_vmptrst_forms(void)
{
    static u64 slot[2];
    u8 cf, zf;
    int st;

#define SLOT_RESET()    (slot[0] = slot[1] = 0x5555555555555555ULL)
#define SLOT_OK()       (st == VMX_OK && slot[0] == vmcs_ptr && slot[1] == 0x5555555555555555ULL)

    SLOT_RESET();
    __asm__ __volatile__("vmptrst -8(%%ebx)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : "b"((u32)(uintptr_t)&slot[0] + 8) : "cc", "memory");
    st = vmx_flags(cf, zf);
    report(SLOT_OK(), "vmx32 VMPTRST [ebx-8] (negative disp8)");

    SLOT_RESET();
    u32 idx = 0x20000000;                   /* *4 = 0x80000000 */
    __asm__ __volatile__("vmptrst 0x10(%%ebx,%%esi,4)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : "b"((u32)(uintptr_t)&slot[0] - 0x10 + 0x80000000u), "S"(idx) : "cc", "memory");
    st = vmx_flags(cf, zf);
    report(SLOT_OK(), "vmx32 VMPTRST [ebx+esi*4+0x10] wraps at 4 GiB");

    SLOT_RESET();
    idx = 0x40;
    __asm__ __volatile__("vmptrst -0x100(,%%edi,4)\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : "D"(((u32)(uintptr_t)&slot[0] + 0x100) / 4) : "cc", "memory");
    st = vmx_flags(cf, zf);
    report(SLOT_OK(), "vmx32 VMPTRST [edi*4-0x100] (index, no base)");

    vmx32_abs_slot[0] = vmx32_abs_slot[1] = 0x55555555;
    __asm__ __volatile__("vmptrst vmx32_abs_slot\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    st = vmx_flags(cf, zf);
    report(st == VMX_OK && vmx32_abs_slot[0] == (u32)vmcs_ptr && vmx32_abs_slot[1] == 0,
           "vmx32 VMPTRST [disp32] (no base, no index)");

    /* ES with a base: ES.base + EBX. */
    struct op o;
    u32 err;
    int v;
    SLOT_RESET();
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)&slot[0] - 0x1000);
    load_gdt();
    o.a = SEL_ES_SMALL;
    o.b = 0x1000;
    v = catch(op_vmptrst_es, &o, &err);
    st = o.status;
    check(v < 0 && SLOT_OK(), "vmx32 VMPTRST ES:[ebx] adds the ES base", "vector %d, %s", v, status_name(st));

    /* Bytes 0x1ffc..0x2003: beyond the limit (were they written, into down_area). */
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)down_area);
    load_gdt();
    o.b = ES_SMALL_LIMIT - 3;
    v = catch(op_vmptrst_es, &o, &err);
    check(v == X86_GP && err == 0, "vmx32 VMPTRST ES:[ebx] beyond the ES limit: #GP(0)", "%d, error %#x", v, err);

    SLOT_RESET();
    o.b = ES_SMALL_LIMIT - 7;               /* the last 8 bytes inside the limit */
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)&slot[0] - (ES_SMALL_LIMIT - 7));
    load_gdt();
    v = catch(op_vmptrst_es, &o, &err);
    st = o.status;
    check(v < 0 && SLOT_OK(), "vmx32 VMPTRST ES:[ebx] ending at the ES limit", "vector %d, %s", v, status_name(st));

    /* 16-bit addressing: (BX + SI) mod 64 KiB. */
    SLOT_RESET();
    gdt_set_base(SEL_ES_SMALL, (u32)(uintptr_t)&slot[0] - 0x1000);
    load_gdt();
    o.a = SEL_ES_SMALL;
    o.b = 0xabcdf800;                       /* BX = 0xf800 (upper half of EBX ignored) */
    o.c = 0x1800;                           /* SI: 0xf800 + 0x1800 = 0x11000 -> 0x1000 */
    v = catch(op_vmptrst_es16, &o, &err);
    st = o.status;
    check(v < 0 && SLOT_OK(), "vmx32 VMPTRST ES:[bx+si] (16-bit addressing, wraps at 64 KiB)", "vector %d, %s", v,
          status_name(st));

    /* Expand-down ES (B = 1, limit 0xffff): offsets 0x10000..0xffffffff are valid. */
    u64 *down_ok = (u64 *)(down_area + 0x20000), *down_bad = (u64 *)(down_area + 0x8000);
    *down_ok = *down_bad = 0x5555555555555555ULL;
    gdt_set_base(SEL_ES_DOWN, (u32)(uintptr_t)down_area);
    load_gdt();
    o.a = SEL_ES_DOWN;
    o.b = 0x20000;
    v = catch(op_vmptrst_es, &o, &err);
    st = o.status;
    check(v < 0 && st == VMX_OK && *down_ok == vmcs_ptr,
          "vmx32 VMPTRST ES:[ebx] through an expand-down ES above its limit", "vector %d, error %#x, %s", v, err,
          status_name(st));
    o.b = 0x8000;
    v = catch(op_vmptrst_es, &o, &err);
    check(v == X86_GP && err == 0 && *down_bad == 0x5555555555555555ULL,
          "vmx32 VMPTRST ES:[ebx] through an expand-down ES at or below its limit: #GP(0)", "%d, error %#x", v,
          err);

    /* ESP-based operands use SS: beyond SS's limit is #SS(0). */
    o.a = SS_SMALL_LIMIT + 1;
    v = catch(op_vmptrst_ss, &o, &err);
    check(v == X86_SS && err == 0, "vmx32 VMPTRST [esp+reg] beyond the SS limit: #SS(0)", "%d, error %#x", v, err);

    /* Segment types: no writes through read-only data or code segments, no access through a null one. */
    u64 *scratch = (u64 *)(down_area + 0x9000);
    *scratch = 0x5555555555555555ULL;
    gdt_set_base(SEL_ES_RO, (u32)(uintptr_t)down_area);
    load_gdt();
    o.a = SEL_ES_RO;
    o.b = 0x9000;
    v = catch(op_vmptrst_es, &o, &err);
    check(v == X86_GP && err == 0 && *scratch == 0x5555555555555555ULL,
          "vmx32 VMPTRST ES:[ebx] through a read-only data segment: #GP(0)", "%d, error %#x", v, err);
    o.b = (u32)(uintptr_t)scratch;
    *scratch = 0x5555555555555555ULL;
    v = catch(op_vmptrst_cs, &o, &err);
    check(v == X86_GP && err == 0 && *scratch == 0x5555555555555555ULL,
          "vmx32 VMPTRST CS:[ebx] (a code segment): #GP(0)", "%d, error %#x", v, err);
    o.a = 0;
    *scratch = 0x5555555555555555ULL;
    v = catch(op_vmptrst_es, &o, &err);
    check(v == X86_GP && err == 0 && *scratch == 0x5555555555555555ULL,
          "vmx32 VMPTRST ES:[ebx] through a null ES: #GP(0)", "%d, error %#x", v, err);
    static u64 ptr_copy;
    ptr_copy = vmcs_ptr;
    o.b = (u32)(uintptr_t)&ptr_copy;
    v = catch(op_vmptrld_cs, &o, &err);
    check(v < 0 && o.status == VMX_OK, "vmx32 VMPTRLD CS:[ebx] (a readable code segment) ok", "vector %d, %s", v,
          status_name(o.status));

    /* VMPTRLD through FS with a base. */
    gdt_set_base(SEL_FS_BASE, (u32)(uintptr_t)&ptr_copy - 0x100);
    load_gdt();
    __asm__ __volatile__("mov %[sel], %%fs\n\t"
                         "vmptrld %%fs:(%%ebx)\n\t" VMX_FLAGS_OUT "\n\t"
                         "mov %[data], %%fs"
                         : [cf] "=qm"(cf), [zf] "=qm"(zf)
                         : [sel] "r"((u32)SEL_FS_BASE), "b"(0x100), [data] "r"((u32)SEL_DATA) : "cc", "memory");
    st = vmx_flags(cf, zf);
    check(st == VMX_OK, "vmx32 VMPTRLD FS:[ebx] adds the FS base", "%s", status_name(st));
#undef SLOT_RESET
#undef SLOT_OK
}

void test_vmxoff(void)
{
    static u64 p;
    struct op o;
    u32 err;
    int v, st;

    p = vmcs_ptr;
    st = vmclear_at(&p);
    check(st == VMX_OK, "vmx32 VMCLEAR of the launched VMCS ok", "%s", status_name(st));
    st = vmxoff();
    check(st == VMX_OK, "vmx32 VMXOFF after the tests ok", "%s", status_name(st));
    o.a = GUEST_RIP;
    o.b = 0;
    v = catch(op_vmread, &o, &err);
    check(v == X86_UD, "vmx32 VMREAD after VMXOFF: #UD", "%d", v);
    v = catch(op_vmxoff, &o, &err);
    check(v == X86_UD, "vmx32 VMXOFF after VMXOFF: #UD", "%d", v);
    o.a = (u32)(uintptr_t)&p;
    v = catch(op_vmptrst, &o, &err);
    check(v == X86_UD, "vmx32 VMPTRST after VMXOFF: #UD", "%d", v);
}
