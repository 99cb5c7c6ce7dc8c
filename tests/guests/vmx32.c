/*
 * vmx32: a 32-bit L1 hypervisor. The VMX instructions run in 32-bit
 * protected mode with paging (CR4.PSE 4 MiB pages, no PAE, EFER.LMA = 0),
 * so their operands are 32-bit registers and memory operands with 32-bit
 * (and one 16-bit) addressing, through segments with bases and limits.
 * Multiboot1, built -m32 with lib/entry_mb1.asm and vmx32_asm.asm; runs on
 * bare hardware (Bochs's VT-x is the reference) and as a nested L1 under
 * turtle, printing the same PASS/FAIL lines in both places.
 *
 * Its own GDT (flat code and data, a 32-bit TSS, test segments with bases,
 * small limits and expand-down) and IDT (exceptions recoverable through
 * catch_fault32()). Tests: VMXON and its #UD/#GP/VMfail cases; VMCLEAR,
 * VMPTRLD, VMPTRST errors and addressing forms (base, index, scale,
 * displacements, 4 GiB wrap, 16-bit addressing, segment bases, limits,
 * expand-down, SS); VMREAD/VMWRITE widths in 32-bit mode (64-bit fields
 * through full and _HIGH encodings, 16-bit and natural-width fields,
 * memory operands); VMLAUNCH/VMRESUME of a 32-bit L2 on L1's page tables
 * and on PAE paging (CPUID and VMCALL exits, registers both ways, host
 * state after exit, entry failures, PDPTE checks); INVEPT/INVVPID when the
 * capability MSRs show them; VMXOFF, then #UD. No command-line options.
 * Test names are stable; a failing test prints what it saw on a
 * "vmx32: NAME: got ..." line before its FAIL line.
 */
#include "lib/mb1.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vmx_arch.h"

#define PAGE_4K                 4096
#define CPUID_1_ECX_VMX         BIT(5)
#define X86_CR0_NE              BIT(5)
#define X86_CR4_PSE             BIT(4)
#define X86_CR4_VMXE            BIT(13)
#define X86_SS                  12      /* stack-segment fault */

/* The GDT (selectors). */
#define SEL_CODE                0x08
#define SEL_DATA                0x10
#define SEL_TSS                 0x18
#define SEL_ES_SMALL            0x20    /* data, base set per test, limit 0x1fff */
#define SEL_ES_DOWN             0x28    /* data, expand-down, B = 1, limit 0xffff */
#define SEL_SS_SMALL            0x30    /* data, base 0, limit 16 MiB - 1 */
#define SEL_FS_BASE             0x38    /* data, base set per test, 4 GiB */
#define SEL_ES_RO               0x40    /* read-only data, base set per test, 4 GiB */
#define GDT_ENTRIES             10

#define ES_SMALL_LIMIT          0x1fff
#define ES_DOWN_LIMIT           0xffff
#define SS_SMALL_LIMIT          0x00ffffff

/* Access rights of L2's segments (SDM 25.4.1). */
#define AR_CODE32               0xc09b  /* P, S, type 11 (code, accessed), D, G */
#define AR_DATA32               0xc093  /* P, S, type 3 (data RW, accessed), B, G */
#define AR_TSS32_BUSY           0x008b  /* P, type 11 (busy 32-bit TSS) */
#define AR_UNUSABLE             0x10000

#define VMX_FAIL_INVALID        1
#define VMX_FAIL_VALID          2
#define VMX_OK                  0
#define UNSUPPORTED_FIELD       0x6ffe  /* natural-width host field, index 0x1ff */

/* vmx32_asm.asm's L2 program. */
#define L2_CODE_REGS            0x600d
#define L2_CODE_ECHO            0x600e
#define L2_EBX                  0x2badc0de
#define L2_EBP                  0x0ddba11
#define L2_ECX                  0x12345678
#define L1_CPUID_EAX            0x4c314c32
#define L1_CPUID_EDX            0x76543210
#define L1_ECHO_EBX             0x51515151

/* ---- vmx32_asm.asm ---- */
struct vmx32_gprs {
    u32 eax, ebx, ecx, edx, esi, edi, ebp;
};
extern const u32 vmx32_isr_table[32];
int catch_fault32(void (*fn)(void *), void *arg, u32 *error);
int vmx32_enter(struct vmx32_gprs *gprs, int resume);
extern char vmx32_l2_main[], vmx32_l2_cpuid[], vmx32_l2_vmcall1[], vmx32_l2_vmcall2[];
extern volatile u32 vmx32_l2_echo, vmx32_l2_esp_seen;
__noreturn void vmx32_unexpected(u32 vector, u32 error, u32 eip);

