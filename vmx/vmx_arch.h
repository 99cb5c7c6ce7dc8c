/*
 * Architectural VT-x constants other than VMCS field encodings (those are in
 * vmx/vmcs_fields.h): VMX capability MSRs, VM-execution/exit/entry control
 * bits, basic exit reasons, VM-instruction error numbers, event-information
 * formats, activity states and EPT formats. Names follow the SDM, spelled as
 * Linux KVM spells them where KVM has a name.
 *
 * 32-bit control fields use VMX_BIT32() so that ~X stays a 32-bit value when
 * it is and-ed into a u32; 64-bit fields and MSR bits use BIT().
 */
#ifndef TURTLE_VMX_VMX_ARCH_H
#define TURTLE_VMX_VMX_ARCH_H

#include "kernel/types.h"

#define VMX_BIT32(n)                        (1u << (n))

/* --- VMX MSRs (SDM Vol. 4 Table 2-2; formats in SDM Vol. 3D Appendix A) --- */
#define IA32_FEATURE_CONTROL                0x03a
#define IA32_VMX_BASIC                      0x480
#define IA32_VMX_PINBASED_CTLS              0x481
#define IA32_VMX_PROCBASED_CTLS             0x482
#define IA32_VMX_EXIT_CTLS                  0x483
#define IA32_VMX_ENTRY_CTLS                 0x484
#define IA32_VMX_MISC                       0x485
#define IA32_VMX_CR0_FIXED0                 0x486
#define IA32_VMX_CR0_FIXED1                 0x487
#define IA32_VMX_CR4_FIXED0                 0x488
#define IA32_VMX_CR4_FIXED1                 0x489
#define IA32_VMX_VMCS_ENUM                  0x48a
#define IA32_VMX_PROCBASED_CTLS2            0x48b
#define IA32_VMX_EPT_VPID_CAP               0x48c
#define IA32_VMX_TRUE_PINBASED_CTLS         0x48d
#define IA32_VMX_TRUE_PROCBASED_CTLS        0x48e
#define IA32_VMX_TRUE_EXIT_CTLS             0x48f
#define IA32_VMX_TRUE_ENTRY_CTLS            0x490
#define IA32_VMX_VMFUNC                     0x491
#define IA32_VMX_PROCBASED_CTLS3            0x492
#define IA32_VMX_EXIT_CTLS2                 0x493

/* IA32_FEATURE_CONTROL (SDM 24.7 "Enabling and Entering VMX Operation") */
#define FEAT_CTL_LOCKED                     BIT(0)
#define FEAT_CTL_VMX_ENABLED_INSIDE_SMX     BIT(1)
#define FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX    BIT(2)

/* IA32_VMX_BASIC (SDM A.1) */
#define VMX_BASIC_REVISION_MASK             0x7fffffffULL   /* bits 30:0 */
#define VMX_BASIC_VMCS_SIZE_SHIFT           32              /* bits 44:32, bytes */
#define VMX_BASIC_VMCS_SIZE_MASK            (0x1fffULL << VMX_BASIC_VMCS_SIZE_SHIFT)
#define VMX_BASIC_32BIT_PHYS_ADDR_ONLY      BIT(48)
#define VMX_BASIC_DUAL_MONITOR_TREATMENT    BIT(49)
#define VMX_BASIC_MEM_TYPE_SHIFT            50              /* bits 53:50 */
#define VMX_BASIC_MEM_TYPE_MASK             (0xfULL << VMX_BASIC_MEM_TYPE_SHIFT)
#define VMX_BASIC_INOUT                     BIT(54)         /* INS/OUTS exit info */
#define VMX_BASIC_TRUE_CTLS                 BIT(55)         /* IA32_VMX_TRUE_*_CTLS exist */
#define VMX_BASIC_NO_HW_ERRCODE_CC          BIT(56)         /* any vector may carry an error code */

