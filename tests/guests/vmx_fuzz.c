/*
 * vmx_fuzz (turtle only): a hostile L1 hypervisor. Each iteration builds a
 * valid VMCS for a sandboxed L2, damages 1-8 random control or guest-state
 * fields, and executes VMLAUNCH. Whatever the damage, turtle must answer
 * the way a CPU would: VMfailValid 7 (controls) or 8 (host state), a
 * VM-entry failure exit (guest state, MSR loading), or L2 runs and exits.
 * It must never panic, never stop L1, never let VMLAUNCH fault.
 *
 * Containment. The test is only meaningful if no architecturally correct
 * outcome can hurt L1, so the VMCS keeps L2 and the CPU away from L1's
 * memory whatever the mutations:
 *   - L2 runs on EPT whose only mapping is a 2 MiB sandbox of L1 memory
 *     (L2-GPA 0..2 MiB), holding L2's page tables, GDT, TSS, IDT, stack and
 *     code (`vmcall; hlt; jmp $`, every IDT vector a copy of it). The EPT
 *     pointer is never mutated (but for its accessed/dirty-flags bit,
 *     random where shown, PML with it), and "activate secondary controls" and
 *     "enable EPT" are forced back on after the mutations.
 *   - The VMX-preemption timer is always on (forced back after the
 *     mutations; its value is only ever set below TIMER_MAX), so an L2
 *     that spins or halts comes back. The wait-for-SIPI activity state,
 *     which the timer does not leave (SDM 26.5.1), is replaced by HLT when
 *     the CPU offers it.
 *   - Host state is the library's and never mutated.
 *   - Addresses the CPU writes through (VM-exit MSR-store list, virtual-APIC
 *     page, PML log, posted-interrupt descriptor) and the EPTP list (a way
 *     out of the sandbox through VMFUNC) only ever point into scratch pages
 *     of this image, or carry an address bit above any physical-address
 *     width (so VM entry must refuse them when they matter). The EPTP list
 *     holds only the sandbox's EPTP and EPTPs nothing accepts; where the
 *     CPU shows EPTP switching, one iteration in 4 turns it on and starts
 *     L2 at a VMFUNC of random leaf and index (vmfunc_variation()), and
 *     every exit must leave the sandbox's EPTP in the VMCS.
 *   - The VM-exit MSR-store list holds only MSRs every CPU can store, and
 *     its count never reaches past the scratch list: a store that fails is
 *     a VMX abort (SDM 28.4), L1 would lose control.
 *   - The VM-exit MSR-load count stays 0: a failed host-MSR load is a VMX
 *     abort too (SDM 28.6). Its address may take any value (unused).
 * Addresses the CPU only reads (I/O and MSR bitmaps, VM-entry MSR-load
 * list, VMREAD/VMWRITE bitmaps, APIC-access page, VMCS link pointer) take
 * any value: turtle must read L1 memory (or refuse) safely.
 *
 * Fields: every writable control and guest-state field of turtle's vmcs12
 * (nested/vmcs12-layout.tsv, encoding type 0 or 2; not the read-only
 * exit-information fields, type 1, nor host state, type 3), minus
 * EPT_POINTER and VM_EXIT_MSR_LOAD_COUNT (above). A 64-bit field is
 * sometimes written through its _HIGH encoding instead.
 * Values: fully random 64-bit, random within the width, small integers,
 * one or two bit flips of the valid value, 0, all ones; for L2 addresses
 * (RIP, RSP, CR3, descriptor-table bases) also addresses in or just past
 * the sandbox, for event injection also well-formed events, so that some
 * entries get as far as L2.
 *
 * Options (after `--` on turtle's module line):
 *   seed=N    PRNG seed (default 1). Iteration K's xorshift64 state is
 *             derived from (seed, K), so `first=K iters=1` replays it.
 *   iters=N   iterations (default 400)
 *   first=K   the first iteration's number (default 0)
 *   verbose   print each iteration's mutations before its VMLAUNCH and its
 *             outcome after (an L1 that never comes back: the last lines
 *             name the culprit)
 *   timer=N   the unmutated VMX-preemption timer value (TIMER_DEFAULT)
 * On bare hardware it does not run (Bochs's own VT-x panics on some of
 * these VMCSs): it prints a line and exits 0.
 */
#include "lib/vmx.h"

#define DEFAULT_SEED        1
#define DEFAULT_ITERS       400
#define PROGRESS_EVERY      100
#define MAX_MUTATIONS       8
/*
 * The timer value (at the rate IA32_VMX_MISC gives) of the valid VMCS, and
 * the bound on mutated values. turtle starts L2's timer when it emulates
 * VMLAUNCH, so its own work before L2's first instruction (entry checks,
 * building vmcs02 and EPT02: 10000-20000 TSC ticks in Bochs) counts too;
 * a value like 2000 would expire before L2's VMCALL.
 */
#define TIMER_DEFAULT       100000
#define TIMER_MAX           200000
#define PIC1_DATA           0x21
#define PIC2_DATA           0xa1
#define EXIT_REASON_SLOTS   80          /* basic exit reasons counted one by one */
/* The announcement tests/refusals.py knows (cs_dpl_rpl_departure()). */
#define CS_DPL_RPL_DEPARTURE "CS DPL unlike CS RPL with unrestricted guest (rules 43, 44: CPUs that compare them refuse it)"

