/*
 * Thin wrappers for the x86 instructions the kernel uses. Each is a single
 * instruction with its exact constraints; nothing here knows about VMX.
 */
#ifndef TURTLE_X86_H
#define TURTLE_X86_H

#include "kernel/types.h"

/* Control-register bits (SDM Vol. 3 2.5). */
#define X86_CR0_PE          BIT(0)      /* protection enable */
#define X86_CR0_MP          BIT(1)
#define X86_CR0_TS          BIT(3)      /* task switched */
#define X86_CR0_ET          BIT(4)
#define X86_CR0_NE          BIT(5)      /* native FPU error reporting */
#define X86_CR0_WP          BIT(16)     /* supervisor write protect */
#define X86_CR0_NW          BIT(29)
#define X86_CR0_CD          BIT(30)
#define X86_CR0_PG          BIT(31)     /* paging */
#define X86_CR4_PAE         BIT(5)
#define X86_CR4_PGE         BIT(7)
#define X86_CR4_OSFXSR      BIT(9)
#define X86_CR4_VMXE        BIT(13)     /* VMX enable */
#define X86_CR4_PCIDE       BIT(17)     /* process-context identifiers */
#define X86_CR4_OSXSAVE     BIT(18)

/* Exception vectors (SDM Vol. 3A Table 6-1). */
#define VECTOR_DE           0           /* divide error */
#define VECTOR_DB           1           /* debug */
#define VECTOR_NMI          2
#define VECTOR_BP           3           /* breakpoint (INT3) */
#define VECTOR_OF           4           /* overflow (INTO) */
#define VECTOR_BR           5           /* BOUND range exceeded */
#define VECTOR_UD           6           /* invalid opcode */
#define VECTOR_NM           7           /* device not available */
#define VECTOR_DF           8           /* double fault */
#define VECTOR_TS           10          /* invalid TSS */
#define VECTOR_NP           11          /* segment not present */
#define VECTOR_SS           12          /* stack-segment fault */
#define VECTOR_GP           13          /* general protection */
#define VECTOR_PF           14          /* page fault */
#define VECTOR_MF           16          /* x87 floating-point error */
#define VECTOR_AC           17          /* alignment check */
#define VECTOR_MC           18          /* machine check */
#define VECTOR_XM           19          /* SIMD floating-point */
#define VECTOR_VE           20          /* virtualization exception */
#define VECTOR_CP           21          /* control protection */

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define X86_RFLAGS_CF       BIT(0)
#define X86_RFLAGS_FIXED    BIT(1)      /* always 1 */
#define X86_RFLAGS_PF       BIT(2)
#define X86_RFLAGS_AF       BIT(4)
#define X86_RFLAGS_ZF       BIT(6)
#define X86_RFLAGS_SF       BIT(7)
#define X86_RFLAGS_TF       BIT(8)
#define X86_RFLAGS_IF       BIT(9)
#define X86_RFLAGS_OF       BIT(11)
#define X86_RFLAGS_VM       BIT(17)

/* MSRs (SDM Vol. 4). */
#define MSR_IA32_TSC                0x00000010
#define MSR_IA32_APIC_BASE          0x0000001b
#define MSR_IA32_FEATURE_CONTROL    0x0000003a
#define MSR_IA32_PAT                0x00000277
#define MSR_IA32_DEBUGCTL           0x000001d9
#define DEBUGCTL_LBR                BIT(0)      /* last-branch records */
#define DEBUGCTL_BTF                BIT(1)      /* single-step on branches */
#define MSR_IA32_SYSENTER_CS        0x00000174
#define MSR_IA32_SYSENTER_ESP       0x00000175
#define MSR_IA32_SYSENTER_EIP       0x00000176
#define MSR_IA32_MISC_ENABLE        0x000001a0
#define MSR_IA32_EFER               0xc0000080
#define MSR_STAR                    0xc0000081
#define MSR_LSTAR                   0xc0000082
#define MSR_CSTAR                   0xc0000083
#define MSR_SFMASK                  0xc0000084
#define MSR_FS_BASE                 0xc0000100
#define MSR_GS_BASE                 0xc0000101
#define MSR_KERNEL_GS_BASE          0xc0000102
#define MSR_TSC_AUX                 0xc0000103

