/*
 * reset_guest: resets its machine and checks that it starts again from
 * the beginning. It counts its boots in CMOS RAM (byte 0x48: battery
 * backed on a PC, kept across a reset by Bochs and by turtle), prints
 * "reset_guest: boot N" and checks that it starts clean: a marker in its
 * bss, set before each reset, reads 0 again (the loader zeroes bss). Under
 * turtle, which reloads a reset guest into zeroed RAM, so does a marker at
 * 6 MiB, outside the image (not on bare Bochs: a PC's reset keeps RAM). Boot 1 resets through
 * port 0xcf9 (0x02 then 0x06, Linux's reboot=pci), boot 2 through the
 * 8042's pulse (0xfe to port 0x64 once its input buffer is empty), boot 3
 * reports, clears the counter and exits 0.
 *   options: loop     reset through 0xcf9 at every boot, for ever (turtle
 *                     must stop it as a reset loop; not for bare Bochs)
 *            via=cf9  the second reset through 0xcf9 too (bare Bochs: its
 *                     8042 pulse is a soft reset, after which its BIOS's
 *                     WRMSR to the locked IA32_FEATURE_CONTROL faults with
 *                     no IDT and the machine triple-faults)
 */
#include "lib/guest.h"

#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71
#define CMOS_BOOTS      0x48
#define RST_CNT         0xcf9
#define KBC_STATUS      0x64
#define KBC_CMD         0x64
#define KBC_IBF         0x02
#define KBC_PULSE_RESET 0xfe
#define MARKER          0x5eed5eedu
#define FAR_MARKER      0x600000UL      /* needs mem= above 6 MiB */

static volatile u32 marker;             /* bss: zero at every fresh start */

static u8 cmos_read(u8 i)
{
    outb(CMOS_INDEX, i);
    return inb(CMOS_DATA);
}

static void cmos_write(u8 i, u8 v)
{
    outb(CMOS_INDEX, i);
    outb(CMOS_DATA, v);
}

static __noreturn void reset_cf9(void)
{
    outb(RST_CNT, 0x02);
    outb(RST_CNT, 0x06);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

static __noreturn void reset_kbc(void)
{
    for (int i = 0; i < 100000 && (inb(KBC_STATUS) & KBC_IBF); i++)
        ;
    outb(KBC_CMD, KBC_PULSE_RESET);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void guest_main(const struct boot_params *bp)
{
    u8 boot = (u8)(cmos_read(CMOS_BOOTS) + 1);

    cmos_write(CMOS_BOOTS, boot);
    printf("reset_guest: boot %u\n", boot);
    report(marker == 0, "boot %u: bss is zero", boot);
    marker = MARKER;
    if (on_turtle()) {
        volatile u32 *far = (volatile u32 *)FAR_MARKER;
        report(*far == 0, "turtle boot %u: RAM outside the image is zero", boot);
        *far = MARKER;
    }
    if (cmdline_has_word(bp->cmdline, "loop")) {
        printf("reset_guest: resetting through port 0xcf9\n");
        reset_cf9();
    }
    if (boot == 1) {
        printf("reset_guest: resetting through port 0xcf9\n");
        reset_cf9();
    }
    if (boot == 2 && cmdline_has_word(bp->cmdline, "via=cf9")) {
        printf("reset_guest: resetting through port 0xcf9\n");
        reset_cf9();
    }
    if (boot == 2) {
        printf("reset_guest: resetting through the 8042 (port 0x64)\n");
        reset_kbc();
    }
    cmos_write(CMOS_BOOTS, 0);
    report(boot == 3, "started again after two resets");
    guest_exit(report_summary() ? 1 : 0);
}