/* IA32_VMX_MISC (SDM A.6) */
#define VMX_MISC_PREEMPTION_TIMER_RATE_MASK 0x1fULL         /* timer ticks every 2^N TSC */
#define VMX_MISC_SAVE_EFER_LMA              BIT(5)
#define VMX_MISC_ACTIVITY_HLT               BIT(6)
#define VMX_MISC_ACTIVITY_SHUTDOWN          BIT(7)
#define VMX_MISC_ACTIVITY_WAIT_SIPI         BIT(8)
#define VMX_MISC_INTEL_PT                   BIT(14)
#define VMX_MISC_RDMSR_IN_SMM               BIT(15)
#define VMX_MISC_CR3_COUNT_SHIFT            16              /* bits 24:16 */
#define VMX_MISC_CR3_COUNT_MASK             (0x1ffULL << VMX_MISC_CR3_COUNT_SHIFT)
#define VMX_MISC_MSR_LIST_SHIFT             25              /* bits 27:25: 512*(N+1) */
#define VMX_MISC_MSR_LIST_MASK              (0x7ULL << VMX_MISC_MSR_LIST_SHIFT)
#define VMX_MISC_VMXOFF_BLOCK_SMI           BIT(28)
#define VMX_MISC_VMWRITE_SHADOW_RO_FIELDS   BIT(29)         /* VMWRITE to any field */
#define VMX_MISC_ZERO_LEN_INS               BIT(30)         /* inject with length 0 */
#define VMX_MISC_MSEG_REVISION_SHIFT        32

/* IA32_VMX_VMCS_ENUM (SDM A.9): highest index (bits 9:1) of any field */
#define VMCS_ENUM_MAX_INDEX_SHIFT           1
#define VMCS_ENUM_MAX_INDEX_MASK            (0x1ffULL << VMCS_ENUM_MAX_INDEX_SHIFT)

/* IA32_VMX_EPT_VPID_CAP (SDM A.10) */
#define VMX_EPT_EXECUTE_ONLY_BIT            BIT(0)
#define VMX_EPT_PAGE_WALK_4_BIT             BIT(6)
#define VMX_EPT_PAGE_WALK_5_BIT             BIT(7)
#define VMX_EPTP_UC_BIT                     BIT(8)
#define VMX_EPTP_WB_BIT                     BIT(14)
#define VMX_EPT_2MB_PAGE_BIT                BIT(16)
#define VMX_EPT_1GB_PAGE_BIT                BIT(17)
#define VMX_EPT_INVEPT_BIT                  BIT(20)
#define VMX_EPT_AD_BIT                      BIT(21)
#define VMX_EPT_ADVANCED_EXIT_INFO_BIT      BIT(22)
#define VMX_EPT_SSS_BIT                     BIT(23)         /* supervisor shadow-stack control */
#define VMX_EPT_EXTENT_CONTEXT_BIT          BIT(25)         /* single-context INVEPT */
#define VMX_EPT_EXTENT_GLOBAL_BIT           BIT(26)         /* all-context INVEPT */
#define VMX_VPID_INVVPID_BIT                BIT(32)
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT BIT(40)
#define VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT  BIT(41)
#define VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT  BIT(42)
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL_BIT BIT(43)

/* VM-function controls (SDM 25.6.14) and IA32_VMX_VMFUNC */
#define VMX_VMFUNC_EPTP_SWITCHING           BIT(0)

/* --- Pin-based VM-execution controls (SDM 25.6.1, Table 25-5) --- */
#define PIN_BASED_EXT_INTR_MASK             VMX_BIT32(0)    /* external-interrupt exiting */
#define PIN_BASED_NMI_EXITING               VMX_BIT32(3)
#define PIN_BASED_VIRTUAL_NMIS              VMX_BIT32(5)
#define PIN_BASED_VMX_PREEMPTION_TIMER      VMX_BIT32(6)
#define PIN_BASED_POSTED_INTR               VMX_BIT32(7)

