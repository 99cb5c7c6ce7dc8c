/*
 * Host tests of the VM-entry checks turtle runs on L1's vmcs12
 * (nested/checks.c): a valid vmcs12 passes; each kind of bad field fails
 * the check the SDM puts it under, with the right qualification; and a
 * fuzz of random field values never crashes (ASan/UBSan) and never lets a
 * value through that the checks are there to stop.
 *
 * The capability values stand in for a CPU like Bochs's tigerlake model
 * (checks_fixture.c); the fuzz is test_checks_fuzz.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested/checks.h"
#include "kernel/x86.h"
#include "vmx/vmx_arch.h"

#include "tests/unit/checks_fixture.h"

static void test_valid_passes(void **state)
{
    struct vmcs12 v;
    u64 qual = 99;

    (void)state;
    set_caps();
    valid_vmcs12(&v);
    check_messages = 0;
    assert_true(all_pass(&v, &qual));
    assert_int_equal(qual, 0);
    assert_int_equal(check_messages, 0);
}

#define BAD(area_, qual_, stmt)                                                 \
    do {                                                                        \
        struct vmcs12 v;                                                        \
        u64 q = 99;                                                             \
        valid_vmcs12(&v);                                                       \
        stmt;                                                                   \
        assert_int_equal(refused_by(&v, &q), area_);                            \
        if (area_ == GUEST)                                                     \
            assert_int_equal(q, qual_);                                         \
    } while (0)

static void test_each_refusal(void **state)
{
    (void)state;
    set_caps();
    /* Controls (VMfailValid 7). */
    BAD(CONTROLS, 0, v.pin_based_vm_exec_control |= BIT(31));
    BAD(CONTROLS, 0, v.pin_based_vm_exec_control &= ~0x16u);
    BAD(CONTROLS, 0, v.cpu_based_vm_exec_control |= CPU_BASED_TPR_SHADOW);
    BAD(CONTROLS, 0, v.secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS);
    BAD(CONTROLS, 0, v.cr3_target_count = 1);
    BAD(CONTROLS, 0, (v.pin_based_vm_exec_control &= ~PIN_BASED_VMX_PREEMPTION_TIMER,
                      v.vm_exit_controls |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER));
    BAD(CONTROLS, 0, (v.cpu_based_vm_exec_control |= CPU_BASED_USE_IO_BITMAPS, v.io_bitmap_a = 0x1234));
    BAD(CONTROLS, 0, (v.cpu_based_vm_exec_control |= CPU_BASED_USE_MSR_BITMAPS, v.msr_bitmap = 1ULL << 40));
    BAD(CONTROLS, 0, v.ept_pointer = 0x5000 | 2 | VMX_EPTP_PWL_4);          /* memory type 2 */
    BAD(CONTROLS, 0, v.ept_pointer = 0x5000 | VMX_EPTP_MT_WB | 0x20);       /* 5-level walk */
    BAD(CONTROLS, 0, v.ept_pointer |= BIT(6));                              /* A/D not shown */
    BAD(CONTROLS, 0, v.secondary_vm_exec_control = SECONDARY_EXEC_UNRESTRICTED_GUEST);
    BAD(CONTROLS, 0, v.virtual_processor_id = 0);
    BAD(CONTROLS, 0, (v.vm_entry_msr_load_count = 2, v.vm_entry_msr_load_addr = 0x1008));
    BAD(CONTROLS, 0, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_RESERVED);
    BAD(CONTROLS, 0, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 13);
    BAD(CONTROLS, 0, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 3);
    /* #CP pushes an error code only on a CPU with CET. */
    BAD(CONTROLS, 0, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 21);
    host_cet = false;
    BAD(CONTROLS, 0, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
                                                  INTR_INFO_DELIVER_CODE_MASK | 21);
    host_cet = true;
    BAD(CONTROLS, 0, (v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x80,
                      v.vm_entry_instruction_len = 0));
    /* Host state (VMfailValid 8). */
    BAD(HOST, 0, v.host_cr4 &= ~0x2000ULL);
    BAD(HOST, 0, v.host_cs_selector = 0);
    BAD(HOST, 0, v.host_tr_selector = 0);
    BAD(HOST, 0, v.host_ss_selector = 0x13);
    BAD(HOST, 0, v.host_rip = 0x0000800000000000ULL);
    BAD(HOST, 0, v.vm_exit_controls &= ~VM_EXIT_HOST_ADDR_SPACE_SIZE);
    BAD(HOST, 0, v.host_ia32_efer = 0);
    BAD(HOST, 0, v.host_gdtr_base = 0xdead000000000000ULL);
    /* Guest state (VM-entry failure, qualification 0 / 2 / 4). */
    BAD(GUEST, 0, v.guest_rflags = 0);
    BAD(GUEST, 0, v.guest_rflags |= X86_RFLAGS_VM);
    BAD(GUEST, 0, v.guest_cr0 &= ~(u64)X86_CR0_PE);
    BAD(GUEST, 0, v.guest_tr_ar_bytes |= 0x10000);
    BAD(GUEST, 0, v.guest_cs_ar_bytes = 0x0093);
    BAD(GUEST, 0, v.guest_activity_state = 5);
    BAD(GUEST, 0, v.guest_interruptibility_info = GUEST_INTR_STATE_STI);
    BAD(GUEST, 0, v.guest_interruptibility_info = BIT(2));             /* SMI blocking outside SMM */
    BAD(GUEST, 0, v.guest_interruptibility_info = BIT(4));             /* enclave: no SGX */
    BAD(GUEST, 0, v.guest_pending_dbg_exceptions = BIT(16));           /* RTM: not shown */
    BAD(GUEST, 0, v.guest_rip = 0x0000800000000000ULL);
    BAD(GUEST, 0, v.guest_ia32_efer = EFER_LME);
    BAD(GUEST, 0, v.guest_gdtr_limit = 0x10000);
    BAD(GUEST, 0, (v.vm_entry_controls |= VM_ENTRY_LOAD_DEBUG_CONTROLS, v.guest_dr7 = 0x400 | BIT(32)));
    BAD(GUEST, 0, (v.vm_entry_controls |= VM_ENTRY_LOAD_DEBUG_CONTROLS, v.guest_ia32_debugctl = BIT(6)));
    BAD(GUEST, 4, v.vmcs_link_pointer = 0x1234);
    BAD(GUEST, 4, v.vmcs_link_pointer = 0x3000);        /* no revision there */
    /* 32-bit PAE L2 without EPT: PDPTEs come from L1 memory at CR3. */
    BAD(GUEST, 2, ({
        u64 pdpte = 0x1000 | 1 | BIT(1);                /* reserved bit 1 */
        v.vm_entry_controls &= ~VM_ENTRY_IA32E_MODE;
        v.vm_entry_controls &= ~VM_ENTRY_LOAD_IA32_EFER;
        v.secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_VPID;
        v.guest_cs_ar_bytes = 0xc09b;
        v.guest_cr3 = 0x4000;
        memset(l1_ram + 0x4000, 0, 32);
        memcpy(l1_ram + 0x4000 + 24, &pdpte, 8);
    }));
}