/* ---- descriptors, paging ---- */
struct tss32 {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
} __packed;
_Static_assert(sizeof(struct tss32) == 104, "32-bit TSS");

struct idt_gate32 {
    u16 offset_low, selector;
    u8 zero, type_attr;
    u16 offset_high;
} __packed;

struct desc_ptr32 {
    u16 limit;
    u32 base;
} __packed;

static u64 gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct idt_gate32 idt[32] __attribute__((aligned(16)));
static struct tss32 tss __attribute__((aligned(16)));
static u32 page_dir[1024] __attribute__((aligned(PAGE_4K)));
static u64 pae_pdpt[4] __attribute__((aligned(32)));           /* L2's PAE paging */
static u64 pae_pd[512] __attribute__((aligned(PAGE_4K)));

/* VMX regions and test memory. */
static u8 vmxon_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u8 vmcs_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u8 bad_rev_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u8 l2_stack[PAGE_4K] __attribute__((aligned(16)));
/* Expand-down tests: ES base is here; valid offsets land at +0x20000, an
 * offset below the limit would land at +0x8000 (never written on hardware). */
static u8 down_area[0x21000] __attribute__((aligned(PAGE_4K)));
u32 vmx32_abs_slot[2];                  /* named in an absolute [disp32] operand */

static struct vmx_caps32 {
    u64 basic, pin, proc, exit, entry, misc, proc2, ept_vpid;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u32 revision;
} caps;

static u64 vmxon_ptr, vmcs_ptr;
static unsigned setup_errors;

