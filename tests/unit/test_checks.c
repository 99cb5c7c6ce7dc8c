/*
 * Host tests of the VM-entry checks turtle runs on L1's vmcs12
 * (nested/checks.c): a valid vmcs12 passes; each kind of bad field fails
 * the check the SDM puts it under, with the right qualification; and a
 * fuzz of random field values never crashes (ASan/UBSan) and never lets a
 * value through that the checks are there to stop.
 *
 * The capability values stand in for a CPU like Bochs's tigerlake model.
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

/* --- stand-ins for the rest of turtle ------------------------------------- */

u32 nested_pin_allowed, nested_proc_allowed, nested_proc2_allowed;
u32 nested_exit_allowed, nested_entry_allowed;
u64 nested_ept_vpid_cap;
static u64 vmfunc_cap;                  /* IA32_VMX_VMFUNC; shown with its secondary control */
u64 nested_debugctl_allowed = DEBUGCTL_LBR | DEBUGCTL_BTF;
static u8 l1_ram[64 << 10];             /* the L1 memory the checks may read */
static int check_messages;

int kprintf(const char *fmt, ...) { (void)fmt; check_messages++; return 0; }
u64 nested_cr0_fixed0(bool ug) { return ug ? 0x20 : 0x80000021; }
u64 vmx_caps_cr0_fixed1(void) { return 0xffffffff; }
u64 vmx_caps_cr4_fixed0(void) { return 0x2000; }
u64 nested_cr4_fixed1(void) { return 0x1727ff; }
u32 nested_phys_addr_width(void) { return 39; }
u64 nested_vmx_misc(void) { return VMX_MISC_ACTIVITY_HLT | VMX_MISC_VMWRITE_SHADOW_RO_FIELDS; }
static bool host_cet = true;
bool nested_host_has_cet(void) { return host_cet; }

/* The capability MSRs of the checks' L1, from the values above (the tests
 * change those): a struct nested_caps as nested/caps.c builds one. */
static const struct nested_caps *C(void)
{
    static struct nested_caps c;

    memset(&c, 0, sizeof(c));
    c.msr[IA32_VMX_TRUE_PINBASED_CTLS - IA32_VMX_BASIC] = (u64)nested_pin_allowed << 32 | 0x16;
    c.msr[IA32_VMX_TRUE_PROCBASED_CTLS - IA32_VMX_BASIC] = (u64)nested_proc_allowed << 32;
    c.msr[IA32_VMX_PROCBASED_CTLS2 - IA32_VMX_BASIC] = (u64)nested_proc2_allowed << 32;
    c.msr[IA32_VMX_TRUE_EXIT_CTLS - IA32_VMX_BASIC] = (u64)nested_exit_allowed << 32;
    c.msr[IA32_VMX_TRUE_ENTRY_CTLS - IA32_VMX_BASIC] = (u64)nested_entry_allowed << 32;
    c.msr[IA32_VMX_EPT_VPID_CAP - IA32_VMX_BASIC] = nested_ept_vpid_cap;
    c.msr[IA32_VMX_MISC - IA32_VMX_BASIC] = nested_vmx_misc();
    c.msr[IA32_VMX_CR0_FIXED0 - IA32_VMX_BASIC] = nested_cr0_fixed0(false);
    c.msr[IA32_VMX_CR0_FIXED1 - IA32_VMX_BASIC] = vmx_caps_cr0_fixed1();
    c.msr[IA32_VMX_CR4_FIXED0 - IA32_VMX_BASIC] = vmx_caps_cr4_fixed0();
    c.msr[IA32_VMX_CR4_FIXED1 - IA32_VMX_BASIC] = nested_cr4_fixed1();
    if (nested_proc2_allowed & SECONDARY_EXEC_ENABLE_VMFUNC) {
        c.msr[IA32_VMX_VMFUNC - IA32_VMX_BASIC] = vmfunc_cap;
        c.readable |= BIT(IA32_VMX_VMFUNC - IA32_VMX_BASIC);
    }
    return &c;
}

bool guest_copy_from(struct vm *vm, void *dst, u64 gpa, u64 len)
{
    (void)vm;
    if (gpa >= sizeof(l1_ram) || len > sizeof(l1_ram) - gpa)
        return false;
    memcpy(dst, l1_ram + gpa, len);
    return true;
}