/* --- Primary processor-based VM-execution controls (SDM 25.6.2, Table 25-6) --- */
#define CPU_BASED_INTR_WINDOW_EXITING       VMX_BIT32(2)
#define CPU_BASED_USE_TSC_OFFSETTING        VMX_BIT32(3)
#define CPU_BASED_HLT_EXITING               VMX_BIT32(7)
#define CPU_BASED_INVLPG_EXITING            VMX_BIT32(9)
#define CPU_BASED_MWAIT_EXITING             VMX_BIT32(10)
#define CPU_BASED_RDPMC_EXITING             VMX_BIT32(11)
#define CPU_BASED_RDTSC_EXITING             VMX_BIT32(12)
#define CPU_BASED_CR3_LOAD_EXITING          VMX_BIT32(15)
#define CPU_BASED_CR3_STORE_EXITING         VMX_BIT32(16)
#define CPU_BASED_ACTIVATE_TERTIARY_CONTROLS VMX_BIT32(17)
#define CPU_BASED_CR8_LOAD_EXITING          VMX_BIT32(19)
#define CPU_BASED_CR8_STORE_EXITING         VMX_BIT32(20)
#define CPU_BASED_TPR_SHADOW                VMX_BIT32(21)
#define CPU_BASED_NMI_WINDOW_EXITING        VMX_BIT32(22)
#define CPU_BASED_MOV_DR_EXITING            VMX_BIT32(23)
#define CPU_BASED_UNCOND_IO_EXITING         VMX_BIT32(24)
#define CPU_BASED_USE_IO_BITMAPS            VMX_BIT32(25)
#define CPU_BASED_MONITOR_TRAP_FLAG         VMX_BIT32(27)
#define CPU_BASED_USE_MSR_BITMAPS           VMX_BIT32(28)
#define CPU_BASED_MONITOR_EXITING           VMX_BIT32(29)
#define CPU_BASED_PAUSE_EXITING             VMX_BIT32(30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS VMX_BIT32(31)

/* --- Secondary processor-based VM-execution controls (SDM 25.6.2, Table 25-7) --- */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES VMX_BIT32(0)
#define SECONDARY_EXEC_ENABLE_EPT           VMX_BIT32(1)
#define SECONDARY_EXEC_DESC                 VMX_BIT32(2)    /* descriptor-table exiting */
#define SECONDARY_EXEC_ENABLE_RDTSCP        VMX_BIT32(3)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE VMX_BIT32(4)
#define SECONDARY_EXEC_ENABLE_VPID          VMX_BIT32(5)
#define SECONDARY_EXEC_WBINVD_EXITING       VMX_BIT32(6)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST   VMX_BIT32(7)
#define SECONDARY_EXEC_APIC_REGISTER_VIRT   VMX_BIT32(8)
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY VMX_BIT32(9)
#define SECONDARY_EXEC_PAUSE_LOOP_EXITING   VMX_BIT32(10)
#define SECONDARY_EXEC_RDRAND_EXITING       VMX_BIT32(11)
#define SECONDARY_EXEC_ENABLE_INVPCID       VMX_BIT32(12)
#define SECONDARY_EXEC_ENABLE_VMFUNC        VMX_BIT32(13)
#define SECONDARY_EXEC_SHADOW_VMCS          VMX_BIT32(14)
#define SECONDARY_EXEC_ENCLS_EXITING        VMX_BIT32(15)
#define SECONDARY_EXEC_RDSEED_EXITING       VMX_BIT32(16)
#define SECONDARY_EXEC_ENABLE_PML           VMX_BIT32(17)
#define SECONDARY_EXEC_EPT_VIOLATION_VE     VMX_BIT32(18)
#define SECONDARY_EXEC_PT_CONCEAL_VMX       VMX_BIT32(19)
#define SECONDARY_EXEC_ENABLE_XSAVES        VMX_BIT32(20)
#define SECONDARY_EXEC_MODE_BASED_EPT_EXEC  VMX_BIT32(22)
#define SECONDARY_EXEC_ENABLE_SPP           VMX_BIT32(23)   /* sub-page write permissions */
#define SECONDARY_EXEC_PT_USE_GPA           VMX_BIT32(24)
#define SECONDARY_EXEC_TSC_SCALING          VMX_BIT32(25)
#define SECONDARY_EXEC_ENABLE_USR_WAIT_PAUSE VMX_BIT32(26)
#define SECONDARY_EXEC_ENABLE_PCONFIG       VMX_BIT32(27)
#define SECONDARY_EXEC_ENCLV_EXITING        VMX_BIT32(28)
#define SECONDARY_EXEC_BUS_LOCK_DETECTION   VMX_BIT32(30)
#define SECONDARY_EXEC_NOTIFY_VM_EXITING    VMX_BIT32(31)   /* instruction timeout */

/* --- Tertiary processor-based VM-execution controls, 64-bit (SDM 25.6.2, Table 25-8) --- */
#define TERTIARY_EXEC_LOADIWKEY_EXITING     BIT(0)
#define TERTIARY_EXEC_ENABLE_HLAT           BIT(1)
#define TERTIARY_EXEC_EPT_PAGING_WRITE      BIT(2)
#define TERTIARY_EXEC_GUEST_PAGING_VERIFY   BIT(3)
#define TERTIARY_EXEC_IPI_VIRT              BIT(4)
#define TERTIARY_EXEC_ENABLE_MSRLIST        BIT(6)
#define TERTIARY_EXEC_VIRT_SPEC_CTRL        BIT(7)

