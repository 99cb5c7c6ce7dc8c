/*
 * Guests' extended processor state (vmx/xsave.h): the XCR0 components
 * turtle offers, the XSAVE areas it switches, XCR0 per vCPU.
 *
 * Offered: x87, SSE, AVX and the three AVX-512 components, each where the
 * CPU has it. These are user state components that XSAVE/XRSTOR save and
 * restore whole in the standard format, with no MSR behind them. Not
 * offered: MPX (deprecated, hidden in CPUID), PKRU (PKE is not given to
 * guests), AMX (its XFD needs IA32_XFD switched), and every supervisor
 * component: turtle does not virtualise IA32_XSS, so XSAVES/XRSTORS are
 * hidden and guests use XSAVE/XSAVEOPT/XSAVEC, which need nothing from it.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

#define LEAF_XSAVE              0x0d
#define CPUID1_ECX_XSAVE        BIT(26)
#define CPUID1_ECX_AVX          BIT(28)
#define CPUID7_EBX_AVX512F      BIT(16)
#define XSAVE_D1_XSAVEOPT       BIT(0)
#define XSAVE_D1_XSAVEC         BIT(1)
#define XSAVE_D1_XGETBV1        BIT(2)
#define XSAVE_D1_ECX_ALIGN64    BIT(1)      /* 0xD.i ECX[1]: 64-byte aligned when compacted */
#define XSAVE_OFFERED           (XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX | XFEATURE_AVX512)
#define MXCSR_MASK_DEFAULT      0xffbf      /* when FXSAVE reports 0 (SDM 11.6.6) */
#define FCW_RESET               0x037f
#define MXCSR_RESET             0x1f80

