/*
 * Test reporting in the shape the harness reads (tests/harness.py):
 * "PASS: name" / "FAIL: name" lines, then "SUMMARY: N tests, F failures",
 * then an exit status. Under turtle every line gets a "[NAME] " prefix.
 */
#include "lib/guest.h"

static int tests, failures;

bool report(bool pass, const char *fmt, ...)
{
    va_list ap;

    tests++;
    if (!pass)
        failures++;
    printf("%s: ", pass ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return pass;
}

int report_summary(void)
{
    printf("SUMMARY: %d tests, %d failures\n", tests, failures);
    return failures;
}

__noreturn void guest_exit(int status)
{
    serial_drain();
    /* turtle (and QEMU's isa-debug-exit) end the guest here. */
    outb(DEBUG_EXIT_PORT, (u8)status);
    for (const char *s = "Shutdown"; *s; s++)
        outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
    halt_forever();
}
