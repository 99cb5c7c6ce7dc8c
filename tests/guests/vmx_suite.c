/*
 * vmx_suite: an L1 hypervisor that tests the VT-x it is given.
 *
 * It boots on bare Bochs, where Bochs's own VT-x answers (the reference),
 * and as an L1 guest of turtle with `nested`, where turtle emulates VT-x.
 * The harness (tests/harness.py, DiffCase) compares the PASS/FAIL lines of
 * the two runs test by test, so every line must read the same in both
 * places: expectations come from the SDM and the capability MSRs, never
 * from "which platform is this". Tests named "turtle ..." run only under
 * turtle.
 *
 * Parts:
 *   vmx_suite_instr.c   capability MSRs; VMXON/VMXOFF, VMCLEAR, VMPTRLD,
 *                       VMPTRST, VMREAD/VMWRITE and their failures
 *   vmx_suite_launch.c  VMLAUNCH/VMRESUME failures (control, host, guest
 *                       state, MSR loading) and launch state
 *   vmx_suite_checks.c  the SDM's entry rules on segments, activity and
 *                       interruptibility, rule by rule (docs/nested.md)
 *   vmx_suite_exits.c   L2 running: VMCALL, CPUID, instruction exits, TSC
 *                       offsetting, and the table of exit tests
 *   vmx_suite_exits_access.c  CR3 exiting, CR0/CR4 masks and read shadows,
 *                       I/O exits and bitmaps, MSR bitmaps
 *   vmx_suite_exits_state.c   guest-state round trip, MSR lists, EFER
 *   vmx_suite_exits_misc.c    MONITOR/MWAIT, RDRAND/RDSEED, CR8 exiting, and
 *                       NMI exiting with an NMI L2 sends itself
 *   vmx_suite_events.c  exceptions, triple fault, event injection, interrupt
 *                       window, preemption timer, MTF
 *   vmx_suite_nmi.c     virtual NMIs and NMI-window exiting
 *   vmx_suite_ept.c     EPT and VPID, INVEPT/INVVPID
 *   vmx_suite_vpid.c    VPID: what INVVPID and a new VPID guarantee L2
 *   vmx_suite_ept_ad.c  EPT A/D flags, PML, EPT violations and virtual NMIs
 *   vmx_suite_vmfunc.c  VMFUNC: EPTP switching, its exits and entry checks
 *   lib/vmx.[ch], lib/vmx_stub.asm: the L1 hypervisor framework
 * Each test leaves no current VMCS behind, so the tests are independent.
 */
#include "vmx_suite.h"

#define PIC1_DATA   0x21
#define PIC2_DATA   0xa1

void guest_main(const struct boot_params *bp)
{
    bool turtle = on_turtle();

    printf("vmx_suite: %s\n", turtle ? "on turtle" : "no turtle signature (bare hardware?)");
    /* No interrupt may reach L2 through the PIC while a test runs with IF = 1. */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);

    if (!report(cpuid(1).ecx & BIT(5), "CPUID.1:ECX.VMX is set"))
        return;
    vmx_read_caps();
    printf("vmx_suite: VMX_BASIC %#lx MISC %#lx EPT/VPID %#lx maxphyaddr %u\n", (unsigned long)vmx_caps.basic,
           (unsigned long)vmx_caps.misc, (unsigned long)vmx_caps.ept_vpid, vmx_caps.maxphyaddr);
    printf("vmx_suite: pin %#lx proc %#lx proc2 %#lx exit %#lx entry %#lx\n", (unsigned long)vmx_caps.pin,
           (unsigned long)vmx_caps.proc, (unsigned long)vmx_caps.proc2, (unsigned long)vmx_caps.exit,
           (unsigned long)vmx_caps.entry);
    caps_tests();
    if (turtle)
        report(vmx_caps.revision == 0x11e57ed0, "turtle VMX_BASIC revision is 0x11e57ed0");

    outside_vmx_tests();
    if (!vmx_enable()) {
        report(false, "VMX can be enabled");
        return;
    }
    vmxon_tests();
    if (current_vmcs() != ~0ull) {
        report(false, "in VMX root operation after the VMXON tests");
        return;
    }
    vmx_run_tests(instr_tests, n_instr_tests);
    vmx_run_tests(launch_tests, n_launch_tests);
    vmx_run_tests(check_tests, n_check_tests);
    vmx_run_tests(exit_tests, n_exit_tests);
    vmx_run_tests(exit_misc_tests, n_exit_misc_tests);
    vmx_run_tests(event_tests, n_event_tests);
    vmx_run_tests(nmi_tests, n_nmi_tests);
    vmx_run_tests(apicv_tests, n_apicv_tests);
    vmx_run_tests(ept_tests, n_ept_tests);
    vmx_run_tests(vpid_tests, n_vpid_tests);
    vmx_run_tests(ept_ad_tests, n_ept_ad_tests);
    vmx_run_tests(vmfunc_tests, n_vmfunc_tests);
    vmx_run_tests(shadow_tests, n_shadow_tests);
    if (turtle) {
        turtle_ept_tests(bp->mem_top);
        turtle_apicv_tests();
    }
    expect_ok(vmxoff(), "VMXOFF at the end succeeds");
}
