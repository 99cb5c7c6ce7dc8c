/*
 * VMCS field encodings (Intel SDM Vol. 3D, Appendix B "Field Encoding in
 * VMCS"), named as in Linux KVM's enum vmcs_field so that code and SDM can be
 * read side by side. One field per line; every 64-bit field also has its
 * _HIGH encoding (encoding + 1), which VMREAD/VMWRITE use to reach bits 63:32
 * on their own (SDM 25.11.2).
 *
 * These are facts about the hardware, shared by L0's own VMCS accessors
 * (vmx/) and the vmcs12 emulation (nested/). Whether a field exists on a
 * given CPU is told by the VMX capability MSRs, not by this file.
 */
#ifndef TURTLE_VMX_VMCS_FIELDS_H
#define TURTLE_VMX_VMCS_FIELDS_H

#include "kernel/types.h"

/*
 * Structure of a field encoding (SDM 25.11.2, Table 25-21):
 *   bit  0      access type: 0 = full, 1 = high (bits 63:32 of a 64-bit field)
 *   bits 9:1    index
 *   bits 11:10  type: control, VM-exit information (read-only), guest, host
 *   bit  12     reserved, 0
 *   bits 14:13  width: 16-bit, 64-bit, 32-bit, natural
 *   bits 31:15  reserved, 0 (and bits 63:32 of a 64-bit register operand)
 */
#define VMCS_FIELD_IS_HIGH(enc)     ((u32)(enc) & 1u)
#define VMCS_FIELD_INDEX(enc)       (((u32)(enc) >> 1) & 0x1ffu)
#define VMCS_FIELD_TYPE(enc)        (((u32)(enc) >> 10) & 3u)
#define VMCS_FIELD_WIDTH(enc)       (((u32)(enc) >> 13) & 3u)
#define VMCS_FIELD_RESERVED_MASK    0xffff9000u     /* bit 12, bits 31:15 */

#define VMCS_FIELD_TYPE_CONTROL     0u
#define VMCS_FIELD_TYPE_RO_DATA     1u      /* VM-exit information */
#define VMCS_FIELD_TYPE_GUEST       2u
#define VMCS_FIELD_TYPE_HOST        3u

#define VMCS_FIELD_WIDTH_16         0u
#define VMCS_FIELD_WIDTH_64         1u
#define VMCS_FIELD_WIDTH_32         2u
#define VMCS_FIELD_WIDTH_NATURAL    3u

/* Build an encoding from its parts; the inverse of the accessors above. */
#define VMCS_FIELD_ENCODE(width, type, index, high) \
	((((u32)(width) & 3u) << 13) | (((u32)(type) & 3u) << 10) | \
	 (((u32)(index) & 0x1ffu) << 1) | ((u32)(high) & 1u))

/* --- 16-bit control fields (SDM B.1.1) --- */
#define VIRTUAL_PROCESSOR_ID                0x0000  /* VPID */
#define POSTED_INTR_NV                      0x0002  /* posted-interrupt notification vector */
#define EPTP_INDEX                          0x0004  /* #VE: EPTP index */
#define HLAT_PREFIX_SIZE                    0x0006  /* HLAT prefix size */
#define LAST_PID_POINTER_INDEX              0x0008  /* IPI virtualization */

/* --- 16-bit guest-state fields (SDM B.1.2) --- */
#define GUEST_ES_SELECTOR                   0x0800
#define GUEST_CS_SELECTOR                   0x0802
#define GUEST_SS_SELECTOR                   0x0804
#define GUEST_DS_SELECTOR                   0x0806
#define GUEST_FS_SELECTOR                   0x0808
#define GUEST_GS_SELECTOR                   0x080a
#define GUEST_LDTR_SELECTOR                 0x080c
#define GUEST_TR_SELECTOR                   0x080e
#define GUEST_INTR_STATUS                   0x0810  /* RVI (7:0), SVI (15:8) */
#define GUEST_PML_INDEX                     0x0812
#define GUEST_UINV                          0x0814  /* user-interrupt notification vector */

