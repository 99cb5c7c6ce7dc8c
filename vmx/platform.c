/*
 * The PC platform of a VM (vmx/platform.h): device wiring, interrupt
 * routing, time and the local APICs' MSR/MMIO faces.
 *
 * Time is the guest's TSC (turtle does not offset it) at kernel/tsc.c's
 * measured rate. The local APIC timer ticks at the TSC rate divided by
 * tsc_per_tick, 1 for a TSC below 100 MHz (Bochs: one tick per emulated
 * instruction, as Bochs's own APIC) and a 100 MHz bus clock above.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/tsc.h"
#include "vmx/dev/acpi_tables.h"
#include "vmx/dev/lapic_regs.h"
#include "vmx/platform.h"
#include "vmx/vmx.h"

#define APIC_BUS_KHZ            100000
#define PM_EVT_PORT             ACPI_PM_EVT_DEFAULT
#define PM_CNT_PORT             ACPI_PM_CNT_DEFAULT
#define PM_TMR_PORT             ACPI_PM_TMR_DEFAULT
#define S5_SLP_TYP              0
#define RTC_EQUIPMENT           0x02            /* FPU present, no floppy */
/* What PC firmware leaves in the BSP's local APIC ("virtual wire" mode):
 * software-enabled, LINT0 as ExtINT from the PIC, LINT1 as NMI. */
#define BIOS_SVR                0x1ff
#define BIOS_LINT0              (APIC_DM_EXTINT << 8)
#define BIOS_LINT1              (APIC_DM_NMI << 8)
#define APIC_SVR_OFFSET         0x0f0
#define APIC_LINT0_OFFSET       0x350
#define APIC_LINT1_OFFSET       0x360

static void kick(struct vcpu *vcpu)
{
    vcpu->events.irq_check = true;
}

/* --- interrupt routing ----------------------------------------------------- */

static void deliver(struct vm *vm, const struct vcpu *from, const struct apic_msg *msg)
{
    for (u32 i = 0; i < vm->n_vcpus; i++) {
        struct vcpu *v = vm->vcpus[i];
        if (msg->all_but_self && v == from)
            continue;
        if (!lapic_match_dest(&v->lapic, msg->dest, msg->dest_logical))
            continue;
        if (lapic_accept(&v->lapic, msg))
            kick(v);
        /* Lowest priority: one CPU takes it (the first that matches). */
        if (msg->delivery_mode == APIC_DM_LOWEST)
            return;
    }
}

static void ioapic_send(void *ctx, const struct apic_msg *msg)
{
    deliver(ctx, NULL, msg);
}

static void lapic_send(void *ctx, const struct apic_msg *msg)
{
    struct vcpu *vcpu = ctx;
    deliver(vcpu->vm, vcpu, msg);
}

static void lapic_eoi(void *ctx, u8 vector)
{
    struct vcpu *vcpu = ctx;
    ioapic_eoi(&vcpu->vm->platform.ioapic, vector);
}

/* An ISA interrupt line: to the PIC pin and the IOAPIC pin (IRQ 0 on
 * GSI 2, as the MADT's interrupt-source override says). */
static void isa_irq(void *ctx, u32 irq, bool level)
{
    struct vm *vm = ctx;
    pic_set_irq(&vm->platform.pic, irq, level);
    ioapic_set_irq(&vm->platform.ioapic, irq == 0 ? 2 : irq, level);
}

struct irq_line platform_isa_line(struct vm *vm, u32 irq)
{
    return (struct irq_line){ isa_irq, vm, irq };
}

/* The PIC's INT output goes to the BSP's LINT0. */
static void pic_intr(void *ctx, u32 pin, bool level)
{
    struct vm *vm = ctx;
    (void)pin;
    if (level && vm->n_vcpus)
        kick(vm->vcpus[0]);
}

bool platform_pic_pending(struct vcpu *vcpu)
{
    return vcpu->id == 0 && lapic_accepts_pic(&vcpu->lapic) && pic_intr_pending(&vcpu->vm->platform.pic);
}

u8 platform_pic_ack(struct vcpu *vcpu)
{
    return pic_acknowledge(&vcpu->vm->platform.pic);
}