/* VMCS shadowing shown: the bitmaps must be page aligned, and the link
 * pointer's shadow bit must equal the control (SDM 27.2.1.1, 27.3.1.5). */
static void test_shadowing(void **state)
{
    u32 rev = VMCS12_REVISION, shadow_rev = VMCS12_REVISION | BIT(31);
    struct vmcs12 v;
    u64 q = 99;

    (void)state;
    set_caps();
    nested_proc2_allowed |= SECONDARY_EXEC_SHADOW_VMCS;
    memcpy(l1_ram + 0x6000, &shadow_rev, 4);
    memcpy(l1_ram + 0x7000, &rev, 4);
#define SHADOWED(stmt) ({ valid_vmcs12(&v); v.secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS; \
                          v.vmread_bitmap = 0x8000; v.vmwrite_bitmap = 0x9000;                       \
                          v.vmcs_link_pointer = 0x6000; stmt; })
    SHADOWED((void)0);
    assert_true(all_pass(&v, &q));
    SHADOWED(v.vmcs_link_pointer = ~0ULL);                  /* allowed: VMREAD is VMfailInvalid */
    assert_true(all_pass(&v, &q));
    SHADOWED(v.vmread_bitmap = 0x8004);
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    SHADOWED(v.vmwrite_bitmap = 1ULL << 52);
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    SHADOWED(v.vmcs_link_pointer = 0x7000);                 /* an ordinary VMCS */
    assert_int_equal(refused_by(&v, &q), GUEST);
    assert_int_equal(q, 4);
    valid_vmcs12(&v);
    v.vmcs_link_pointer = 0x6000;                           /* a shadow VMCS, shadowing off */
    assert_int_equal(refused_by(&v, &q), GUEST);
    assert_int_equal(q, 4);
    v.vmcs_link_pointer = 0x7000;
    assert_true(all_pass(&v, &q));
