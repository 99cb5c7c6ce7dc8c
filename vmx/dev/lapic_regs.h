/*
 * Local APIC architectural constants (SDM Vol. 3A chapter 11): register
 * offsets in the xAPIC page (x2APIC MSR = 0x800 + offset / 16), register
 * bits, IA32_APIC_BASE and IA32_TSC_DEADLINE. Used by the LAPIC model
 * (lapic*.c) and by its tests.
 */
#ifndef TURTLE_DEV_LAPIC_REGS_H
#define TURTLE_DEV_LAPIC_REGS_H

#include "kernel/types.h"

/* MSRs (SDM Vol. 4 table 2-2) */
#define MSR_IA32_APIC_BASE          0x0000001b  /* 11.4.4 (spelt as kernel/x86.h does) */
#define MSR_IA32_TSC_DEADLINE       0x6e0   /* 11.5.4.1 */
#define MSR_X2APIC_FIRST            0x800   /* 11.12.1.2: 0x800 + offset / 16 */
#define MSR_X2APIC_LAST             0x8ff

/* IA32_APIC_BASE bits (11.4.4, figure 11-5) */
#define APIC_BASE_BSP               BIT(8)  /* processor is the BSP (read-only here) */
#define APIC_BASE_EXTD              BIT(10) /* x2APIC mode */
#define APIC_BASE_EN                BIT(11) /* APIC global enable (lapic_hw_enabled()) */
#define APIC_BASE_ADDR_MASK         (~(u64)0xfff)
#define APIC_DEFAULT_PHYS_BASE      0xfee00000ULL

/* Register offsets in the xAPIC MMIO page (table 11-1) */
#define APIC_ID                     0x020   /* local APIC ID */
#define APIC_VERSION                0x030   /* version, max LVT entry */
#define APIC_TPR                    0x080   /* task priority */
#define APIC_APR                    0x090   /* arbitration priority (xAPIC only) */
#define APIC_PPR                    0x0a0   /* processor priority */
#define APIC_EOI                    0x0b0   /* end of interrupt, write-only */
#define APIC_RRD                    0x0c0   /* remote read: not implemented (reserved) */
#define APIC_LDR                    0x0d0   /* logical destination */
#define APIC_DFR                    0x0e0   /* destination format (xAPIC only) */
#define APIC_SVR                    0x0f0   /* spurious-interrupt vector */
#define APIC_ISR                    0x100   /* in-service, 8 x 32 bits, 0x100-0x170 */
#define APIC_TMR                    0x180   /* trigger mode, 0x180-0x1f0 */
#define APIC_IRR                    0x200   /* interrupt request, 0x200-0x270 */
#define APIC_ESR                    0x280   /* error status */
#define APIC_LVT_CMCI               0x2f0   /* not implemented: max LVT entry is 5 */
#define APIC_ICR                    0x300   /* interrupt command, bits 31:0 */
#define APIC_ICR2                   0x310   /* interrupt command, bits 63:32 (xAPIC only) */
#define APIC_LVT_TIMER              0x320
#define APIC_LVT_THERMAL            0x330
#define APIC_LVT_PERF               0x340
#define APIC_LVT_LINT0              0x350
#define APIC_LVT_LINT1              0x360
#define APIC_LVT_ERROR              0x370
#define APIC_TIMER_ICR              0x380   /* timer initial count */
#define APIC_TIMER_CCR              0x390   /* timer current count, read-only */
#define APIC_TIMER_DCR              0x3e0   /* timer divide configuration */
#define APIC_SELF_IPI               0x3f0   /* x2APIC only, write-only (11.12.11) */
#define APIC_REG_END                0x400   /* registers live below this offset */

#define APIC_MSR(off)               (MSR_X2APIC_FIRST + ((off) >> 4))

/* Version register (11.4.8): version 0x14 (xAPIC), max LVT entry 5 (six
 * LVTs), no EOI-broadcast suppression (bit 24 clear). */
#define APIC_VERSION_VALUE          0x00050014

/* TPR / PPR */
#define APIC_PRIO_CLASS             0xf0    /* bits 7:4: priority class */

/* DFR (11.6.2.2) */
#define APIC_DFR_MODEL_SHIFT        28
#define APIC_DFR_FLAT               0xf     /* model field: flat */
#define APIC_DFR_CLUSTER            0x0     /* model field: cluster */
#define APIC_DFR_RESERVED_ONES      0x0fffffff  /* bits 27:0 read as 1 */

