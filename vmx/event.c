/*
 * The per-vCPU event queue (vmx/event.h): queueing with the SDM's rules
 * for exceptions that meet other events, and the pick at each entry.
 * Pure logic, no VMCS: tests/unit/test_event.c runs it on the host.
 */
#include "vmx/event.h"
#include "vmx/vmx_arch.h"

/* SDM Vol. 3A Table 6-4: exception classes for double-fault detection. */
enum exc_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };

static enum exc_class exception_class(u8 vector)
{
    switch (vector) {
    case VECTOR_DE: case VECTOR_TS: case VECTOR_NP: case VECTOR_SS: case VECTOR_GP: case VECTOR_CP:
        return EXC_CONTRIBUTORY;
    case VECTOR_PF: case VECTOR_VE:
        return EXC_PAGE_FAULT;
    case VECTOR_DF:
        return EXC_DOUBLE_FAULT;
    default:
        return EXC_BENIGN;
    }
}

bool event_vector_has_error_code(u8 vector)
{
    switch (vector) {
    case VECTOR_DF: case VECTOR_TS: case VECTOR_NP: case VECTOR_SS: case VECTOR_GP:
    case VECTOR_PF: case VECTOR_AC: case VECTOR_CP:
        return true;
    default:
        return false;
    }
}

/* SDM Vol. 3A Table 6-5: a second exception while the first (`first`,
 * pending or being delivered) is handled. */
static enum event_queue_result combine(u8 first, u8 second)
{
    enum exc_class a = exception_class(first), b = exception_class(second);

    if (a == EXC_DOUBLE_FAULT && b != EXC_BENIGN)
        return EVENT_TRIPLE_FAULT;
    if ((a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
        (a == EXC_PAGE_FAULT && b != EXC_BENIGN))
        return EVENT_DOUBLE_FAULT;
    return EVENT_QUEUED;                /* handled serially: the second one now */
}

static void set_exception(struct vcpu_events *ev, u8 vector, bool has_error_code, u32 error_code,
                          bool has_payload, u64 payload)
{
    ev->exception = (struct pending_exception){ vector, has_error_code, error_code,
                                                has_payload, payload };
    ev->exception_pending = true;
}

enum event_queue_result event_queue_exception(struct vcpu_events *ev, u8 vector, bool has_error_code,
                                              u32 error_code, bool has_payload, u64 payload)
{
    enum event_queue_result r = EVENT_QUEUED;
    bool have_first = false;
    u8 first = 0;

    if (ev->exception_pending) {
        have_first = true;
        first = ev->exception.vector;
    } else if (ev->reinject) {
        u32 type = ev->reinject_info & INTR_INFO_INTR_TYPE_MASK;
        if (type == INTR_TYPE_HARD_EXCEPTION) {
            have_first = true;
            first = (u8)(ev->reinject_info & INTR_INFO_VECTOR_MASK);
            ev->reinject = false;       /* replaced: merged below, or recurs */
        } else if (type != INTR_TYPE_NMI_INTR && type != INTR_TYPE_EXT_INTR) {
            /* A software interrupt or exception restarts with its
             * instruction once the fault is handled. */
            ev->reinject = false;
        }
        /* An interrupted NMI or external interrupt stays queued: it does
         * not recur by itself, so it is delivered after this exception. */
    }
    if (have_first)
        r = combine(first, vector);
    if (r == EVENT_DOUBLE_FAULT)
        set_exception(ev, VECTOR_DF, true, 0, false, 0);
    else if (r == EVENT_TRIPLE_FAULT)
        ev->exception_pending = false;
    else
        set_exception(ev, vector, has_error_code, error_code, has_payload, payload);
    return r;
}

void event_queue_nmi(struct vcpu_events *ev)
{
    ev->nmi_pending = true;
}

void event_queue_interrupt(struct vcpu_events *ev, u8 vector)
{
    ev->interrupt_pending = true;
    ev->interrupt_vector = vector;
}

void event_queue_reinject(struct vcpu_events *ev, u32 info, u32 error_code, u32 insn_len)
{
    ev->reinject = true;
    ev->reinject_info = (info & ~INTR_INFO_UNBLOCK_NMI) | INTR_INFO_VALID_MASK;
    ev->reinject_error_code = error_code;
    ev->reinject_insn_len = insn_len;
}

struct event_injection event_pick(struct vcpu_events *ev, const struct event_blocking *b)
{
    struct event_injection inj = { 0 };
    bool shadow = b->sti_or_mov_ss;

    if (ev->exception_pending) {
        /* An exception queued after the interrupted event wins: the
         * interrupted NMI/interrupt (if any) waits for the next entry. */
        struct pending_exception *e = &ev->exception;
        inj.info = e->vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;
        if (e->has_error_code) {
            inj.info |= INTR_INFO_DELIVER_CODE_MASK;
            inj.error_code = e->error_code;
        }
        if (e->has_payload) {
            inj.payload = e->payload;
            inj.set_cr2 = e->vector == VECTOR_PF;
            inj.set_dr6 = e->vector == VECTOR_DB;
        }
        ev->exception_pending = false;
    } else if (ev->reinject) {
        inj.info = ev->reinject_info;
        inj.error_code = ev->reinject_error_code;
        inj.insn_len = ev->reinject_insn_len;
        ev->reinject = false;
    } else if (ev->nmi_pending && !b->nmi_blocked && !shadow) {
        inj.info = VECTOR_NMI | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK;
        ev->nmi_pending = false;
    } else if (ev->interrupt_pending && b->interrupts_enabled && !shadow && !ev->nmi_pending) {
        inj.info = ev->interrupt_vector | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK;
        ev->interrupt_pending = false;
    }
    /* What is still pending and blocked asks for its window. */
    inj.nmi_window = ev->nmi_pending;
    inj.interrupt_window = ev->interrupt_pending && !inj.nmi_window;
    return inj;
}