bool platform_interrupt_pending(struct vcpu *vcpu)
{
    return lapic_pending_vector(&vcpu->lapic) >= 0 || platform_pic_pending(vcpu);
}

u8 platform_interrupt_ack(struct vcpu *vcpu)
{
    int v = lapic_pending_vector(&vcpu->lapic);

    if (v >= 0) {
        lapic_ack(&vcpu->lapic, (u8)v);
        return (u8)v;
    }
    return platform_pic_ack(vcpu);
}

/* --- time -------------------------------------------------------------------- */

void platform_update(struct vm *vm, u64 now)
{
    struct vm_platform *p = &vm->platform;
    u64 next = DEV_NO_DEADLINE;
    u8 slp;

    pit_update(&p->pit, now);
    rtc_update(&p->rtc, now);
    acpi_pm_update(&p->pm, now);
    for (u32 i = 0; i < vm->n_vcpus; i++) {
        struct vcpu *v = vm->vcpus[i];
        lapic_advance(&v->lapic, now);
        next = MIN(next, lapic_next_deadline(&v->lapic));
        kick(v);                        /* a timer may have set IRR */
    }
    next = MIN(next, pit_next_deadline(&p->pit, now));
    next = MIN(next, rtc_next_deadline(&p->rtc, now));
    next = MIN(next, acpi_pm_next_deadline(&p->pm, now));
    p->next_deadline = next;

    if (acpi_pm_take_sleep(&p->pm, &slp) && slp == S5_SLP_TYP) {
        vm->exit_status = 0;
        vm_stop(vm, false, "powered off (ACPI S5)");
    }
    /* Hard or soft, a reset reloads the guest (vmx/vm_reset.c): turtle
     * has no firmware to run a warm boot through. */
    if (reset_ctl_take(&p->reset) != RESET_NONE)
        vm_request_reset(vm, reset_ctl_source(&p->reset));
}

/* --- port I/O ---------------------------------------------------------------- */

/* Port windows: the bus hands a device an offset; the models want ports. */
enum port_kind { PK_PIC, PK_PIT, PK_RTC, PK_PM, PK_RESET, PK_KBC, PK_PCI };

static u64 port_read_dev(struct vm *vm, enum port_kind kind, u16 port, u32 size, u64 now)
{
    struct vm_platform *p = &vm->platform;

    switch (kind) {
    case PK_PIC:    return pic_io_read(&p->pic, port, size);
    case PK_PIT:    return pit_io_read(&p->pit, port, size, now);
    case PK_RTC:    return rtc_io_read(&p->rtc, port, size, now);
    case PK_PM:     return acpi_pm_io_read(&p->pm, port, size, now);
    case PK_RESET:  return reset_ctl_io_read(&p->reset, port, size);
    case PK_KBC:    return i8042_io_read(&p->kbc, port);
    case PK_PCI:
        /* The byte at 0xcf9 is the reset control register; the rest is
         * configuration mechanism #1. */
        if (port == RESET_PORT_RST_CNT && size == 1)
            return reset_ctl_io_read(&p->reset, port, size);
        return pci_io_read(&p->pci, port, size);
    }
    return ~0ULL;
}

static void port_write_dev(struct vm *vm, enum port_kind kind, u16 port, u32 size, u32 val, u64 now)
{
    struct vm_platform *p = &vm->platform;

    switch (kind) {
    case PK_PIC:    pic_io_write(&p->pic, port, size, val); break;
    case PK_PIT:    pit_io_write(&p->pit, port, size, val, now); break;
    case PK_RTC:    rtc_io_write(&p->rtc, port, size, val, now); break;
    case PK_PM:     acpi_pm_io_write(&p->pm, port, size, val, now); break;
    case PK_RESET:  reset_ctl_io_write(&p->reset, port, size, val); break;
    case PK_KBC:
        i8042_io_write(&p->kbc, port, (u8)val);
        /* The 8042's reset line: what a reset does is reset_ctl's. */
        if (i8042_take_reset(&p->kbc))
            reset_ctl_request(&p->reset, RESET_HARD, RESET_PORT_KBC_CMD);
        break;
    case PK_PCI:
        if (port == RESET_PORT_RST_CNT && size == 1)
            reset_ctl_io_write(&p->reset, port, size, val);
        else
            pci_io_write(&p->pci, port, size, val);
        break;
    }
}