static u64 seg_desc(u32 base, u32 limit, u8 access, u8 flags)
{
    return (limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)access << 40 |
           (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

static void gdt_set_base(unsigned sel, u32 base)
{
    u64 d = gdt[sel >> 3] & ~(0xffffffULL << 16 | 0xffULL << 56);
    gdt[sel >> 3] = d | (u64)(base & 0xffffff) << 16 | (u64)(base >> 24) << 56;
}

static void load_gdt(void)
{
    struct desc_ptr32 p = { sizeof(gdt) - 1, (u32)(uintptr_t)gdt };
    __asm__ __volatile__("lgdt %0" :: "m"(p) : "memory");
}

static void load_idt(void)
{
    struct desc_ptr32 p = { sizeof(idt) - 1, (u32)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" :: "m"(p) : "memory");
}

static void setup_descriptors(void)
{
    gdt[0] = 0;
    gdt[SEL_CODE >> 3] = seg_desc(0, 0xfffff, 0x9a, 0xc);
    gdt[SEL_DATA >> 3] = seg_desc(0, 0xfffff, 0x92, 0xc);
    tss.ss0 = SEL_DATA;
    tss.iomap_base = sizeof(tss);
    gdt[SEL_TSS >> 3] = seg_desc((u32)(uintptr_t)&tss, sizeof(tss) - 1, 0x89, 0);
    gdt[SEL_ES_SMALL >> 3] = seg_desc(0, ES_SMALL_LIMIT, 0x93, 0x4);
    gdt[SEL_ES_DOWN >> 3] = seg_desc(0, ES_DOWN_LIMIT, 0x97, 0x4);
    gdt[SEL_SS_SMALL >> 3] = seg_desc(0, SS_SMALL_LIMIT >> 12, 0x93, 0xc);
    gdt[SEL_FS_BASE >> 3] = seg_desc(0, 0xfffff, 0x93, 0xc);
    gdt[SEL_ES_RO >> 3] = seg_desc(0, 0xfffff, 0x91, 0xc);
    load_gdt();
    __asm__ __volatile__("ljmp %[cs], $1f\n1:\n\t"
                         "mov %[ds], %%ds\n\tmov %[ds], %%es\n\tmov %[ds], %%fs\n\t"
                         "mov %[ds], %%gs\n\tmov %[ds], %%ss\n\t"
                         "ltr %w[tr]"
                         :: [cs] "i"(SEL_CODE), [ds] "r"(SEL_DATA), [tr] "r"(SEL_TSS) : "memory");
    for (int v = 0; v < 32; v++) {
        u32 a = vmx32_isr_table[v];
        idt[v] = (struct idt_gate32){ .offset_low = (u16)a, .selector = SEL_CODE,
                                      .type_attr = 0x8e, .offset_high = (u16)(a >> 16) };
    }
    load_idt();
}

static inline void write_cr0(unsigned long v) { __asm__ __volatile__("mov %0, %%cr0" :: "r"(v) : "memory"); }
static inline void write_cr3(unsigned long v) { __asm__ __volatile__("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline void write_cr4(unsigned long v) { __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory"); }
static inline unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* 32-bit paging: the first 1 GiB identity-mapped with 4 MiB pages. */
static void setup_paging(void)
{
    for (u32 i = 0; i < 256; i++)
        page_dir[i] = (i << 22) | 0x83;             /* P, R/W, PS */
    write_cr3((u32)(uintptr_t)page_dir);
    write_cr4(read_cr4() | X86_CR4_PSE);
    write_cr0(read_cr0() | X86_CR0_PG);
}

__noreturn void vmx32_unexpected(u32 vector, u32 error, u32 eip)
{
    report(false, "vmx32 unexpected exception %u (error %#x) at %#x", vector, error, eip);
    report_summary();
    guest_exit(3);
}

/* ---- VMX instruction wrappers (32-bit operands) ---- */
#define VMX_FLAGS_OUT   "setc %[cf]\n\tsetz %[zf]"
static int vmx_flags(u8 cf, u8 zf) { return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK; }

static int vmread32(u32 field, u32 *val)
{
    u8 cf, zf;
    u32 v = *val;
    __asm__ __volatile__("vmread %[f], %[v]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf), [v] "+r"(v) : [f] "r"(field) : "cc");
    *val = v;
    return vmx_flags(cf, zf);
}

static int vmwrite32(u32 field, u32 val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmwrite %[v], %[f]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [v] "r"(val), [f] "r"(field) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VMXON/VMCLEAR/VMPTRLD/VMPTRST with a [ebx] operand. */
#define VMX_PTR_OP(name, insn)                                                                  \
    static int name(const u64 *p)                                                               \
    {                                                                                           \
        u8 cf, zf;                                                                              \
        __asm__ __volatile__(insn " (%[p])\n\t" VMX_FLAGS_OUT                                  \
                             : [cf] "=qm"(cf), [zf] "=qm"(zf) : [p] "b"(p) : "cc", "memory");   \
        return vmx_flags(cf, zf);                                                               \
    }
VMX_PTR_OP(vmxon_at, "vmxon")
VMX_PTR_OP(vmclear_at, "vmclear")
VMX_PTR_OP(vmptrld_at, "vmptrld")
VMX_PTR_OP(vmptrst_at, "vmptrst")

static int vmxoff(void)
{
    u8 cf, zf;
    __asm__ __volatile__("vmxoff\n\t" VMX_FLAGS_OUT : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

static u32 instr_error(void)
{
    u32 e = 0xffffffff;
    return vmread32(VM_INSTRUCTION_ERROR, &e) == VMX_OK ? e : 0xffffffff;
}

/* VMfailValid with this error? */
static bool failed_valid(int st, u32 error)
{
    return st == VMX_FAIL_VALID && instr_error() == error;
}

/* Checked accessors for the VMCS setup (not themselves under test). */
static void vmcs_w(u32 field, u32 val)
{
    if (vmwrite32(field, val) != VMX_OK) {
        printf("vmx32: VMWRITE %#x = %#x failed\n", field, val);
        setup_errors++;
    }
}

static u32 vmcs_r(u32 field)
{
    u32 v = 0;
    if (vmread32(field, &v) != VMX_OK) {
        printf("vmx32: VMREAD %#x failed\n", field);
        setup_errors++;
    }
    return v;
}

static const char *status_name(int st)
{
    return st == VMX_OK ? "ok" : st == VMX_FAIL_INVALID ? "VMfailInvalid" : st == VMX_FAIL_VALID ? "VMfailValid" :
           "no result";
}

/* ---- enabling VMX ---- */
static bool ctl_allows(u64 cap, u32 bits) { return ((u32)(cap >> 32) & bits) == bits; }
static u32 ctl_adjust(u64 cap, u32 want) { return (want | (u32)cap) & (u32)(cap >> 32); }
static bool has_proc2(u32 bits)
{
    return ctl_allows(caps.proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) && ctl_allows(caps.proc2, bits);
}

static void read_caps(void)
{
    bool true_ctls;

    caps.basic = rdmsr(IA32_VMX_BASIC);
    caps.revision = (u32)(caps.basic & VMX_BASIC_REVISION_MASK);
    true_ctls = caps.basic & VMX_BASIC_TRUE_CTLS;
    caps.pin = rdmsr(true_ctls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS);
    caps.proc = rdmsr(true_ctls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS);
    caps.exit = rdmsr(true_ctls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS);
    caps.entry = rdmsr(true_ctls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS);
    caps.misc = rdmsr(IA32_VMX_MISC);
    caps.cr0_fixed0 = rdmsr(IA32_VMX_CR0_FIXED0);
    caps.cr0_fixed1 = rdmsr(IA32_VMX_CR0_FIXED1);
    caps.cr4_fixed0 = rdmsr(IA32_VMX_CR4_FIXED0);
    caps.cr4_fixed1 = rdmsr(IA32_VMX_CR4_FIXED1);
    caps.proc2 = ctl_allows(caps.proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ?
                 rdmsr(IA32_VMX_PROCBASED_CTLS2) : 0;
    caps.ept_vpid = (u32)(caps.proc2 >> 32) & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID) ?
                    rdmsr(IA32_VMX_EPT_VPID_CAP) : 0;
}

static bool enable_vmx(void)
{
    u64 fc;

    if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
        printf("vmx32: CPUID.1:ECX.VMX is clear: no VT-x here\n");
        return false;
    }
    fc = rdmsr(IA32_FEATURE_CONTROL);
    if (!(fc & FEAT_CTL_LOCKED)) {
        fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
        wrmsr(IA32_FEATURE_CONTROL, fc);
    }
    if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
        printf("vmx32: IA32_FEATURE_CONTROL is locked with VMX disabled\n");
        return false;
    }
    read_caps();
    printf("vmx32: VMX_BASIC %#llx, MISC %#llx, EPT_VPID_CAP %#llx\n", (unsigned long long)caps.basic,
           (unsigned long long)caps.misc, (unsigned long long)caps.ept_vpid);
    write_cr0((read_cr0() | (u32)caps.cr0_fixed0) & (u32)caps.cr0_fixed1);
    write_cr4((read_cr4() | (u32)caps.cr4_fixed0 | X86_CR4_VMXE) & (u32)caps.cr4_fixed1);
    *(u32 *)vmxon_region = caps.revision;
    *(u32 *)vmcs_region = caps.revision;
    *(u32 *)bad_rev_region = caps.revision ^ 0x1;
    vmxon_ptr = (u32)(uintptr_t)vmxon_region;
    vmcs_ptr = (u32)(uintptr_t)vmcs_region;
    return true;
}

/* ---- fault-catching helpers ---- */
struct op {
    u32 a, b, c;            /* operands, per function */
    int status;
};

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

/* Runs fn under catch_fault32; returns the vector or -1, error in *error. */
static int catch(void (*fn)(void *), struct op *o, u32 *error)
{
    u32 e = 0;
    o->status = -1;
    int v = catch_fault32(fn, o, &e);
    if (error)
        *error = e;
    return v;
}

/* ---- tests ---- */

/* report() under a stable name; what was seen goes on a line of its own when it fails. */
static bool __printf(3, 4) check(bool pass, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (!pass) {
        printf("vmx32: %s: got ", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    return report(pass, "%s", name);
}

static void test_environment(void)
{
    u64 efer = rdmsr(MSR_IA32_EFER);
    unsigned long cr0 = read_cr0(), cr4 = read_cr4();

    printf("vmx32: CR0 %#lx CR3 %#lx CR4 %#lx EFER %#x\n", cr0, read_cr3(), cr4, (u32)efer);
    report((cr0 & X86_CR0_PG) && (cr0 & X86_CR0_PE) && !(cr4 & X86_CR4_PAE) && (cr4 & X86_CR4_PSE) &&
           !(efer & EFER_LMA) && read_cs() == SEL_CODE,
           "vmx32 runs in 32-bit protected mode with 32-bit paging");
}

static void test_vmxon(void)
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

static void test_no_current_vmcs(void)
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

static void test_vmclear_vmptrld(void)
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
static void test_vmptrst_forms(void)
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

static void test_vmread_vmwrite(void)
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

/* ---- the 32-bit L2 ---- */
static struct vmx32_gprs l2_regs;
static bool launched;

static u32 gdt_base(void)
{
    struct desc_ptr32 p;
    __asm__ __volatile__("sgdt %0" : "=m"(p));
    return p.base;
}

static void setup_vmcs(void)
{
    u32 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();

    /* Controls: only what the capability MSRs force. 32-bit host, 32-bit guest. */
    vmcs_w(PIN_BASED_VM_EXEC_CONTROL, ctl_adjust(caps.pin, 0));
    vmcs_w(CPU_BASED_VM_EXEC_CONTROL, ctl_adjust(caps.proc, 0));
    vmcs_w(VM_EXIT_CONTROLS, ctl_adjust(caps.exit, 0) & ~VM_EXIT_HOST_ADDR_SPACE_SIZE);
    vmcs_w(VM_ENTRY_CONTROLS, ctl_adjust(caps.entry, 0) & ~VM_ENTRY_IA32E_MODE);
    vmcs_w(EXCEPTION_BITMAP, 0);
    vmcs_w(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_w(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmcs_w(CR3_TARGET_COUNT, 0);
    vmcs_w(VM_EXIT_MSR_STORE_COUNT, 0);
    vmcs_w(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_w(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_w(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmcs_w(CR0_GUEST_HOST_MASK, 0);
    vmcs_w(CR4_GUEST_HOST_MASK, 0);
    vmcs_w(CR0_READ_SHADOW, cr0);
    vmcs_w(CR4_READ_SHADOW, cr4);
    vmcs_w(TSC_OFFSET, 0);
    vmcs_w(TSC_OFFSET_HIGH, 0);

    /* Host: this code, 32-bit. HOST_RSP/HOST_RIP: vmx32_enter. */
    vmcs_w(HOST_CR0, cr0);
    vmcs_w(HOST_CR3, cr3);
    vmcs_w(HOST_CR4, cr4);
    vmcs_w(HOST_CS_SELECTOR, SEL_CODE);
    vmcs_w(HOST_SS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_DS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_ES_SELECTOR, SEL_DATA);
    vmcs_w(HOST_FS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_GS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_TR_SELECTOR, SEL_TSS);
    vmcs_w(HOST_FS_BASE, 0);
    vmcs_w(HOST_GS_BASE, 0);
    vmcs_w(HOST_TR_BASE, (u32)(uintptr_t)&tss);
    vmcs_w(HOST_GDTR_BASE, gdt_base());
    vmcs_w(HOST_IDTR_BASE, (u32)(uintptr_t)idt);
    vmcs_w(HOST_IA32_SYSENTER_CS, (u32)rdmsr(MSR_IA32_SYSENTER_CS));
    vmcs_w(HOST_IA32_SYSENTER_ESP, (u32)rdmsr(MSR_IA32_SYSENTER_ESP));
    vmcs_w(HOST_IA32_SYSENTER_EIP, (u32)rdmsr(MSR_IA32_SYSENTER_EIP));

    /* Guest: 32-bit protected mode on L1's page tables, GDT and TSS; no IDT
     * (an exception in L2 becomes a triple-fault exit). */
    vmcs_w(GUEST_CR0, cr0);
    vmcs_w(GUEST_CR3, cr3);
    vmcs_w(GUEST_CR4, cr4);
    vmcs_w(GUEST_DR7, 0x400);
    vmcs_w(GUEST_RSP, (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)));
    vmcs_w(GUEST_RIP, (u32)(uintptr_t)vmx32_l2_main);
    vmcs_w(GUEST_RFLAGS, 0x2);
    static const u32 data_fields[][4] = {
        { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
        { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
        { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
        { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
        { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
    };
    for (size_t i = 0; i < ARRAY_SIZE(data_fields); i++) {
        vmcs_w(data_fields[i][0], SEL_DATA);
        vmcs_w(data_fields[i][1], 0);
        vmcs_w(data_fields[i][2], 0xffffffff);
        vmcs_w(data_fields[i][3], AR_DATA32);
    }
    vmcs_w(GUEST_CS_SELECTOR, SEL_CODE);
    vmcs_w(GUEST_CS_BASE, 0);
    vmcs_w(GUEST_CS_LIMIT, 0xffffffff);
    vmcs_w(GUEST_CS_AR_BYTES, AR_CODE32);
    vmcs_w(GUEST_LDTR_SELECTOR, 0);
    vmcs_w(GUEST_LDTR_BASE, 0);
    vmcs_w(GUEST_LDTR_LIMIT, 0);
    vmcs_w(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
    vmcs_w(GUEST_TR_SELECTOR, SEL_TSS);
    vmcs_w(GUEST_TR_BASE, (u32)(uintptr_t)&tss);
    vmcs_w(GUEST_TR_LIMIT, sizeof(tss) - 1);
    vmcs_w(GUEST_TR_AR_BYTES, AR_TSS32_BUSY);
    vmcs_w(GUEST_GDTR_BASE, gdt_base());
    vmcs_w(GUEST_GDTR_LIMIT, sizeof(gdt) - 1);
    vmcs_w(GUEST_IDTR_BASE, 0);
    vmcs_w(GUEST_IDTR_LIMIT, 0);
    vmcs_w(GUEST_IA32_DEBUGCTL, 0);
    vmcs_w(GUEST_IA32_DEBUGCTL_HIGH, 0);
    vmcs_w(GUEST_SYSENTER_CS, 0);
    vmcs_w(GUEST_SYSENTER_ESP, 0);
    vmcs_w(GUEST_SYSENTER_EIP, 0);
    vmcs_w(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs_w(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
    vmcs_w(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_w(VMCS_LINK_POINTER, 0xffffffff);
    vmcs_w(VMCS_LINK_POINTER_HIGH, 0xffffffff);
}

/* VMLAUNCH/VMRESUME; returns the status, the exit reason in *reason. */
static int enter_l2(bool resume, u32 *reason)
{
    int st = vmx32_enter(&l2_regs, resume);
    *reason = st == VMX_OK ? vmcs_r(VM_EXIT_REASON) : 0xffffffff;
    return st;
}

static void skip_instruction(void)
{
    vmcs_w(GUEST_RIP, vmcs_r(GUEST_RIP) + vmcs_r(VM_EXIT_INSTRUCTION_LEN));
}

/* VM-entry failures that are about a 32-bit host. */
static void test_entry_failures(void)
{
    u32 reason;
    int st;

    st = enter_l2(true, &reason);
    check(failed_valid(st, VMXERR_VMRESUME_NONLAUNCHED_VMCS), "vmx32 VMRESUME of a clear VMCS: VMfailValid 5",
          "%s, error %u", status_name(st), instr_error());

    u32 exit_ctls = vmcs_r(VM_EXIT_CONTROLS);
    if (ctl_allows(caps.exit, VM_EXIT_HOST_ADDR_SPACE_SIZE)) {
        vmcs_w(VM_EXIT_CONTROLS, exit_ctls | VM_EXIT_HOST_ADDR_SPACE_SIZE);
        st = enter_l2(false, &reason);
        check(failed_valid(st, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
              "vmx32 VMLAUNCH with host address-space size 1 outside IA-32e mode: VMfailValid 8",
              "%s, error %u", status_name(st), instr_error());
        vmcs_w(VM_EXIT_CONTROLS, exit_ctls);
    }
    u32 entry_ctls = vmcs_r(VM_ENTRY_CONTROLS);
    if (ctl_allows(caps.entry, VM_ENTRY_IA32E_MODE)) {
        vmcs_w(VM_ENTRY_CONTROLS, entry_ctls | VM_ENTRY_IA32E_MODE);
        st = enter_l2(false, &reason);
        check(failed_valid(st, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
              "vmx32 VMLAUNCH of an IA-32e-mode guest outside IA-32e mode: VMfailValid 8", "%s, error %u",
              status_name(st), instr_error());
        vmcs_w(VM_ENTRY_CONTROLS, entry_ctls);
    }

    /* Invalid guest state (RFLAGS bit 1 clear): an entry-failure exit back to the 32-bit host. */
    vmcs_w(GUEST_RFLAGS, 0);
    st = enter_l2(false, &reason);
    u32 qual = st == VMX_OK ? vmcs_r(EXIT_QUALIFICATION) : 0xffffffff;
    check(st == VMX_OK && reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE) && qual == 0,
          "vmx32 VMLAUNCH with GUEST_RFLAGS bit 1 clear: entry-failure exit 33", "%s, reason %#x, qual %#x",
          status_name(st), reason, qual);
    vmcs_w(GUEST_RFLAGS, 0x2);
    /* An entry failure leaves the VMCS clear: VMLAUNCH still applies (SDM 27.8). */
}

static void test_l2(void)
{
    static u64 p;
    struct desc_ptr32 gdtr, idtr;
    u32 reason, len;
    int st;

    p = vmcs_ptr;
    st = vmclear_at(&p) | vmptrld_at(&p);
    if (!report(st == VMX_OK, "vmx32 VMCLEAR + VMPTRLD of the L2 VMCS"))
        return;
    setup_vmcs();
    test_entry_failures();
    if (setup_errors) {
        report(false, "vmx32 VMCS setup (%u VMREAD/VMWRITE failures)", setup_errors);
        return;
    }

    memset(&l2_regs, 0, sizeof(l2_regs));
    vmx32_l2_echo = 0;
    vmx32_l2_esp_seen = 0;
    unsigned long cr0 = read_cr0(), cr4 = read_cr4();
    st = enter_l2(false, &reason);
    launched = st == VMX_OK;
    check(st == VMX_OK && reason == EXIT_REASON_CPUID, "vmx32 VMLAUNCH of a 32-bit L2: CPUID exit",
          "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason);
    if (!launched || reason != EXIT_REASON_CPUID)
        return;

    /* Back in L1: 32-bit mode, the host state of the VMCS. */
    __asm__ __volatile__("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    u64 efer = rdmsr(MSR_IA32_EFER);
    check(read_cs() == SEL_CODE && read_cr0() == cr0 && read_cr4() == cr4 && !(efer & EFER_LMA) &&
          gdtr.base == gdt_base() && gdtr.limit == 0xffff && idtr.base == (u32)(uintptr_t)idt &&
          idtr.limit == 0xffff,
          "vmx32 VM exit to a 32-bit host: CS, CR0, CR4, EFER.LMA, GDTR/IDTR (limits 0xffff)",
          "CS %#x, GDTR limit %#x, IDTR limit %#x, EFER %#x", read_cs(), gdtr.limit, idtr.limit, (u32)efer);
    load_gdt();
    load_idt();

    len = vmcs_r(VM_EXIT_INSTRUCTION_LEN);
    check(vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_cpuid && len == 2,
          "vmx32 CPUID exit: GUEST_RIP at the CPUID, instruction length 2", "%#x, %u", vmcs_r(GUEST_RIP), len);
    report(l2_regs.eax == 0 && l2_regs.ecx == 0, "vmx32 CPUID exit: L2's EAX/ECX (leaf 0) in the exit stub");
    l2_regs.eax = L1_CPUID_EAX;
    l2_regs.ebx = l2_regs.ecx = 0;
    l2_regs.edx = L1_CPUID_EDX;
    skip_instruction();

    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL, "vmx32 VMRESUME after CPUID: VMCALL exit", "%s, reason %#x",
          status_name(st), reason);
    if (st != VMX_OK || reason != EXIT_REASON_VMCALL)
        return;
    u32 rsp = vmcs_r(GUEST_RSP);
    len = vmcs_r(VM_EXIT_INSTRUCTION_LEN);
    check(vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_vmcall1 && len == 3 &&
          rsp == (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)),
          "vmx32 VMCALL exit: GUEST_RIP, instruction length 3, GUEST_RSP", "%#x, %u, %#x", vmcs_r(GUEST_RIP), len,
          rsp);
    check(l2_regs.eax == L2_CODE_REGS && l2_regs.ebx == L2_EBX && l2_regs.ecx == L2_ECX && l2_regs.ebp == L2_EBP &&
          l2_regs.edx == rsp,
          "vmx32 VMCALL exit: L2's EAX, EBX, ECX, EDX, EBP reach L1", "%#x %#x %#x %#x %#x", l2_regs.eax,
          l2_regs.ebx, l2_regs.ecx, l2_regs.edx, l2_regs.ebp);
    check(l2_regs.esi == L1_CPUID_EAX && l2_regs.edi == L1_CPUID_EDX, "vmx32 L1's CPUID answer reached L2",
          "ESI %#x, EDI %#x", l2_regs.esi, l2_regs.edi);
    l2_regs.ebx = L1_ECHO_EBX;
    skip_instruction();

    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_ECHO &&
          vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_vmcall2,
          "vmx32 VMRESUME after VMCALL: second VMCALL exit", "%s, reason %#x, EAX %#x", status_name(st), reason,
          l2_regs.eax);
    check(vmx32_l2_echo == L1_ECHO_EBX && vmx32_l2_esp_seen == (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)),
          "vmx32 L1's EBX and GUEST_RSP reached L2", "%#x, ESP %#x", vmx32_l2_echo, vmx32_l2_esp_seen);

    st = enter_l2(false, &reason);
    check(failed_valid(st, VMXERR_VMLAUNCH_NONCLEAR_VMCS), "vmx32 VMLAUNCH of a launched VMCS: VMfailValid 4",
          "%s, error %u", status_name(st), instr_error());
}

/* VMCLEAR + VMPTRLD + the default VMCS with L2 on PAE paging. */
static bool setup_pae_vmcs(void)
{
    static u64 p;

    p = vmcs_ptr;
    if (vmclear_at(&p) != VMX_OK || vmptrld_at(&p) != VMX_OK)
        return false;
    setup_vmcs();
    vmcs_w(GUEST_CR3, (u32)(uintptr_t)pae_pdpt);
    vmcs_w(GUEST_CR4, read_cr4() | X86_CR4_PAE);
    memset(&l2_regs, 0, sizeof(l2_regs));
    vmx32_l2_echo = 0;
    return true;
}

/*
 * The same L2 program under PAE paging (CR4.PAE, no EPT): the PDPTEs come
 * from L2's CR3 at VM entry. Then a PDPTE with a reserved bit set: the
 * entry fails (exit reason 33, qualification 2: PDPTE loading, SDM 27.8)
 * and leaves the VMCS clear, so the next VMLAUNCH is still a launch.
 */
static void test_l2_pae(void)
{
    u32 reason, qual;
    int st;

    for (u32 i = 0; i < 512; i++)
        pae_pd[i] = ((u64)i << 21) | 0x83;          /* P, R/W, PS: 2 MiB pages, 1 GiB */
    pae_pdpt[0] = (u32)(uintptr_t)pae_pd | 1;
    pae_pdpt[1] = pae_pdpt[2] = pae_pdpt[3] = 0;

    if (!report(setup_pae_vmcs(), "vmx32 VMCLEAR + VMPTRLD for a PAE L2"))
        return;
    st = enter_l2(false, &reason);
    if (!check(st == VMX_OK && reason == EXIT_REASON_CPUID, "vmx32 VMLAUNCH of a PAE L2: CPUID exit",
               "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason))
        return;
    l2_regs.eax = L1_CPUID_EAX;
    l2_regs.edx = L1_CPUID_EDX;
    skip_instruction();
    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_REGS && l2_regs.ebx == L2_EBX &&
          l2_regs.esi == L1_CPUID_EAX && l2_regs.edi == L1_CPUID_EDX,
          "vmx32 PAE L2: VMCALL exit with L2's registers", "%s, reason %#x, EAX %#x EBX %#x ESI %#x EDI %#x",
          status_name(st), reason, l2_regs.eax, l2_regs.ebx, l2_regs.esi, l2_regs.edi);
    if (st != VMX_OK || reason != EXIT_REASON_VMCALL)
        return;
    l2_regs.ebx = L1_ECHO_EBX;
    skip_instruction();
    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_ECHO &&
          vmx32_l2_echo == L1_ECHO_EBX, "vmx32 PAE L2: L1's EBX reached L2 and its store", "%s, reason %#x, %#x",
          status_name(st), reason, vmx32_l2_echo);

    pae_pdpt[3] = (u32)(uintptr_t)pae_pd | 1 | BIT(1);    /* bits 2:1 are reserved */
    if (!setup_pae_vmcs())
        return;
    st = enter_l2(false, &reason);
    qual = st == VMX_OK ? vmcs_r(EXIT_QUALIFICATION) : 0xffffffff;
    check(st == VMX_OK && reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE) && qual == 2,
          "vmx32 VMLAUNCH of a PAE L2 with a reserved PDPTE bit: entry-failure exit 33, qualification 2",
          "%s, reason %#x, qual %#x", status_name(st), reason, qual);
    pae_pdpt[3] = 0;
    st = enter_l2(false, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_CPUID,
          "vmx32 VMLAUNCH after the PDPTE entry failure: the VMCS is still clear (CPUID exit)",
          "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason);
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

static void test_invept_invvpid(void)
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

static void test_vmxoff(void)
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

__noreturn void mb1_main(u32 magic, u32 info)
{
    (void)info;
    printf("vmx32: 32-bit L1 VMX tests (multiboot1 magic %#x)\n", magic);
    setup_descriptors();
    setup_paging();
    test_environment();
    if (!enable_vmx()) {
        report(false, "vmx32 VT-x available");
        guest_exit(report_summary() ? 1 : 0);
    }
    test_vmxon();
    test_no_current_vmcs();
    test_vmclear_vmptrld();
    test_vmptrst_forms();
    test_vmread_vmwrite();
    test_l2();
    test_l2_pae();
    test_invept_invvpid();
    test_vmxoff();
    guest_exit(report_summary() ? 1 : 0);
}