static inline void xsetbv(u32 index, u64 v)
{
    __asm__ __volatile__("xsetbv" :: "c"(index), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 xgetbv(u32 index)
{
    u32 lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
    return (u64)hi << 32 | lo;
}

/*
 * Does XRSTOR of the compacted form find each component where XCOMP_BV
 * puts it (SDM Vol. 1 13.4.3, 13.8.2), also when EDX:EAX restores only
 * some? Linux restores parts of its XSAVEC images (KVM's FPU swap). Bochs
 * 2.7 places the components by the restore mask instead, so skipping AVX
 * restores the opmask registers from AVX's bytes; guests that saw XSAVEC
 * there crashed at random. Checked with AVX-512 only: without components
 * after AVX, no restore mask can move one. Runs once at boot, before any
 * guest state is loaded (it leaves YMM0 and k1 changed).
 */
static bool compacted_restore_ok(u64 mask)
{
    static u8 area[XSAVE_AREA_MAX] __aligned(64);
    static const u32 ones[1] = { ~0u };
    static const u16 k1_value = 0xa5a5, k1_zero = 0;
    u16 k1_back = 0;

    if ((mask & XFEATURE_AVX512) != XFEATURE_AVX512)
        return true;
    memset(area, 0, sizeof(area));
    write_cr4(read_cr4() | X86_CR4_OSXSAVE);
    xsetbv(0, mask);
    __asm__ __volatile__("vbroadcastss %0, %%ymm0\n\tkmovw %1, %%k1" :: "m"(ones), "m"(k1_value));
    __asm__ __volatile__("xsavec64 %0" : "+m"(area) : "a"((u32)mask), "d"((u32)(mask >> 32)));
    __asm__ __volatile__("kmovw %0, %%k1" :: "m"(k1_zero));
    u64 part = mask & ~(u64)XFEATURE_AVX;
    __asm__ __volatile__("xrstor64 %0" :: "m"(area), "a"((u32)part), "d"((u32)(part >> 32)));
    __asm__ __volatile__("kmovw %%k1, %0" : "=m"(k1_back));
    return k1_back == k1_value;
}

void xsave_probe(void)
{
    struct xsave_caps *x = &xsave_caps;
    static u8 fx[XSAVE_LEGACY_SIZE] __aligned(16);
    struct cpuid_regs r;

    write_cr4(read_cr4() | X86_CR4_OSFXSR);
    __asm__ __volatile__("fxsave64 %0" : "=m"(fx));
    memcpy(&x->mxcsr_mask, fx + FXSAVE_MXCSR_MASK, 4);
    if (!x->mxcsr_mask)
        x->mxcsr_mask = MXCSR_MASK_DEFAULT;
    x->xcr0 = XFEATURE_X87 | XFEATURE_SSE;
    x->size = XSAVE_LEGACY_SIZE;
    if (!(cpuid(1).ecx & CPUID1_ECX_XSAVE) || cpuid(0).eax < LEAF_XSAVE)
        return;
    cpuid_count(LEAF_XSAVE, 0, &r);
    u64 mask = ((u64)r.edx << 32 | r.eax) & XSAVE_OFFERED;
    if (!(cpuid(1).ecx & CPUID1_ECX_AVX))
        mask &= ~(u64)(XFEATURE_AVX | XFEATURE_AVX512);
    /* AVX-512 only whole (XCR0[7:5] is 000b or 111b) and with AVX-512F. */
    cpuid_count(7, 0, &r);
    if ((mask & XFEATURE_AVX512) != XFEATURE_AVX512 || !(r.ebx & CPUID7_EBX_AVX512F))
        mask &= ~(u64)XFEATURE_AVX512;
    if ((mask & (XFEATURE_X87 | XFEATURE_SSE)) != (XFEATURE_X87 | XFEATURE_SSE))
        return;                         /* not a CPU turtle knows: stay with FXSAVE */
    for (u32 i = 2; i < 64; i++) {
        if (!(mask & BIT(i)))
            continue;
        cpuid_count(LEAF_XSAVE, i, &r);
        if (r.eax == 0 || r.ebx < XSAVE_LEGACY_SIZE + XSAVE_HDR_SIZE || r.ebx + r.eax > XSAVE_AREA_MAX) {
            mask &= ~BIT(i);            /* would not fit struct kvm_xsave */
            continue;
        }
        x->offset[i] = r.ebx;
        x->length[i] = r.eax;
        if (r.ecx & XSAVE_D1_ECX_ALIGN64)
            x->align64 |= (u32)BIT(i);
    }
    if ((mask & XFEATURE_AVX512) != XFEATURE_AVX512)
        mask &= ~(u64)XFEATURE_AVX512;
    x->xsave = true;
    x->xcr0 = mask;
    x->size = xsave_size_for(mask);
    cpuid_count(LEAF_XSAVE, 1, &r);
    x->d1_eax = r.eax & (XSAVE_D1_XSAVEOPT | XSAVE_D1_XSAVEC | XSAVE_D1_XGETBV1);
    if ((x->d1_eax & XSAVE_D1_XSAVEC) && !compacted_restore_ok(mask)) {
        x->d1_eax &= ~(u32)XSAVE_D1_XSAVEC;
        x->xsavec_broken = true;
    }
}

void xsave_print(void)
{
    if (!xsave_caps.xsave) {
        kprintf("turtle: vmx: guest XSAVE: none (FXSAVE)\n");
        return;
    }
    kprintf("turtle: vmx: guest XSAVE: XCR0 up to 0x%lx (%u bytes)%s%s%s\n", xsave_caps.xcr0, xsave_caps.size,
            xsave_caps.d1_eax & XSAVE_D1_XSAVEOPT ? ", XSAVEOPT" : "",
            xsave_caps.d1_eax & XSAVE_D1_XSAVEC ? ", XSAVEC" : "",
            xsave_caps.d1_eax & XSAVE_D1_XGETBV1 ? ", XGETBV1" : "");
    if (xsave_caps.xsavec_broken)
        kprintf("turtle: vmx: XSAVEC hidden: this CPU's XRSTOR misplaces compacted components "
                "restored in part\n");
}

void xsave_cpu_init(void)
{
    if (!xsave_caps.xsave)
        return;
    write_cr4(read_cr4() | X86_CR4_OSXSAVE);
    xsetbv(0, xsave_caps.xcr0);
}

void vcpu_fpu_reset(struct vcpu *vcpu)
{
    u16 fcw = FCW_RESET;
    u32 mxcsr = MXCSR_RESET;

    memset(vcpu->xsave, 0, XSAVE_AREA_MAX);
    memcpy(vcpu->xsave, &fcw, sizeof(fcw));
    memcpy(vcpu->xsave + FXSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
    vcpu->xcr0 = XFEATURE_X87;
}

/* XSAVE and XRSTOR of every component turtle offers: XCR0 must hold
 * xsave_caps.xcr0 (RFBM = XCR0 with EDX:EAX all ones). */
static void save_area(u8 *area)
{
    if (xsave_caps.xsave)
        __asm__ __volatile__("xsave64 %0" : "+m"(*(u8 (*)[XSAVE_AREA_MAX])area) : "a"(~0u), "d"(~0u));
    else
        __asm__ __volatile__("fxsave64 %0" : "=m"(*(u8 (*)[XSAVE_LEGACY_SIZE])area));
}

static void restore_area(const u8 *area)
{
    if (xsave_caps.xsave)
        __asm__ __volatile__("xrstor64 %0" :: "m"(*(const u8 (*)[XSAVE_AREA_MAX])area), "a"(~0u), "d"(~0u));
    else
        __asm__ __volatile__("fxrstor64 %0" :: "m"(*(const u8 (*)[XSAVE_LEGACY_SIZE])area));
}

/* XCR0 to v, only when it differs (XSETBV is not cheap, and rarely
 * needed: most guests run with one XCR0). */
static void load_xcr0(u64 v)
{
    if (xgetbv(0) != v)
        xsetbv(0, v);
}

void fpu_switch(struct vcpu *prev, struct vcpu *next)
{
    if (xsave_caps.xsave)
        load_xcr0(xsave_caps.xcr0);
    if (prev)
        save_area(prev->xsave);
    restore_area(next->xsave);
    if (xsave_caps.xsave)
        load_xcr0(next->xcr0);
}

void fpu_save(struct vcpu *vcpu)
{
    if (xsave_caps.xsave)
        load_xcr0(xsave_caps.xcr0);
    save_area(vcpu->xsave);
    if (xsave_caps.xsave)
        load_xcr0(vcpu->xcr0);
}

void vcpu_set_xcr0(struct vcpu *vcpu, u64 xcr0)
{
    vcpu->xcr0 = xcr0;
    if (xsave_caps.xsave)
        load_xcr0(xcr0);
}
