/*
 * The per-vCPU event queue: exceptions, NMIs and external interrupts that
 * turtle has to deliver to a guest, and the event an exit interrupted.
 * Exit handlers queue events; just before each VM entry one step decides
 * what to inject, by priority, and which window exits to ask for when the
 * guest blocks what is pending (SDM Vol. 3C 26.6, 27.2.4, Vol. 3A 6.9).
 * For a nested vCPU in L2, nested/ first turns the events L1 intercepts
 * into VM exits to L1 (nested_ops.check_events).
 *
 * This file's logic is pure (no VMCS access) so the host unit tests run
 * it; vmx/inject.c reads and writes the VMCS around it.
 */
#ifndef TURTLE_EVENT_H
#define TURTLE_EVENT_H

#include "kernel/x86.h"

#define EVENT_WINDOW_INTR   BIT(0)
#define EVENT_WINDOW_NMI    BIT(1)

struct pending_exception {
    u8 vector;
    bool has_error_code;
    u32 error_code;
    bool has_payload;           /* delivered with the exception, not before */
    u64 payload;                /* #PF: the faulting address (CR2); #DB: DR6 bits */
};

struct vcpu_events {
    /* What is queued, one byte each, side by side: event_anything() reads
     * them as one word on every entry. */
    union {
        struct {
            bool exception_pending;
            bool nmi_pending;
            bool interrupt_pending;
            /* The event whose delivery an exit interrupted (IDT-vectoring
             * information, SDM 28.2.4): delivered again before anything new. */
            bool reinject;
            /* The platform may have an interrupt or NMI for this vCPU:
             * look at its local APIC and PIC before the next entry. */
            bool irq_check;
        };
        u64 any;                /* any of the above */
    };
    /* Window exits turtle asked for in the current VMCS (EVENT_WINDOW_*):
     * they stay until the window exit, which looks at the platform again.
     * A window vmcs02 has from L1's vmcs12 is L1's, never counted here. */
    u8 windows;
    struct pending_exception exception;
    u8 interrupt_vector;
    u32 reinject_info;          /* interruption-information format, valid bit set */
    u32 reinject_error_code;
    u32 reinject_insn_len;      /* software interrupts and exceptions */
};

/* What the guest's state allows at the coming entry. */
struct event_blocking {
    bool interrupts_enabled;    /* RFLAGS.IF */
    bool sti_or_mov_ss;         /* interruptibility: blocking by STI or MOV SS */
    bool nmi_blocked;           /* interruptibility: blocking by NMI */
};

/* The decision for one entry: what to write into the VM-entry
 * interruption fields (info 0: nothing) and which windows to open. */
struct event_injection {
    u32 info;                   /* VM_ENTRY_INTR_INFO_FIELD */
    u32 error_code;
    u32 insn_len;
    bool set_cr2;               /* a #PF's payload becomes CR2 as it is delivered */
    bool set_dr6;               /* a #DB's payload goes into DR6 */
    u64 payload;
    bool interrupt_window;      /* ask for an exit once IF=1 and no STI/MOV-SS blocking */
    bool nmi_window;            /* ask for an exit once NMIs are unblocked */
};

enum event_queue_result {
    EVENT_QUEUED,
    EVENT_DOUBLE_FAULT,         /* merged into #DF (SDM Table 6-5) */
    EVENT_TRIPLE_FAULT,         /* a fault while delivering #DF: the VM shuts down */
};

_Static_assert(__builtin_offsetof(struct vcpu_events, irq_check) < sizeof(u64),
               "event_anything() sees every flag");

/* Anything to inject, or the platform to look at: one load on every entry. */
static inline bool event_anything(const struct vcpu_events *ev)
{
    return ev->any != 0;
}

/* Queues a hardware exception. Exceptions met while another is pending or
 * being delivered combine as SDM Vol. 3A 6.15 (Table 6-5) says: benign
 * ones are handled serially (the later one is delivered; the earlier one
 * recurs when its instruction restarts), contributory and page faults
 * make #DF, and a fault on #DF is a triple fault. An interrupted NMI or
 * interrupt stays queued and is delivered after the exception. */
enum event_queue_result event_queue_exception(struct vcpu_events *ev, u8 vector, bool has_error_code,
                                              u32 error_code, bool has_payload, u64 payload);
void event_queue_nmi(struct vcpu_events *ev);
void event_queue_interrupt(struct vcpu_events *ev, u8 vector);
/* An exit's IDT-vectoring information (valid bit set), to deliver again. */
void event_queue_reinject(struct vcpu_events *ev, u32 info, u32 error_code, u32 insn_len);

/* Drops the exception and the interrupted event (an emulated VM exit from
 * L2 to L1 ends the context they belonged to). NMIs and interrupts stay. */
static inline void event_cancel_injection(struct vcpu_events *ev)
{
    ev->exception_pending = false;
    ev->reinject = false;
}

/* Whether a vector pushes an error code when delivered as a hardware
 * exception in protected mode (SDM Vol. 3A Table 6-1). */
bool event_vector_has_error_code(u8 vector);

/* Picks the event for the coming entry and takes it off the queue.
 * Priority: the interrupted event, then a pending exception, then an NMI,
 * then an external interrupt (SDM Vol. 3A 6.9); an NMI or interrupt the
 * guest blocks stays queued and asks for its window instead. */
struct event_injection event_pick(struct vcpu_events *ev, const struct event_blocking *b);

#endif