/* ---- the sandbox (L2-GPA = offset in it) ---- */
#define PAGE_2M             (2ull << 20)
#define SANDBOX_MIN_BASE    (4ull << 20)    /* above the image (< 2 MiB) and its boot data */
#define SB_PML4             0x1000
#define SB_PDPT             0x2000
#define SB_PD               0x3000
#define SB_GDT              0x4000
#define SB_TSS              0x5000
#define SB_IDT              0x6000
#define SB_CODE             0x8000          /* vmcall; hlt; jmp $ */
#define SB_SPIN             (SB_CODE + 4)   /* the jmp $ */
#define SB_ISR              0x8100          /* every IDT vector: the same code */
#define SB_VMFUNC           0x8200          /* mov eax, imm; mov ecx, imm; vmfunc; then SB_CODE's */
#define SB_STACK_TOP        0xf000
#define SB_GDT_LIMIT        0x27            /* null, code, data, 16-byte TSS */
#define SB_IDT_LIMIT        0xfff
#define SB_TSS_LIMIT        0x67
#define SEL_CODE64          0x08            /* the same selectors as L1's GDT (lib/vmx.c) */
#define SEL_DATA            0x10
#define SEL_TSS             0x18
#define GDT_CODE64          0x00af9b000000ffffull   /* AR 0xa09b */
#define GDT_DATA            0x00cf93000000ffffull   /* AR 0xc093 */
#define GDT_TSS_BUSY        (0x8bull << 40)         /* P, type 11 */
#define IDT_GATE_INT64      0x8e
#define PTE_P               BIT(0)
#define PTE_W               BIT(1)
#define PTE_PS              BIT(7)

/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP: the exceptions that push an error code. */
#define EXCEPTIONS_WITH_ERROR_CODE  (BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(17) | BIT(21))

/* An address bit no physical-address width reaches (MAXPHYADDR <= 52). */
#define BEYOND_ANY_WIDTH(b) BIT(52 + (b) % 12)

static const u8 l2_code[] = { 0x0f, 0x01, 0xc1, 0xf4, 0xeb, 0xfe };     /* vmcall; hlt; jmp $ */
#define OP_MOV_EAX_IMM32    0xb8
#define OP_MOV_ECX_IMM32    0xb9
static const u8 op_vmfunc[] = { 0x0f, 0x01, 0xd4 };
#define VMFUNC_STREAM       0x564d46554e43ull   /* "VMFUNC": its own random stream */
#define VMFUNC_ODDS         4                   /* one iteration in 4 */

static u8 *sandbox;                 /* L1's view (identity map): the pointer is the L1-physical address */
static u64 *ept_pml4, *ept_pdpt, *ept_pd;
static u64 eptp;

/* ---- scratch memory the CPU may use on L1's side ---- */
struct msr_entry {
    u32 index, reserved;
    u64 value;
};
_Static_assert(sizeof(struct msr_entry) == 16, "MSR-list entry (SDM 25.7.2)");

#define STORE_LIST_ENTRIES  512         /* two pages; the address stays in the first */
#define STORE_COUNT_MAX     256         /* so address + count never leaves the list */
#define LOAD_LIST_VALID     8

enum scratch_page { PAGE_VIRTUAL_APIC, PAGE_PML, PAGE_POSTED_INTR, PAGE_EPTP_LIST, N_SCRATCH_PAGES };

static struct msr_entry store_list[STORE_LIST_ENTRIES] __attribute__((aligned(PAGE_4K)));
static struct msr_entry load_list[PAGE_4K / sizeof(struct msr_entry)] __attribute__((aligned(PAGE_4K)));
static u8 scratch[N_SCRATCH_PAGES][PAGE_4K] __attribute__((aligned(PAGE_4K)));
static u8 shadow_vmcs[PAGE_4K] __attribute__((aligned(PAGE_4K)));

/* MSRs any CPU (and turtle) stores on VM exit. */
static const u32 storable_msrs[] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_TSC,
    MSR_IA32_EFER, MSR_IA32_PAT, MSR_STAR, MSR_LSTAR,
};
/* What a valid VM-entry MSR-load list loads into L2 (value 0 each). */
static const u32 loadable_msrs[LOAD_LIST_VALID] = {
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_STAR,
    MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
};

