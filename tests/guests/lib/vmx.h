/*
 * A small L1 hypervisor for the VMX test guests: VMX instruction wrappers
 * that report VMfailInvalid / VMfailValid, capability probing, entering
 * VMX operation, a default VMCS for a 64-bit L2 that shares L1's address
 * space, and a test runner for tables of {name, init, guest, exit_handler}.
 *
 * Field encodings and architectural constants come from the hypervisor's
 * own SDM headers (vmx/vmcs_fields.h, vmx/vmx_arch.h): facts about the
 * hardware, checked here against Bochs's own VT-x.
 *
 * L2 model: L2 runs at CPL 0 in 64-bit mode on L1's page tables, GDT and
 * TSS, with its own stack and its own IDT (every vector goes to a stub that
 * records the event in l2_event and returns). An L2 function is an
 * ordinary `void f(void)`; when it returns, a trampoline executes VMCALL
 * with RAX = VMX_L2_DONE.
 */
#ifndef GUEST_LIB_VMX_H
#define GUEST_LIB_VMX_H

#include "lib/guest.h"
#include "vmx/vmcs_fields.h"
#include "vmx/vmx_arch.h"

#define PAGE_4K             4096
#define VMX_FIELD_NONE      0xffffffffu

/* Results of the VMX instruction wrappers (SDM 31.2 "Conventions"). */
enum vmx_status {
    VMX_OK = 0,
    VMX_FAIL_INVALID = 1,       /* CF = 1 */
    VMX_FAIL_VALID = 2,         /* ZF = 1: the error is in VM_INSTRUCTION_ERROR */
};

/* Turns the flags after a VMX instruction into an enum vmx_status. */
#define VMX_FLAGS_OUT       "setc %[cf]\n\tsetz %[zf]"
static inline int vmx_flags(u8 cf, u8 zf)
{
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline int vmxon(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmxon %[pa]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [pa] "m"(pa) : "cc", "memory");
    return vmx_flags(cf, zf);
}

