/*
 * vmx_fuzz: what its parts share. vmx_fuzz.c runs the iterations and
 * judges their outcomes; vmx_fuzz_sandbox.c builds L2's sandbox, its EPT
 * and the scratch memory the CPU may write; vmx_fuzz_mutate.c holds the
 * fields and the ways they are damaged. See vmx_fuzz.c for the whole picture.
 */
#ifndef GUEST_VMX_FUZZ_H
#define GUEST_VMX_FUZZ_H

#include "lib/vmx.h"

/*
 * The timer value (at the rate IA32_VMX_MISC gives) of the valid VMCS, and
 * the bound on mutated values. turtle starts L2's timer when it emulates
 * VMLAUNCH, so its own work before L2's first instruction (entry checks,
 * building vmcs02 and EPT02: 10000-20000 TSC ticks in Bochs) counts too;
 * a value like 2000 would expire before L2's VMCALL.
 */
#define TIMER_DEFAULT       100000
#define TIMER_MAX           200000

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

extern struct msr_entry store_list[STORE_LIST_ENTRIES];
extern struct msr_entry load_list[PAGE_4K / sizeof(struct msr_entry)];
extern u8 scratch[N_SCRATCH_PAGES][PAGE_4K];
extern u8 shadow_vmcs[PAGE_4K];

/* An address bit above any physical-address width. */
#define BEYOND_ANY_WIDTH(b) BIT(52 + (b) % 12)

extern const u8 l2_code[6];         /* vmcall; hlt; jmp $ */
extern u8 *sandbox;                 /* L1's view (identity map): the pointer is the L1-physical address */
extern u64 eptp;                    /* EPT12 of the sandbox */
extern u64 timer_default;           /* the valid VMCS's VMX-preemption timer value */

/* ---- PRNG: xorshift64, one state per iteration ---- */
static inline u64 rnd_next(u64 *s)
{
    u64 x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline u64 rnd_below(u64 *s, u64 n) { return rnd_next(s) % n; }

/* One of the fields the mutations damage (kind: vmx_fuzz_mutate.c). */
struct field {
    u32 enc;
    u8 kind, page;
    const char *name;
};

struct mutation {
    const struct field *f;
    u32 enc;                    /* f->enc, or its _HIGH encoding */
    u64 val;
    int status;                 /* of the VMWRITE */
};

/* vmx_fuzz_sandbox.c */
/* A 2 MiB-aligned block of available RAM above SANDBOX_MIN_BASE that no
 * boot data occupies; NULL if there is none. */
u8 *find_sandbox(const struct boot_params *bp);
/* Wipes the whole sandbox (whatever the last L2 wrote) and writes L2's
 * tables and code. */
void sandbox_reset(void);
/* The MSR lists and scratch pages as the valid VMCS leaves them. */
void scratch_reset(void);
/* EPT12: L2-GPA [0, 2 MiB) -> the sandbox, one 2 MiB page; nothing else (eptp). */
void build_ept(void);
/* The library's valid default VMCS, then L2 moved into the sandbox. */
void vmcs_sandbox(void);

/* vmx_fuzz_vmfunc.c */
/* The stream of its own the VMFUNC variation draws from (with the seed). */
#define VMFUNC_STREAM       0x564d46554e43ull   /* "VMFUNC" */
/* One iteration in 4, where the CPU shows EPTP switching: VM functions on,
 * L2 starting at a VMFUNC, the EPTP list holding only the sandbox's EPTP
 * and EPTPs nothing accepts. s: the iteration's VMFUNC stream. */
void vmfunc_variation(u64 s);

/* vmx_fuzz_mutate.c */
extern const struct field fields[];
extern const size_t n_fields;
/* Damages one random field (m says which, how, and whether VMWRITE took it). */
void mutate(u64 *s, struct mutation *m);
/* After the mutations: what keeps L2 in the sandbox and bounded in time. */
void contain(void);
/* Whether the VMCS is one turtle accepts but Bochs refuses (CS DPL vs RPL). */
bool cs_dpl_rpl_departure(void);

#endif