#define EFER_SCE            BIT(0)      /* SYSCALL enable */
#define EFER_LME            BIT(8)      /* long mode enable */
#define EFER_LMA            BIT(10)     /* long mode active */
#define EFER_NXE            BIT(11)     /* no-execute enable */

struct cpuid_regs {
    u32 eax, ebx, ecx, edx;
};

static inline void outb(u16 port, u8 v)  { __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ __volatile__("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ __volatile__("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)  { u8 v;  __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ __volatile__("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline void cpuid_count(u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
    __asm__ __volatile__("cpuid"
                         : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
                         : "a"(leaf), "c"(subleaf));
}

static inline struct cpuid_regs cpuid(u32 leaf)
{
    struct cpuid_regs r;
    cpuid_count(leaf, 0, &r);
    return r;
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

#define DEFINE_CR_ACCESSORS(n)                                                  \
    static inline u64 read_cr##n(void)                                          \
    {                                                                           \
        u64 v;                                                                  \
        __asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v));                   \
        return v;                                                               \
    }                                                                           \
    static inline void write_cr##n(u64 v)                                       \
    {                                                                           \
        __asm__ __volatile__("mov %0, %%cr" #n :: "r"(v) : "memory");           \
    }
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

static inline u64 read_rflags(void)
{
    u64 v;
    __asm__ __volatile__("pushfq; popq %0" : "=r"(v));
    return v;
}

/* A 48-bit canonical address: bits 63:47 all equal (SDM Vol. 1 3.3.7.1). */
static inline bool is_canonical(u64 a)
{
    return ((s64)(a << 16) >> 16) == (s64)a;
}

static inline void invlpg(u64 va) { __asm__ __volatile__("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void cpu_relax(void) { __asm__ __volatile__("pause"); }
static inline void cli(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void sti(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ __volatile__("hlt" ::: "memory"); }

static inline __noreturn void halt_forever(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt" ::: "memory");
}

#define read_seg(seg)                                                           \
    ({                                                                          \
        u16 _v;                                                                 \
        __asm__ __volatile__("mov %%" #seg ", %0" : "=r"(_v));                  \
        _v;                                                                     \
    })

/* Debug registers (SDM Vol. 3B 18.2). */
#define DR6_EVENT_BITS      0xe00fULL   /* B0-B3, BD, BS, BT: what a #DB reports */
#define DR6_RESET           0xffff0ff0ULL
#define PAT_POWER_ON        0x0007040600070406ULL   /* IA32_PAT at reset (SDM 13.12.4) */
#define DR7_RESET           0x400ULL
#define DEFINE_DR_ACCESS(n)                                                         \
    static inline u64 read_dr##n(void)                                              \
    { u64 v; __asm__ __volatile__("mov %%dr" #n ", %0" : "=r"(v)); return v; }      \
    static inline void write_dr##n(u64 v)                                           \
    { __asm__ __volatile__("mov %0, %%dr" #n :: "r"(v)); }
DEFINE_DR_ACCESS(0)
DEFINE_DR_ACCESS(1)
DEFINE_DR_ACCESS(2)
DEFINE_DR_ACCESS(3)
DEFINE_DR_ACCESS(6)
#undef DEFINE_DR_ACCESS

/* A value IA32_PAT accepts: each of its eight entries a valid memory type,
 * 0, 1, 4, 5, 6 or 7 (SDM 11.12.2: WRMSR of another is #GP; the VM-entry
 * checks of "load IA32_PAT", SDM 27.2.2 and 27.3.1.1, are the same rule). */
static inline bool x86_pat_valid(u64 v)
{
    for (int i = 0; i < 8; i++) {
        u8 t = (u8)(v >> (8 * i));
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

#endif