/* --- Primary VM-exit controls (SDM 25.7.1, Table 25-13) --- */
#define VM_EXIT_SAVE_DEBUG_CONTROLS         VMX_BIT32(2)
#define VM_EXIT_HOST_ADDR_SPACE_SIZE        VMX_BIT32(9)    /* host is 64-bit */
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL  VMX_BIT32(12)
#define VM_EXIT_ACK_INTR_ON_EXIT            VMX_BIT32(15)
#define VM_EXIT_SAVE_IA32_PAT               VMX_BIT32(18)
#define VM_EXIT_LOAD_IA32_PAT               VMX_BIT32(19)
#define VM_EXIT_SAVE_IA32_EFER              VMX_BIT32(20)
#define VM_EXIT_LOAD_IA32_EFER              VMX_BIT32(21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER   VMX_BIT32(22)
#define VM_EXIT_CLEAR_BNDCFGS               VMX_BIT32(23)
#define VM_EXIT_PT_CONCEAL_PIP              VMX_BIT32(24)
#define VM_EXIT_CLEAR_IA32_RTIT_CTL         VMX_BIT32(25)
#define VM_EXIT_CLEAR_IA32_LBR_CTL          VMX_BIT32(26)
#define VM_EXIT_CLEAR_UINV                  VMX_BIT32(27)
#define VM_EXIT_LOAD_CET_STATE              VMX_BIT32(28)
#define VM_EXIT_LOAD_IA32_PKRS              VMX_BIT32(29)
#define VM_EXIT_SAVE_IA32_PERF_GLOBAL_CTRL  VMX_BIT32(30)
#define VM_EXIT_ACTIVATE_SECONDARY_CONTROLS VMX_BIT32(31)

/* --- Secondary VM-exit controls, 64-bit (SDM 25.7.1, Table 25-14) --- */
#define SECONDARY_VM_EXIT_SAVE_IA32_FRED    BIT(0)
#define SECONDARY_VM_EXIT_LOAD_IA32_FRED    BIT(1)

/* --- VM-entry controls (SDM 25.8.1, Table 25-15) --- */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS        VMX_BIT32(2)
#define VM_ENTRY_IA32E_MODE                 VMX_BIT32(9)
#define VM_ENTRY_SMM                        VMX_BIT32(10)
#define VM_ENTRY_DEACT_DUAL_MONITOR         VMX_BIT32(11)
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL VMX_BIT32(13)
#define VM_ENTRY_LOAD_IA32_PAT              VMX_BIT32(14)
#define VM_ENTRY_LOAD_IA32_EFER             VMX_BIT32(15)
#define VM_ENTRY_LOAD_BNDCFGS               VMX_BIT32(16)
#define VM_ENTRY_PT_CONCEAL_PIP             VMX_BIT32(17)
#define VM_ENTRY_LOAD_IA32_RTIT_CTL         VMX_BIT32(18)
#define VM_ENTRY_LOAD_UINV                  VMX_BIT32(19)
#define VM_ENTRY_LOAD_CET_STATE             VMX_BIT32(20)
#define VM_ENTRY_LOAD_IA32_LBR_CTL          VMX_BIT32(21)
#define VM_ENTRY_LOAD_IA32_PKRS             VMX_BIT32(22)
#define VM_ENTRY_LOAD_IA32_FRED             VMX_BIT32(23)

/*
 * "Default1" controls (SDM A.2): bits that must be 1 when the capability MSR
 * has no TRUE_ variant (IA32_VMX_BASIC bit 55 clear).
 */
#define PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR 0x00000016u
#define CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR 0x0401e172u
#define VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR   0x00036dffu
#define VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR  0x000011ffu

/* --- Exit reason field (SDM 25.9.1, Table 25-18) --- */
#define VMX_EXIT_REASON_BASIC_MASK          0xffffu         /* bits 15:0 */
#define VMX_EXIT_REASONS_SGX_ENCLAVE_MODE   VMX_BIT32(27)
#define VMX_EXIT_REASONS_PENDING_MTF        VMX_BIT32(28)
#define VMX_EXIT_REASONS_FROM_VMX_ROOT      VMX_BIT32(29)
#define VMX_EXIT_REASONS_FAILED_VMENTRY     VMX_BIT32(31)

