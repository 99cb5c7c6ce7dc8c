/*
 * triple: ends in a triple fault. With a zero-limit IDT, int3 finds no
 * gate (#GP), the #GP finds none either (#DF), and so does the #DF: the
 * CPU shuts down (SDM Vol. 3 6.15, "Interrupt 8"). Under turtle that must
 * stop only this guest; on Bochs (reset_on_triple_fault=0) the emulator
 * stops. The last line must never appear.
 *
 * With `hang` on its command line it instead halts with interrupts
 * disabled, which nothing can end: turtle must stop it (and only it).
 *   options: hang
 */
#include "lib/guest.h"

struct idtr {
    u16 limit;
    u64 base;
} __packed;

void guest_main(const struct boot_params *bp)
{
    static const struct idtr empty = { 0, 0 };

    if (cmdline_has_word(bp->cmdline, "hang")) {
        printf("triple: cli; hlt (expect turtle to stop this guest)\n");
        serial_drain();
        __asm__ __volatile__("cli; hlt" ::: "memory");
        printf("triple: still running after cli; hlt\n");
        guest_exit(1);
    }
    printf("triple: loading a zero-limit IDT and raising int3 (expect a triple fault)\n");
    serial_drain();
    __asm__ __volatile__("lidt %0; int3" :: "m"(empty) : "memory");
    printf("triple: still running after the triple fault\n");
    guest_exit(1);
}
