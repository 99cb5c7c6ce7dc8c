/*
 * What tests/guests/xsave.c shares with its L2 tests (xsave_l2.c).
 */
#ifndef GUEST_XSAVE_H
#define GUEST_XSAVE_H

#include "lib/vmx.h"

#define XCR0_X87                BIT(0)
#define XCR0_SSE                BIT(1)
#define XCR0_AVX                BIT(2)
#define XCR0_AVX512             (BIT(5) | BIT(6) | BIT(7))
#define NREGS                   16

extern bool has_avx, has_avx512;        /* CPUID shows them, XCR0 may hold them */
extern u64 xcr0_full;                   /* 7, or 0xe7 with AVX-512 */
/* The register patterns load_avx() loads and avx_intact() compares. */
extern u8 pat[NREGS][32], zpat[NREGS][64];
extern u64 kpat[8];

int xsetbv_safe(u32 index, u64 v);      /* -1, or the vector */
u64 xgetbv0(void);                      /* XGETBV(0) under catch_fault() */
u64 xgetbv_raw(void);                   /* XGETBV(0) where nothing can fault (L2) */
void fill(u8 *p, u32 n, u64 salt);      /* a pattern from `val=` and salt */
void load_avx(void);                    /* YMM0-15 (and ZMM16-31, k0-7) from the patterns */
bool avx_intact(void);                  /* do they still hold them? */

/* xsave_l2.c: the tests run with `nested`, this guest as L2's hypervisor. */
extern const struct vmx_test xsave_l2_tests[];
extern const size_t n_xsave_l2_tests;

#endif