/* --- Basic exit reasons (SDM Vol. 3D Appendix C, Table C-1) --- */
#define EXIT_REASON_EXCEPTION_NMI           0
#define EXIT_REASON_EXTERNAL_INTERRUPT      1
#define EXIT_REASON_TRIPLE_FAULT            2
#define EXIT_REASON_INIT_SIGNAL             3
#define EXIT_REASON_SIPI_SIGNAL             4
#define EXIT_REASON_IO_SMI                  5
#define EXIT_REASON_OTHER_SMI               6
#define EXIT_REASON_INTERRUPT_WINDOW        7
#define EXIT_REASON_NMI_WINDOW              8
#define EXIT_REASON_TASK_SWITCH             9
#define EXIT_REASON_CPUID                   10
#define EXIT_REASON_GETSEC                  11
#define EXIT_REASON_HLT                     12
#define EXIT_REASON_INVD                    13
#define EXIT_REASON_INVLPG                  14
#define EXIT_REASON_RDPMC                   15
#define EXIT_REASON_RDTSC                   16
#define EXIT_REASON_RSM                     17
#define EXIT_REASON_VMCALL                  18
#define EXIT_REASON_VMCLEAR                 19
#define EXIT_REASON_VMLAUNCH                20
#define EXIT_REASON_VMPTRLD                 21
#define EXIT_REASON_VMPTRST                 22
#define EXIT_REASON_VMREAD                  23
#define EXIT_REASON_VMRESUME                24
#define EXIT_REASON_VMWRITE                 25
#define EXIT_REASON_VMOFF                   26      /* VMXOFF */
#define EXIT_REASON_VMON                    27      /* VMXON */
#define EXIT_REASON_CR_ACCESS               28
#define EXIT_REASON_DR_ACCESS               29
#define EXIT_REASON_IO_INSTRUCTION          30
#define EXIT_REASON_MSR_READ                31
#define EXIT_REASON_MSR_WRITE               32
#define EXIT_REASON_INVALID_STATE           33      /* entry failure: guest state */
#define EXIT_REASON_MSR_LOAD_FAIL           34      /* entry failure: MSR loading */
#define EXIT_REASON_MWAIT_INSTRUCTION       36
#define EXIT_REASON_MONITOR_TRAP_FLAG       37
#define EXIT_REASON_MONITOR_INSTRUCTION     39
#define EXIT_REASON_PAUSE_INSTRUCTION       40
#define EXIT_REASON_MCE_DURING_VMENTRY      41      /* entry failure: machine check */
#define EXIT_REASON_TPR_BELOW_THRESHOLD     43
#define EXIT_REASON_APIC_ACCESS             44
#define EXIT_REASON_EOI_INDUCED             45      /* virtualized EOI */
#define EXIT_REASON_GDTR_IDTR               46
#define EXIT_REASON_LDTR_TR                 47
#define EXIT_REASON_EPT_VIOLATION           48
#define EXIT_REASON_EPT_MISCONFIG           49
#define EXIT_REASON_INVEPT                  50
#define EXIT_REASON_RDTSCP                  51
#define EXIT_REASON_PREEMPTION_TIMER        52
#define EXIT_REASON_INVVPID                 53
#define EXIT_REASON_WBINVD                  54
#define EXIT_REASON_XSETBV                  55
#define EXIT_REASON_APIC_WRITE              56
#define EXIT_REASON_RDRAND                  57
#define EXIT_REASON_INVPCID                 58
#define EXIT_REASON_VMFUNC                  59
#define EXIT_REASON_ENCLS                   60
#define EXIT_REASON_RDSEED                  61
#define EXIT_REASON_PML_FULL                62
#define EXIT_REASON_XSAVES                  63
#define EXIT_REASON_XRSTORS                 64
#define EXIT_REASON_PCONFIG                 65
#define EXIT_REASON_SPP                     66      /* SPP-related event */
#define EXIT_REASON_UMWAIT                  67
#define EXIT_REASON_TPAUSE                  68
#define EXIT_REASON_LOADIWKEY               69
#define EXIT_REASON_ENCLV                   70
#define EXIT_REASON_ENQCMD_PASID            72
#define EXIT_REASON_ENQCMDS_PASID           73
#define EXIT_REASON_BUS_LOCK                74
#define EXIT_REASON_NOTIFY                  75      /* instruction timeout */
#define EXIT_REASON_SEAMCALL                76
#define EXIT_REASON_TDCALL                  77
#define EXIT_REASON_RDMSRLIST               78
#define EXIT_REASON_WRMSRLIST               79
#define EXIT_REASON_URDMSR                  80
#define EXIT_REASON_UWRMSR                  81
#define EXIT_REASON_MSR_READ_IMM            84      /* RDMSR with immediate */
#define EXIT_REASON_MSR_WRITE_IMM           85      /* WRMSRNS with immediate */
#define EXIT_REASON_MAX                     85      /* size dispatch tables with +1 */

