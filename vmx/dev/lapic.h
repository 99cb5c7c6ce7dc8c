/*
 * Local APIC model, one per vCPU (SDM Vol. 3A chapter 11): xAPIC register
 * page and x2APIC MSRs, IA32_APIC_BASE, priorities, EOI, ICR, LVTs and
 * the timer (one-shot, periodic, TSC-deadline). Pure logic, following the
 * contract of vmx/dev/irq.h: time is the guest TSC `now`, messages to
 * other LAPICs and EOI broadcasts go out through struct apic_bus.
 *
 * Who calls what:
 * - register accesses: lapic_mmio_read/write (only while
 *   lapic_mmio_enabled(); the page is at lapic_mmio_base()), and
 *   lapic_msr_read/write for IA32_APIC_BASE, IA32_TSC_DEADLINE and
 *   0x800-0x8ff. They return LAPIC_OK or LAPIC_GP; the platform turns
 *   LAPIC_GP into #GP(0) and then leaves the state untouched.
 * - delivery: the platform's bus calls lapic_match_dest() and
 *   lapic_accept() on each LAPIC; lines from a PIC or board go to
 *   lapic_set_lint() (an irq_line handler, pin 0 = LINT0, 1 = LINT1).
 * - injection: lapic_pending_vector() and lapic_ack(); NMI, INIT, SIPI
 *   and ExtINT requests are flags the vCPU's event logic takes with
 *   lapic_take_*(). lapic_accepts_pic() says whether the PIC's INTR
 *   reaches this CPU (APIC disabled, or LINT0 unmasked in ExtINT mode).
 * - time: lapic_next_deadline() says when to call lapic_advance() next.
 *   Register accesses advance the timer themselves.
 */
#ifndef TURTLE_DEV_LAPIC_H
#define TURTLE_DEV_LAPIC_H

#include "kernel/types.h"
#include "vmx/dev/irq.h"

/* Result of a register access. */
#define LAPIC_OK                0
#define LAPIC_GP                1       /* the access raises #GP(0) */

/* LVT indices, in register order from APIC_LVT_TIMER (0x320). */
enum {
    LAPIC_LVT_TIMER,
    LAPIC_LVT_THERMAL,
    LAPIC_LVT_PERF,
    LAPIC_LVT_LINT0,
    LAPIC_LVT_LINT1,
    LAPIC_LVT_ERROR,
    LAPIC_NR_LVT
};

/* Chosen by the platform at reset. */
struct lapic_config {
    u32 apic_id;                /* initial APIC ID (xAPIC uses bits 7:0) */
    bool bsp;                   /* IA32_APIC_BASE.BSP */
    u32 tsc_khz;                /* guest TSC frequency */
    u32 tsc_per_tick;           /* TSC ticks per APIC timer tick at divide-by-1, 1..65536 */
    u8 phys_bits;               /* MAXPHYADDR: IA32_APIC_BASE bits above are reserved */
    struct apic_bus bus;        /* messages to other LAPICs, EOI broadcast */
};

/*
 * Everything that changes at run time: a snapshot saves this struct. The
 * 256-bit IRR/ISR/TMR are 8 words, vector v at word v / 32, bit v % 32,
 * as the registers read.
 */
struct lapic_state {
    u64 apic_base;              /* IA32_APIC_BASE */
    u32 id;                     /* ID register as xAPIC reads it (ID << 24); x2APIC: the ID */
    u32 tpr;
    u32 ldr;
    u32 dfr;
    u32 svr;
    u32 esr;                    /* the readable ESR, latched at the last ESR write */
    u32 esr_pending;            /* errors seen since that write */
    u32 icr_lo;
    u32 icr_hi;
    u32 lvt[LAPIC_NR_LVT];
    u32 timer_initial;          /* initial-count register */
    u32 timer_dcr;              /* divide configuration register */
    u64 timer_start;            /* TSC at which the count was last loaded */
    u64 timer_next;             /* TSC of the next expiry, DEV_NO_DEADLINE if none */
    u64 tsc_deadline;           /* IA32_TSC_DEADLINE, 0 = disarmed */
    u32 irr[8];
    u32 isr[8];
    u32 tmr[8];
    u8 lint_level;              /* bit n: current level of LINTn */
    u8 sipi_vector;
    bool nmi_pending;
    bool init_pending;
    bool sipi_pending;
    bool extint_pending;        /* an ExtINT message: ask the PIC for the vector */
};

struct lapic {
    struct lapic_state s;
    struct lapic_config cfg;
};

/* Power-up / RESET state (11.4.7.1): enabled in xAPIC mode at
 * 0xfee00000, software-disabled, every LVT masked. */
void lapic_reset(struct lapic *l, const struct lapic_config *cfg);

/* Modes. */
/* IA32_APIC_BASE.EN (bit 11), inline: CPUID reads it on every leaf 1. */
static inline bool lapic_hw_enabled(const struct lapic *l)
{
    return l->s.apic_base & BIT(11);
}
bool lapic_x2apic(const struct lapic *l);
bool lapic_sw_enabled(const struct lapic *l);
bool lapic_mmio_enabled(const struct lapic *l);  /* xAPIC mode */
u64 lapic_mmio_base(const struct lapic *l);