static void set_caps(void)
{
    nested_pin_allowed = 0x16 | PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING | PIN_BASED_VMX_PREEMPTION_TIMER;
    /* No TPR shadow; the NMI window (with virtual NMIs) only where a test adds it. */
    nested_proc_allowed = CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR | CPU_BASED_INTR_WINDOW_EXITING |
                          CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_HLT_EXITING |
                          CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING |
                          CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING |
                          CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
                          CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
                          CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
                          CPU_BASED_USE_IO_BITMAPS | CPU_BASED_MONITOR_TRAP_FLAG |
                          CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MONITOR_EXITING |
                          CPU_BASED_PAUSE_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    nested_proc2_allowed = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID |
                           SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_DESC |
                           SECONDARY_EXEC_ENABLE_RDTSCP;
    nested_exit_allowed = 0x36dff | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
                          VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT;
    nested_entry_allowed = 0x11ff | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT;
    nested_ept_vpid_cap = VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT |
                          VMX_EPT_INVEPT_BIT | VMX_EPT_EXTENT_CONTEXT_BIT;
}

/* A vmcs12 as a 64-bit L1 sets it up for a 64-bit L2 (turtle-as-L1 style). */
static void valid_vmcs12(struct vmcs12 *v)
{
    memset(v, 0, sizeof(*v));
    v->pin_based_vm_exec_control = 0x16 | PIN_BASED_EXT_INTR_MASK;
    v->cpu_based_vm_exec_control = 0x04006172 | CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID;
    v->ept_pointer = 0x5000 | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
    v->virtual_processor_id = 1;
    v->vm_exit_controls = 0x36dfb | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER;
    v->vm_entry_controls = 0x11fb | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER;
    v->host_cr0 = 0x80050033;
    v->host_cr4 = 0x22a0;
    v->host_cr3 = 0x1000;
    v->host_ia32_efer = EFER_LME | EFER_LMA;
    v->host_cs_selector = 0x08;
    v->host_ss_selector = v->host_ds_selector = v->host_es_selector = 0x10;
    v->host_tr_selector = 0x18;
    v->host_rip = 0xffffffff80100000ULL;
    v->guest_cr0 = 0x80000031;
    v->guest_cr4 = 0x2020;
    v->guest_cr3 = 0x2000;
    v->guest_ia32_efer = EFER_LME | EFER_LMA;
    v->guest_cs_selector = 0x08;
    v->guest_cs_ar_bytes = 0xa09b;
    v->guest_cs_limit = 0xffffffff;
    v->guest_ss_selector = v->guest_ds_selector = v->guest_es_selector = 0x10;
    v->guest_ss_ar_bytes = v->guest_ds_ar_bytes = v->guest_es_ar_bytes = 0xc093;
    v->guest_ss_limit = v->guest_ds_limit = v->guest_es_limit = 0xffffffff;
    v->guest_fs_ar_bytes = v->guest_gs_ar_bytes = 0x10000;
    v->guest_tr_selector = 0x18;
    v->guest_tr_ar_bytes = 0x8b;
    v->guest_tr_limit = 0x67;
    v->guest_ldtr_ar_bytes = 0x10000;
    v->guest_rflags = 0x2;
    v->guest_rip = 0x100000;
    v->vmcs_link_pointer = ~0ULL;
}

static bool all_pass(const struct vmcs12 *v, u64 *qual)
{
    return nested_check_controls(C(), v) && nested_check_host_state(C(), v, true) &&
           nested_check_guest_state(C(), NULL, v, qual);
}

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

/* One bad field at a time: which check refuses it. */
enum area { CONTROLS, HOST, GUEST };

