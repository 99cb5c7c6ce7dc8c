/*
 * chatter: prints "chatter ID line I" for I = 0..19 with a busy loop
 * between lines, long enough that turtle's preemption timer interleaves
 * several chatter guests' lines on its console. Exits 0.
 *   options: id=ID (default "?"), lines=N (default 20)
 */
#include "lib/guest.h"

#define CHATTER_LINES   20
#define CHATTER_SPIN    200000

void guest_main(const struct boot_params *bp)
{
    char id[32];
    u64 lines = CHATTER_LINES;

    if (!cmdline_value(bp->cmdline, "id", id, sizeof(id)))
        memcpy(id, "?", sizeof("?"));
    cmdline_u64(bp->cmdline, "lines", &lines);
    for (u64 i = 0; i < lines; i++) {
        printf("chatter %s line %lu\n", id, i);
        busy_loop(CHATTER_SPIN);
    }
    guest_exit(report_summary() ? 1 : 0);
}
