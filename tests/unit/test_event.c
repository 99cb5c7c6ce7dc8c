/*
 * Host unit test of the per-vCPU event queue, vmx/event.c: the priority of
 * the pick (interrupted event, exception, NMI, interrupt), the blocking
 * rules (RFLAGS.IF, STI/MOV-SS, NMI blocking) and the windows they ask
 * for, #PF/#DB payloads, and SDM Table 6-5 (benign/contributory/page
 * fault, #DF, triple fault) for exceptions meeting pending or interrupted
 * events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmx/event.h"
#include "vmx/vmx_arch.h"

static const struct event_blocking open_all = { .interrupts_enabled = true };
static const struct event_blocking if_clear = { .interrupts_enabled = false };
static const struct event_blocking sti_shadow = { .interrupts_enabled = true, .sti_or_mov_ss = true };
static const struct event_blocking nmi_blocked = { .interrupts_enabled = true, .nmi_blocked = true };

#define EXC(v)      ((u32)(v) | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK)
#define EXC_EC(v)   (EXC(v) | INTR_INFO_DELIVER_CODE_MASK)
#define NMI_INFO    (VECTOR_NMI | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK)
#define EXT(v)      ((u32)(v) | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK)

static void test_empty(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    assert_false(event_anything(&ev));
    struct event_injection inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, 0);
    assert_false(inj.interrupt_window);
    assert_false(inj.nmi_window);
}

static void test_exception_with_code_and_payload(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    assert_int_equal(event_queue_exception(&ev, VECTOR_PF, true, 0x6, true, 0xdead000), EVENT_QUEUED);
    assert_true(event_anything(&ev));
    struct event_injection inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, EXC_EC(VECTOR_PF));
    assert_int_equal(inj.error_code, 6);
    assert_true(inj.set_cr2);
    assert_false(inj.set_dr6);
    assert_int_equal(inj.payload, 0xdead000);
    assert_false(event_anything(&ev));

    assert_int_equal(event_queue_exception(&ev, VECTOR_DB, false, 0, true, 0x4001), EVENT_QUEUED);
    inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, EXC(VECTOR_DB));
    assert_true(inj.set_dr6);
    assert_false(inj.set_cr2);
    assert_int_equal(inj.payload, 0x4001);

    /* No payload: CR2 untouched. */
    event_queue_exception(&ev, VECTOR_GP, true, 0, false, 0);
    inj = event_pick(&ev, &open_all);
    assert_false(inj.set_cr2);
}

static void test_priority(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    event_queue_interrupt(&ev, 0x30);
    event_queue_nmi(&ev);
    event_queue_exception(&ev, VECTOR_UD, false, 0, false, 0);
    /* Exception first; NMI and interrupt still pending ask for windows. */
    struct event_injection inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, EXC(VECTOR_UD));
    assert_true(inj.nmi_window);
    assert_false(inj.interrupt_window);     /* the NMI window comes first */
    /* Then the NMI. */
    inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, NMI_INFO);
    assert_true(inj.interrupt_window);
    /* Then the interrupt. */
    inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, EXT(0x30));
    assert_false(inj.interrupt_window);
    assert_false(event_anything(&ev));
}

static void test_interrupt_blocking(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    event_queue_interrupt(&ev, 0x41);
    struct event_injection inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, 0);
    assert_true(inj.interrupt_window);
    assert_true(ev.interrupt_pending);
    inj = event_pick(&ev, &sti_shadow);
    assert_int_equal(inj.info, 0);
    assert_true(inj.interrupt_window);
    inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, EXT(0x41));
    assert_false(ev.interrupt_pending);
}

static void test_nmi_blocking(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    event_queue_nmi(&ev);
    struct event_injection inj = event_pick(&ev, &nmi_blocked);
    assert_int_equal(inj.info, 0);
    assert_true(inj.nmi_window);
    /* STI blocking holds NMIs back too (SDM 26.3.1.5: injecting an NMI
     * with blocking by STI may fail the entry on some CPUs). */
    inj = event_pick(&ev, &sti_shadow);
    assert_int_equal(inj.info, 0);
    assert_true(inj.nmi_window);
    /* IF does not block NMIs. */
    inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, NMI_INFO);
    assert_false(inj.nmi_window);
}

