/*
 * vmx_suite: the parts of the suite (one file per area) and the reporting
 * helpers they share. See vmx_suite.c for the whole picture.
 */
#ifndef GUEST_VMX_SUITE_H
#define GUEST_VMX_SUITE_H

#include "lib/vmx.h"

/* An address in no guest's RAM on any test platform, inside the 4 GiB the
 * library maps and below every physical-address width (bare Bochs: reads
 * as all ones). */
#define ADDR_BEYOND_RAM         0xc0000000ull

/* vmx_suite_instr.c */
void caps_tests(void);                  /* before VMXON */
void outside_vmx_tests(void);           /* CR4.VMXE = 0, then 1, no VMXON yet */
void vmxon_tests(void);                 /* leaves L1 in VMX root operation */
extern const struct vmx_test instr_tests[];
extern const size_t n_instr_tests;

/* vmx_suite_launch.c */
extern const struct vmx_test launch_tests[];
extern const size_t n_launch_tests;
#define ENTRY_FAIL_GUEST        (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE)
/* An L2 that returns at once (VMCALL VMX_L2_DONE). */
void l2_returns(void);
/* The default VMCS for l2_empty, as `breakit` leaves it, launched once. */
void launch_broken(void (*breakit)(void), struct vmx_exit *e);
/* ... and that launch must fail with VMfailValid(error) / exit with reason and qual. */
void expect_broken_vmfail(void (*breakit)(void), u32 error, const char *name);
void expect_broken_entry_failure(void (*breakit)(void), u32 reason, u64 qual, const char *name);

/* vmx_suite_checks.c: the SDM's VM-entry rules, rule by rule (docs/nested.md). */
extern const struct vmx_test check_tests[];
extern const size_t n_check_tests;

/* vmx_suite_exits.c */
extern const struct vmx_test exit_tests[];
extern const size_t n_exit_tests;
extern u64 exit_seen[8];                /* what the L2 functions of exit_tests[] report back */
/* Is this exit `reason`? If not, reports FAIL with the exit's details. */
bool exit_is(const char *test, const struct vmx_exit *e, u32 reason);
/* The usual last exit: L2 returned (VMCALL VMX_L2_DONE); else a FAIL. Returns VMX_STOP. */
enum vmx_action expect_done(const char *test, const struct vmx_exit *e);

/* vmx_suite_exits_misc.c: MONITOR/MWAIT, RDRAND/RDSEED, CR8 and NMI exiting */
extern const struct vmx_test exit_misc_tests[];
extern const size_t n_exit_misc_tests;

/* vmx_suite_exits_access.c, vmx_suite_exits_state.c: the functions of their
 * exit_tests[] entries (supported, init, L2, exit handler), in table order. */
bool has_cr3_exiting(void), cr3_exiting_optional(void), has_uncond_io(void), has_io_bitmaps(void),
     has_msr_bitmaps(void), msr_bitmaps_optional(void), has_efer_save(void), has_debug_controls(void),
     debug_load_optional(void);
void init_cr3(void), init_no_cr3(void), init_cr0(void), init_cr4(void), init_io_uncond(void),
     init_io_bitmap(void), init_msr_bitmap(void), init_no_msr_bitmap(void), init_state(void),
     init_msr_gp_intercept(void), l2_rdmsr_absent(void),
     init_msr_lists(void), init_efer(void), init_dr7_load(void), init_dr7_keep(void);
void l2_cr3(void), l2_cr0(void), l2_cr4(void), l2_io_uncond(void), l2_io_bitmap(void), l2_msr_bitmap(void),
     l2_rdmsr_esp(void), l2_state_guest(void) /* lib/vmx_stub.asm */, l2_msr_lists(void), l2_efer(void),
     l2_dr7(void);
enum vmx_action cr3_exit(struct vmx_exit *e), no_cr3_exit(struct vmx_exit *e), cr0_exit(struct vmx_exit *e),
                cr4_exit(struct vmx_exit *e), io_uncond_exit(struct vmx_exit *e),
                io_bitmap_exit(struct vmx_exit *e), msr_bitmap_exit(struct vmx_exit *e),
                no_msr_bitmap_exit(struct vmx_exit *e), state_exit(struct vmx_exit *e),
                msr_gp_intercept_exit(struct vmx_exit *e),
                msr_lists_exit(struct vmx_exit *e), efer_exit(struct vmx_exit *e),
                dr7_load_exit(struct vmx_exit *e), dr7_keep_exit(struct vmx_exit *e);

/* vmx_suite_events.c */
extern const struct vmx_test event_tests[];
extern const size_t n_event_tests;

/* vmx_suite_nmi.c */
extern const struct vmx_test nmi_tests[];
extern const size_t n_nmi_tests;

/* vmx_suite_apicv.c */
extern const struct vmx_test apicv_tests[];
extern const size_t n_apicv_tests;
void turtle_apicv_tests(void);

/* vmx_suite_shadow.c */
extern const struct vmx_test shadow_tests[];
extern const size_t n_shadow_tests;

/* vmx_suite_ept.c */
extern const struct vmx_test ept_tests[];
extern const size_t n_ept_tests;
void turtle_ept_tests(u64 mem_top);

/* vmx_suite_vpid.c: INVVPID and a new VPID against L2's cached translations */
extern const struct vmx_test vpid_tests[];
extern const size_t n_vpid_tests;

/* vmx_suite_vmfunc.c: VMFUNC EPTP switching */
extern const struct vmx_test vmfunc_tests[];
extern const size_t n_vmfunc_tests;

/* vmx_suite_ept_ad.c */
extern const struct vmx_test ept_ad_tests[];
extern const size_t n_ept_ad_tests;

/* Reporting: each prints PASS/FAIL for name and details when it fails. */
bool expect_ok(int status, const char *name);
bool expect_fail_invalid(int status, const char *name);
bool expect_fail_valid(int status, u32 error, const char *name);
bool expect_vector(int vector, int want, const char *name);

/* A second VMCS page besides the runner's, initialised (revision, VMCLEARed). */
u64 scratch_vmcs(void);
/* The runner's test VMCS made current (VMCLEAR + VMPTRLD), no L2 state. */
void load_clean_vmcs(u64 pa);
/* VMPTRST, or 0 if VMPTRST itself failed. */
u64 current_vmcs(void);

#endif