#undef SHADOWED
}

/* A vmcs12 that breaks nothing, as `stmt` leaves it: every check passes. */
#define OK(stmt)                                                                \
    do {                                                                        \
        struct vmcs12 v;                                                        \
        u64 q = 99;                                                             \
        valid_vmcs12(&v);                                                       \
        stmt;                                                                   \
        check_messages = 0;                                                     \
        assert_true(all_pass(&v, &q));                                          \
        assert_int_equal(check_messages, 0);                                    \
    } while (0)

#define UG          (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_UNRESTRICTED_GUEST)
#define HW_EXC(vec) (INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | (vec))
#define SEG_CS64(type, dpl)  (0xa090u | (type) | ((dpl) << 5))   /* P, S, L, G */
#define SEG_DATA(type, dpl)  (0xc090u | (type) | ((dpl) << 5))   /* P, S, D/B, G */

/* A 32-bit guest with CR0.PE and PG clear, as an unrestricted guest. */
static void real_mode_ug(struct vmcs12 *v)
{
    v->secondary_vm_exec_control = UG;
    v->vm_entry_controls &= ~VM_ENTRY_IA32E_MODE;
    v->guest_ia32_efer = 0;
    v->guest_cr0 = 0x30;                        /* ET, NE */
    v->guest_cs_ar_bytes = SEG_DATA(11, 0);      /* code, D/B: no L outside IA-32e */
}

/* The rules the SDM's VM-entry and VM-exit chapters add over what the
 * table of test_each_refusal covers; docs/nested.md gives each its row. */
