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
 *
 * Parts (vmx32.h is what they share), in the order mb1_main runs them:
 *   vmx32.c         this file: GDT, IDT, TSS, paging, enabling VMX, the VMX
 *                   instruction wrappers and the reporting helpers
 *   vmx32_vmxon.c   VMXON, VMCLEAR, VMPTRLD, VMPTRST: faults, VMfail errors,
 *                   addressing forms; VMXOFF and #UD after it (run last)
 *   vmx32_rw.c      VMREAD/VMWRITE: field widths, memory operands, errors
 *   vmx32_l2.c      VMLAUNCH/VMRESUME of a 32-bit and a PAE L2, entry failures
 *   vmx32_inv.c     INVEPT/INVVPID
 *   vmx32_asm.asm   exception stubs, catch_fault32, VM entry/exit, L2's code
 */
#include "vmx32.h"

/* ---- descriptors, paging ---- */
u64 vmx32_gdt[GDT_ENTRIES] __attribute__((aligned(16)));
struct idt_gate32 vmx32_idt[32] __attribute__((aligned(16)));
struct tss32 vmx32_tss __attribute__((aligned(16)));
static u32 page_dir[1024] __attribute__((aligned(PAGE_4K)));

/* VMX regions and test memory. */
static u8 vmxon_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u8 vmcs_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
u8 bad_rev_region[PAGE_4K] __attribute__((aligned(PAGE_4K)));
u8 down_area[0x21000] __attribute__((aligned(PAGE_4K)));

struct vmx_caps32 caps;
u64 vmxon_ptr, vmcs_ptr;

static u64 seg_desc(u32 base, u32 limit, u8 access, u8 flags)
{
    return (limit & 0xffff) | (u64)(base & 0xffffff) << 16 | (u64)access << 40 |
           (u64)((limit >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

void gdt_set_base(unsigned sel, u32 base)
{
    u64 d = vmx32_gdt[sel >> 3] & ~(0xffffffULL << 16 | 0xffULL << 56);
    vmx32_gdt[sel >> 3] = d | (u64)(base & 0xffffff) << 16 | (u64)(base >> 24) << 56;
}

void load_gdt(void)
{
    struct desc_ptr32 p = { sizeof(vmx32_gdt) - 1, (u32)(uintptr_t)vmx32_gdt };
    __asm__ __volatile__("lgdt %0" :: "m"(p) : "memory");
}

void load_idt(void)
{
    struct desc_ptr32 p = { sizeof(vmx32_idt) - 1, (u32)(uintptr_t)vmx32_idt };
    __asm__ __volatile__("lidt %0" :: "m"(p) : "memory");
}

static void setup_descriptors(void)
{
    vmx32_gdt[0] = 0;
    vmx32_gdt[SEL_CODE >> 3] = seg_desc(0, 0xfffff, 0x9a, 0xc);
    vmx32_gdt[SEL_DATA >> 3] = seg_desc(0, 0xfffff, 0x92, 0xc);
    vmx32_tss.ss0 = SEL_DATA;
    vmx32_tss.iomap_base = sizeof(vmx32_tss);
    vmx32_gdt[SEL_TSS >> 3] = seg_desc((u32)(uintptr_t)&vmx32_tss, sizeof(vmx32_tss) - 1, 0x89, 0);
    vmx32_gdt[SEL_ES_SMALL >> 3] = seg_desc(0, ES_SMALL_LIMIT, 0x93, 0x4);
    vmx32_gdt[SEL_ES_DOWN >> 3] = seg_desc(0, ES_DOWN_LIMIT, 0x97, 0x4);
    vmx32_gdt[SEL_SS_SMALL >> 3] = seg_desc(0, SS_SMALL_LIMIT >> 12, 0x93, 0xc);
    vmx32_gdt[SEL_FS_BASE >> 3] = seg_desc(0, 0xfffff, 0x93, 0xc);
    vmx32_gdt[SEL_ES_RO >> 3] = seg_desc(0, 0xfffff, 0x91, 0xc);
    load_gdt();
    __asm__ __volatile__("ljmp %[cs], $1f\n1:\n\t"
                         "mov %[ds], %%ds\n\tmov %[ds], %%es\n\tmov %[ds], %%fs\n\t"
                         "mov %[ds], %%gs\n\tmov %[ds], %%ss\n\t"
                         "ltr %w[tr]"
                         :: [cs] "i"(SEL_CODE), [ds] "r"(SEL_DATA), [tr] "r"(SEL_TSS) : "memory");
    for (int v = 0; v < 32; v++) {
        u32 a = vmx32_isr_table[v];
        vmx32_idt[v] = (struct idt_gate32){ .offset_low = (u16)a, .selector = SEL_CODE,
                                            .type_attr = 0x8e, .offset_high = (u16)(a >> 16) };
    }
    load_idt();
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
int vmread32(u32 field, u32 *val)
{
    u8 cf, zf;
    u32 v = *val;
    __asm__ __volatile__("vmread %[f], %[v]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf), [v] "+r"(v) : [f] "r"(field) : "cc");
    *val = v;
    return vmx_flags(cf, zf);
}

int vmwrite32(u32 field, u32 val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmwrite %[v], %[f]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [v] "r"(val), [f] "r"(field) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VMXON/VMCLEAR/VMPTRLD/VMPTRST with a [ebx] operand. */
#define VMX_PTR_OP(name, insn)                                                                  \
    int name(const u64 *p)                                                                      \
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

int vmxoff(void)
{
    u8 cf, zf;
    __asm__ __volatile__("vmxoff\n\t" VMX_FLAGS_OUT : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

u32 instr_error(void)
{
    u32 e = 0xffffffff;
    return vmread32(VM_INSTRUCTION_ERROR, &e) == VMX_OK ? e : 0xffffffff;
}

/* VMfailValid with this error? */
bool failed_valid(int st, u32 error)
{
    return st == VMX_FAIL_VALID && instr_error() == error;
}

const char *status_name(int st)
{
    return st == VMX_OK ? "ok" : st == VMX_FAIL_INVALID ? "VMfailInvalid" : st == VMX_FAIL_VALID ? "VMfailValid" :
           "no result";
}

/* ---- enabling VMX ---- */
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
/* Runs fn under catch_fault32; returns the vector or -1, error in *error. */
int catch(void (*fn)(void *), struct op *o, u32 *error)
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
bool check(bool pass, const char *name, const char *fmt, ...)
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
