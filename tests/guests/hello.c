/*
 * hello: the demo guest (make run). Greets with its id and memory size,
 * prints a few lines, yielding to the other guests between them under
 * turtle (a busy loop on bare hardware), and exits 0.
 *   options: id=NAME (default "hello")
 */
#include "lib/guest.h"

#define HELLO_LINES     3
#define HELLO_SPIN      200000

void guest_main(const struct boot_params *bp)
{
    char id[32];

    if (!cmdline_value(bp->cmdline, "id", id, sizeof(id)))
        memcpy(id, "hello", sizeof("hello"));
    printf("hello from %s: %lu MiB of RAM, loaded by '%s', %s entry%s\n", id,
           (unsigned long)(bp->mem_available >> 20), bp->loader_name,
           bp->entry == GUEST_ENTRY_ELF64 ? "64-bit ELF" : "multiboot2",
           on_turtle() ? ", on turtle" : "");
    if (bp->cmdline[0])
        printf("%s: command line '%s'\n", id, bp->cmdline);
    for (int i = 1; i <= HELLO_LINES; i++) {
        if (on_turtle())
            vmcall(VMCALL_YIELD, 0, 0);
        else
            busy_loop(HELLO_SPIN);
        printf("%s: line %d of %d\n", id, i, HELLO_LINES);
    }
    printf("%s: goodbye\n", id);
    guest_exit(report_summary() ? 1 : 0);
}
