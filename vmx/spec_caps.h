/*
 * The speculation-control and microcode-signature MSRs of this CPU,
 * probed once at boot (SDM Vol. 4 Table 2-2; Intel's "Speculative
 * Execution Side Channel Mitigations"). turtle shows a guest the ones the
 * CPU really has, and emulates them (vmx/exit_msr_spec.c); CPUID leaf 7
 * EDX shows exactly those (vmx/exit_cpuid.c).
 */
#ifndef TURTLE_SPEC_CAPS_H
#define TURTLE_SPEC_CAPS_H

#include "kernel/types.h"

#define MSR_IA32_SPEC_CTRL          0x00000048
#define SPEC_CTRL_IBRS              BIT(0)
#define SPEC_CTRL_STIBP             BIT(1)
#define SPEC_CTRL_SSBD              BIT(2)
#define MSR_IA32_PRED_CMD           0x00000049
#define PRED_CMD_IBPB               BIT(0)
#define MSR_IA32_BIOS_SIGN_ID       0x0000008b  /* microcode signature in bits 63:32 */
#define MSR_IA32_ARCH_CAPABILITIES  0x0000010a
/* The ARCH_CAPABILITIES bits that describe the CPU, which a guest is shown:
 * bits 0-6 RDCL_NO, IBRS_ALL, RSBA, SKIP_L1DFL_VMENTRY, SSB_NO, MDS_NO,
 * IF_PSCHANGE_MC_NO; 8 TAA_NO; 13-15 SBDR_SSDP_NO, FBSDP_NO, PSDP_NO;
 * 17 FB_CLEAR; 19 RRSBA; 20 BHI_NO; 24 PBRSB_NO; 26 GDS_NO; 27 RFDS_NO.
 * Not the bits that announce another MSR turtle does not emulate
 * (7 TSX_CTRL, 9 MCU_CONTROL, 10 MISC_PACKAGE_CTLS, 11 ENERGY_FILTERING_CTL,
 * 12 DOITM, 18 FB_CLEAR_CTRL, 21 XAPIC_DISABLE, ...). */
#define ARCH_CAP_DESCRIBES_CPU      (0x7fULL | BIT(8) | BIT(13) | BIT(14) | BIT(15) | BIT(17) | BIT(19) | \
                                     BIT(20) | BIT(24) | BIT(26) | BIT(27))
#define MSR_IA32_FLUSH_CMD          0x0000010b
#define FLUSH_CMD_L1D               BIT(0)

struct spec_caps {
    u64 spec_ctrl_bits;         /* IA32_SPEC_CTRL bits this CPU takes (0: no such MSR) */
    bool has_pred_cmd;          /* IA32_PRED_CMD takes IBPB */
    bool has_flush_cmd;         /* IA32_FLUSH_CMD takes L1D_FLUSH */
    bool has_arch_cap;
    u64 arch_cap;               /* IA32_ARCH_CAPABILITIES as read */
    u64 bios_sign_id;           /* IA32_BIOS_SIGN_ID after CPUID.1 (0 if absent) */
};

extern struct spec_caps spec_caps;

/* Probes the MSRs (boot CPU, before any guest runs) and prints one line. */
void spec_caps_probe(void);

#endif