struct port_window {
    const char *name;
    u16 base, len;
    enum port_kind kind;
    bool byte_wide;
};

static const struct port_window port_windows[] = {
    { "PIC master",     PIC_MASTER_CMD,         2, PK_PIC,   true },
    { "PIC slave",      PIC_SLAVE_CMD,          2, PK_PIC,   true },
    { "ELCR",           PIC_ELCR1,              2, PK_PIC,   true },
    { "PIT",            PIT_PORT_BASE,          4, PK_PIT,   true },
    { "port 0x61",      PIT_PORT_NMI_SC,        1, PK_PIT,   true },
    { "RTC",            RTC_PORT_INDEX,         2, PK_RTC,   true },
    { "PM1a_EVT",       ACPI_PM1A_EVT_DEFAULT,  ACPI_PM1_EVT_LEN, PK_PM, false },
    { "PM1a_CNT",       ACPI_PM1A_CNT_DEFAULT,  ACPI_PM1_CNT_LEN, PK_PM, false },
    { "PM_TMR",         ACPI_PM_TMR_DEFAULT,    ACPI_PM_TMR_LEN,  PK_PM, false },
    { "8042 data",      I8042_PORT_DATA,        1, PK_KBC,   true },
    { "8042 command",   I8042_PORT_CMD,         1, PK_KBC,   true },
    { "system control A", RESET_PORT_SYSCTL_A,  1, PK_RESET, true },
    { "PCI config",     PCI_PORT_CONFIG_ADDRESS, PCI_PORT_LEN, PK_PCI, false },
};

/* After a write that may have reprogrammed a timer: the VM's next
 * deadline is at the latest that device's new one (an earlier deadline
 * that no longer exists only costs one early platform_update()). Power-off
 * and reset requests take effect at once. */
static void after_write(struct vm *vm, enum port_kind kind, u64 now)
{
    struct vm_platform *p = &vm->platform;

    switch (kind) {
    case PK_PIT:
        p->next_deadline = MIN(p->next_deadline, pit_next_deadline(&p->pit, now));
        break;
    case PK_RTC:
        p->next_deadline = MIN(p->next_deadline, rtc_next_deadline(&p->rtc, now));
        break;
    case PK_PM:
    case PK_RESET:
    case PK_KBC:
    case PK_PCI:
        p->next_deadline = 0;           /* platform_update() takes the request */
        break;
    case PK_PIC:
        break;
    }
}

/* The bus's ctx for a window is its struct port_ctx in the VM. Reads
 * change no deadline (an RTC register C read lowers IRQ 8 by itself). */
static void window_read(void *ctx, u64 off, u32 size, u64 *val)
{
    struct port_ctx *c = ctx;
    const struct port_window *w = &port_windows[c->index];
    *val = port_read_dev(c->vm, w->kind, (u16)(w->base + off), size, rdtsc());
}

static void window_write(void *ctx, u64 off, u32 size, u64 val)
{
    struct port_ctx *c = ctx;
    const struct port_window *w = &port_windows[c->index];
    u64 now = rdtsc();
    port_write_dev(c->vm, w->kind, (u16)(w->base + off), size, (u32)val, now);
    after_write(c->vm, w->kind, now);
}

/* --- MMIO: the xAPIC page of each vCPU and the IOAPIC --------------------- */

static bool in_xapic_page(struct vcpu *vcpu, u64 gpa, u32 size)
{
    const struct lapic *l = &vcpu->lapic;
    u64 base = lapic_mmio_base(l);

    return lapic_mmio_enabled(l) && gpa >= base && gpa + size <= base + PAGE_SIZE;
}

static bool in_ioapic(struct vm *vm, u64 gpa, u32 size)
{
    u64 base = vm->platform.ioapic.base;
    return gpa >= base && gpa + size <= base + IOAPIC_MMIO_SIZE;
}

bool platform_mmio_claims(struct vcpu *vcpu, u64 gpa, u32 size)
{
    return in_xapic_page(vcpu, gpa, size) || in_ioapic(vcpu->vm, gpa, size);
}

