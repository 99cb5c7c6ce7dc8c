/*
 * vmx32: what the parts of the 32-bit VMX guest share (see vmx32.c for the
 * whole picture): the GDT selectors and limits, the descriptor tables and
 * VMX regions set up by vmx32.c, vmx32_asm.asm's interface, the VMX
 * instruction wrappers with 32-bit operands, and the reporting helpers.
 */
#ifndef GUEST_VMX32_H
#define GUEST_VMX32_H

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

#define VMX_FAIL_INVALID        1
#define VMX_FAIL_VALID          2
#define VMX_OK                  0

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

/* ---- descriptors, paging, VMX regions (vmx32.c) ---- */
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

extern u64 vmx32_gdt[GDT_ENTRIES];
extern struct idt_gate32 vmx32_idt[32];
extern struct tss32 vmx32_tss;
extern u8 bad_rev_region[PAGE_4K];              /* a VMCS region with a wrong revision */
/* Expand-down tests: ES base is here; valid offsets land at +0x20000, an
 * offset below the limit would land at +0x8000 (never written on hardware). */
extern u8 down_area[0x21000];

extern struct vmx_caps32 {
    u64 basic, pin, proc, exit, entry, misc, proc2, ept_vpid;
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u32 revision;
} caps;

extern u64 vmxon_ptr, vmcs_ptr;

/* Sets the base of GDT entry sel (takes effect with load_gdt() and a reload). */
void gdt_set_base(unsigned sel, u32 base);
void load_gdt(void);
void load_idt(void);

static inline void write_cr0(unsigned long v) { __asm__ __volatile__("mov %0, %%cr0" :: "r"(v) : "memory"); }
static inline void write_cr3(unsigned long v) { __asm__ __volatile__("mov %0, %%cr3" :: "r"(v) : "memory"); }
static inline void write_cr4(unsigned long v) { __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory"); }
static inline unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline bool ctl_allows(u64 cap, u32 bits) { return ((u32)(cap >> 32) & bits) == bits; }
static inline u32 ctl_adjust(u64 cap, u32 want) { return (want | (u32)cap) & (u32)(cap >> 32); }

/* ---- VMX instruction wrappers, 32-bit operands (vmx32.c) ---- */
#define VMX_FLAGS_OUT   "setc %[cf]\n\tsetz %[zf]"
static inline int vmx_flags(u8 cf, u8 zf) { return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK; }

int vmread32(u32 field, u32 *val);
int vmwrite32(u32 field, u32 val);
/* VMXON/VMCLEAR/VMPTRLD/VMPTRST with a [ebx] operand. */
int vmxon_at(const u64 *p);
int vmclear_at(const u64 *p);
int vmptrld_at(const u64 *p);
int vmptrst_at(const u64 *p);
int vmxoff(void);
/* VM_INSTRUCTION_ERROR, or 0xffffffff if it cannot be read. */
u32 instr_error(void);
/* VMfailValid with this error? */
bool failed_valid(int st, u32 error);
const char *status_name(int st);

/* ---- fault-catching helpers (vmx32.c) ---- */
struct op {
    u32 a, b, c;            /* operands, per function */
    int status;
};

/* Runs fn under catch_fault32; returns the vector or -1, error in *error. */
int catch(void (*fn)(void *), struct op *o, u32 *error);
/* report() under a stable name; what was seen goes on a line of its own when it fails. */
bool check(bool pass, const char *name, const char *fmt, ...) __printf(3, 4);

/* ---- the tests, in the order mb1_main runs them ---- */
/* vmx32_vmxon.c */
void test_vmxon(void);
void test_no_current_vmcs(void);
void test_vmclear_vmptrld(void);
void test_vmptrst_forms(void);
void test_vmxoff(void);                 /* last */
/* vmx32_rw.c */
void test_vmread_vmwrite(void);
/* vmx32_l2.c */
void test_l2(void);
void test_l2_pae(void);
/* vmx32_inv.c */
void test_invept_invvpid(void);

#endif
