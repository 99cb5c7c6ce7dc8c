/*
 * Host unit test of vmx/xsave_rules.c: the XCR0 values XSETBV accepts
 * (SDM XSETBV), the area sizes CPUID leaf 0xD reports for an XCR0, and
 * the checks a snapshot's XSAVE area must pass before turtle's XRSTOR
 * sees it. The CPU is Bochs's skylake-x/tigerlake as turtle offers it
 * (x87, SSE, AVX, AVX-512: offsets and sizes from its CPUID 0xD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/xsave.h"

#define ALL     0xe7ULL

static void offer_avx512(void)
{
    memset(&xsave_caps, 0, sizeof(xsave_caps));
    xsave_caps.xsave = true;
    xsave_caps.xcr0 = ALL;
    xsave_caps.mxcsr_mask = 0xffff;
    xsave_caps.offset[2] = 576;  xsave_caps.length[2] = 256;
    xsave_caps.offset[5] = 1088; xsave_caps.length[5] = 64;
    xsave_caps.offset[6] = 1152; xsave_caps.length[6] = 512;
    xsave_caps.offset[7] = 1664; xsave_caps.length[7] = 1024;
    xsave_caps.align64 = 0;
    xsave_caps.size = 2688;
}

static void test_xcr0_rules(void **state)
{
    (void)state;
    offer_avx512();
    assert_true(xcr0_valid(1));
    assert_true(xcr0_valid(3));
    assert_true(xcr0_valid(7));
    assert_true(xcr0_valid(ALL));
    assert_false(xcr0_valid(0));                /* x87 must be set */
    assert_false(xcr0_valid(2));
    assert_false(xcr0_valid(5));                /* AVX without SSE */
    assert_false(xcr0_valid(7 | 0x20));         /* AVX-512 only whole */
    assert_false(xcr0_valid(7 | 0x60));
    assert_false(xcr0_valid(3 | 0xe0));         /* AVX-512 without AVX */
    assert_false(xcr0_valid(7 | 0x200));        /* PKRU: not offered */
    assert_false(xcr0_valid(7 | 0x18));         /* MPX: not offered */
    assert_false(xcr0_valid(1ULL << 63 | 7));   /* reserved */
    xsave_caps.xcr0 = 7;                        /* a CPU without AVX-512 */
    assert_false(xcr0_valid(ALL));
    assert_true(xcr0_valid(7));
}

static void test_sizes(void **state)
{
    (void)state;
    offer_avx512();
    assert_int_equal(xsave_size_for(1), 576);
    assert_int_equal(xsave_size_for(3), 576);
    assert_int_equal(xsave_size_for(7), 832);
    assert_int_equal(xsave_size_for(ALL), 2688);
    assert_int_equal(xsave_size_for(ALL | 0x200), 2688);        /* only offered components count */
    assert_int_equal(xsave_compacted_size_for(7), 832);
    assert_int_equal(xsave_compacted_size_for(ALL), 576 + 256 + 64 + 512 + 1024);
    xsave_caps.align64 = 1u << 5;               /* opmask 64-byte aligned when compacted */
    assert_int_equal(xsave_compacted_size_for(ALL), 832 + 64 + 512 + 1024);
    xsave_caps.offset[2] = 576; xsave_caps.length[2] = 250;    /* an odd size: alignment counts */
    assert_int_equal(xsave_compacted_size_for(3 | 4 | 0x20), 832 + 64);   /* 826 aligned up to 832 */
}

static void put64(unsigned char *a, unsigned off, uint64_t v) { memcpy(a + off, &v, 8); }

static void test_area_check(void **state)
{
    static unsigned char area[XSAVE_AREA_MAX] __attribute__((aligned(64)));
    (void)state;

    offer_avx512();
    memset(area, 0, sizeof(area));
    uint32_t mxcsr = 0x1f80;
    memcpy(area + FXSAVE_MXCSR, &mxcsr, 4);
    put64(area, XSAVE_XSTATE_BV, 0xa7);
    assert_null(xsave_area_check(area, ALL));
    assert_null(xsave_area_check(area, 1));             /* components outside XCR0: restored anyway */
    assert_non_null(xsave_area_check(area, 0));         /* XCR0 itself invalid */
    assert_non_null(xsave_area_check(area, 7 | 0x200));
    put64(area, XSAVE_XSTATE_BV, 0x207);                /* PKRU state: not offered */
    assert_non_null(xsave_area_check(area, 7));
    put64(area, XSAVE_XSTATE_BV, 3);
    put64(area, XSAVE_XCOMP_BV, 1ULL << 63 | 3);        /* compacted form */
    assert_non_null(xsave_area_check(area, 7));
    put64(area, XSAVE_XCOMP_BV, 0);
    area[XSAVE_XSTATE_BV + 63] = 1;                     /* last reserved header byte */
    assert_non_null(xsave_area_check(area, 7));
    area[XSAVE_XSTATE_BV + 63] = 0;
    assert_null(xsave_area_check(area, 7));
    xsave_caps.mxcsr_mask = 0xffbf;                     /* DAZ not supported */
    mxcsr = 0x1fc0;
    memcpy(area + FXSAVE_MXCSR, &mxcsr, 4);
    assert_non_null(xsave_area_check(area, 7));

    /* A CPU without XSAVE: FXSAVE images only, XCR0 1 (older snapshots). */
    memset(&xsave_caps, 0, sizeof(xsave_caps));
    xsave_caps.mxcsr_mask = 0xffff;
    xsave_caps.xcr0 = 3;
    mxcsr = 0x1f80;
    memcpy(area + FXSAVE_MXCSR, &mxcsr, 4);
    put64(area, XSAVE_XSTATE_BV, 3);
    assert_null(xsave_area_check(area, 1));
    assert_non_null(xsave_area_check(area, 7));
    put64(area, XSAVE_XSTATE_BV, 7);
    assert_non_null(xsave_area_check(area, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xcr0_rules),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_area_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