bool platform_mmio_read(struct vcpu *vcpu, u64 gpa, u32 size, u64 *val)
{
    struct vm *vm = vcpu->vm;

    if (in_xapic_page(vcpu, gpa, size)) {
        /* xAPIC rules (11.4.1): what the model refuses reads as 0. */
        if (lapic_mmio_read(&vcpu->lapic, rdtsc(), (u32)(gpa - lapic_mmio_base(&vcpu->lapic)), size,
                            val) != LAPIC_OK)
            *val = 0;
        return true;
    }
    if (in_ioapic(vm, gpa, size)) {
        ioapic_mmio_read(&vm->platform.ioapic, (u32)(gpa - vm->platform.ioapic.base), size, val);
        return true;
    }
    return false;
}

bool platform_mmio_write(struct vcpu *vcpu, u64 gpa, u32 size, u64 val)
{
    struct vm *vm = vcpu->vm;

    if (in_xapic_page(vcpu, gpa, size)) {
        u64 now = rdtsc();
        lapic_mmio_write(&vcpu->lapic, now, (u32)(gpa - lapic_mmio_base(&vcpu->lapic)), size, val);
        vm->platform.next_deadline = MIN(vm->platform.next_deadline, lapic_next_deadline(&vcpu->lapic));
        kick(vcpu);                     /* TPR, EOI or a self-IPI may change what is pending */
        return true;
    }
    if (in_ioapic(vm, gpa, size)) {
        ioapic_mmio_write(&vm->platform.ioapic, (u32)(gpa - vm->platform.ioapic.base), size, val);
        return true;
    }
    return false;
}

/* --- MSRs ---------------------------------------------------------------- */

bool platform_msr_read(struct vcpu *vcpu, u32 msr, u64 *val, bool *gp)
{
    if (!lapic_msr_owned(msr))
        return false;
    *gp = lapic_msr_read(&vcpu->lapic, rdtsc(), msr, val) != LAPIC_OK;
    /* The LAPIC keeps host TSC values; L1 sees its own (vm->tsc_offset). */
    if (msr == MSR_IA32_TSC_DEADLINE && *val)
        *val += vcpu->vm->tsc_offset;
    return true;
}

bool platform_msr_write(struct vcpu *vcpu, u32 msr, u64 val, bool *gp)
{
    if (!lapic_msr_owned(msr))
        return false;
    if (msr == MSR_IA32_TSC_DEADLINE && val)
        val = val - vcpu->vm->tsc_offset ? val - vcpu->vm->tsc_offset : 1;    /* 0 would disarm */
    *gp = lapic_msr_write(&vcpu->lapic, rdtsc(), msr, val) != LAPIC_OK;
    vcpu->vm->platform.next_deadline = MIN(vcpu->vm->platform.next_deadline,
                                           lapic_next_deadline(&vcpu->lapic));
    kick(vcpu);
    return true;
}

/* --- set-up ------------------------------------------------------------------ */

static u32 apic_tsc_per_tick(void)
{
    return tsc_khz > APIC_BUS_KHZ ? tsc_khz / APIC_BUS_KHZ : 1;
}

u32 platform_apic_timer_khz;

void platform_vcpu_init(struct vcpu *vcpu)
{
    struct lapic_config cfg = {
        .apic_id = vcpu->id,
        .bsp = vcpu->id == 0,
        .tsc_khz = tsc_khz,
        .tsc_per_tick = apic_tsc_per_tick(),
        .phys_bits = (u8)(cpuid(0x80000000).eax >= 0x80000008 ? cpuid(0x80000008).eax & 0xff : 36),
        .bus = { lapic_send, lapic_eoi, vcpu },
    };
    u64 now = rdtsc();

    lapic_reset(&vcpu->lapic, &cfg);
    if (vcpu->id == 0) {
        lapic_mmio_write(&vcpu->lapic, now, APIC_SVR_OFFSET, 4, BIOS_SVR);
        lapic_mmio_write(&vcpu->lapic, now, APIC_LINT0_OFFSET, 4, BIOS_LINT0);
        lapic_mmio_write(&vcpu->lapic, now, APIC_LINT1_OFFSET, 4, BIOS_LINT1);
    }
}

