/*
 * Power-off. The harness reads the verdict from the serial log; QEMU also
 * gets it as its exit status through isa-debug-exit. Order: isa-debug-exit
 * (QEMU), Bochs's shutdown port, ACPI S5 from the FADT, the PM1a ports of
 * QEMU (0x604) and Bochs (0xb004) chipsets, then halt.
 */
#include "kernel/acpi.h"
#include "kernel/mm.h"
#include "kernel/power.h"
#include "kernel/printf.h"
#include "kernel/serial.h"
#include "kernel/x86.h"

#define ACPI_SLP_EN             BIT(13)
#define ACPI_SLP_TYP_SHIFT      10
#define QEMU_PM1A_CNT           0x604       /* PIIX4/ICH9 PM base 0x600 + 4 */
#define BOCHS_PM1A_CNT          0xb004      /* PIIX4 PM base 0xb000 + 4 */
#define PM1_S5_FALLBACK         0x2000      /* SLP_EN with SLP_TYP 0 */

static struct acpi_poweroff acpi;
static bool have_acpi;

void power_init(u64 rsdp_copy, u32 rsdp_size)
{
    if (rsdp_copy)
        have_acpi = acpi_find_poweroff(phys_to_virt(rsdp_copy), rsdp_size, &acpi);
}

/* QEMU's isa-debug-exit reads as 0; an unclaimed port floats to 0xff. */
static bool qemu_debug_exit_present(void)
{
    return inb(QEMU_DEBUG_EXIT_PORT) == 0;
}

/* Running as a guest of turtle: its VMCALL exit ends this run (docs/guests.md). */
static bool under_turtle(void)
{
    struct cpuid_regs r;

    if (!(cpuid(1).ecx & BIT(31)))
        return false;
    r = cpuid(0x40000000);
    return !memcmp(&r.ebx, "Turt", 4) && !memcmp(&r.ecx, "leTu", 4) && !memcmp(&r.edx, "rtle", 4);
}

__noreturn void power_off(bool failed)
{
    cli();
    serial_flush();
    if (under_turtle()) {
        u64 nr = 2, status = failed;    /* VMCALL exit(status) */
        __asm__ __volatile__("vmcall" : "+a"(nr) : "b"(status) : "memory");
    }
    if (qemu_debug_exit_present())
        outb(QEMU_DEBUG_EXIT_PORT, failed ? 1 : 0);

    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (u8)*s);

    if (have_acpi) {
        outw(acpi.pm1a_cnt, (u16)((acpi.slp_typa << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
        if (acpi.pm1b_cnt)
            outw(acpi.pm1b_cnt, (u16)((acpi.slp_typb << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
    }
    outw(QEMU_PM1A_CNT, PM1_S5_FALLBACK);
    outw(BOCHS_PM1A_CNT, PM1_S5_FALLBACK);
    kprintf("turtle: power-off failed; halting\n");
    halt_forever();
}