/* --- VM-instruction error numbers (SDM 31.4, Table 31-1) --- */
#define VMXERR_VMCALL_IN_VMX_ROOT_OPERATION                              1
#define VMXERR_VMCLEAR_INVALID_ADDRESS                                   2
#define VMXERR_VMCLEAR_VMXON_POINTER                                     3
#define VMXERR_VMLAUNCH_NONCLEAR_VMCS                                    4
#define VMXERR_VMRESUME_NONLAUNCHED_VMCS                                 5
#define VMXERR_VMRESUME_AFTER_VMXOFF                                     6
#define VMXERR_ENTRY_INVALID_CONTROL_FIELD                               7
#define VMXERR_ENTRY_INVALID_HOST_STATE_FIELD                            8
#define VMXERR_VMPTRLD_INVALID_ADDRESS                                   9
#define VMXERR_VMPTRLD_VMXON_POINTER                                     10
#define VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID                        11
#define VMXERR_UNSUPPORTED_VMCS_COMPONENT                                12
#define VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT                          13
#define VMXERR_VMXON_IN_VMX_ROOT_OPERATION                               15
#define VMXERR_ENTRY_INVALID_EXECUTIVE_VMCS_POINTER                      16
#define VMXERR_ENTRY_NONLAUNCHED_EXECUTIVE_VMCS                          17
#define VMXERR_ENTRY_EXECUTIVE_VMCS_POINTER_NOT_VMXON_POINTER            18
#define VMXERR_VMCALL_NONCLEAR_VMCS                                      19
#define VMXERR_VMCALL_INVALID_VM_EXIT_CONTROL_FIELDS                     20
#define VMXERR_VMCALL_INCORRECT_MSEG_REVISION_ID                         22
#define VMXERR_VMXOFF_UNDER_DUAL_MONITOR_TREATMENT_OF_SMIS_AND_SMM       23
#define VMXERR_VMCALL_INVALID_SMM_MONITOR_FEATURES                       24
#define VMXERR_ENTRY_INVALID_VM_EXECUTION_CONTROL_FIELDS_IN_EXECUTIVE_VMCS 25
#define VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS                            26
#define VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID                         28

/*
 * --- Interruption-information format: VM-entry interruption information
 * (SDM 25.8.3, Table 25-17), VM-exit interruption information and
 * IDT-vectoring information (SDM 25.9.2, 25.9.3) share one layout ---
 */
#define INTR_INFO_VECTOR_MASK               0x000000ffu     /* bits 7:0 */
#define INTR_INFO_INTR_TYPE_SHIFT           8
#define INTR_INFO_INTR_TYPE_MASK            0x00000700u     /* bits 10:8 */
#define INTR_INFO_DELIVER_CODE_MASK         VMX_BIT32(11)   /* error code valid */
#define INTR_INFO_UNBLOCK_NMI               VMX_BIT32(12)   /* exit info only: NMI unblocking by IRET */
#define INTR_INFO_RESVD_BITS_MASK           0x7ffff000u     /* entry field: bits 30:12 */
#define INTR_INFO_VALID_MASK                VMX_BIT32(31)

#define VECTORING_INFO_VECTOR_MASK          INTR_INFO_VECTOR_MASK
#define VECTORING_INFO_TYPE_MASK            INTR_INFO_INTR_TYPE_MASK
#define VECTORING_INFO_DELIVER_CODE_MASK    INTR_INFO_DELIVER_CODE_MASK
#define VECTORING_INFO_VALID_MASK           INTR_INFO_VALID_MASK

