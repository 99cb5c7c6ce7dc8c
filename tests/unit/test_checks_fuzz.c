/*
 * nested/checks.c's host test, part two: a fuzz of random vmcs12 field
 * values, which must never crash (ASan/UBSan) nor let through a value the
 * checks are there to stop, and the memoized guest-state checks against
 * the full ones. Part one and the driver: test_checks.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested/checks.h"
#include "kernel/x86.h"
#include "vmx/vmx_arch.h"

#include "tests/unit/checks_fixture.h"

static u64 rng_state = 0x9e3779b97f4a7c15ULL;
static u64 rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random field values: the checks never crash, and whatever passes them
 * has the properties turtle relies on when it builds vmcs02. */
void test_fuzz(void **state)
{
    u32 encodings[256], n = 0, passed = 0;

    (void)state;
    /* make fuzz sets CHECKS_SEED to a fresh seed; make test uses the fixed one. */
    const char *seed = getenv("CHECKS_SEED");
    if (seed && strtoull(seed, NULL, 0))
        rng_state = strtoull(seed, NULL, 0);
    print_message("checks fuzz: seed %#llx\n", (unsigned long long)rng_state);
    set_caps();
    for (u32 e = 0; e < 0x8000 && n < 256; e++)
        if (vmcs12_field_offset(e) >= 0 && !(e & 1))
            encodings[n++] = e;
    assert_true(n > 100);
    for (int iter = 0; iter < 100000; iter++) {
        struct vmcs12 v;
        u64 q;
        valid_vmcs12(&v);
        int k = 1 + (int)(rnd() % 4);
        for (int i = 0; i < k; i++) {
            u64 r = rnd();
            u64 val = (r & 3) == 0 ? rnd() : (r & 3) == 1 ? (rnd() & 0xff) : (r & 3) == 2 ? ~0ULL : BIT(rnd() % 64);
            u64 cur = 0;
            u32 e = encodings[rnd() % n];
            vmcs12_read(&v, e, &cur);
            vmcs12_write(&v, e, (r & 4) ? (cur ^ val) : val);
        }
        if (!all_pass(&v, &q))
            continue;
        passed++;
        u32 proc2 = nested_proc2(&v);
        assert_int_equal(v.pin_based_vm_exec_control & ~nested_pin_allowed, 0);
        assert_int_equal(v.cpu_based_vm_exec_control & ~nested_proc_allowed, 0);
        assert_int_equal(proc2 & ~nested_proc2_allowed, 0);
        assert_int_equal(v.cr3_target_count, 0);
        if (proc2 & SECONDARY_EXEC_ENABLE_EPT)
            assert_true(nested_eptp_valid(C(), v.ept_pointer));
        assert_true(v.host_cs_selector && v.host_tr_selector);
        assert_int_equal(v.guest_rflags & X86_RFLAGS_VM, 0);
        assert_true(v.guest_rflags & X86_RFLAGS_FIXED);
        assert_true(v.guest_activity_state <= GUEST_ACTIVITY_HLT);
        assert_true(v.vmcs_link_pointer == ~0ULL || (v.vmcs_link_pointer & 0xfff) == 0);
        if (v.vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS)
            assert_true(!(v.guest_dr7 >> 32) && !(v.guest_ia32_debugctl & ~nested_debugctl_allowed));
    }
    print_message("checks fuzz: %u of 100000 mutated vmcs12s passed every check\n", passed);
    assert_true(passed > 1000);         /* the fuzz also reaches the accepting path */
}


/* The memoized guest-state checks (nested/seg_memo.h) give the full
 * checks' answer and qualification for every mutated vmcs12, whether the
 * memo holds the valid vmcs12's segments or the previous one's, and skip
 * the segment checks only on a bit-for-bit hit. */
void test_seg_memo(void **state)
{
    struct seg_memo memo = { 0 };
    struct vmcs12 v, prev;
    u32 encodings[256], n = 0, hits = 0;

    (void)state;
    set_caps();
    for (u32 e = 0; e < 0x8000 && n < 256; e++)
        if (vmcs12_field_offset(e) >= 0 && !(e & 1))
            encodings[n++] = e;
    valid_vmcs12(&v);
    u64 q = 99;
    assert_false(seg_memo_hit(&memo, &v, seg_memo_key(&v, true, false)));
    assert_true(nested_check_guest_state_memo(C(), NULL, &v, &q, &memo));
    assert_true(seg_memo_hit(&memo, &v, seg_memo_key(&v, true, false)));
    assert_false(seg_memo_hit(&memo, &v, seg_memo_key(&v, false, false)));
    prev = v;
    prev.guest_gs_base ^= BIT(47);
    assert_false(seg_memo_hit(&memo, &prev, seg_memo_key(&prev, true, false)));
    prev = v;
    prev.guest_tr_selector ^= 4;
    assert_false(seg_memo_hit(&memo, &prev, seg_memo_key(&prev, true, false)));
    prev = v;
    for (int iter = 0; iter < 50000; iter++) {
        u64 q_full = 99, q_memo = 98;
        valid_vmcs12(&v);
        if (iter & 1)
            v = prev;
        int k = 1 + (int)(rnd() % 3);
        for (int i = 0; i < k; i++) {
            u64 r = rnd(), cur = 0;
            u64 val = (r & 3) == 0 ? rnd() : (r & 3) == 1 ? (rnd() & 0xff) : BIT(rnd() % 64);
            u32 e = encodings[rnd() % n];
            vmcs12_read(&v, e, &cur);
            vmcs12_write(&v, e, (r & 4) ? (cur ^ val) : val);
        }
        u32 key = seg_memo_key(&v, v.vm_entry_controls & VM_ENTRY_IA32E_MODE,
                               nested_proc2(&v) & SECONDARY_EXEC_UNRESTRICTED_GUEST);
        hits += seg_memo_hit(&memo, &v, key);
        bool full = nested_check_guest_state(C(), NULL, &v, &q_full);
        bool fast = nested_check_guest_state_memo(C(), NULL, &v, &q_memo, &memo);
        assert_int_equal(full, fast);
        if (!full)
            assert_int_equal(q_full, q_memo);
        if (full)
            prev = v;
    }
    print_message("seg memo: %u of 50000 entries hit the memo\n", hits);
    assert_true(hits > 1000);
}
