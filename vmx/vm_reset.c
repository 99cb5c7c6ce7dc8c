/*
 * Resetting one guest (docs/guests.md, "How a guest ends"). A reset the
 * guest asks for (port 0xcf9 or the FADT's reset register, which is that
 * port; the 8042's reset pulse; port 0x92's fast init) or the console's
 * `reset` reloads that VM from its boot modules and starts it again, as a
 * machine's reset button and firmware would: RAM zeroed and reloaded,
 * vCPUs rebuilt in their reset state (their nested state and its EPT02
 * dropped back to the VM's pool), devices reset. What a PC keeps across a
 * reset is kept: the VM's RAM, EPT01 and page pool themselves (nothing is
 * allocated again, so a reset cannot fail for memory another guest took),
 * and the battery-backed CMOS RAM above the firmware's configuration
 * bytes. Other guests are not touched. A triple fault still stops the
 * guest (vmx/exit_misc.c): it is how a guest says it is broken.
 *
 * The reset zeroes struct vm_platform and both buses and calls
 * vm_devices_init() and platform_init() (through vm_boot()) again: a
 * device added to the platform is reset with the rest as long as those
 * build it from scratch.
 *
 * A guest that resets over and over soon after each start would take
 * turtle's time for reloads: after RESET_LOOP_MAX consecutive resets each
 * within RESET_QUICK_MS of guest time from its (re)start, the next one
 * stops it instead, with the count in the message.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/tsc.h"
#include "vmx/loader.h"
#include "vmx/vmx.h"

#define RESET_LOOP_MAX      3
#define RESET_QUICK_MS      1000
#define CMOS_KEPT_FROM      0x38        /* below: what the firmware (turtle) writes at each start */

void vm_request_reset(struct vm *vm, const char *why)
{
    if (vm->stopped || vm->reset_pending)
        return;
    vm->reset_pending = why;
    vm_update_held(vm);
    for (u32 i = 0; i < vm->n_vcpus; i++)
        vm->vcpus[i]->yield = true;     /* leave the slice: the scheduler resets it */
}

void vm_reset(struct vm *vm)
{
    const char *why = vm->reset_pending, *err;
    u8 cmos[RTC_CMOS_SIZE];
    u64 ran_ms = (rdtsc() - vm->started_tsc) / (tsc_khz ? tsc_khz : 1);

    vm->reset_pending = NULL;
    vm_update_held(vm);
    if (vm->stopped)
        return;
    uart_flush(&vm->uart);
    vm->quick_resets = ran_ms < RESET_QUICK_MS ? vm->quick_resets + 1 : 0;
    if (vm->quick_resets > RESET_LOOP_MAX) {
        vm_stop(vm, true, "reset loop: %u resets in a row, each within %u ms of its start (%s)",
                vm->quick_resets, RESET_QUICK_MS, why);
        return;
    }
    /* A guest restored from a snapshot has no image module to boot again. */
    if (!vm->image.end) {
        vm_stop(vm, true, "reset (%s) of a guest restored from a snapshot: no image to reload", why);
        return;
    }
    vm->n_resets++;
    kprintf("turtle: '%s': reset (%s)\n", vm->name, why);

    for (u32 i = 0; i < vm->n_vcpus; i++)
        vcpu_free(vm->vcpus[i]);        /* drops nested state, EPT02 back to the pool */
    vm->n_vcpus = 0;
    memcpy(cmos, vm->platform.rtc.cmos, sizeof(cmos));
    guest_zero(vm, 0, vm->mem_size);
    memset(&vm->pio, 0, sizeof(vm->pio));
    memset(&vm->mmio, 0, sizeof(vm->mmio));
    memset(&vm->platform, 0, sizeof(vm->platform));
    if (!vm_devices_init(vm)) {
        vm_stop(vm, true, "reset failed: its devices could not be placed (turtle bug)");
        return;
    }
    if ((err = vm_boot(vm))) {
        vm_stop(vm, true, "reset failed: %s", err);
        return;
    }
    memcpy(vm->platform.rtc.cmos + CMOS_KEPT_FROM, cmos + CMOS_KEPT_FROM,
           sizeof(cmos) - CMOS_KEPT_FROM);
}