/* --- 16-bit host-state fields (SDM B.1.3) --- */
#define HOST_ES_SELECTOR                    0x0c00
#define HOST_CS_SELECTOR                    0x0c02
#define HOST_SS_SELECTOR                    0x0c04
#define HOST_DS_SELECTOR                    0x0c06
#define HOST_FS_SELECTOR                    0x0c08
#define HOST_GS_SELECTOR                    0x0c0a
#define HOST_TR_SELECTOR                    0x0c0c

/* --- 64-bit control fields (SDM B.2.1) --- */
#define IO_BITMAP_A                         0x2000
#define IO_BITMAP_A_HIGH                    0x2001
#define IO_BITMAP_B                         0x2002
#define IO_BITMAP_B_HIGH                    0x2003
#define MSR_BITMAP                          0x2004
#define MSR_BITMAP_HIGH                     0x2005
#define VM_EXIT_MSR_STORE_ADDR              0x2006
#define VM_EXIT_MSR_STORE_ADDR_HIGH         0x2007
#define VM_EXIT_MSR_LOAD_ADDR               0x2008
#define VM_EXIT_MSR_LOAD_ADDR_HIGH          0x2009
#define VM_ENTRY_MSR_LOAD_ADDR              0x200a
#define VM_ENTRY_MSR_LOAD_ADDR_HIGH         0x200b
#define EXECUTIVE_VMCS_POINTER              0x200c  /* dual-monitor SMM treatment */
#define EXECUTIVE_VMCS_POINTER_HIGH         0x200d
#define PML_ADDRESS                         0x200e
#define PML_ADDRESS_HIGH                    0x200f
#define TSC_OFFSET                          0x2010
#define TSC_OFFSET_HIGH                     0x2011
#define VIRTUAL_APIC_PAGE_ADDR              0x2012
#define VIRTUAL_APIC_PAGE_ADDR_HIGH         0x2013
#define APIC_ACCESS_ADDR                    0x2014
#define APIC_ACCESS_ADDR_HIGH               0x2015
#define POSTED_INTR_DESC_ADDR               0x2016
#define POSTED_INTR_DESC_ADDR_HIGH          0x2017
#define VM_FUNCTION_CONTROL                 0x2018
#define VM_FUNCTION_CONTROL_HIGH            0x2019
#define EPT_POINTER                         0x201a
#define EPT_POINTER_HIGH                    0x201b
#define EOI_EXIT_BITMAP0                    0x201c
#define EOI_EXIT_BITMAP0_HIGH               0x201d
#define EOI_EXIT_BITMAP1                    0x201e
#define EOI_EXIT_BITMAP1_HIGH               0x201f
#define EOI_EXIT_BITMAP2                    0x2020
#define EOI_EXIT_BITMAP2_HIGH               0x2021
#define EOI_EXIT_BITMAP3                    0x2022
#define EOI_EXIT_BITMAP3_HIGH               0x2023
#define EPTP_LIST_ADDRESS                   0x2024  /* VMFUNC 0: EPTP switching */
#define EPTP_LIST_ADDRESS_HIGH              0x2025
#define VMREAD_BITMAP                       0x2026  /* VMCS shadowing */
#define VMREAD_BITMAP_HIGH                  0x2027
#define VMWRITE_BITMAP                      0x2028
#define VMWRITE_BITMAP_HIGH                 0x2029
#define VE_INFORMATION_ADDRESS              0x202a  /* virtualization-exception information */
#define VE_INFORMATION_ADDRESS_HIGH         0x202b
#define XSS_EXIT_BITMAP                     0x202c
#define XSS_EXIT_BITMAP_HIGH                0x202d
#define ENCLS_EXITING_BITMAP                0x202e
#define ENCLS_EXITING_BITMAP_HIGH           0x202f
#define SPPT_POINTER                        0x2030  /* sub-page-permission-table pointer */
#define SPPT_POINTER_HIGH                   0x2031
#define TSC_MULTIPLIER                      0x2032
#define TSC_MULTIPLIER_HIGH                 0x2033
#define TERTIARY_VM_EXEC_CONTROL            0x2034
#define TERTIARY_VM_EXEC_CONTROL_HIGH       0x2035
#define ENCLV_EXITING_BITMAP                0x2036
#define ENCLV_EXITING_BITMAP_HIGH           0x2037
#define LOW_PASID_DIRECTORY                 0x2038
#define LOW_PASID_DIRECTORY_HIGH            0x2039
#define HIGH_PASID_DIRECTORY                0x203a
#define HIGH_PASID_DIRECTORY_HIGH           0x203b
#define SHARED_EPT_POINTER                  0x203c
#define SHARED_EPT_POINTER_HIGH             0x203d
#define PCONFIG_EXITING_BITMAP              0x203e
#define PCONFIG_EXITING_BITMAP_HIGH         0x203f
#define HLAT_POINTER                        0x2040  /* hypervisor-managed linear-address translation */
#define HLAT_POINTER_HIGH                   0x2041
#define PID_POINTER_TABLE                   0x2042  /* IPI virtualization */
#define PID_POINTER_TABLE_HIGH              0x2043
#define SECONDARY_VM_EXIT_CONTROLS          0x2044
#define SECONDARY_VM_EXIT_CONTROLS_HIGH     0x2045
#define IA32_SPEC_CTRL_MASK                 0x204a
#define IA32_SPEC_CTRL_MASK_HIGH            0x204b
#define IA32_SPEC_CTRL_SHADOW               0x204c
#define IA32_SPEC_CTRL_SHADOW_HIGH          0x204d