static inline int vmxoff(void)
{
    u8 cf, zf;
    __asm__ __volatile__("vmxoff\n\t" VMX_FLAGS_OUT : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

static inline int vmclear(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmclear %[pa]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [pa] "m"(pa) : "cc", "memory");
    return vmx_flags(cf, zf);
}

static inline int vmptrld(u64 pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmptrld %[pa]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [pa] "m"(pa) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VMPTRST has only a memory operand. */
static inline int vmptrst(u64 *pa)
{
    u8 cf, zf;
    __asm__ __volatile__("vmptrst %[pa]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf), [pa] "=m"(*pa) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VMREAD to a register; *val is left alone when the instruction fails. */
static inline int vmread(u64 field, u64 *val)
{
    u8 cf, zf;
    u64 v = *val;
    __asm__ __volatile__("vmread %[f], %[v]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf), [v] "+r"(v) : [f] "r"(field) : "cc");
    *val = v;
    return vmx_flags(cf, zf);
}

/* VMREAD to a memory operand (the r/m64 destination form). */
static inline int vmread_mem(u64 field, u64 *val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmread %[f], %[v]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf), [v] "+m"(*val) : [f] "r"(field) : "cc", "memory");
    return vmx_flags(cf, zf);
}

static inline int vmwrite(u64 field, u64 val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmwrite %[v], %[f]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [v] "r"(val), [f] "r"(field) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VMWRITE from a memory operand. */
static inline int vmwrite_mem(u64 field, const u64 *val)
{
    u8 cf, zf;
    __asm__ __volatile__("vmwrite %[v], %[f]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [v] "m"(*val), [f] "r"(field) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* INVEPT / INVVPID descriptors (SDM 31.3). */
struct invept_desc {
    u64 eptp, reserved;
};
struct invvpid_desc {
    u64 vpid;                   /* bits 15:0; bits 63:16 reserved */
    u64 gla;
};

static inline int invept(u64 type, const struct invept_desc *d)
{
    u8 cf, zf;
    __asm__ __volatile__("invept %[d], %[t]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [d] "m"(*d), [t] "r"(type) : "cc", "memory");
    return vmx_flags(cf, zf);
}

static inline int invvpid(u64 type, const struct invvpid_desc *d)
{
    u8 cf, zf;
    __asm__ __volatile__("invvpid %[d], %[t]\n\t" VMX_FLAGS_OUT
                         : [cf] "=qm"(cf), [zf] "=qm"(zf) : [d] "m"(*d), [t] "r"(type) : "cc", "memory");
    return vmx_flags(cf, zf);
}

/* VM_INSTRUCTION_ERROR of the current VMCS, or VMX_FIELD_NONE if unreadable. */
u32 vmx_instruction_error(void);

/*
 * Checked accessors for the framework and for tests that do not test the
 * instruction itself: a failure prints a diagnostic naming the field and
 * counts as a failed "vmcs access" (reported by vmx_report_access_errors()).
 */
u64 vmcs_read(u32 field);
void vmcs_write(u32 field, u64 val);
void vmcs_set_bits(u32 field, u64 bits);
void vmcs_clear_bits(u32 field, u64 bits);
/* Activates the secondary processor-based controls and sets `bits` in them. */
void vmcs_set_proc2(u32 bits);

/* ---- capabilities ---- */
struct vmx_caps {
    u64 basic, misc, vmcs_enum, ept_vpid, vmfunc;
    u64 pin, proc, exit, entry;         /* TRUE_ variants when basic bit 55 */
    u64 proc2;                          /* 0 unless secondary controls exist */
    u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    u32 revision;
    unsigned maxphyaddr;                /* CPUID 0x80000008 EAX[7:0] */
};
extern struct vmx_caps vmx_caps;

/* Reads the capability MSRs into vmx_caps (needs CPUID.1:ECX.VMX). */
void vmx_read_caps(void);
/* May a control MSR's field have `bits` set? (allowed-1, SDM A.3) */
bool vmx_ctl_allows(u64 cap_msr, u32 bits);
/* allowed-0: bits that must be 1. */
static inline u32 vmx_ctl_required(u64 cap_msr) { return (u32)cap_msr; }
static inline u32 vmx_ctl_allowed(u64 cap_msr) { return (u32)(cap_msr >> 32); }
/* Convenience predicates on vmx_caps. */
bool vmx_has_proc(u32 bits);
bool vmx_has_proc2(u32 bits);            /* also needs "activate secondary controls" */
bool vmx_has_pin(u32 bits);
bool vmx_has_exit(u32 bits);
bool vmx_has_entry(u32 bits);
bool vmx_has_ept(void);                  /* EPT, 4-level walk, WB, 2 MiB pages */
bool vmx_has_vpid(void);

/*
 * Enabling VMX (SDM 24.7): IA32_FEATURE_CONTROL locked with VMX outside SMX
 * (locked here if still unlocked), CR0/CR4 forced to the FIXED0/FIXED1
 * masks, CR4.VMXE set. Returns false with a message if VMX is unusable.
 */
bool vmx_enable(void);

/* The VMXON region (revision from IA32_VMX_BASIC) and its address. */
u64 vmx_vmxon_region(void);
/* VMXON on vmx_vmxon_region(); returns the enum vmx_status. */
int vmx_on(void);

/* 4 KiB pages from a static pool below 2 MiB, zeroed; NULL when empty. */
void *vmx_alloc_page(void);
static inline u64 vmx_pa(const void *p) { return (u64)(uintptr_t)p; }

/* Writes the revision identifier into a VMCS region page, zeroing the rest. */
void vmx_init_vmcs_region(void *page);

/* ---- running L2 ---- */
#define VMX_L2_DONE         0x600d      /* RAX of the VMCALL after an L2 function returns */
#define VMX_L2_RUNAWAY      0xdead      /* RAX of the VMCALL when L2 faults in a loop */

/* L2's general registers as the exit stub saves them (RSP is in the VMCS). */
struct vmx_gprs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

enum vmx_enter_mode {
    VMX_ENTER_LAUNCH = 0,
    VMX_ENTER_RESUME = 1,
    VMX_ENTER_LAUNCH_MOV_SS = 2,        /* VMLAUNCH right after MOV SS */
    VMX_ENTER_KEEP_HOST = 4,            /* or-ed in: HOST_RSP/RIP are already right */
};

/*
 * lib/vmx_stub.asm:
 *   int vmx_enter(struct vmx_gprs *gprs, int mode);
 * loads L2's registers from *gprs, sets HOST_RSP/HOST_RIP of the current
 * VMCS (unless VMX_ENTER_KEEP_HOST: the same call site at the same stack
 * depth as the previous entry), and executes VMLAUNCH or VMRESUME (enum
 * vmx_enter_mode). Returns 0 after a VM exit (including a VM-entry failure,
 * which is an exit), with L2's registers in *gprs; VMX_FAIL_INVALID /
 * VMX_FAIL_VALID if the instruction failed (L2 never ran).
 */
int vmx_enter(struct vmx_gprs *gprs, int mode);

/* What the last VM exit left in the VMCS, read by the runner. */
struct vmx_exit {
    int status;                 /* enum vmx_status of VMLAUNCH/VMRESUME */
    u32 error;                  /* VM_INSTRUCTION_ERROR when status == VMX_FAIL_VALID */
    u32 reason;                 /* full exit reason (bit 31: entry failure) */
    u64 qual;
    u32 intr_info, intr_error, instr_len, instr_info;
    u64 guest_rip, guest_rsp, guest_rflags;
    struct vmx_gprs *regs;      /* L2's registers: change them to change L2's */
    int count;                  /* how many exits this test has seen before this one */
};

enum vmx_action {
    VMX_RESUME,                 /* VMRESUME L2 (the handler has set up whatever it needs) */
    VMX_STOP,                   /* end the test */
};

/*
 * One test of a table. Either `l1` (plain L1 code: starts in VMX root
 * operation with no current VMCS; the runner VMCLEARs whatever it leaves
 * current) or `guest` + `exit_handler`:
 * the runner builds a fresh default VMCS for `guest`, calls `init` (may be
 * NULL) to adjust it, launches L2 and calls `exit_handler` after every exit
 * (and after a VMLAUNCH/VMRESUME that fails: e->status != VMX_OK) until it
 * returns VMX_STOP, then VMCLEARs the VMCS. Handlers print the PASS/FAIL
 * lines. `supported` (may be NULL) decides whether the test runs at all
 * from the capability MSRs; a skipped test prints "SKIP: name".
 */
struct vmx_test {
    const char *name;
    bool (*supported)(void);
    void (*l1)(void);
    void (*init)(void);
    void (*guest)(void);
    enum vmx_action (*exit_handler)(struct vmx_exit *e);
};

void vmx_run_tests(const struct vmx_test *tests, size_t n);
/* The rest of a table-driven VMX test guest once its own set-up is done:
 * CPUID.1:ECX.VMX, VMXON, the tests, the VMCS access errors (under
 * `name`), VMXOFF, and the exit with the summary's verdict. */
__noreturn void vmx_test_main(const char *name, const struct vmx_test *tests, size_t n);

/* Step-by-step use of the same machinery (what vmx_run_tests is built on). */
/* VMCLEAR + VMPTRLD the test VMCS and write the default L2 state for guest. */
void vmx_vmcs_setup(void (*guest)(void));
/* The same for another VMCS page (an L1 with two L2s); the caller tracks
 * its launch state. */
void vmx_vmcs_setup_page(void *page, void (*guest)(void));
/* Launch (first time) or resume L2 and fill *e; returns e->status. */
int vmx_run_l2(struct vmx_exit *e);
/* The same with the instruction chosen by the caller. */
int vmx_run_l2_mode(struct vmx_exit *e, enum vmx_enter_mode mode);
/* Skip the instruction that caused the exit (GUEST_RIP += instruction length). */
void vmx_skip_instruction(struct vmx_exit *e);
/* VMCLEAR the test VMCS (no current VMCS afterwards). */
void vmx_vmcs_teardown(void);
/* The test VMCS's physical address. */
u64 vmx_test_vmcs(void);

/* Is this exit the VMCALL an L2 function makes when it returns? */
bool vmx_is_l2_done(const struct vmx_exit *e);
/* Prints "FAIL: <test>: unexpected ..." with the exit's details. */
void vmx_report_unexpected(const char *test, const struct vmx_exit *e);
/* Reports a FAIL for any checked VMCS access that failed since the last call. */
void vmx_report_access_errors(const char *test);

/* Default controls the runner uses (adjusted to the capability MSRs). */
u32 vmx_default_pin(void);
u32 vmx_default_proc(void);
u32 vmx_default_exit(void);
u32 vmx_default_entry(void);

/* Shared pages the runner allocates once: bitmaps (zeroed per test). */
extern u8 *vmx_io_bitmap_a, *vmx_io_bitmap_b, *vmx_msr_bitmap;

/* ---- L2 side ---- */
/* Events L2's IDT stubs recorded (lib/vmx_stub.asm). */
struct l2_event {
    u64 count;                  /* events since the last reset */
    u64 vector, error, rip, cr2;
    u64 fixup_rip;              /* if non-zero: the handler resumes there (and clears it) */
};
extern volatile struct l2_event l2_event;
void l2_event_reset(void);

/* VMCALL from L2 with RAX = code; returns RAX as L1 left it. */
static inline u64 l2_vmcall(u64 code)
{
    __asm__ __volatile__("vmcall" : "+a"(code) :: "memory");
    return code;
}

static inline unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
    return v;
}

#endif