static void test_reinject_first(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    event_queue_interrupt(&ev, 0x50);
    event_queue_reinject(&ev, EXT(0x31) | INTR_INFO_UNBLOCK_NMI, 0, 0);
    /* The interrupted event goes first, even with IF=0, without the
     * exit-only NMI-unblocking bit. */
    struct event_injection inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, EXT(0x31));
    assert_true(inj.interrupt_window);
    /* Software interrupts keep their instruction length. */
    u32 soft = 0x80 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK;
    event_queue_reinject(&ev, soft, 0, 2);
    inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, soft);
    assert_int_equal(inj.insn_len, 2);
    /* With an error code. */
    event_queue_reinject(&ev, EXC_EC(VECTOR_GP), 0x10, 0);
    inj = event_pick(&ev, &if_clear);
    assert_int_equal(inj.info, EXC_EC(VECTOR_GP));
    assert_int_equal(inj.error_code, 0x10);
}

/* SDM Table 6-5, for a first exception pending and a second one queued. */
static void test_double_fault_table(void **state)
{
    (void)state;
    static const u8 benign[] = { VECTOR_DB, VECTOR_NMI, VECTOR_BP, VECTOR_OF, VECTOR_BR, VECTOR_UD,
                                 VECTOR_NM, VECTOR_MF, VECTOR_AC, VECTOR_MC, VECTOR_XM };
    static const u8 contributory[] = { VECTOR_DE, VECTOR_TS, VECTOR_NP, VECTOR_SS, VECTOR_GP, VECTOR_CP };
    struct vcpu_events ev;
    struct event_injection inj;

    for (size_t i = 0; i < sizeof(contributory); i++) {
        for (size_t k = 0; k < sizeof(contributory); k++) {
            memset(&ev, 0, sizeof(ev));
            event_queue_exception(&ev, contributory[i], true, 0, false, 0);
            assert_int_equal(event_queue_exception(&ev, contributory[k], true, 0, false, 0),
                             EVENT_DOUBLE_FAULT);
            inj = event_pick(&ev, &open_all);
            assert_int_equal(inj.info, EXC_EC(VECTOR_DF));
            assert_int_equal(inj.error_code, 0);
        }
        /* contributory then #PF: serial (#PF delivered). */
        memset(&ev, 0, sizeof(ev));
        event_queue_exception(&ev, contributory[i], true, 0, false, 0);
        assert_int_equal(event_queue_exception(&ev, VECTOR_PF, true, 2, true, 0x1000), EVENT_QUEUED);
        inj = event_pick(&ev, &open_all);
        assert_int_equal(inj.info, EXC_EC(VECTOR_PF));
        /* #PF then contributory: #DF. */
        memset(&ev, 0, sizeof(ev));
        event_queue_exception(&ev, VECTOR_PF, true, 0, true, 0x2000);
        assert_int_equal(event_queue_exception(&ev, contributory[i], true, 0, false, 0), EVENT_DOUBLE_FAULT);
    }
    /* #PF then #PF: #DF (and #DF's CR2 is not the second #PF's). */
    memset(&ev, 0, sizeof(ev));
    event_queue_exception(&ev, VECTOR_PF, true, 0, true, 0x1000);
    assert_int_equal(event_queue_exception(&ev, VECTOR_PF, true, 0, true, 0x2000), EVENT_DOUBLE_FAULT);
    inj = event_pick(&ev, &open_all);
    assert_int_equal(inj.info, EXC_EC(VECTOR_DF));
    assert_false(inj.set_cr2);
    /* Benign first or second: serial, the second one is delivered. */
    for (size_t i = 0; i < sizeof(benign); i++) {
        memset(&ev, 0, sizeof(ev));
        event_queue_exception(&ev, benign[i], false, 0, false, 0);
        assert_int_equal(event_queue_exception(&ev, VECTOR_GP, true, 0, false, 0), EVENT_QUEUED);
        assert_int_equal(event_pick(&ev, &open_all).info, EXC_EC(VECTOR_GP));
        memset(&ev, 0, sizeof(ev));
        event_queue_exception(&ev, VECTOR_PF, true, 0, false, 0);
        assert_int_equal(event_queue_exception(&ev, benign[i], false, 0, false, 0), EVENT_QUEUED);
        assert_int_equal(event_pick(&ev, &open_all).info, EXC(benign[i]));
    }
    /* #DF then contributory or #PF: triple fault, nothing left to inject. */
    memset(&ev, 0, sizeof(ev));
    event_queue_exception(&ev, VECTOR_DF, true, 0, false, 0);
    assert_int_equal(event_queue_exception(&ev, VECTOR_GP, true, 0, false, 0), EVENT_TRIPLE_FAULT);
    assert_false(ev.exception_pending);
    memset(&ev, 0, sizeof(ev));
    event_queue_exception(&ev, VECTOR_DF, true, 0, false, 0);
    assert_int_equal(event_queue_exception(&ev, VECTOR_PF, true, 0, false, 0), EVENT_TRIPLE_FAULT);
    /* #DF then benign: serial. */
    memset(&ev, 0, sizeof(ev));
    event_queue_exception(&ev, VECTOR_DF, true, 0, false, 0);
    assert_int_equal(event_queue_exception(&ev, VECTOR_AC, true, 0, false, 0), EVENT_QUEUED);
}