/* Register access (lapic_access.c). offset is within the 4 KiB page;
 * size 1, 2, 4 or 8. The xAPIC rules: writes other than 32-bit at a
 * 16-byte aligned offset are ignored; narrow reads return bytes of the
 * register's low dword. */
int lapic_mmio_read(struct lapic *l, u64 now, u32 offset, u32 size, u64 *val);
int lapic_mmio_write(struct lapic *l, u64 now, u32 offset, u32 size, u64 val);
bool lapic_msr_owned(u32 msr);
int lapic_msr_read(struct lapic *l, u64 now, u32 msr, u64 *val);
int lapic_msr_write(struct lapic *l, u64 now, u32 msr, u64 val);

/* CR8 is TPR[7:4] (10.8.6.1 / 11.8.6.1). */
u64 lapic_read_cr8(const struct lapic *l);
void lapic_write_cr8(struct lapic *l, u64 cr8);

/* Priorities (11.8.3.1). */
u32 lapic_ppr(const struct lapic *l);
u32 lapic_apr(const struct lapic *l);

/* Delivery. lapic_match_dest: does `dest` in the given destination mode
 * name this LAPIC? dest is read in this APIC's mode: 8 bits in xAPIC
 * mode (0xff broadcast; flat or cluster model from DFR), 32 bits in
 * x2APIC mode (0xffffffff broadcast; logical is always x2APIC cluster). */
bool lapic_match_dest(const struct lapic *l, u32 dest, bool logical);
/* Accepts a message addressed to this LAPIC. Fixed and lowest priority
 * (treated as fixed) set IRR and TMR (= msg->level); NMI, INIT, SIPI and
 * ExtINT set their pending flag; SMI is dropped. Returns false when
 * nothing was accepted (APIC disabled, illegal vector, SMI). */
bool lapic_accept(struct lapic *l, const struct apic_msg *msg);
/* irq_line handler for LINT0/LINT1: ctx is the struct lapic. */
void lapic_set_lint(void *ctx, u32 pin, bool level);
bool lapic_accepts_pic(const struct lapic *l);

/* Injection. lapic_pending_vector: the highest IRR vector whose class is
 * above PPR's, or -1 (none, or the APIC is disabled). lapic_ack: the CPU
 * takes `vector` (a value lapic_pending_vector returned): IRR -> ISR. */
int lapic_pending_vector(const struct lapic *l);
void lapic_ack(struct lapic *l, u8 vector);
bool lapic_take_nmi(struct lapic *l);
bool lapic_take_init(struct lapic *l);
int lapic_take_sipi(struct lapic *l);       /* the SIPI vector, or -1 */
bool lapic_take_extint(struct lapic *l);

/* The end of the interrupt in service with `vector` (an EOI the CPU
 * virtualized: virtual-interrupt delivery found its bit in the EOI-exit
 * bitmap): ISR bit cleared, and for a level-triggered vector (TMR set)
 * the LINT remote IRR cleared and the EOI broadcast to the IOAPICs. */
void lapic_eoi_vector(struct lapic *l, u8 vector);

/*
 * The virtual-APIC page (lapic_vapic.c; SDM Vol. 3C 30.1): a 4 KiB image
 * of the register file at the xAPIC offsets, which the CPU reads (APIC-
 * register virtualization) and partly writes (TPR shadow, virtual-
 * interrupt delivery) without exits. The model stays the source of truth:
 * lapic_vapic_store() writes its registers into the page before an entry,
 * lapic_vapic_load() takes back what the CPU may have written after an
 * exit. page is 1024 dwords, indexed by offset / 4.
 */
#define LAPIC_VAPIC_DWORDS      1024
void lapic_vapic_store(const struct lapic *l, u32 *page);
/* Takes TPR, ICR (a virtualized self-IPI or ICR-high write changes them)
 * and, when irr_isr, IRR and ISR (virtual-interrupt delivery, EOI and
 * self-IPI virtualization). Returns true when the page holds something
 * the model would not have written (reserved TPR bits): store again. */
bool lapic_vapic_load(struct lapic *l, const u32 *page, bool irr_isr);
/* Guest interrupt status for virtual-interrupt delivery: RVI (bits 7:0),
 * the highest IRR vector the APIC may deliver (0 while it is software-
 * disabled, as lapic_pending_vector() then offers none), and SVI (bits
 * 15:8), the highest ISR vector. */
u16 lapic_vapic_intr_status(const struct lapic *l);
/* EOI-exit bitmap (256 bits in four u64, vector v at word v / 64): the
 * vectors whose EOI means more than clearing ISR, the level-triggered
 * ones (TMR), which must reach lapic_eoi_vector(). */
void lapic_eoi_exit_bitmap(const struct lapic *l, u64 bitmap[4]);
/* TPR threshold for a TPR shadow without virtual-interrupt delivery: the
 * priority class of the highest IRR vector that TPR alone holds back
 * (lowering TPR below it must exit), else 0. Never above TPR[7:4]. */
u32 lapic_tpr_threshold(const struct lapic *l);

/* Timer (lapic_timer.c). lapic_next_deadline: the TSC at which the
 * timer next fires, DEV_NO_DEADLINE if disarmed or masked. lapic_advance:
 * fires every expiry due at `now` into IRR (periodic expiries that were
 * missed coalesce into one interrupt, as an IRR bit does). */
u64 lapic_next_deadline(const struct lapic *l);
void lapic_advance(struct lapic *l, u64 now);

#endif