static void test_sdm_rules(void **state)
{
    (void)state;
    set_caps();
    /* Row 19: the injected error code's bits 31:16 are reserved, bit 15 is not. */
    BAD(CONTROLS, 0, (v.vm_entry_intr_info_field = HW_EXC(13) | INTR_INFO_DELIVER_CODE_MASK,
                      v.vm_entry_exception_error_code = 0x10000));
    OK((v.vm_entry_intr_info_field = HW_EXC(13) | INTR_INFO_DELIVER_CODE_MASK,
        v.vm_entry_exception_error_code = 0x8000));

    /* Row 28: host FS/GS/GDTR/IDTR/TR bases canonical for a 32-bit host too. */
    {
        struct vmcs12 v;
        valid_vmcs12(&v);
        v.vm_exit_controls &= ~(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER);
        v.vm_entry_controls &= ~VM_ENTRY_IA32E_MODE;
        v.host_rip = 0x100000;
        assert_true(nested_check_host_state(C(), &v, false));
        const u32 bases[] = { HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_TR_BASE };
        for (u32 i = 0; i < ARRAY_SIZE(bases); i++) {
            vmcs12_write(&v, bases[i], 0x0000800000000000ULL);
            assert_false(nested_check_host_state(C(), &v, false));
            vmcs12_write(&v, bases[i], 0xffffffff80000000ULL);  /* canonical, above 4 GiB: allowed */
            assert_true(nested_check_host_state(C(), &v, false));
            vmcs12_write(&v, bases[i], 0);
        }
    }

    /* Row 43: non-conforming CS, DPL equal to SS's; with unrestricted
     * guest too (Bochs 2.7 compares CS's RPL instead). */
    BAD(GUEST, 0, (v.secondary_vm_exec_control = UG, v.guest_cs_ar_bytes = SEG_CS64(11, 0),
                   v.guest_ss_ar_bytes = SEG_DATA(3, 3)));
    /* CS RPL 3 with CS and SS DPL 0 under unrestricted guest: valid by
     * the SDM; Bochs 2.7 refuses it (CS DPL must equal CS RPL there). */
    OK((v.secondary_vm_exec_control = UG, v.guest_cs_selector = 0x0b, v.guest_ss_selector = 0xc3df));
    /* Row 44: conforming CS, DPL at most SS's. */
    BAD(GUEST, 0, (v.guest_cs_selector = 0x09, v.guest_ss_selector = 0x11, v.guest_cs_ar_bytes = SEG_CS64(15, 3),
                   v.guest_ss_ar_bytes = SEG_DATA(3, 1)));
    OK((v.guest_cs_selector = 0x0b, v.guest_ss_selector = 0x13, v.guest_cs_ar_bytes = SEG_CS64(15, 0),
        v.guest_ss_ar_bytes = SEG_DATA(3, 3)));
    /* Row 45: CS type 3 (unrestricted guest) has DPL 0. */
    BAD(GUEST, 0, (v.secondary_vm_exec_control = UG, v.guest_cs_ar_bytes = SEG_CS64(3, 3)));
    OK((v.secondary_vm_exec_control = UG, v.guest_cs_ar_bytes = SEG_CS64(3, 0)));
    BAD(GUEST, 0, v.guest_cs_ar_bytes = SEG_CS64(3, 0));        /* type 3 needs unrestricted guest */
    /* Row 46: SS RPL equals CS RPL without unrestricted guest. */
    BAD(GUEST, 0, v.guest_ss_selector = 0x13);
    /* Row 47: SS DPL equals SS RPL without unrestricted guest (a conforming
     * CS keeps rule 43 out of the way). */
    BAD(GUEST, 0, (v.guest_cs_ar_bytes = SEG_CS64(15, 0), v.guest_ss_ar_bytes = SEG_DATA(3, 3)));
    /* vmx_fuzz seed 161780747 (skylake-x): SS RPL 3, SS DPL 0, without
     * unrestricted guest; turtle let it through and the CPU refused vmcs02. */
    BAD(GUEST, 0, (v.guest_cs_selector = 0x0b, v.guest_ss_selector = 0xc3df));
    OK((v.secondary_vm_exec_control = UG, v.guest_cs_ar_bytes = SEG_CS64(15, 0),
        v.guest_ss_ar_bytes = SEG_DATA(3, 3)));
    /* Row 48: SS DPL 0 when CS type is 3 or CR0.PE is 0 (SS unusable too). */
    BAD(GUEST, 0, (real_mode_ug(&v), v.guest_cs_ar_bytes = SEG_DATA(11, 3), v.guest_ss_ar_bytes = SEG_DATA(3, 3)));
    BAD(GUEST, 0, (real_mode_ug(&v), v.guest_cs_ar_bytes = SEG_DATA(15, 0),
                   v.guest_ss_ar_bytes = SEG_DATA(3, 3) | AR_UNUSABLE));
    OK(real_mode_ug(&v));
    /* Row 51: DS, ES, FS, GS of type 0-11 have DPL >= RPL, without
     * unrestricted guest; type 11 included (Bochs 2.7 stops at 10). */
    BAD(GUEST, 0, v.guest_ds_selector = 0x13);
    BAD(GUEST, 0, (v.guest_es_selector = 0x13, v.guest_es_ar_bytes = SEG_DATA(11, 0)));
    BAD(GUEST, 0, (v.guest_fs_selector = 0x13, v.guest_fs_ar_bytes = SEG_DATA(3, 1), v.guest_fs_limit = 0xffffffff));
    OK((v.guest_ds_selector = 0x13, v.guest_ds_ar_bytes = SEG_DATA(15, 0)));    /* conforming code */
    OK((v.guest_ds_selector = 0x13, v.secondary_vm_exec_control = UG));
    OK((v.guest_ds_selector = 0x13, v.guest_ds_ar_bytes |= AR_UNUSABLE));
    /* Row 53: SS, DS, ES bases' bits 63:32 only matter when usable. */
    BAD(GUEST, 0, v.guest_ds_base = BIT(32));
    BAD(GUEST, 0, v.guest_ss_base = BIT(32));
    OK((v.guest_ds_ar_bytes |= AR_UNUSABLE, v.guest_ds_base = BIT(32)));
    OK((v.guest_es_ar_bytes |= AR_UNUSABLE, v.guest_es_base = BIT(32)));
    OK((v.guest_ss_ar_bytes |= AR_UNUSABLE, v.guest_ss_base = BIT(32)));

    /* Row 60: blocking by STI or MOV SS needs the active state. */
    BAD(GUEST, 0, (v.guest_rflags |= X86_RFLAGS_IF, v.guest_interruptibility_info = GUEST_INTR_STATE_STI,
                   v.guest_activity_state = GUEST_ACTIVITY_HLT));
    BAD(GUEST, 0, (v.guest_interruptibility_info = GUEST_INTR_STATE_MOV_SS, v.guest_activity_state = GUEST_ACTIVITY_HLT));
    OK((v.guest_rflags |= X86_RFLAGS_IF, v.guest_interruptibility_info = GUEST_INTR_STATE_STI));
    /* Row 61: in HLT only an external interrupt, NMI, #DB, #MC or pending MTF. */
    BAD(GUEST, 0, (v.guest_activity_state = GUEST_ACTIVITY_HLT,
                   v.vm_entry_intr_info_field = HW_EXC(13) | INTR_INFO_DELIVER_CODE_MASK));
    BAD(GUEST, 0, (v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_intr_info_field = HW_EXC(6)));
    BAD(GUEST, 0, (v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_instruction_len = 2,
                   v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x80));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.guest_rflags |= X86_RFLAGS_IF,
        v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x40));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_intr_info_field = HW_EXC(1)));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_intr_info_field = HW_EXC(18)));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.vm_entry_intr_info_field = INTR_INFO_VALID_MASK | INTR_TYPE_OTHER_EVENT));
    OK(v.vm_entry_intr_info_field = HW_EXC(6));                   /* active: any event */
    /* Row 68: under STI/MOV-SS blocking or in HLT, BS = TF and not BTF. */
    BAD(GUEST, 0, (v.guest_rflags |= X86_RFLAGS_IF | X86_RFLAGS_TF, v.guest_interruptibility_info = GUEST_INTR_STATE_STI));
    BAD(GUEST, 0, (v.guest_interruptibility_info = GUEST_INTR_STATE_MOV_SS, v.guest_pending_dbg_exceptions = BIT(14)));
    BAD(GUEST, 0, (v.guest_activity_state = GUEST_ACTIVITY_HLT, v.guest_rflags |= X86_RFLAGS_TF,
                   v.guest_ia32_debugctl = DEBUGCTL_BTF, v.guest_pending_dbg_exceptions = BIT(14)));
    BAD(GUEST, 0, (v.guest_activity_state = GUEST_ACTIVITY_HLT, v.guest_rflags |= X86_RFLAGS_TF));
    OK((v.guest_rflags |= X86_RFLAGS_IF | X86_RFLAGS_TF, v.guest_interruptibility_info = GUEST_INTR_STATE_STI,
        v.guest_pending_dbg_exceptions = BIT(14)));
    OK((v.guest_activity_state = GUEST_ACTIVITY_HLT, v.guest_rflags |= X86_RFLAGS_TF,
        v.guest_ia32_debugctl = DEBUGCTL_BTF));
    OK(v.guest_rflags |= X86_RFLAGS_TF);                          /* no blocking, active: BS free */
    OK((v.guest_rflags |= X86_RFLAGS_TF, v.guest_pending_dbg_exceptions = BIT(14)));
}

