/*
 * chatter: prints "chatter ID line I" for I = 0..19 with a busy loop
 * between lines, long enough that turtle's preemption timer interleaves
 * several chatter guests' lines on its console. Exits 0.
 *   options: id=ID (default "?")
 */
#include "lib/guest.h"

#define CHATTER_LINES   20
#define CHATTER_SPIN    200000

void guest_main(const struct boot_params *bp)
{
    char id[32];

    if (!cmdline_value(bp->cmdline, "id", id, sizeof(id)))
        memcpy(id, "?", sizeof("?"));
    for (int i = 0; i < CHATTER_LINES; i++) {
        printf("chatter %s line %d\n", id, i);
        busy_loop(CHATTER_SPIN);
    }
    guest_exit(report_summary() ? 1 : 0);
}