/* --- 64-bit read-only data field (SDM B.2.2) --- */
#define GUEST_PHYSICAL_ADDRESS              0x2400  /* EPT violation / misconfig */
#define GUEST_PHYSICAL_ADDRESS_HIGH         0x2401

/* --- 64-bit guest-state fields (SDM B.2.3) --- */
#define VMCS_LINK_POINTER                   0x2800
#define VMCS_LINK_POINTER_HIGH              0x2801
#define GUEST_IA32_DEBUGCTL                 0x2802
#define GUEST_IA32_DEBUGCTL_HIGH            0x2803
#define GUEST_IA32_PAT                      0x2804
#define GUEST_IA32_PAT_HIGH                 0x2805
#define GUEST_IA32_EFER                     0x2806
#define GUEST_IA32_EFER_HIGH                0x2807
#define GUEST_IA32_PERF_GLOBAL_CTRL         0x2808
#define GUEST_IA32_PERF_GLOBAL_CTRL_HIGH    0x2809
#define GUEST_PDPTR0                        0x280a
#define GUEST_PDPTR0_HIGH                   0x280b
#define GUEST_PDPTR1                        0x280c
#define GUEST_PDPTR1_HIGH                   0x280d
#define GUEST_PDPTR2                        0x280e
#define GUEST_PDPTR2_HIGH                   0x280f
#define GUEST_PDPTR3                        0x2810
#define GUEST_PDPTR3_HIGH                   0x2811
#define GUEST_BNDCFGS                       0x2812
#define GUEST_BNDCFGS_HIGH                  0x2813
#define GUEST_IA32_RTIT_CTL                 0x2814
#define GUEST_IA32_RTIT_CTL_HIGH            0x2815
#define GUEST_IA32_LBR_CTL                  0x2816
#define GUEST_IA32_LBR_CTL_HIGH             0x2817
#define GUEST_IA32_PKRS                     0x2818
#define GUEST_IA32_PKRS_HIGH                0x2819
#define GUEST_IA32_FRED_CONFIG              0x281a
#define GUEST_IA32_FRED_CONFIG_HIGH         0x281b
#define GUEST_IA32_FRED_RSP1                0x281c
#define GUEST_IA32_FRED_RSP1_HIGH           0x281d
#define GUEST_IA32_FRED_RSP2                0x281e
#define GUEST_IA32_FRED_RSP2_HIGH           0x281f
#define GUEST_IA32_FRED_RSP3                0x2820
#define GUEST_IA32_FRED_RSP3_HIGH           0x2821
#define GUEST_IA32_FRED_STKLVLS             0x2822
#define GUEST_IA32_FRED_STKLVLS_HIGH        0x2823
#define GUEST_IA32_FRED_SSP1                0x2824
#define GUEST_IA32_FRED_SSP1_HIGH           0x2825
#define GUEST_IA32_FRED_SSP2                0x2826
#define GUEST_IA32_FRED_SSP2_HIGH           0x2827
#define GUEST_IA32_FRED_SSP3                0x2828
#define GUEST_IA32_FRED_SSP3_HIGH           0x2829
#define GUEST_IA32_SPEC_CTRL                0x282e
#define GUEST_IA32_SPEC_CTRL_HIGH           0x282f