/* An exception met while an interrupted event waits to be delivered again. */
static void test_exception_meets_interrupted_event(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };

    /* Interrupted hardware exception + contributory: merged into #DF. */
    event_queue_reinject(&ev, EXC_EC(VECTOR_GP), 0, 0);
    assert_int_equal(event_queue_exception(&ev, VECTOR_NP, true, 8, false, 0), EVENT_DOUBLE_FAULT);
    assert_false(ev.reinject);
    assert_int_equal(event_pick(&ev, &open_all).info, EXC_EC(VECTOR_DF));
    /* Interrupted #PF + #AC (benign): #AC now, the #PF recurs on its own. */
    memset(&ev, 0, sizeof(ev));
    event_queue_reinject(&ev, EXC_EC(VECTOR_PF), 2, 0);
    assert_int_equal(event_queue_exception(&ev, VECTOR_AC, true, 0, false, 0), EVENT_QUEUED);
    assert_false(ev.reinject);
    assert_int_equal(event_pick(&ev, &open_all).info, EXC_EC(VECTOR_AC));
    assert_false(event_anything(&ev));
    /* Interrupted software interrupt: dropped, its INT n restarts. */
    memset(&ev, 0, sizeof(ev));
    event_queue_reinject(&ev, 0x80 | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK, 0, 2);
    event_queue_exception(&ev, VECTOR_AC, true, 0, false, 0);
    assert_false(ev.reinject);
    /* Interrupted external interrupt or NMI: kept, delivered after. */
    memset(&ev, 0, sizeof(ev));
    event_queue_reinject(&ev, EXT(0x33), 0, 0);
    event_queue_exception(&ev, VECTOR_AC, true, 0, false, 0);
    assert_true(ev.reinject);
    assert_int_equal(event_pick(&ev, &if_clear).info, EXC_EC(VECTOR_AC));
    assert_int_equal(event_pick(&ev, &if_clear).info, EXT(0x33));
    memset(&ev, 0, sizeof(ev));
    event_queue_reinject(&ev, NMI_INFO, 0, 0);
    event_queue_exception(&ev, VECTOR_GP, true, 0, false, 0);
    assert_int_equal(event_pick(&ev, &nmi_blocked).info, EXC_EC(VECTOR_GP));
    assert_int_equal(event_pick(&ev, &nmi_blocked).info, NMI_INFO);
}

static void test_cancel_and_error_codes(void **state)
{
    (void)state;
    struct vcpu_events ev = { 0 };
    event_queue_exception(&ev, VECTOR_GP, true, 0, false, 0);
    event_queue_reinject(&ev, EXT(0x20), 0, 0);
    event_queue_nmi(&ev);
    event_cancel_injection(&ev);
    assert_false(ev.exception_pending);
    assert_false(ev.reinject);
    assert_true(ev.nmi_pending);

    static const u8 with_code[] = { VECTOR_DF, VECTOR_TS, VECTOR_NP, VECTOR_SS, VECTOR_GP, VECTOR_PF,
                                    VECTOR_AC, VECTOR_CP };
    u32 n = 0;
    for (u32 v = 0; v < 32; v++) {
        bool expect = false;
        for (size_t i = 0; i < sizeof(with_code); i++)
            expect |= with_code[i] == v;
        assert_int_equal(event_vector_has_error_code((u8)v), expect);
        n += expect;
    }
    assert_int_equal(n, sizeof(with_code));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exception_with_code_and_payload),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_interrupt_blocking),
        cmocka_unit_test(test_nmi_blocking),
        cmocka_unit_test(test_reinject_first),
        cmocka_unit_test(test_double_fault_table),
        cmocka_unit_test(test_exception_meets_interrupted_event),
        cmocka_unit_test(test_cancel_and_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