static enum area refused_by(const struct vmcs12 *v, u64 *qual)
{
    if (!nested_check_controls(C(), v))
        return CONTROLS;
    if (!nested_check_host_state(C(), v, true))
        return HOST;
    assert_false(nested_check_guest_state(C(), NULL, v, qual));
    return GUEST;
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

static u64 rng_state = 0x9e3779b97f4a7c15ULL;
static u64 rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random field values: the checks never crash, and whatever passes them
 * has the properties turtle relies on when it builds vmcs02. */
static void test_fuzz(void **state)
{
    u32 encodings[256], n = 0, passed = 0;

    (void)state;
    /* make fuzz sets CHECKS_SEED to a fresh seed; make test uses the fixed one. */
    const char *seed = getenv("CHECKS_SEED");
    if (seed && strtoull(seed, NULL, 0))
        rng_state = strtoull(seed, NULL, 0);
    print_message("checks fuzz: seed %#llx\n", (unsigned long long)rng_state);
    set_caps();
    for (u32 e = 0; e < 0x8000 && n < 256; e++)
        if (vmcs12_field_offset(e) >= 0 && !(e & 1))
            encodings[n++] = e;
    assert_true(n > 100);
    for (int iter = 0; iter < 100000; iter++) {
        struct vmcs12 v;
        u64 q;
        valid_vmcs12(&v);
        int k = 1 + (int)(rnd() % 4);
        for (int i = 0; i < k; i++) {
            u64 r = rnd();
            u64 val = (r & 3) == 0 ? rnd() : (r & 3) == 1 ? (rnd() & 0xff) : (r & 3) == 2 ? ~0ULL : BIT(rnd() % 64);
            u64 cur = 0;
            u32 e = encodings[rnd() % n];
            vmcs12_read(&v, e, &cur);
            vmcs12_write(&v, e, (r & 4) ? (cur ^ val) : val);
        }
        if (!all_pass(&v, &q))
            continue;
        passed++;
        u32 proc2 = nested_proc2(&v);
        assert_int_equal(v.pin_based_vm_exec_control & ~nested_pin_allowed, 0);
        assert_int_equal(v.cpu_based_vm_exec_control & ~nested_proc_allowed, 0);
        assert_int_equal(proc2 & ~nested_proc2_allowed, 0);
        assert_int_equal(v.cr3_target_count, 0);
        if (proc2 & SECONDARY_EXEC_ENABLE_EPT)
            assert_true(nested_eptp_valid(C(), v.ept_pointer));
        assert_true(v.host_cs_selector && v.host_tr_selector);
        assert_int_equal(v.guest_rflags & X86_RFLAGS_VM, 0);
        assert_true(v.guest_rflags & X86_RFLAGS_FIXED);
        assert_true(v.guest_activity_state <= GUEST_ACTIVITY_HLT);
        assert_true(v.vmcs_link_pointer == ~0ULL || (v.vmcs_link_pointer & 0xfff) == 0);
        if (v.vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS)
            assert_true(!(v.guest_dr7 >> 32) && !(v.guest_ia32_debugctl & ~nested_debugctl_allowed));
    }
    print_message("checks fuzz: %u of 100000 mutated vmcs12s passed every check\n", passed);
    assert_true(passed > 1000);         /* the fuzz also reaches the accepting path */
}


/* The memoized guest-state checks (nested/seg_memo.h) give the full
 * checks' answer and qualification for every mutated vmcs12, whether the
 * memo holds the valid vmcs12's segments or the previous one's, and skip
 * the segment checks only on a bit-for-bit hit. */
static void test_seg_memo(void **state)
{
    struct seg_memo memo = { 0 };
    struct vmcs12 v, prev;
    u32 encodings[256], n = 0, hits = 0;

    (void)state;
    set_caps();
    for (u32 e = 0; e < 0x8000 && n < 256; e++)
        if (vmcs12_field_offset(e) >= 0 && !(e & 1))
            encodings[n++] = e;
    valid_vmcs12(&v);
    u64 q = 99;
    assert_false(seg_memo_hit(&memo, &v, seg_memo_key(&v, true, false)));
    assert_true(nested_check_guest_state_memo(C(), NULL, &v, &q, &memo));
    assert_true(seg_memo_hit(&memo, &v, seg_memo_key(&v, true, false)));
    assert_false(seg_memo_hit(&memo, &v, seg_memo_key(&v, false, false)));
    prev = v;
    prev.guest_gs_base ^= BIT(47);
    assert_false(seg_memo_hit(&memo, &prev, seg_memo_key(&prev, true, false)));
    prev = v;
    prev.guest_tr_selector ^= 4;
    assert_false(seg_memo_hit(&memo, &prev, seg_memo_key(&prev, true, false)));
    prev = v;
    for (int iter = 0; iter < 50000; iter++) {
        u64 q_full = 99, q_memo = 98;
        valid_vmcs12(&v);
        if (iter & 1)
            v = prev;
        int k = 1 + (int)(rnd() % 3);
        for (int i = 0; i < k; i++) {
            u64 r = rnd(), cur = 0;
            u64 val = (r & 3) == 0 ? rnd() : (r & 3) == 1 ? (rnd() & 0xff) : BIT(rnd() % 64);
            u32 e = encodings[rnd() % n];
            vmcs12_read(&v, e, &cur);
            vmcs12_write(&v, e, (r & 4) ? (cur ^ val) : val);
        }
        u32 key = seg_memo_key(&v, v.vm_entry_controls & VM_ENTRY_IA32E_MODE,
                               nested_proc2(&v) & SECONDARY_EXEC_UNRESTRICTED_GUEST);
        hits += seg_memo_hit(&memo, &v, key);
        bool full = nested_check_guest_state(C(), NULL, &v, &q_full);
        bool fast = nested_check_guest_state_memo(C(), NULL, &v, &q_memo, &memo);
        assert_int_equal(full, fast);
        if (!full)
            assert_int_equal(q_full, q_memo);
        if (full)
            prev = v;
    }
    print_message("seg memo: %u of 50000 entries hit the memo\n", hits);
    assert_true(hits > 1000);
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
