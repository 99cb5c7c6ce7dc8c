/*
 * ACPI PM1a blocks and PM timer (ACPI spec 6.5, 4.8.3). The timer counts
 * at 3.579545 MHz from reset, read-only, wrapping at 2^24 or 2^32; TMR_STS
 * is set whenever its top bit changes (4.8.3.3), which raises an SCI if
 * TMR_EN. The SCI is level-triggered and active while an enabled status
 * bit is set and SCI_EN is 1 (with SCI_EN 0 the events would be SMIs,
 * which this platform has none of).
 */
#include "vmx/dev/acpi_pm.h"
#include "vmx/dev/timebase.h"

#define STS_DEFINED         (ACPI_PM1_TMR | ACPI_PM1_BM | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
                             ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE | ACPI_PM1_WAK)
#define EN_DEFINED          (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
                             ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE)
#define SCI_SOURCES         (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
                             ACPI_PM1_RTC)
#define CNT_STORED          (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)
#define FLOATING_BUS        0xff

static u64 ticks(const struct acpi_pm *pm, u64 now)
{
    if (now < pm->base_tsc)
        return 0;
    return dev_tsc_to_ticks(now - pm->base_tsc, ACPI_PM_TIMER_HZ, pm->cfg.tsc_khz);
}

static u32 top_bit(const struct acpi_pm *pm)
{
    return pm->cfg.tmr_32bit ? 31 : 23;
}

u32 acpi_pm_timer(const struct acpi_pm *pm, u64 now)
{
    u64 t = ticks(pm, now);
    return pm->cfg.tmr_32bit ? (u32)t : (u32)(t & 0xffffff);
}

static void set_sci(struct acpi_pm *pm)
{
    bool level = (pm->cnt & ACPI_PM1_SCI_EN) && (pm->sts & pm->en & SCI_SOURCES);

    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_line_set(&pm->sci, level);
    }
}

void acpi_pm_update(struct acpi_pm *pm, u64 now)
{
    u64 half = ticks(pm, now) >> top_bit(pm);

    if (half != pm->last_half) {
        pm->last_half = half;
        pm->sts |= ACPI_PM1_TMR;
    }
    set_sci(pm);
}

u64 acpi_pm_next_deadline(struct acpi_pm *pm, u64 now)
{
    acpi_pm_update(pm, now);
    if (pm->sci_level || !(pm->cnt & ACPI_PM1_SCI_EN) || !(pm->en & ACPI_PM1_TMR) ||
        (pm->sts & ACPI_PM1_TMR))
        return DEV_NO_DEADLINE;
    u64 next = (pm->last_half + 1) << top_bit(pm);
    return pm->base_tsc + dev_ticks_to_tsc(next, ACPI_PM_TIMER_HZ, pm->cfg.tsc_khz);
}

void acpi_pm_reset(struct acpi_pm *pm, const struct irq_line *sci,
                   const struct acpi_pm_config *cfg, u64 now)
{
    *pm = (struct acpi_pm){ 0 };
    pm->cfg = *cfg;
    if (!pm->cfg.tsc_khz)
        pm->cfg.tsc_khz = 1;
    if (sci)
        pm->sci = *sci;
    pm->base_tsc = now;
    if (cfg->acpi_mode_only)
        pm->cnt = ACPI_PM1_SCI_EN;
}

static bool in(u16 port, u16 base, u16 len)
{
    return port >= base && port < base + len;
}

bool acpi_pm_claims(const struct acpi_pm *pm, u16 port)
{
    return in(port, pm->cfg.evt_port, ACPI_PM1_EVT_LEN) ||
           in(port, pm->cfg.cnt_port, ACPI_PM1_CNT_LEN) ||
           in(port, pm->cfg.tmr_port, ACPI_PM_TMR_LEN);
}

static u8 read8(struct acpi_pm *pm, u16 port, u64 now)
{
    if (in(port, pm->cfg.evt_port, ACPI_PM1_EVT_LEN)) {
        u32 off = port - pm->cfg.evt_port;
        u16 reg = off < 2 ? pm->sts : pm->en;
        return (u8)(reg >> (8 * (off & 1)));
    }
    if (in(port, pm->cfg.cnt_port, ACPI_PM1_CNT_LEN))
        return (u8)(pm->cnt >> (8 * (port - pm->cfg.cnt_port)));
    if (in(port, pm->cfg.tmr_port, ACPI_PM_TMR_LEN))
        return (u8)(acpi_pm_timer(pm, now) >> (8 * (port - pm->cfg.tmr_port)));
    return FLOATING_BUS;
}

static void write_cnt(struct acpi_pm *pm, u32 shift, u8 v)
{
    u16 val = (u16)(v << shift), mask = (u16)(0xff << shift);

    pm->cnt = (u16)((pm->cnt & ~mask) | (val & mask & CNT_STORED));
    if (pm->cfg.acpi_mode_only)
        pm->cnt |= ACPI_PM1_SCI_EN;
    if (val & ACPI_PM1_SLP_EN) {
        pm->sleep_requested = true;
        pm->sleep_type = (u8)((pm->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
    }
}

static void write8(struct acpi_pm *pm, u16 port, u8 v)
{
    if (in(port, pm->cfg.evt_port, ACPI_PM1_EVT_LEN)) {
        u32 off = port - pm->cfg.evt_port, shift = 8 * (off & 1);
        u16 val = (u16)(v << shift), mask = (u16)(0xff << shift);
        if (off < 2)
            pm->sts &= ~(val & STS_DEFINED);            /* write 1 to clear */
        else
            pm->en = (u16)((pm->en & ~mask) | (val & mask & EN_DEFINED));
    } else if (in(port, pm->cfg.cnt_port, ACPI_PM1_CNT_LEN)) {
        write_cnt(pm, 8 * (u32)(port - pm->cfg.cnt_port), v);
    }
    /* the timer is read-only */
}

u32 acpi_pm_io_read(struct acpi_pm *pm, u16 port, u32 size, u64 now)
{
    u32 val = 0;

    acpi_pm_update(pm, now);
    for (u32 i = 0; i < size && i < 4; i++)
        val |= (u32)read8(pm, (u16)(port + i), now) << (8 * i);
    return val;
}

void acpi_pm_io_write(struct acpi_pm *pm, u16 port, u32 size, u32 val, u64 now)
{
    acpi_pm_update(pm, now);
    for (u32 i = 0; i < size && i < 4; i++)
        write8(pm, (u16)(port + i), (u8)(val >> (8 * i)));
    set_sci(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm, u64 now)
{
    acpi_pm_update(pm, now);
    pm->sts |= ACPI_PM1_PWRBTN;
    set_sci(pm);
}

bool acpi_pm_take_sleep(struct acpi_pm *pm, u8 *slp_typ)
{
    if (!pm->sleep_requested)
        return false;
    pm->sleep_requested = false;
    if (slp_typ)
        *slp_typ = pm->sleep_type;
    return true;
}