/* SVR (11.9, figure 11-23) */
#define APIC_SVR_VECTOR             0xff
#define APIC_SVR_ENABLE             BIT(8)  /* APIC software enable */
#define APIC_SVR_FOCUS_DISABLE      BIT(9)
#define APIC_SVR_WRITABLE           0x3ffu  /* bit 12 (EOI suppression) unsupported */
#define APIC_SVR_RESET              0xff

/* ESR bits (11.5.3, figure 11-9) */
#define APIC_ESR_SEND_CS            BIT(0)
#define APIC_ESR_RECV_CS            BIT(1)
#define APIC_ESR_SEND_ACCEPT        BIT(2)
#define APIC_ESR_RECV_ACCEPT        BIT(3)
#define APIC_ESR_REDIR_IPI          BIT(4)
#define APIC_ESR_SEND_ILLEGAL       BIT(5)  /* vector 0-15 in a sent message */
#define APIC_ESR_RECV_ILLEGAL       BIT(6)  /* vector 0-15 received */
#define APIC_ESR_ILLEGAL_REG        BIT(7)  /* access to a reserved register */

/* LVT entries (11.5.1, figure 11-8) */
#define APIC_LVT_VECTOR             0xff
#define APIC_LVT_DM_SHIFT           8       /* delivery mode, bits 10:8 */
#define APIC_LVT_DM_MASK            (7u << 8)
#define APIC_LVT_DS                 BIT(12) /* delivery status (read-only, always idle) */
#define APIC_LVT_POLARITY           BIT(13) /* LINT: input active low */
#define APIC_LVT_REMOTE_IRR         BIT(14) /* LINT: level interrupt in service (read-only) */
#define APIC_LVT_LEVEL              BIT(15) /* LINT: level triggered */
#define APIC_LVT_MASKED             BIT(16)
#define APIC_LVT_TIMER_SHIFT        17      /* timer mode, bits 18:17 */
#define APIC_LVT_TIMER_MODE         (3u << 17)
#define APIC_LVT_TIMER_ONESHOT      (0u << 17)
#define APIC_LVT_TIMER_PERIODIC     (1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE  (2u << 17)
#define APIC_LVT_RESET              APIC_LVT_MASKED

/* Writable bits of each LVT (read-only bits DS and remote IRR excluded). */
#define APIC_LVT_TIMER_WRITABLE     0x000700ffu     /* vector, mask, mode */
#define APIC_LVT_DM_WRITABLE        0x000107ffu     /* thermal, perf: vector, DM, mask */
#define APIC_LVT_LINT_WRITABLE      0x0001a7ffu     /* + polarity, trigger */
#define APIC_LVT_ERROR_WRITABLE     0x000100ffu     /* vector, mask */

/* ICR (11.6.1, figure 11-12) */
#define APIC_ICR_VECTOR             0xff
#define APIC_ICR_DM_SHIFT           8
#define APIC_ICR_DEST_LOGICAL       BIT(11)
#define APIC_ICR_DS                 BIT(12) /* delivery status: always idle */
#define APIC_ICR_ASSERT             BIT(14) /* level: assert (1) / de-assert (0) */
#define APIC_ICR_LEVEL              BIT(15) /* trigger mode: level */
#define APIC_ICR_SH_SHIFT           18      /* destination shorthand, bits 19:18 */
#define APIC_ICR_SH_NONE            0
#define APIC_ICR_SH_SELF            1
#define APIC_ICR_SH_ALL             2       /* all including self */
#define APIC_ICR_SH_OTHERS          3       /* all excluding self */
#define APIC_ICR_WRITABLE           0x000ccfffu
#define APIC_ICR2_DEST_SHIFT        24      /* xAPIC destination, ICR bits 63:56 */
#define APIC_ICR2_WRITABLE          0xff000000u
#define X2APIC_ICR_RESERVED         0xfff33000u /* bits 12-13, 16-17, 20-31 (low half) */

/* Divide configuration (11.5.4, figure 11-10): bits 0, 1 and 3 */
#define APIC_DCR_WRITABLE           0xbu

/* Broadcast destinations */
#define APIC_BROADCAST_XAPIC        0xffu
#define APIC_BROADCAST_X2APIC       0xffffffffu

#endif