/* Row 90 (and 70): present PDPTEs free of reserved bits; the exit to a
 * 32-bit PAE host and the guest-state check share this. */
static void test_pdptes(void **state)
{
    u64 ok[4] = { 0x1001, 0, 0x2001, 0x3000 | BIT(1) };   /* the last is not present */
    u64 low[4] = { 0x1001 | BIT(5), 0, 0, 0 };
    u64 wide[4] = { 0, 0, 0, 0x1001 | (1ULL << 39) };    /* beyond the 39-bit width */
    u64 far[4];

    (void)state;
    assert_true(nested_pdptes_valid(ok));
    assert_false(nested_pdptes_valid(low));
    assert_false(nested_pdptes_valid(wide));
    nested_read_pdptes(NULL, sizeof(l1_ram) + 0x1000, far);  /* outside L1 RAM: all ones */
    assert_false(nested_pdptes_valid(far));
    memcpy(l1_ram + 0x6000, ok, sizeof(ok));
    nested_read_pdptes(NULL, 0x6000 | 0x18, far);           /* CR3 bits 4:0 ignored */
    assert_true(nested_pdptes_valid(far));
}

/* Virtual NMIs and NMI-window exiting shown (SDM 27.2.1.1, 27.3.1.5),
 * EPT accessed/dirty flags (EPTP bit 6 only when shown), and PML. */