/* --- 64-bit host-state fields (SDM B.2.4) --- */
#define HOST_IA32_PAT                       0x2c00
#define HOST_IA32_PAT_HIGH                  0x2c01
#define HOST_IA32_EFER                      0x2c02
#define HOST_IA32_EFER_HIGH                 0x2c03
#define HOST_IA32_PERF_GLOBAL_CTRL          0x2c04
#define HOST_IA32_PERF_GLOBAL_CTRL_HIGH     0x2c05
#define HOST_IA32_PKRS                      0x2c06
#define HOST_IA32_PKRS_HIGH                 0x2c07
#define HOST_IA32_FRED_CONFIG               0x2c08
#define HOST_IA32_FRED_CONFIG_HIGH          0x2c09
#define HOST_IA32_FRED_RSP1                 0x2c0a
#define HOST_IA32_FRED_RSP1_HIGH            0x2c0b
#define HOST_IA32_FRED_RSP2                 0x2c0c
#define HOST_IA32_FRED_RSP2_HIGH            0x2c0d
#define HOST_IA32_FRED_RSP3                 0x2c0e
#define HOST_IA32_FRED_RSP3_HIGH            0x2c0f
#define HOST_IA32_FRED_STKLVLS              0x2c10
#define HOST_IA32_FRED_STKLVLS_HIGH         0x2c11
#define HOST_IA32_FRED_SSP1                 0x2c12
#define HOST_IA32_FRED_SSP1_HIGH            0x2c13
#define HOST_IA32_FRED_SSP2                 0x2c14
#define HOST_IA32_FRED_SSP2_HIGH            0x2c15
#define HOST_IA32_FRED_SSP3                 0x2c16
#define HOST_IA32_FRED_SSP3_HIGH            0x2c17
#define HOST_IA32_SPEC_CTRL                 0x2c1a
#define HOST_IA32_SPEC_CTRL_HIGH            0x2c1b

/* --- 32-bit control fields (SDM B.3.1) --- */
#define PIN_BASED_VM_EXEC_CONTROL           0x4000
#define CPU_BASED_VM_EXEC_CONTROL           0x4002  /* primary processor-based */
#define EXCEPTION_BITMAP                    0x4004
#define PAGE_FAULT_ERROR_CODE_MASK          0x4006
#define PAGE_FAULT_ERROR_CODE_MATCH         0x4008
#define CR3_TARGET_COUNT                    0x400a
#define VM_EXIT_CONTROLS                    0x400c  /* primary VM-exit controls */
#define VM_EXIT_MSR_STORE_COUNT             0x400e
#define VM_EXIT_MSR_LOAD_COUNT              0x4010
#define VM_ENTRY_CONTROLS                   0x4012
#define VM_ENTRY_MSR_LOAD_COUNT             0x4014
#define VM_ENTRY_INTR_INFO_FIELD            0x4016  /* event injection */
#define VM_ENTRY_EXCEPTION_ERROR_CODE       0x4018
#define VM_ENTRY_INSTRUCTION_LEN            0x401a
#define TPR_THRESHOLD                       0x401c
#define SECONDARY_VM_EXEC_CONTROL           0x401e
#define PLE_GAP                             0x4020  /* PAUSE-loop exiting */
#define PLE_WINDOW                          0x4022
#define NOTIFY_WINDOW                       0x4024  /* instruction-timeout control */

/* --- 32-bit read-only data fields (SDM B.3.2) --- */
#define VM_INSTRUCTION_ERROR                0x4400
#define VM_EXIT_REASON                      0x4402
#define VM_EXIT_INTR_INFO                   0x4404
#define VM_EXIT_INTR_ERROR_CODE             0x4406
#define IDT_VECTORING_INFO_FIELD            0x4408
#define IDT_VECTORING_ERROR_CODE            0x440a
#define VM_EXIT_INSTRUCTION_LEN             0x440c
#define VMX_INSTRUCTION_INFO                0x440e