/* ---- PRNG: xorshift64, one state per iteration ---- */
static u64 rnd_next(u64 *s)
{
    u64 x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static u64 rnd_below(u64 *s, u64 n) { return rnd_next(s) % n; }

/* splitmix64 of (seed, iteration): never 0, which xorshift64 cannot leave. */
static u64 iteration_state(u64 seed, u64 iter)
{
    u64 z = seed * 0x9e3779b97f4a7c15ull + iter + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

/* ---- the fields ---- */
enum field_kind {
    K_ANY,              /* any value */
    K_CPU_WRITES,       /* an address the CPU writes through: a scratch page (.page) */
    K_STORE_ADDR,       /* VM-exit MSR-store address: inside store_list */
    K_STORE_COUNT,      /* VM-exit MSR-store count: at most STORE_COUNT_MAX */
    K_LOAD_ADDR,        /* VM-entry MSR-load address: anything, or a valid list */
    K_TIMER,            /* VMX-preemption timer value: below TIMER_MAX */
    K_LINK,             /* VMCS link pointer: anything, ~0, or a VMCS-like page */
    K_L2_ADDR,          /* an L2 address: anything, or in or just past the sandbox */
    K_EVENT,            /* VM-entry interruption information: anything, or well formed */
};

struct field {
    u32 enc;
    u8 kind, page;
    const char *name;
};

#define ANY(f)              { f, K_ANY, 0, #f }
#define KIND(f, k)          { f, k, 0, #f }
#define WRITTEN(f, p)       { f, K_CPU_WRITES, p, #f }

static const struct field fields[] = {
    /* 16-bit control */
    ANY(VIRTUAL_PROCESSOR_ID), ANY(POSTED_INTR_NV),
    /* 16-bit guest state */
    ANY(GUEST_ES_SELECTOR), ANY(GUEST_CS_SELECTOR), ANY(GUEST_SS_SELECTOR), ANY(GUEST_DS_SELECTOR),
    ANY(GUEST_FS_SELECTOR), ANY(GUEST_GS_SELECTOR), ANY(GUEST_LDTR_SELECTOR), ANY(GUEST_TR_SELECTOR),
    ANY(GUEST_INTR_STATUS), ANY(GUEST_PML_INDEX),
    /* 64-bit control. EPT_POINTER: never (the sandbox). Bitmaps: only read. */
    ANY(IO_BITMAP_A), ANY(IO_BITMAP_B), ANY(MSR_BITMAP),
    KIND(VM_EXIT_MSR_STORE_ADDR, K_STORE_ADDR),
    ANY(VM_EXIT_MSR_LOAD_ADDR),                 /* the count stays 0: never used */
    KIND(VM_ENTRY_MSR_LOAD_ADDR, K_LOAD_ADDR),
    WRITTEN(PML_ADDRESS, PAGE_PML),
    ANY(TSC_OFFSET),
    WRITTEN(VIRTUAL_APIC_PAGE_ADDR, PAGE_VIRTUAL_APIC),
    ANY(APIC_ACCESS_ADDR),                      /* accesses to it are virtualized, never made */
    WRITTEN(POSTED_INTR_DESC_ADDR, PAGE_POSTED_INTR),
    ANY(VM_FUNCTION_CONTROL),
    ANY(EOI_EXIT_BITMAP0), ANY(EOI_EXIT_BITMAP1), ANY(EOI_EXIT_BITMAP2), ANY(EOI_EXIT_BITMAP3),
    WRITTEN(EPTP_LIST_ADDRESS, PAGE_EPTP_LIST), /* read, but VMFUNC could switch to its EPTPs */
    ANY(VMREAD_BITMAP), ANY(VMWRITE_BITMAP),
    ANY(XSS_EXIT_BITMAP), ANY(ENCLS_EXITING_BITMAP), ANY(TSC_MULTIPLIER),
    /* 64-bit guest state */
    KIND(VMCS_LINK_POINTER, K_LINK),
    ANY(GUEST_IA32_DEBUGCTL), ANY(GUEST_IA32_PAT), ANY(GUEST_IA32_EFER), ANY(GUEST_IA32_PERF_GLOBAL_CTRL),
    ANY(GUEST_PDPTR0), ANY(GUEST_PDPTR1), ANY(GUEST_PDPTR2), ANY(GUEST_PDPTR3), ANY(GUEST_BNDCFGS),
    /* 32-bit control. VM_EXIT_MSR_LOAD_COUNT: never (VMX abort). */
    ANY(PIN_BASED_VM_EXEC_CONTROL), ANY(CPU_BASED_VM_EXEC_CONTROL), ANY(EXCEPTION_BITMAP),
    ANY(PAGE_FAULT_ERROR_CODE_MASK), ANY(PAGE_FAULT_ERROR_CODE_MATCH), ANY(CR3_TARGET_COUNT),
    ANY(VM_EXIT_CONTROLS), KIND(VM_EXIT_MSR_STORE_COUNT, K_STORE_COUNT),
    ANY(VM_ENTRY_CONTROLS), ANY(VM_ENTRY_MSR_LOAD_COUNT), KIND(VM_ENTRY_INTR_INFO_FIELD, K_EVENT),
    ANY(VM_ENTRY_EXCEPTION_ERROR_CODE), ANY(VM_ENTRY_INSTRUCTION_LEN), ANY(TPR_THRESHOLD),
    ANY(SECONDARY_VM_EXEC_CONTROL),
    /* natural-width control */
    ANY(CR0_GUEST_HOST_MASK), ANY(CR4_GUEST_HOST_MASK), ANY(CR0_READ_SHADOW), ANY(CR4_READ_SHADOW),
    /* 32-bit guest state */
    ANY(GUEST_ES_LIMIT), ANY(GUEST_CS_LIMIT), ANY(GUEST_SS_LIMIT), ANY(GUEST_DS_LIMIT),
    ANY(GUEST_FS_LIMIT), ANY(GUEST_GS_LIMIT), ANY(GUEST_LDTR_LIMIT), ANY(GUEST_TR_LIMIT),
    ANY(GUEST_GDTR_LIMIT), ANY(GUEST_IDTR_LIMIT),
    ANY(GUEST_ES_AR_BYTES), ANY(GUEST_CS_AR_BYTES), ANY(GUEST_SS_AR_BYTES), ANY(GUEST_DS_AR_BYTES),
    ANY(GUEST_FS_AR_BYTES), ANY(GUEST_GS_AR_BYTES), ANY(GUEST_LDTR_AR_BYTES), ANY(GUEST_TR_AR_BYTES),
    ANY(GUEST_INTERRUPTIBILITY_INFO), ANY(GUEST_ACTIVITY_STATE), ANY(GUEST_SYSENTER_CS),
    KIND(VMX_PREEMPTION_TIMER_VALUE, K_TIMER),
    /* natural-width guest state */
    ANY(GUEST_CR0), KIND(GUEST_CR3, K_L2_ADDR), ANY(GUEST_CR4),
    ANY(GUEST_ES_BASE), ANY(GUEST_CS_BASE), ANY(GUEST_SS_BASE), ANY(GUEST_DS_BASE),
    ANY(GUEST_FS_BASE), ANY(GUEST_GS_BASE), ANY(GUEST_LDTR_BASE), KIND(GUEST_TR_BASE, K_L2_ADDR),
    KIND(GUEST_GDTR_BASE, K_L2_ADDR), KIND(GUEST_IDTR_BASE, K_L2_ADDR),
    ANY(GUEST_DR7), KIND(GUEST_RSP, K_L2_ADDR), KIND(GUEST_RIP, K_L2_ADDR), ANY(GUEST_RFLAGS),
    ANY(GUEST_PENDING_DBG_EXCEPTIONS), ANY(GUEST_SYSENTER_ESP), ANY(GUEST_SYSENTER_EIP),
    ANY(GUEST_S_CET), ANY(GUEST_SSP), ANY(GUEST_INTR_SSP_TABLE),
};

/* ---- outcomes ---- */
enum outcome {
    O_FAIL_7, O_FAIL_8, O_FAIL_OTHER, O_FAIL_INVALID,
    O_ENTRY_FAIL_33, O_ENTRY_FAIL_34, O_ENTRY_FAIL_OTHER,
    O_EXIT, O_FAULT, N_OUTCOMES,
};

static const char *const outcome_names[N_OUTCOMES] = {
    "VMfailValid 7", "VMfailValid 8", "VMfailValid other", "VMfailInvalid",
    "entry failure 33", "entry failure 34", "entry failure other",
    "VM exit", "L1 fault",
};

struct mutation {
    const struct field *f;
    u32 enc;                    /* f->enc, or its _HIGH encoding */
    u64 val;
    int status;                 /* of the VMWRITE */
};

struct iteration {
    u64 number;
    unsigned n;
    struct mutation m[MAX_MUTATIONS];
    enum outcome outcome;
    struct vmx_exit e;
    int vector;                 /* of a fault in L1, else -1 */
    u64 fault_error;
};

static struct {
    u32 outcomes[N_OUTCOMES];
    u32 exit_reasons[EXIT_REASON_SLOTS + 1];    /* the last slot: anything above */
    u32 vmcall_in_isr;                          /* L2 got an event (injected or its own) */
    u32 vmwrite_refused;
    u32 anomalies;                              /* outcomes the SDM rules out */
} stats;

static bool verbose;
static u64 timer_default = TIMER_DEFAULT;

/* ---- building the sandbox and its VMCS ---- */

static void zero_qwords(void *p, size_t bytes)
{
    void *d = p;
    size_t n = bytes / 8;
    __asm__ __volatile__("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

/* A 2 MiB-aligned block of available RAM above SANDBOX_MIN_BASE that no
 * boot data occupies; NULL if there is none. */
static u8 *find_sandbox(const struct boot_params *bp)
{
    for (u64 base = SANDBOX_MIN_BASE; base + PAGE_2M <= bp->mem_top; base += PAGE_2M) {
        bool in_ram = false, taken = false;
        u64 end = base + PAGE_2M;
        for (u32 i = 0; i < bp->n_regions; i++) {
            const struct guest_region *r = &bp->regions[i];
            if (r->type == 1 && r->base <= base && end <= r->base + r->length)
                in_ram = true;
        }
        if (bp->info < end && base < bp->info + bp->info_size)
            taken = true;
        for (u32 i = 0; i < bp->n_modules; i++)
            if (bp->modules[i].start < end && base < bp->modules[i].end)
                taken = true;
        if (in_ram && !taken)
            return (u8 *)(uintptr_t)base;
    }
    return NULL;
}

/* Wipes the whole sandbox (whatever the last L2 wrote) and writes L2's
 * tables and code. */
static void sandbox_reset(void)
{
    u64 *pml4 = (u64 *)(sandbox + SB_PML4), *pdpt = (u64 *)(sandbox + SB_PDPT), *pd = (u64 *)(sandbox + SB_PD);
    u64 *gdt = (u64 *)(sandbox + SB_GDT), *idt = (u64 *)(sandbox + SB_IDT);

    zero_qwords(sandbox, PAGE_2M);
    /* 64-bit paging: linear 0..2 MiB = L2-GPA 0..2 MiB, one 2 MiB page. */
    pml4[0] = SB_PDPT | PTE_P | PTE_W;
    pdpt[0] = SB_PD | PTE_P | PTE_W;
    pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
    gdt[SEL_CODE64 / 8] = GDT_CODE64;
    gdt[SEL_DATA / 8] = GDT_DATA;
    gdt[SEL_TSS / 8] = SB_TSS_LIMIT | ((u64)SB_TSS << 16) | GDT_TSS_BUSY;   /* base < 16 MiB */
    gdt[SEL_TSS / 8 + 1] = 0;
    for (int v = 0; v < 256; v++) {     /* 64-bit interrupt gates to SB_ISR (< 64 KiB) */
        idt[2 * v] = (SB_ISR & 0xffff) | ((u64)SEL_CODE64 << 16) | ((u64)IDT_GATE_INT64 << 40);
        idt[2 * v + 1] = 0;
    }
    memcpy(sandbox + SB_CODE, l2_code, sizeof(l2_code));
    memcpy(sandbox + SB_ISR, l2_code, sizeof(l2_code));
}

static void scratch_reset(void)
{
    memset(store_list, 0, sizeof(store_list));
    for (size_t i = 0; i < STORE_LIST_ENTRIES; i++)
        store_list[i].index = storable_msrs[i % ARRAY_SIZE(storable_msrs)];
    memset(load_list, 0, sizeof(load_list));         /* after the valid ones: index 0, refused */
    for (size_t i = 0; i < LOAD_LIST_VALID; i++)
        load_list[i].index = loadable_msrs[i];
    memset(scratch, 0, sizeof(scratch));
    memset(shadow_vmcs, 0, sizeof(shadow_vmcs));
}

/* EPT12: L2-GPA [0, 2 MiB) -> the sandbox, one 2 MiB page; nothing else. */
static void build_ept(void)
{
    ept_pml4 = vmx_alloc_page();
    ept_pdpt = vmx_alloc_page();
    ept_pd = vmx_alloc_page();
    ept_pml4[0] = vmx_pa(ept_pdpt) | VMX_EPT_RWX_MASK;
    ept_pdpt[0] = vmx_pa(ept_pd) | VMX_EPT_RWX_MASK;
    ept_pd[0] = vmx_pa(sandbox) | VMX_EPT_RWX_MASK | ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT) |
                VMX_EPT_LARGE_PAGE_BIT;
    eptp = vmx_pa(ept_pml4) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    if (vmx_caps.ept_vpid & VMX_EPT_INVEPT_BIT) {
        struct invept_desc d = { eptp, 0 };
        invept(vmx_caps.ept_vpid & VMX_EPT_EXTENT_GLOBAL_BIT ? VMX_EPT_EXTENT_GLOBAL : VMX_EPT_EXTENT_CONTEXT, &d);
    }
}

static void l2_unused(void)
{
}

/* The library's valid default VMCS, then L2 moved into the sandbox. */
static void vmcs_sandbox(void)
{
    vmx_vmcs_setup(l2_unused);
    vmcs_write(GUEST_CR3, SB_PML4);
    vmcs_write(GUEST_RIP, SB_CODE);
    vmcs_write(GUEST_RSP, SB_STACK_TOP);
    vmcs_write(GUEST_GDTR_BASE, SB_GDT);
    vmcs_write(GUEST_GDTR_LIMIT, SB_GDT_LIMIT);
    vmcs_write(GUEST_IDTR_BASE, SB_IDT);
    vmcs_write(GUEST_IDTR_LIMIT, SB_IDT_LIMIT);
    vmcs_write(GUEST_TR_BASE, SB_TSS);
    vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    vmcs_write(VMX_PREEMPTION_TIMER_VALUE, timer_default);
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_write(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmcs_write(EPT_POINTER, eptp);
    /* Unused by the valid controls; where they point if a mutation enables them. */
    vmcs_write(VM_EXIT_MSR_STORE_ADDR, vmx_pa(store_list));
    vmcs_write(VM_EXIT_MSR_LOAD_ADDR, vmx_pa(load_list));
    vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, vmx_pa(load_list));
    vmcs_write(VIRTUAL_APIC_PAGE_ADDR, vmx_pa(scratch[PAGE_VIRTUAL_APIC]));
    vmcs_write(PML_ADDRESS, vmx_pa(scratch[PAGE_PML]));
    vmcs_write(POSTED_INTR_DESC_ADDR, vmx_pa(scratch[PAGE_POSTED_INTR]));
    vmcs_write(EPTP_LIST_ADDRESS, vmx_pa(scratch[PAGE_EPTP_LIST]));
}

/* ---- mutations ---- */

static unsigned width_bits(u32 enc)
{
    static const u8 bits[4] = { 16, 64, 32, 64 };   /* 16-bit, 64-bit, 32-bit, natural */
    return bits[VMCS_FIELD_WIDTH(enc)];
}

static u64 any_value(u64 *s, u64 valid, unsigned bits)
{
    u64 mask = bits == 64 ? ~0ull : BIT(bits) - 1;

    switch (rnd_below(s, 10)) {
    case 0:  return rnd_next(s);                                   /* bits above the width too */
    case 1:  return rnd_next(s) & mask;
    case 2:  return rnd_below(s, 16);
    case 3:
    case 4:
    case 5:  return valid ^ BIT(rnd_below(s, bits));
    case 6:  return valid ^ BIT(rnd_below(s, bits)) ^ BIT(rnd_below(s, bits));
    case 7:  return 0;
    case 8:  return ~0ull;
    default: return valid + rnd_below(s, 16) - 8;
    }
}

/* An address in [base, base + room) or one no CPU accepts when it matters. */
static u64 contained_address(u64 *s, u64 base, u64 room, u64 align)
{
    switch (rnd_below(s, 6)) {
    case 0:  return base;
    case 1:
    case 2:  return base + rnd_below(s, room / align) * align;
    case 3:  return base + rnd_below(s, room);                     /* often misaligned */
    case 4:  return base | BEYOND_ANY_WIDTH(rnd_next(s));
    default: return ~0ull;
    }
}

static u64 field_value(u64 *s, const struct field *f, u64 valid)
{
    switch (f->kind) {
    case K_CPU_WRITES:
        return contained_address(s, vmx_pa(scratch[f->page]), PAGE_4K, 64);
    case K_STORE_ADDR:
        return contained_address(s, vmx_pa(store_list), PAGE_4K, sizeof(struct msr_entry));
    case K_STORE_COUNT:
        return rnd_below(s, 2) ? rnd_below(s, 4) : rnd_below(s, STORE_COUNT_MAX + 1);
    case K_LOAD_ADDR:
        switch (rnd_below(s, 4)) {
        case 0:  return vmx_pa(load_list) + rnd_below(s, LOAD_LIST_VALID) * sizeof(struct msr_entry);
        case 1:  return vmx_pa(store_list);
        default: return any_value(s, valid, 64);
        }
    case K_TIMER:
        return rnd_below(s, 4) ? rnd_below(s, TIMER_MAX) : 0;
    case K_EVENT:
        switch (rnd_below(s, 4)) {
        case 0:
        case 1:
            return any_value(s, valid, 32);
        case 2: {   /* valid, any type (0-7), a vector, maybe "deliver error code" */
            u64 vector = rnd_below(s, 2) ? rnd_below(s, 256) : rnd_below(s, 32);
            return BIT(31) | rnd_below(s, 8) << 8 | vector | rnd_below(s, 2) << 11;
        }
        default: {  /* a well-formed hardware exception or NMI (SDM 27.2.1.3) */
            u64 vector = rnd_below(s, 32);
            if (vector == X86_NMI)
                return BIT(31) | 2 << 8 | vector;
            return BIT(31) | 3 << 8 | vector | (u64)(BIT(vector) & EXCEPTIONS_WITH_ERROR_CODE ? 1 : 0) << 11;
        }
        }
    case K_L2_ADDR:
        return rnd_below(s, 2) ? rnd_below(s, 2 * PAGE_2M) : any_value(s, valid, 64);
    case K_LINK:
        switch (rnd_below(s, 4)) {
        case 0:  return ~0ull;
        case 1:  /* a region with the revision identifier, shadow-VMCS indicator random */
            *(u32 *)shadow_vmcs = vmx_caps.revision | (u32)(rnd_below(s, 2) << 31);
            return vmx_pa(shadow_vmcs);
        default: return any_value(s, valid, 64);
        }
    default:
        return any_value(s, valid, width_bits(f->enc));
    }
}

static void mutate(u64 *s, struct mutation *m)
{
    const struct field *f = &fields[rnd_below(s, ARRAY_SIZE(fields))];
    u64 valid = 0;

    vmread(f->enc, &valid);
    m->f = f;
    m->enc = f->enc;
    /* Sometimes bits 63:32 of an unrestricted 64-bit field on their own. */
    if (f->kind == K_ANY && VMCS_FIELD_WIDTH(f->enc) == VMCS_FIELD_WIDTH_64 && rnd_below(s, 8) == 0) {
        m->enc = f->enc | 1;
        m->val = any_value(s, valid >> 32, 32);
    } else {
        m->val = field_value(s, f, valid);
    }
    m->status = vmwrite(m->enc, m->val);
    if (m->status != VMX_OK)
        stats.vmwrite_refused++;
}

static void force_bits(u32 field, u64 bits)
{
    u64 v = 0;
    vmread(field, &v);
    if ((v & bits) != bits)
        vmcs_write(field, v | bits);
}

/* After the mutations: what keeps L2 in the sandbox and bounded in time. */
static void contain(void)
{
    u64 activity = 0;

    force_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    force_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    force_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmread(GUEST_ACTIVITY_STATE, &activity);
    if (activity == GUEST_ACTIVITY_WAIT_SIPI && (vmx_caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
        vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
}

/*
 * A vmcs12 the SDM accepts but a CPU that checks CS's DPL against CS's RPL
 * refuses: with unrestricted guest, the SDM (27.3.1.2) compares a code CS's
 * DPL with SS's DPL only, while SDM editions before unrestricted guest, and
 * Bochs 2.7 still, want a non-conforming CS's DPL equal to its RPL and a
 * conforming CS's DPL not above it (docs/nested.md, rules 43, 44). turtle
 * follows the SDM, so such a vmcs12 can pass its checks and the CPU then
 * refuses vmcs02 ("hardware refused vmcs02", rule 80). The iteration is
 * announced before its VMLAUNCH, and its outcome printed after it, so that
 * a refusal right after the announcement is known for what it is
 * (tests/refusals.py). Returns whether this iteration is one.
 */
static bool cs_dpl_rpl_departure(void)
{
    u64 proc2 = 0, sel = 0, ar = 0;

    vmread(SECONDARY_VM_EXEC_CONTROL, &proc2);     /* "activate secondary controls" is forced on */
    vmread(GUEST_CS_SELECTOR, &sel);
    vmread(GUEST_CS_AR_BYTES, &ar);
    if (!(proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) || !(ar & AR_TYPE_CODE))
        return false;
    u32 rpl = sel & 3, dpl = AR_DPL(ar);
    bool conforming = AR_TYPE(ar) & AR_TYPE_EXPAND_DOWN;   /* bit 2 of a code type: conforming */
    return conforming ? rpl < dpl : rpl != dpl;
}

/* ---- one iteration ---- */

static void launch(void *arg)
{
    vmx_run_l2_mode(arg, VMX_ENTER_LAUNCH);
}

static void print_mutations(const struct iteration *it)
{
    for (unsigned i = 0; i < it->n; i++) {
        const struct mutation *m = &it->m[i];
        printf("  %s%s (%#x) = %#lx%s\n", m->f->name, m->enc != m->f->enc ? "_HIGH" : "", m->enc,
               (unsigned long)m->val, m->status == VMX_OK ? "" : " (VMWRITE refused)");
    }
}

static void print_outcome(const struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    printf("vmx_fuzz: iteration %lu: %s", (unsigned long)it->number, outcome_names[it->outcome]);
    if (it->outcome == O_FAULT)
        printf(": vector %d error %#lx", it->vector, (unsigned long)it->fault_error);
    else if (e->status == VMX_FAIL_VALID)
        printf(": error %u", e->error);
    else if (e->status == VMX_OK)
        printf(": reason %#x qualification %#lx rip %#lx", e->reason, (unsigned long)e->qual,
               (unsigned long)e->guest_rip);
    printf("\n");
}

/* An outcome the SDM rules out; printed with what produced it. */
static void anomaly(const struct iteration *it, const char *why)
{
    stats.anomalies++;
    printf("vmx_fuzz: iteration %lu: %s\n", (unsigned long)it->number, why);
    print_outcome(it);
    print_mutations(it);
}

/* Did this iteration damage only guest-state fields? Does it touch field f? */
static bool only_guest_state(const struct iteration *it)
{
    for (unsigned i = 0; i < it->n; i++)
        if (VMCS_FIELD_TYPE(it->m[i].enc) != VMCS_FIELD_TYPE_GUEST)
            return false;
    return true;
}

static bool mutated(const struct iteration *it, u32 f)
{
    for (unsigned i = 0; i < it->n; i++)
        if (it->m[i].f->enc == f)
            return true;
    return false;
}

static void classify(struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    if (it->vector >= 0) {
        it->outcome = O_FAULT;
    } else if (e->status == VMX_FAIL_INVALID) {
        it->outcome = O_FAIL_INVALID;
    } else if (e->status == VMX_FAIL_VALID) {
        it->outcome = e->error == VMXERR_ENTRY_INVALID_CONTROL_FIELD ? O_FAIL_7 :
                      e->error == VMXERR_ENTRY_INVALID_HOST_STATE_FIELD ? O_FAIL_8 : O_FAIL_OTHER;
    } else if (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        u32 basic = e->reason & 0xffff;
        it->outcome = basic == EXIT_REASON_INVALID_STATE ? O_ENTRY_FAIL_33 :
                      basic == EXIT_REASON_MSR_LOAD_FAIL ? O_ENTRY_FAIL_34 : O_ENTRY_FAIL_OTHER;
    } else {
        it->outcome = O_EXIT;
        stats.exit_reasons[e->reason < EXIT_REASON_SLOTS ? e->reason : EXIT_REASON_SLOTS]++;
        if (e->reason == EXIT_REASON_VMCALL && e->guest_rip == SB_ISR)
            stats.vmcall_in_isr++;
    }
    stats.outcomes[it->outcome]++;
}

/* What the SDM says about each kind of outcome (SDM 27.1-27.8, 31.3). */
static void check(const struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    switch (it->outcome) {
    case O_FAULT:
        anomaly(it, "VMLAUNCH in VMX root operation at CPL 0 faulted");
        break;
    case O_FAIL_INVALID:
        anomaly(it, "VMfailInvalid with a current VMCS");
        break;
    case O_FAIL_7:
    case O_FAIL_8:
        /* The controls and the host state are valid unmutated, and no check
         * on them reads a guest-state field while the entry injects nothing
         * (SDM 27.2.1.3: only event injection looks at guest CR0.PE). */
        if (only_guest_state(it))
            anomaly(it, "VMfailValid although only guest-state fields were damaged");
        /* Host-state checks depend on host fields (never mutated) and the
         * VM-exit and VM-entry controls (SDM 27.2.2-27.2.4). */
        else if (it->outcome == O_FAIL_8 && !mutated(it, VM_EXIT_CONTROLS) && !mutated(it, VM_ENTRY_CONTROLS))
            anomaly(it, "VMfailValid 8 with neither the VM-exit nor the VM-entry controls damaged");
        break;
    case O_FAIL_OTHER:
        anomaly(it, "VMLAUNCH of a clear VMCS failed with an error other than 7 or 8");
        break;
    case O_ENTRY_FAIL_OTHER:
        if ((e->reason & 0xffff) != EXIT_REASON_MCE_DURING_VMENTRY)
            anomaly(it, "VM-entry failure with a basic reason other than 33, 34 or 41");
        break;
    case O_ENTRY_FAIL_33:
        /* Qualification 0 (default), 2 (PDPTE), 3 (NMI injection), 4 (link pointer). */
        if (e->qual != 0 && (e->qual < 2 || e->qual > 4))
            anomaly(it, "guest-state entry failure with a reserved exit qualification");
        break;
    case O_ENTRY_FAIL_34: {
        /* The qualification is the failing entry's 1-based index. */
        u64 count = 0;
        vmread(VM_ENTRY_MSR_LOAD_COUNT, &count);
        if (e->qual == 0 || e->qual > count)
            anomaly(it, "MSR-load entry failure naming an entry outside the list");
        break;
    }
    case O_EXIT: {
        u32 basic = e->reason & 0xffff;
        if (basic == EXIT_REASON_INVALID_STATE || basic == EXIT_REASON_MSR_LOAD_FAIL ||
            basic == EXIT_REASON_MCE_DURING_VMENTRY)
            anomaly(it, "an entry-failure reason without bit 31");
        /* Only the sandbox's EPTP is in the EPTP list: a VMFUNC can switch
         * to nothing else. */
        u64 ept = 0;
        vmread(EPT_POINTER, &ept);
        if ((ept & ~(u64)VMX_EPTP_AD_ENABLE_BIT) != eptp)
            anomaly(it, "an EPT pointer after the exit that L1 never gave (VMFUNC?)");
        break;
    }
    default:
        break;
    }
}

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
static void vmfunc_variation(u64 seed, u64 number)
{
    u64 s = iteration_state(seed ^ VMFUNC_STREAM, number);
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

static void run_iteration(u64 seed, struct iteration *it)
{
    u64 s = iteration_state(seed, it->number);

    sandbox_reset();
    scratch_reset();
    vmcs_sandbox();
    it->n = 1 + (unsigned)rnd_below(&s, MAX_MUTATIONS);
    /* The sandbox's EPT with accessed/dirty flags on or off (its one
     * harmless variation): L2's accesses then write flags into EPT12, and
     * with PML (its log in a scratch page) their addresses into the log. */
    if ((vmx_caps.ept_vpid & VMX_EPT_AD_BIT) && rnd_below(&s, 2)) {
        vmcs_write(EPT_POINTER, eptp | VMX_EPTP_AD_ENABLE_BIT);
        if (vmx_has_proc2(SECONDARY_EXEC_ENABLE_PML) && rnd_below(&s, 2)) {
            vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML);
            vmcs_write(GUEST_PML_INDEX, rnd_below(&s, 4) ? rnd_below(&s, 512) : rnd_below(&s, 0x10000));
        }
    }
    /* Virtual NMIs (and the NMI window) as a whole, so that the mutations
     * meet them more often than two bit flips would. */
    if (vmx_has_pin(PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS) && rnd_below(&s, 2)) {
        vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS);
        if (vmx_has_proc(CPU_BASED_NMI_WINDOW_EXITING) && rnd_below(&s, 2))
            vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
    }
    vmfunc_variation(seed, it->number);
    for (unsigned i = 0; i < it->n; i++)
        mutate(&s, &it->m[i]);
    contain();
    bool departure = cs_dpl_rpl_departure();
    if (verbose) {
        printf("vmx_fuzz: iteration %lu: %u mutations\n", (unsigned long)it->number, it->n);
        print_mutations(it);
    }
    if (departure)
        printf("vmx_fuzz: iteration %lu: " CS_DPL_RPL_DEPARTURE "\n", (unsigned long)it->number);
    memset(&it->e, 0, sizeof(it->e));
    it->fault_error = 0;
    it->vector = catch_fault(launch, &it->e, &it->fault_error);
    classify(it);
    check(it);
    if (verbose || departure)
        print_outcome(it);
    vmx_vmcs_teardown();
}

/* ---- before the fuzzing: the unmutated sandbox works ---- */

static struct vmx_exit launch_unmutated(u64 rip)
{
    struct vmx_exit e = { 0 };

    sandbox_reset();
    scratch_reset();
    vmcs_sandbox();
    vmcs_write(GUEST_RIP, rip);
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    vmx_vmcs_teardown();
    return e;
}

static bool baseline(void)
{
    struct vmx_exit e = launch_unmutated(SB_CODE);
    bool ok = report(e.status == VMX_OK && e.reason == EXIT_REASON_VMCALL && e.guest_rip == SB_CODE,
                     "turtle fuzz: the unmutated sandbox VMCS runs L2 to its VMCALL");
    if (!ok)
        printf("  status %d error %u reason %#x qualification %#lx rip %#lx\n", e.status, e.error, e.reason,
               (unsigned long)e.qual, (unsigned long)e.guest_rip);
    e = launch_unmutated(SB_SPIN);
    if (!report(e.status == VMX_OK && e.reason == EXIT_REASON_PREEMPTION_TIMER && e.guest_rip == SB_SPIN,
                "turtle fuzz: the VMX-preemption timer stops a spinning L2"))
        printf("  status %d error %u reason %#x rip %#lx\n", e.status, e.error, e.reason,
               (unsigned long)e.guest_rip);
    return ok;
}

/* ---- the run ---- */

static void print_counts(void)
{
    const u32 *o = stats.outcomes;

    printf("vmx_fuzz: VMLAUNCH failed: VMfailValid 7 %u, VMfailValid 8 %u, other VMfailValid %u, "
           "VMfailInvalid %u, fault %u\n", o[O_FAIL_7], o[O_FAIL_8], o[O_FAIL_OTHER], o[O_FAIL_INVALID], o[O_FAULT]);
    printf("vmx_fuzz: entry failures: reason 33 %u, reason 34 %u, other %u\n", o[O_ENTRY_FAIL_33],
           o[O_ENTRY_FAIL_34], o[O_ENTRY_FAIL_OTHER]);
    printf("vmx_fuzz: VM exits %u (VMCALL in L2's IDT handler: %u), by reason:", o[O_EXIT], stats.vmcall_in_isr);
    for (int r = 0; r <= EXIT_REASON_SLOTS; r++)
        if (stats.exit_reasons[r])
            printf(" %s%d: %u", r == EXIT_REASON_SLOTS ? ">=" : "", r, stats.exit_reasons[r]);
    printf("\nvmx_fuzz: VMWRITEs refused: %u\n", stats.vmwrite_refused);
}

static void fuzz(u64 seed, u64 first, u64 iters)
{
    static struct iteration it;
    u64 done = 0;
    u32 *o = stats.outcomes;

    for (u64 i = 0; i < iters; i++) {
        it.number = first + i;
        run_iteration(seed, &it);
        done++;
        if (done % PROGRESS_EVERY == 0)
            printf("vmx_fuzz: %lu of %lu iterations\n", (unsigned long)done, (unsigned long)iters);
    }
    print_counts();
    report(done == iters, "turtle fuzz: %lu iterations completed", (unsigned long)iters);
    report(o[O_FAIL_OTHER] == 0 && o[O_FAIL_INVALID] == 0, "turtle fuzz: VMfail errors only 7 or 8");
    report(o[O_FAULT] == 0, "turtle fuzz: VMLAUNCH never faults in L1");
    report(stats.anomalies == 0, "turtle fuzz: every outcome is one the SDM allows");
    report(stats.vmwrite_refused == 0, "turtle fuzz: VMWRITE accepts every fuzzed field and value");
    /* Host state is never mutated, so VMfailValid 8 may well not happen. */
    report(o[O_FAIL_7] && (o[O_ENTRY_FAIL_33] + o[O_ENTRY_FAIL_34] + o[O_ENTRY_FAIL_OTHER]) && o[O_EXIT],
           "turtle fuzz: some entries succeeded and some failed each way");
    vmx_report_access_errors("turtle fuzz");
}

void guest_main(const struct boot_params *bp)
{
    u64 seed = DEFAULT_SEED, iters = DEFAULT_ITERS, first = 0;

    if (!on_turtle()) {
        printf("vmx_fuzz: no turtle signature: this guest runs only under turtle (nested); nothing tested\n");
        return;
    }
    cmdline_u64(bp->cmdline, "seed", &seed);
    cmdline_u64(bp->cmdline, "iters", &iters);
    cmdline_u64(bp->cmdline, "first", &first);
    cmdline_u64(bp->cmdline, "timer", &timer_default);
    verbose = cmdline_has_word(bp->cmdline, "verbose");
    printf("vmx_fuzz: seed %lu, iterations %lu from %lu, %zu fields\n", (unsigned long)seed,
           (unsigned long)iters, (unsigned long)first, ARRAY_SIZE(fields));
    /* No interrupt may reach L2 through the PIC while it runs with IF = 1. */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);

    if (!report(cpuid(1).ecx & BIT(5), "turtle fuzz: CPUID.1:ECX.VMX is set (module option nested)"))
        return;
    if (!vmx_enable() || !report(vmx_on() == VMX_OK, "turtle fuzz: VMXON"))
        return;
    if (!vmx_has_ept() || !vmx_has_pin(PIN_BASED_VMX_PREEMPTION_TIMER)) {
        printf("SKIP: turtle fuzz (needs EPT and the VMX-preemption timer)\n");
        vmxoff();
        return;
    }
    sandbox = find_sandbox(bp);
    if (!report(sandbox != NULL, "turtle fuzz: 2 MiB of RAM for L2's sandbox"))
        return;
    printf("vmx_fuzz: sandbox at %#lx\n", (unsigned long)vmx_pa(sandbox));
    build_ept();
    if (baseline())
        fuzz(seed, first, iters);
    report(vmxoff() == VMX_OK, "turtle fuzz: VMXOFF at the end");
}
