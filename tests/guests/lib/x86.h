/*
 * x86 instruction wrappers and architectural constants for the test guests.
 * Compiles for both the 64-bit guests and the 32-bit multiboot1 guest, so
 * control registers and RFLAGS are `unsigned long` (the native width).
 */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(n)              ((u64)1 << (n))
#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define __packed            __attribute__((packed))
#define __noreturn          __attribute__((noreturn))
#define __printf(a, b)      __attribute__((format(printf, a, b)))

/* Control registers and flags (SDM Vol. 3 2.5, Vol. 1 3.4.3). */
#define X86_CR0_PE          BIT(0)      /* protection enable */
#define X86_CR0_PG          BIT(31)     /* paging */
#define X86_CR4_PAE         BIT(5)
#define X86_RFLAGS_IF       BIT(9)
#define X86_RFLAGS_VM       BIT(17)

/* Exception vectors (SDM Vol. 3 6.15). */
#define X86_DE              0
#define X86_NMI             2
#define X86_BP              3
#define X86_UD              6
#define X86_DF              8
#define X86_GP              13
#define X86_PF              14
#define X86_MC              18

/* MSRs (SDM Vol. 4). */
#define MSR_IA32_TSC                0x00000010
#define MSR_IA32_FEATURE_CONTROL    0x0000003a
#define MSR_IA32_SYSENTER_CS        0x00000174
#define MSR_IA32_SYSENTER_ESP       0x00000175
#define MSR_IA32_SYSENTER_EIP       0x00000176
#define MSR_IA32_MISC_ENABLE        0x000001a0
#define MSR_IA32_DEBUGCTL           0x000001d9
#define MSR_IA32_PAT                0x00000277
#define MSR_IA32_VMX_BASIC          0x00000480
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

#define FEATURE_CONTROL_LOCK        BIT(0)
#define FEATURE_CONTROL_VMX_NO_SMX  BIT(2)

/* I/O ports. */
#define COM1_PORT           0x3f8
#define DEBUG_EXIT_PORT     0xf4        /* turtle's (and QEMU's isa-debug-exit) */
#define BOCHS_SHUTDOWN_PORT 0x8900      /* "Shutdown" written here powers Bochs off */

struct cpuid_regs {
    u32 eax, ebx, ecx, edx;
};

static inline void outb(u16 port, u8 v) { __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline struct cpuid_regs cpuid_count(u32 leaf, u32 subleaf)
{
    struct cpuid_regs r;
    __asm__ __volatile__("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                         : "a"(leaf), "c"(subleaf));
    return r;
}

static inline struct cpuid_regs cpuid(u32 leaf) { return cpuid_count(leaf, 0); }

/* Unchecked: a missing MSR raises #GP. Use rdmsr_safe() when it may. */
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

/* Debug registers (SDM 18.2). */
static inline unsigned long read_dr0(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%dr0, %0" : "=r"(v));
    return v;
}

static inline void write_dr0(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%dr0" :: "r"(v));
}

static inline unsigned long read_dr7(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%dr7, %0" : "=r"(v));
    return v;
}

static inline void write_dr7(unsigned long v)
{
    __asm__ __volatile__("mov %0, %%dr7" :: "r"(v));
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline unsigned long read_cr0(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline unsigned long read_cr4(void)
{
    unsigned long v;
    __asm__ __volatile__("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline u16 read_cs(void)
{
    u16 v;
    __asm__ __volatile__("mov %%cs, %0" : "=r"(v));
    return v;
}

static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }

static inline __noreturn void halt_forever(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt" ::: "memory");
}

#endif
