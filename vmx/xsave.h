/*
 * Guests' x87/SSE/AVX state and XCR0 (SDM Vol. 1 ch. 13). Each vCPU has
 * an XSAVE area in the standard (non-compacted) format, the format of
 * KVM's struct kvm_xsave; on a CPU without XSAVE the first 512 bytes are
 * an FXSAVE image. The guest's XCR0 stays loaded while turtle handles its
 * exits (turtle itself uses no x87/SSE state); switching vCPUs loads the
 * full mask turtle offers, saves the old vCPU's state, restores the new
 * one's and loads its XCR0.
 */
#ifndef TURTLE_XSAVE_H
#define TURTLE_XSAVE_H

#include "kernel/types.h"

/* XCR0 state components (SDM Vol. 1 13.1). */
#define XFEATURE_X87            BIT(0)
#define XFEATURE_SSE            BIT(1)
#define XFEATURE_AVX            BIT(2)      /* upper halves of YMM0-15 */
#define XFEATURE_OPMASK         BIT(5)      /* AVX-512 k0-k7 */
#define XFEATURE_ZMM_HI256      BIT(6)      /* upper halves of ZMM0-15 */
#define XFEATURE_HI16_ZMM       BIT(7)      /* ZMM16-31 */
#define XFEATURE_AVX512         (XFEATURE_OPMASK | XFEATURE_ZMM_HI256 | XFEATURE_HI16_ZMM)

#define XSAVE_AREA_MAX          4096        /* struct kvm_xsave's region */
#define XSAVE_LEGACY_SIZE       512         /* the FXSAVE image */
#define XSAVE_HDR_SIZE          64          /* XSTATE_BV, XCOMP_BV, reserved */
#define XSAVE_XSTATE_BV         512         /* offsets in the area */
#define XSAVE_XCOMP_BV          520
#define FXSAVE_MXCSR            24
#define FXSAVE_MXCSR_MASK       28

struct xsave_caps {
    bool xsave;                 /* XSAVE in use (CPUID.1:ECX.XSAVE); else FXSAVE */
    u64 xcr0;                   /* components offered to guests; turtle's own XCR0 */
    u32 size;                   /* standard-format area size for xcr0 */
    u32 d1_eax;                 /* CPUID 0xD.1 EAX shown to guests */
    bool xsavec_broken;         /* XSAVEC hidden: the CPU's compacted XRSTOR is wrong */
    u32 mxcsr_mask;             /* MXCSR bits the CPU accepts */
    u32 offset[64], length[64]; /* CPUID 0xD.i EBX/EAX for each component in xcr0 */
    u32 align64;                /* components aligned to 64 in the compacted form */
};
extern struct xsave_caps xsave_caps;

/* Once, on the boot CPU: what the CPU has and what guests get. */
void xsave_probe(void);
void xsave_print(void);
/* On each CPU entering VMX operation: CR4.OSXSAVE and turtle's XCR0. */
void xsave_cpu_init(void);

/* Is v a value XSETBV may load as XCR0 (SDM XSETBV, 13.3)? */
bool xcr0_valid(u64 v);
/* Standard-format size of the state components in xcr0 (CPUID 0xD.0 EBX),
 * and the compacted size (CPUID 0xD.1 EBX with IA32_XSS = 0). */
u32 xsave_size_for(u64 xcr0);
u32 xsave_compacted_size_for(u64 xcr0);

struct vcpu;
/* A fresh area (x87 FCW 0x37f, MXCSR 0x1f80, XSTATE_BV 0) and XCR0 = 1. */
void vcpu_fpu_reset(struct vcpu *vcpu);
/* Saves the state this CPU holds into prev's area (prev may be NULL) and
 * loads next's state and XCR0. */
void fpu_switch(struct vcpu *prev, struct vcpu *next);
/* Saves the state of vcpu, which this CPU holds, into its area; it stays
 * loaded. */
void fpu_save(struct vcpu *vcpu);
/* Loads XCR0 for vcpu, which this CPU holds (XSETBV, snapshot restore). */
void vcpu_set_xcr0(struct vcpu *vcpu, u64 xcr0);
/* NULL if a standard-format area (XSAVE_AREA_MAX bytes) and xcr0 are ones
 * XRSTOR accepts on this CPU with turtle's mask, else why not. */
const char *xsave_area_check(const u8 *area, u64 xcr0);

#endif