static const char *build_acpi(struct vm *vm)
{
    struct acpi_config cfg;
    u8 rsdp[ACPI_RSDP_SIZE];
    u64 pages = PLATFORM_ACPI_MAX / PAGE_SIZE;
    u64 buf = alloc_pages(pages, PAGE_SIZE);

    if (!buf)
        return "out of memory for its ACPI tables";
    acpi_config_default(&cfg, vm->n_vcpus ? vm->n_vcpus : 1, PLATFORM_RSDP_GPA, PLATFORM_ACPI_GPA);
    cfg.pm1a_evt_port = ACPI_PM1A_EVT_DEFAULT;
    cfg.pm1a_cnt_port = ACPI_PM1A_CNT_DEFAULT;
    cfg.pm_tmr_port = ACPI_PM_TMR_DEFAULT;
    cfg.pm_tmr_32bit = false;
    cfg.s5_slp_typ = S5_SLP_TYP;
    /* The 8042 answers at once (dev/i8042.c), so a driver's probe takes no
     * time: the FADT says it is there and the DSDT describes its ports. */
    cfg.i8042 = true;
    int n = acpi_build_tables(&cfg, rsdp, phys_to_virt(buf), (u32)(PLATFORM_ACPI_MAX - 0x40));
    bool ok = n > 0 && guest_copy_to(vm, PLATFORM_RSDP_GPA, rsdp, sizeof(rsdp)) &&
              guest_copy_to(vm, PLATFORM_ACPI_GPA, phys_to_virt(buf), (u64)n);
    free_pages(buf, pages);
    return ok ? NULL : "its ACPI tables do not fit";
}

const char *platform_init(struct vm *vm)
{
    struct vm_platform *p = &vm->platform;
    u64 now = rdtsc();

    platform_apic_timer_khz = tsc_khz / apic_tsc_per_tick();
    const struct irq_line irq0 = { isa_irq, vm, 0 }, irq8 = { isa_irq, vm, 8 },
                          sci = { isa_irq, vm, PLATFORM_SCI_IRQ }, intr = { pic_intr, vm, 0 };
    const struct rtc_config rtc = { PLATFORM_EPOCH, tsc_khz, MIN(vm->mem_size, 1ULL << 32), RTC_EQUIPMENT };
    const struct acpi_pm_config pm = { ACPI_PM1A_EVT_DEFAULT, ACPI_PM1A_CNT_DEFAULT, ACPI_PM_TMR_DEFAULT,
                                       false, true, tsc_khz };
    const struct apic_bus bus = { ioapic_send, NULL, vm };

    pic_reset(&p->pic, &intr);
    pit_reset(&p->pit, &irq0, now, tsc_khz);
    rtc_reset(&p->rtc, &irq8, &rtc, now);
    acpi_pm_reset(&p->pm, &sci, &pm, now);
    reset_ctl_reset(&p->reset);
    const struct irq_line kbd = { isa_irq, vm, I8042_IRQ_KBD }, aux = { isa_irq, vm, I8042_IRQ_AUX };
    i8042_reset(&p->kbc, &kbd, &aux);
    pci_host_reset(&p->pci);
    ioapic_reset(&p->ioapic, IOAPIC_DEFAULT_BASE, &bus);
    /* The IOAPIC's ID is the one the MADT gives it (after the CPUs'). */
    ioapic_mmio_write(&p->ioapic, IOAPIC_IOREGSEL, 4, IOAPIC_REG_ID);
    ioapic_mmio_write(&p->ioapic, IOAPIC_IOWIN, 4, (u64)vm->n_vcpus << 24);
    p->next_deadline = 0;

    _Static_assert(ARRAY_SIZE(port_windows) <= PLATFORM_PORT_WINDOWS, "room for the port windows");
    for (u32 i = 0; i < ARRAY_SIZE(port_windows); i++) {
        const struct port_window *w = &port_windows[i];
        p->windows[i] = (struct port_ctx){ vm, i };
        struct bus_device d = { w->name, w->base, w->len, w->byte_wide, window_read, window_write,
                                &p->windows[i] };
        if (!bus_register(&vm->pio, &d))
            return "its devices could not be placed (turtle bug)";
    }
    return build_acpi(vm);
}