/* --- 32-bit guest-state fields (SDM B.3.3) --- */
#define GUEST_ES_LIMIT                      0x4800
#define GUEST_CS_LIMIT                      0x4802
#define GUEST_SS_LIMIT                      0x4804
#define GUEST_DS_LIMIT                      0x4806
#define GUEST_FS_LIMIT                      0x4808
#define GUEST_GS_LIMIT                      0x480a
#define GUEST_LDTR_LIMIT                    0x480c
#define GUEST_TR_LIMIT                      0x480e
#define GUEST_GDTR_LIMIT                    0x4810
#define GUEST_IDTR_LIMIT                    0x4812
#define GUEST_ES_AR_BYTES                   0x4814  /* access rights */
#define GUEST_CS_AR_BYTES                   0x4816
#define GUEST_SS_AR_BYTES                   0x4818
#define GUEST_DS_AR_BYTES                   0x481a
#define GUEST_FS_AR_BYTES                   0x481c
#define GUEST_GS_AR_BYTES                   0x481e
#define GUEST_LDTR_AR_BYTES                 0x4820
#define GUEST_TR_AR_BYTES                   0x4822
#define GUEST_INTERRUPTIBILITY_INFO         0x4824
#define GUEST_ACTIVITY_STATE                0x4826
#define GUEST_SMBASE                        0x4828
#define GUEST_SYSENTER_CS                   0x482a
#define VMX_PREEMPTION_TIMER_VALUE          0x482e

/* --- 32-bit host-state field (SDM B.3.4) --- */
#define HOST_IA32_SYSENTER_CS               0x4c00

/* --- Natural-width control fields (SDM B.4.1) --- */
#define CR0_GUEST_HOST_MASK                 0x6000
#define CR4_GUEST_HOST_MASK                 0x6002
#define CR0_READ_SHADOW                     0x6004
#define CR4_READ_SHADOW                     0x6006
#define CR3_TARGET_VALUE0                   0x6008
#define CR3_TARGET_VALUE1                   0x600a
#define CR3_TARGET_VALUE2                   0x600c
#define CR3_TARGET_VALUE3                   0x600e

/* --- Natural-width read-only data fields (SDM B.4.2) --- */
#define EXIT_QUALIFICATION                  0x6400
#define IO_RCX                              0x6402  /* SMIs after I/O instructions */
#define IO_RSI                              0x6404
#define IO_RDI                              0x6406
#define IO_RIP                              0x6408
#define GUEST_LINEAR_ADDRESS                0x640a

/* --- Natural-width guest-state fields (SDM B.4.3) --- */
#define GUEST_CR0                           0x6800
#define GUEST_CR3                           0x6802
#define GUEST_CR4                           0x6804
#define GUEST_ES_BASE                       0x6806
#define GUEST_CS_BASE                       0x6808
#define GUEST_SS_BASE                       0x680a
#define GUEST_DS_BASE                       0x680c
#define GUEST_FS_BASE                       0x680e
#define GUEST_GS_BASE                       0x6810
#define GUEST_LDTR_BASE                     0x6812
#define GUEST_TR_BASE                       0x6814
#define GUEST_GDTR_BASE                     0x6816
#define GUEST_IDTR_BASE                     0x6818
#define GUEST_DR7                           0x681a
#define GUEST_RSP                           0x681c
#define GUEST_RIP                           0x681e
#define GUEST_RFLAGS                        0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS        0x6822
#define GUEST_SYSENTER_ESP                  0x6824
#define GUEST_SYSENTER_EIP                  0x6826
#define GUEST_S_CET                         0x6828
#define GUEST_SSP                           0x682a
#define GUEST_INTR_SSP_TABLE                0x682c

/* --- Natural-width host-state fields (SDM B.4.4) --- */
#define HOST_CR0                            0x6c00
#define HOST_CR3                            0x6c02
#define HOST_CR4                            0x6c04
#define HOST_FS_BASE                        0x6c06
#define HOST_GS_BASE                        0x6c08
#define HOST_TR_BASE                        0x6c0a
#define HOST_GDTR_BASE                      0x6c0c
#define HOST_IDTR_BASE                      0x6c0e
#define HOST_IA32_SYSENTER_ESP              0x6c10
#define HOST_IA32_SYSENTER_EIP              0x6c12
#define HOST_RSP                            0x6c14
#define HOST_RIP                            0x6c16
#define HOST_S_CET                          0x6c18
#define HOST_SSP                            0x6c1a
#define HOST_INTR_SSP_TABLE                 0x6c1c

#endif
