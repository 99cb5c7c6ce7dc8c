/*
 * The pure rules of vmx/xsave.h, on xsave_caps alone (so the host unit
 * tests run them): XCR0 values XSETBV accepts, XSAVE area sizes, and the
 * checks a snapshot's XSAVE area passes before XRSTOR may see it.
 */
#include "kernel/mm.h"
#include "vmx/xsave.h"

struct xsave_caps xsave_caps;

/* SDM XSETBV: #GP for a reserved or unsupported bit, x87 clear, AVX
 * without SSE, AVX-512 partly or without AVX. "Unsupported" is what turtle
 * offers: the CPUID 0xD the guest sees. */
bool xcr0_valid(u64 v)
{
    u64 avx512 = v & XFEATURE_AVX512;

    if (v & ~xsave_caps.xcr0)
        return false;
    if (!(v & XFEATURE_X87))
        return false;
    if ((v & XFEATURE_AVX) && !(v & XFEATURE_SSE))
        return false;
    if (avx512 && (avx512 != XFEATURE_AVX512 || !(v & XFEATURE_AVX)))
        return false;
    return true;
}

u32 xsave_size_for(u64 xcr0)
{
    u32 size = XSAVE_LEGACY_SIZE + XSAVE_HDR_SIZE;

    for (u32 i = 2; i < 64; i++)
        if ((xcr0 & xsave_caps.xcr0 & BIT(i)) && xsave_caps.offset[i] + xsave_caps.length[i] > size)
            size = xsave_caps.offset[i] + xsave_caps.length[i];
    return size;
}

/* SDM 13.4.3: components in order after the header, each 64-byte
 * aligned where CPUID 0xD.i ECX[1] says so. */
u32 xsave_compacted_size_for(u64 xcr0)
{
    u32 size = XSAVE_LEGACY_SIZE + XSAVE_HDR_SIZE;

    for (u32 i = 2; i < 64; i++) {
        if (!(xcr0 & xsave_caps.xcr0 & BIT(i)))
            continue;
        if (xsave_caps.align64 & BIT(i))
            size = ALIGN_UP(size, 64);
        size += xsave_caps.length[i];
    }
    return size;
}

/* XRSTOR's #GP conditions for the standard form (SDM Vol. 1 13.8):
 * MXCSR reserved bits, XSTATE_BV outside XCR0 (turtle restores with its
 * whole mask), header bytes not zero; and XCR0 itself. */
const char *xsave_area_check(const u8 *area, u64 xcr0)
{
    u32 mxcsr;
    u64 xstate_bv, hdr[XSAVE_HDR_SIZE / 8];

    memcpy(&mxcsr, area + FXSAVE_MXCSR, sizeof(mxcsr));
    memcpy(hdr, area + XSAVE_XSTATE_BV, sizeof(hdr));
    xstate_bv = hdr[0];
    if (mxcsr & ~xsave_caps.mxcsr_mask)
        return "MXCSR has bits this CPU reserves";
    if (!xsave_caps.xsave)
        return xcr0 == XFEATURE_X87 && (xstate_bv & ~(u64)(XFEATURE_X87 | XFEATURE_SSE)) == 0 ?
               NULL : "XSAVE state on a CPU without XSAVE";
    if (!xcr0_valid(xcr0))
        return "XCR0 not one this turtle offers";
    if (xstate_bv & ~xsave_caps.xcr0)
        return "XSTATE_BV has components this turtle does not offer";
    /* Bytes 23:8 (XCOMP_BV and 8 more) fault; 63:24 are reserved, and
     * older CPUs fault on them too: all must be 0 (KVM writes 0). */
    for (u32 i = 1; i < XSAVE_HDR_SIZE / 8; i++)
        if (hdr[i])
            return "XSAVE header: XCOMP_BV or reserved bytes not 0";
    return NULL;
}