static void test_virtual_nmis_and_ept_ad(void **state)
{
    const u32 vnmi = PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS;
    const u32 nmi = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2;
    struct vmcs12 v;
    u64 q = 99;

    (void)state;
    set_caps();
    nested_pin_allowed |= PIN_BASED_VIRTUAL_NMIS;
    nested_proc_allowed |= CPU_BASED_NMI_WINDOW_EXITING;
    nested_ept_vpid_cap |= VMX_EPT_AD_BIT;
    valid_vmcs12(&v);
    v.pin_based_vm_exec_control |= vnmi;
    v.cpu_based_vm_exec_control |= CPU_BASED_NMI_WINDOW_EXITING;
    v.guest_interruptibility_info = GUEST_INTR_STATE_NMI;   /* virtual-NMI blocking */
    v.ept_pointer |= VMX_EPTP_AD_ENABLE_BIT;
    assert_true(all_pass(&v, &q));
    v.vm_entry_intr_info_field = nmi;                        /* an NMI under that blocking */
    assert_int_equal(refused_by(&v, &q), GUEST);
    assert_int_equal(q, 0);
    v.guest_interruptibility_info = 0;
    assert_true(all_pass(&v, &q));
    v.pin_based_vm_exec_control &= ~PIN_BASED_NMI_EXITING;   /* virtual NMIs need NMI exiting */
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    valid_vmcs12(&v);
    v.pin_based_vm_exec_control |= PIN_BASED_NMI_EXITING;   /* the window needs virtual NMIs */
    v.cpu_based_vm_exec_control |= CPU_BASED_NMI_WINDOW_EXITING;
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    valid_vmcs12(&v);                                       /* without virtual NMIs, blocking by */
    v.guest_interruptibility_info = GUEST_INTR_STATE_NMI;   /* NMI and an NMI to inject are valid */
    v.pin_based_vm_exec_control |= PIN_BASED_NMI_EXITING;
    v.vm_entry_intr_info_field = nmi;
    assert_true(all_pass(&v, &q));
    nested_ept_vpid_cap &= ~VMX_EPT_AD_BIT;
    assert_false(nested_eptp_valid(C(), 0x5000 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | VMX_EPTP_AD_ENABLE_BIT));
    nested_ept_vpid_cap |= VMX_EPT_AD_BIT;
    assert_true(nested_eptp_valid(C(), 0x5000 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | VMX_EPTP_AD_ENABLE_BIT));
    assert_false(nested_eptp_valid(C(), 0x5000 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 | BIT(7)));
    /* PML: with EPT, and a 4 KiB-aligned address within the width. */
    nested_proc2_allowed |= SECONDARY_EXEC_ENABLE_PML;
    valid_vmcs12(&v);
    v.secondary_vm_exec_control |= SECONDARY_EXEC_ENABLE_PML;
    v.pml_address = 0x8000;
    assert_true(all_pass(&v, &q));
    v.pml_address = 0x8008;
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.pml_address = 1ULL << 52;
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.pml_address = 0x8000;
    v.secondary_vm_exec_control &= ~(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.secondary_vm_exec_control &= ~SECONDARY_EXEC_ENABLE_PML;     /* the same without PML passes */
    assert_true(all_pass(&v, &q));
}

/* VM functions (SDM 27.2.1.1): the control only where shown; VM-function
 * controls within IA32_VMX_VMFUNC; EPTP switching with EPT and a 4 KiB
 * aligned EPTP-list address within the width. */
static void test_vmfunc(void **state)
{
    struct vmcs12 v;
    u64 q = 99;

    (void)state;
    set_caps();
    valid_vmcs12(&v);
    v.secondary_vm_exec_control |= SECONDARY_EXEC_ENABLE_VMFUNC;
    assert_int_equal(refused_by(&v, &q), CONTROLS);         /* not shown: reserved */
    nested_proc2_allowed |= SECONDARY_EXEC_ENABLE_VMFUNC;
    vmfunc_cap = VMX_VMFUNC_EPTP_SWITCHING;
    assert_true(all_pass(&v, &q));                          /* no VM function enabled */
    v.vm_function_control = VMX_VMFUNC_EPTP_SWITCHING;
    v.eptp_list_address = 0x9000;
    assert_true(all_pass(&v, &q));
    v.vm_function_control = VMX_VMFUNC_EPTP_SWITCHING | BIT(1);
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.vm_function_control = VMX_VMFUNC_EPTP_SWITCHING;
    v.eptp_list_address = 0x9008;
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.eptp_list_address = 1ULL << 39;
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.eptp_list_address = 0x9000;
    v.secondary_vm_exec_control &= ~(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
    assert_int_equal(refused_by(&v, &q), CONTROLS);
    v.vm_function_control = 0;                              /* no EPTP switching: no EPT needed */
    v.eptp_list_address = 0x9008;
    assert_true(all_pass(&v, &q));
    valid_vmcs12(&v);                                       /* the fields mean nothing with */
    v.vm_function_control = ~0ULL;                          /* VM functions off */
    v.eptp_list_address = 0x9008;
    assert_true(all_pass(&v, &q));
    vmfunc_cap = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_passes),
        cmocka_unit_test(test_each_refusal),
        cmocka_unit_test(test_shadowing),
        cmocka_unit_test(test_sdm_rules),
        cmocka_unit_test(test_pdptes),
        cmocka_unit_test(test_virtual_nmis_and_ept_ad),
        cmocka_unit_test(test_vmfunc),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_seg_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