#define INTR_TYPE_EXT_INTR                  (0u << 8)       /* external interrupt */
#define INTR_TYPE_RESERVED                  (1u << 8)
#define INTR_TYPE_NMI_INTR                  (2u << 8)       /* NMI */
#define INTR_TYPE_HARD_EXCEPTION            (3u << 8)       /* hardware exception */
#define INTR_TYPE_SOFT_INTR                 (4u << 8)       /* software interrupt (INT n) */
#define INTR_TYPE_PRIV_SW_EXCEPTION         (5u << 8)       /* ICEBP / INT1 */
#define INTR_TYPE_SOFT_EXCEPTION            (6u << 8)       /* INT3, INTO */
#define INTR_TYPE_OTHER_EVENT               (7u << 8)       /* MTF injection */

/* --- Guest interruptibility state (SDM 25.4.2, Table 25-3) --- */
#define GUEST_INTR_STATE_STI                VMX_BIT32(0)
#define GUEST_INTR_STATE_MOV_SS             VMX_BIT32(1)
#define GUEST_INTR_STATE_SMI                VMX_BIT32(2)
#define GUEST_INTR_STATE_NMI                VMX_BIT32(3)
#define GUEST_INTR_STATE_ENCLAVE_INTR       VMX_BIT32(4)

/* --- Activity states (SDM 25.4.2) --- */
#define GUEST_ACTIVITY_ACTIVE               0
#define GUEST_ACTIVITY_HLT                  1
#define GUEST_ACTIVITY_SHUTDOWN             2
#define GUEST_ACTIVITY_WAIT_SIPI            3

/* --- INVEPT / INVVPID types (SDM 31.3, 29.4.3) --- */
#define VMX_EPT_EXTENT_CONTEXT              1
#define VMX_EPT_EXTENT_GLOBAL               2
#define VMX_VPID_EXTENT_INDIVIDUAL_ADDR     0
#define VMX_VPID_EXTENT_SINGLE_CONTEXT      1
#define VMX_VPID_EXTENT_ALL_CONTEXT         2
#define VMX_VPID_EXTENT_SINGLE_NON_GLOBAL   3

/* --- Memory types used in EPTP, EPT leaves and IA32_VMX_BASIC (SDM 12.3) --- */
#define VMX_MT_UC                           0
#define VMX_MT_WC                           1
#define VMX_MT_WT                           4
#define VMX_MT_WP                           5
#define VMX_MT_WB                           6

/* --- EPT pointer (SDM 25.6.11, Table 25-9) --- */
#define VMX_EPTP_MT_MASK                    0x7ULL          /* bits 2:0 */
#define VMX_EPTP_MT_UC                      0x0ULL
#define VMX_EPTP_MT_WB                      0x6ULL
#define VMX_EPTP_PWL_MASK                   0x38ULL         /* bits 5:3: levels - 1 */
#define VMX_EPTP_PWL_4                      0x18ULL
#define VMX_EPTP_PWL_5                      0x20ULL
#define VMX_EPTP_AD_ENABLE_BIT              BIT(6)
#define VMX_EPTP_SSS_ENABLE_BIT             BIT(7)          /* supervisor shadow stack */
#define VMX_EPTP_RESERVED_LOW_MASK          0xf00ULL        /* bits 11:8 */

/* --- EPT paging-structure entries (SDM 29.3.2, Tables 29-1 .. 29-7) --- */
#define VMX_EPT_READABLE_MASK               BIT(0)
#define VMX_EPT_WRITABLE_MASK               BIT(1)
#define VMX_EPT_EXECUTABLE_MASK             BIT(2)          /* supervisor-mode with MBEC */
#define VMX_EPT_RWX_MASK                    0x7ULL
#define VMX_EPT_MT_EPTE_SHIFT               3               /* leaf: bits 5:3 memory type */
#define VMX_EPT_MT_MASK                     (0x7ULL << VMX_EPT_MT_EPTE_SHIFT)
#define VMX_EPT_IPAT_BIT                    BIT(6)          /* leaf: ignore PAT */
#define VMX_EPT_LARGE_PAGE_BIT              BIT(7)          /* PDPTE: 1 GiB, PDE: 2 MiB */
#define VMX_EPT_ACCESS_BIT                  BIT(8)          /* when EPTP A/D enabled */
#define VMX_EPT_DIRTY_BIT                   BIT(9)          /* leaf only */
#define VMX_EPT_USER_EXECUTABLE_MASK        BIT(10)         /* MBEC */
#define VMX_EPT_VERIFY_GUEST_PAGING_BIT     BIT(57)
#define VMX_EPT_PAGING_WRITE_BIT            BIT(58)
#define VMX_EPT_SUPERVISOR_SHADOW_STACK_BIT BIT(60)
#define VMX_EPT_SUPPRESS_VE_BIT             BIT(63)

