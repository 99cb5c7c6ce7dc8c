/*
 * ACPI fixed hardware (ACPI spec 6.5, section 4.8 "ACPI Hardware
 * Features", 4.8.3 "PM1 event and control registers", 4.8.3.3 "Power
 * management timer"): the PM1a event block (PM1_STS, PM1_EN), the PM1a
 * control block (SCI_EN, SLP_TYP, SLP_EN) and the PM timer, at ports the
 * platform chooses and reports in the FADT. The model reports a sleep
 * request (SLP_EN written) with its SLP_TYP; the platform maps the type to
 * a sleep state through the \_Sx packages of its DSDT and, for S5, powers
 * the guest off.
 */
#ifndef TURTLE_DEV_ACPI_PM_H
#define TURTLE_DEV_ACPI_PM_H

#include "vmx/dev/irq.h"

#define ACPI_PM_TIMER_HZ        3579545
/* Suggested ports (the PIIX4 layout at base 0x600, as QEMU's PC uses). */
#define ACPI_PM1A_EVT_DEFAULT   0x600   /* 4 bytes: PM1_STS, PM1_EN */
#define ACPI_PM1A_CNT_DEFAULT   0x604   /* 2 bytes: PM1_CNT */
#define ACPI_PM_TMR_DEFAULT     0x608   /* 4 bytes: PM_TMR */
#define ACPI_PM1_EVT_LEN        4
#define ACPI_PM1_CNT_LEN        2
#define ACPI_PM_TMR_LEN         4
/* Suggested \_S5 SLP_TYP value (PIIX4's, and Bochs's and QEMU's DSDT). */
#define ACPI_SLP_TYP_S5         0

/* PM1_STS (write 1 to clear) and PM1_EN bits (table 4.16, 4.17) */
#define ACPI_PM1_TMR            0x0001  /* TMR_STS / TMR_EN */
#define ACPI_PM1_BM             0x0010  /* BM_STS */
#define ACPI_PM1_GBL            0x0020  /* GBL_STS / GBL_EN */
#define ACPI_PM1_PWRBTN         0x0100  /* PWRBTN_STS / PWRBTN_EN */
#define ACPI_PM1_SLPBTN         0x0200  /* SLPBTN_STS / SLPBTN_EN */
#define ACPI_PM1_RTC            0x0400  /* RTC_STS / RTC_EN */
#define ACPI_PM1_PCIEXP_WAKE    0x4000  /* PCIEXP_WAKE_STS / _DIS */
#define ACPI_PM1_WAK            0x8000  /* WAK_STS */
/* PM1_CNT bits (table 4.18) */
#define ACPI_PM1_SCI_EN         0x0001
#define ACPI_PM1_BM_RLD         0x0002
#define ACPI_PM1_GBL_RLS        0x0004  /* write-only */
#define ACPI_PM1_SLP_TYP_SHIFT  10
#define ACPI_PM1_SLP_TYP_MASK   0x1c00
#define ACPI_PM1_SLP_EN         0x2000  /* write-only */

struct acpi_pm_config {
    u16 evt_port;       /* PM1a_EVT_BLK */
    u16 cnt_port;       /* PM1a_CNT_BLK */
    u16 tmr_port;       /* PM_TMR_BLK */
    bool tmr_32bit;     /* FADT TMR_VAL_EXT: a 32-bit counter, else 24 */
    bool acpi_mode_only; /* no SMI_CMD in the FADT: the machine is always in
                         * ACPI mode, SCI_EN reads 1 and cannot be cleared */
    u32 tsc_khz;        /* not 0 */
};

struct acpi_pm {
    struct acpi_pm_config cfg;
    u16 sts, en, cnt;
    u64 base_tsc;       /* `now` of timer value 0 */
    u64 last_half;      /* timer ticks >> (bits - 1) already seen */
    struct irq_line sci;
    bool sci_level;
    bool sleep_requested;
    u8 sleep_type;
};

void acpi_pm_reset(struct acpi_pm *pm, const struct irq_line *sci,
                   const struct acpi_pm_config *cfg, u64 now);

/* Does port belong to one of the three blocks? */
bool acpi_pm_claims(const struct acpi_pm *pm, u16 port);

/* Byte-wise access to the blocks (1, 2 or 4 bytes; bytes outside the
 * blocks read 0xff, writes to them and to the timer are ignored). */
u32 acpi_pm_io_read(struct acpi_pm *pm, u16 port, u32 size, u64 now);
void acpi_pm_io_write(struct acpi_pm *pm, u16 port, u32 size, u32 val, u64 now);

/* The 24- or 32-bit PM timer value at `now`. */
u32 acpi_pm_timer(const struct acpi_pm *pm, u64 now);

/* Bring TMR_STS and the SCI up to `now`; the next TSC value at which the
 * SCI could rise (timer MSB toggle), or DEV_NO_DEADLINE. */
void acpi_pm_update(struct acpi_pm *pm, u64 now);
u64 acpi_pm_next_deadline(struct acpi_pm *pm, u64 now);

/* The platform's power button: sets PWRBTN_STS. */
void acpi_pm_power_button(struct acpi_pm *pm, u64 now);

/* A sleep request (SLP_EN written 1) with its SLP_TYP, taken once. */
bool acpi_pm_take_sleep(struct acpi_pm *pm, u8 *slp_typ);

#endif
