/* Phase counters (vmx/prof.h): only in the profile build. */
#include "vmx/prof.h"

#ifdef TURTLE_PROFILE
#include "kernel/printf.h"
#include "kernel/x86.h"

static const char *const names[PROF_PHASES] = {
    [PROF_GUEST] = "guest",
    [PROF_EXIT_DECIDE] = "exit_decide",
    [PROF_EXIT_SYNC] = "exit_sync",
    [PROF_EXIT_HOST] = "exit_host",
    [PROF_EXIT_SHADOW] = "exit_shadow",
    [PROF_ENTRY_DECODE] = "entry_decode",
    [PROF_ENTRY_COPY] = "entry_copy",
    [PROF_ENTRY_CHECKS] = "entry_checks",
    [PROF_ENTRY_VMCS02] = "entry_vmcs02",
    [PROF_LOOP] = "loop",
    [PROF_L1_HANDLER] = "l1_handler",
};

static u64 ticks[PROF_PHASES], last;
static u64 printed[PROF_PHASES], printed_exits;

void prof_mark(enum prof_phase p)
{
    u64 t = rdtsc();

    ticks[p] += t - last;
    last = t;
}

/* One line: the ticks of each phase and the exits since the last call. */
void prof_print(u64 exits)
{
    kprintf("turtle: profile: exits %lu", exits - printed_exits);
    for (u32 i = 0; i < PROF_PHASES; i++) {
        kprintf(" %s %lu", names[i], ticks[i] - printed[i]);
        printed[i] = ticks[i];
    }
    kprintf("\n");
    printed_exits = exits;
}
#endif