/* --- VMX-abort indicators (SDM 28.7) --- */
#define VMX_ABORT_SAVE_GUEST_MSR_FAIL       1   /* storing a guest MSR at exit */
#define VMX_ABORT_HOST_PDPTE_FAIL           2   /* loading PDPTEs of the host */
#define VMX_ABORT_VMCS_CORRUPT              3   /* the current VMCS is corrupted */
#define VMX_ABORT_LOAD_HOST_MSR_FAIL        4   /* loading a host MSR at exit */
#define VMX_ABORT_MCE_DURING_VMEXIT         5   /* machine check during VM exit */

/* --- Exit qualifications (SDM 28.2.1) --- */
/* I/O instructions (Table 28-5). */
#define IO_QUAL_SIZE(q)                     (((q) & 7) + 1) /* 1, 2 or 4 bytes */
#define IO_QUAL_IN                          BIT(3)
#define IO_QUAL_STRING                      BIT(4)          /* INS/OUTS */
#define IO_QUAL_REP                         BIT(5)
#define IO_QUAL_PORT(q)                     ((u16)((q) >> 16))
/* Control-register accesses (Table 28-3). */
#define CR_QUAL_NUM(q)                      ((u32)(q) & 0xf)
#define CR_QUAL_TYPE(q)                     (((u32)(q) >> 4) & 3)   /* 0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW */
#define CR_QUAL_REG(q)                      (((u32)(q) >> 8) & 0xf)
#define CR_QUAL_LMSW_SRC(q)                 ((u64)((q) >> 16) & 0xffff)
/* EPT violations (Table 28-7). */
#define EPT_QUAL_READ                       BIT(0)
#define EPT_QUAL_WRITE                      BIT(1)
#define EPT_QUAL_FETCH                      BIT(2)
#define EPT_QUAL_ACCESS                     0x7ULL          /* bits 2:0: read, write, fetch */
#define EPT_QUAL_PERMS_SHIFT                3               /* bits 5:3: what the entry allowed */
#define EPT_QUAL_KEEP                       (BIT(7) | BIT(8) | BIT(12)) /* GLA valid, GLA kind, NMI unblocking */
#define EPT_QUAL_NMI_UNBLOCK                BIT(12)     /* the access was an IRET that unblocked (virtual) NMIs */
/* VM-entry failure for invalid guest state, exit reason 33 (SDM 27.8). */
#define ENTRY_FAIL_DEFAULT                  0x0
#define ENTRY_FAIL_PDPTE                    0x2             /* a PDPTE had a reserved bit set */
#define ENTRY_FAIL_VMCS_LINK_PTR            0x4             /* the VMCS link pointer is invalid */

/* --- Segment access rights in the VMCS (SDM 25.4.1, Table 25-2) --- */
#define AR_TYPE(ar)                         ((ar) & 0xf)
#define AR_TYPE_ACCESSED                    BIT(0)
#define AR_TYPE_WRITABLE                    BIT(1)          /* data: writable; code: readable */
#define AR_TYPE_EXPAND_DOWN                 BIT(2)          /* data only */
#define AR_TYPE_CODE                        BIT(3)
#define AR_S                                BIT(4)          /* code/data (not system) */
#define AR_DPL(ar)                          (((ar) >> 5) & 3)
#define AR_P                                BIT(7)
#define AR_L                                BIT(13)         /* 64-bit code */
#define AR_DB                               BIT(14)
#define AR_G                                BIT(15)
#define AR_UNUSABLE                         BIT(16)
#define AR_RESERVED                         (0xf00ULL | ~0x1ffffULL)
#define AR_CODE64                           0xa09b          /* G, L, P, S, type 11 (code, accessed) */
#define AR_CODE32                           0xc09b          /* G, D/B, P, S, type 11 */
#define AR_DATA                             0xc093          /* G, D/B, P, S, type 3 (data, accessed) */
#define AR_TSS_BUSY                         0x008b          /* P, type 11 (busy 32/64-bit TSS) */

#endif
