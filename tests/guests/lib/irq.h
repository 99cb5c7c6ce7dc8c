/*
 * lib/irq.c: a 256-vector IDT for guests that take interrupts. After
 * irq_init(), NMI and vectors 32-255 are counted (irq_count, irq_log in
 * arrival order, irq_last_tsc) and passed to irq_hook; exceptions still go
 * to the library's handlers.
 */
#ifndef GUEST_LIB_IRQ_H
#define GUEST_LIB_IRQ_H

#include "lib/guest.h"

#define IRQ_LOG_SIZE 32

extern volatile u32 irq_count[256];
extern volatile u32 irq_total;              /* all vectors since irq_reset() */
extern volatile u8 irq_log[IRQ_LOG_SIZE];   /* the first IRQ_LOG_SIZE vectors, in order */
extern volatile u64 irq_last_tsc;           /* TSC at the last entry to the handler */
/* Called with the vector after the counting, with IF=0 (may be NULL). */
extern void (*volatile irq_hook)(u8 vector);

void irq_init(void);
void irq_reset(void);

static inline void sti(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void cli(void) { __asm__ __volatile__("cli" ::: "memory"); }
/* STI's one-instruction shadow covers HLT: no interrupt slips in between. */
static inline void sti_hlt(void) { __asm__ __volatile__("sti; hlt" ::: "memory"); }

#endif
