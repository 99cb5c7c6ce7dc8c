/*
 * The VM-entry checks of VMLAUNCH/VMRESUME on vmcs12 (SDM Vol. 3 27.2 and
 * 27.3), run before anything changes. Controls and host state failures are
 * VMfailValid (errors 7 and 8); guest-state failures become a VM-entry
 * failure exit to L1 (reason 33, qualification 2 for a PDPTE, 4 for the
 * link pointer, else 0). CC() logs the text of the failed check, so a
 * refusal can be read off turtle's console.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "nested/checks.h"
#include "vmx/vmx.h"

/* A hostile L1 can fail checks in a loop: the console gets the first
 * CHECK_MESSAGES_MAX of them, then one line saying the rest are dropped. */
#define CHECK_MESSAGES_MAX  200
static u32 check_messages;

static void check_failed(const char *text)
{
    if (check_messages < CHECK_MESSAGES_MAX)
        kprintf("turtle: nested: VM-entry check failed: %s\n", text);
    else if (check_messages == CHECK_MESSAGES_MAX)
        kprintf("turtle: nested: further VM-entry check messages suppressed\n");
    check_messages++;
}

#define CC(expr)                                                                \
    ({                                                                          \
        bool _failed = (expr);                                                  \
        if (_failed)                                                            \
            check_failed(#expr);                                                \
        _failed;                                                                \
    })

#define X86_CR4_PCIDE       BIT(17)
#define RFLAGS_RESERVED     (~0x3fffffULL | BIT(15) | BIT(5) | BIT(3))
#define INTR_TYPE(i)        ((i) & INTR_INFO_INTR_TYPE_MASK)
#define INTR_VECTOR(i)      ((i) & INTR_INFO_VECTOR_MASK)
#define INTR_RESERVED       0x7ffff000u
#define EFER_RESERVED       (~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
#define MSR_LIST_ALIGN      16
#define GUEST_ACTIVITY_MAX  GUEST_ACTIVITY_HLT

static bool within_width(u64 pa)
{
    return (pa >> nested_phys_addr_width()) == 0;
}

static bool page_addr_ok(u64 pa)
{
    return IS_ALIGNED(pa, PAGE_SIZE) && within_width(pa);
}

static bool ctls_ok(u32 v, u32 must_be_1, u32 may_be_1)
{
    return (v & must_be_1) == must_be_1 && !(v & ~may_be_1);
}

static bool pat_ok(u64 v)
{
    for (int i = 0; i < 8; i++) {
        u8 t = (u8)(v >> (8 * i));
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* At most 512 entries (IA32_VMX_MISC[27:25] = 0 shows 512): turtle walks
 * the list itself, and a longer one would hold the CPU for as long as L1
 * likes. The end must not wrap. */
#define MSR_LIST_MAX        512

static bool msr_list_ok(u32 count, u64 addr)
{
    if (!count)
        return true;
    if (count > MSR_LIST_MAX || !IS_ALIGNED(addr, MSR_LIST_ALIGN))
        return false;
    u64 last = addr + (u64)count * 16 - 1;
    return last > addr && within_width(last);
}

u32 nested_proc2(const struct vmcs12 *v)
{
    return (v->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
               ? v->secondary_vm_exec_control : 0;
}

bool nested_eptp_valid(u64 eptp)
{
    u64 mt = eptp & VMX_EPTP_MT_MASK;
    if (mt == VMX_EPTP_MT_WB ? !(nested_ept_vpid_cap & VMX_EPTP_WB_BIT)
        : mt == VMX_EPTP_MT_UC ? !(nested_ept_vpid_cap & VMX_EPTP_UC_BIT) : true)
        return false;
    if ((eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4)
        return false;
    if (eptp & (0xf80ULL))                      /* bits 11:7: SSS and reserved */
        return false;
    if ((eptp & VMX_EPTP_AD_ENABLE_BIT) && !(nested_ept_vpid_cap & VMX_EPT_AD_BIT))
        return false;                           /* bit 6: A/D flags, when shown */
    return within_width(eptp & ~0xfffULL);
}

/* Event injection fields (SDM 27.2.1.3). */
static bool check_entry_event(const struct vmcs12 *v)
{
    u32 info = v->vm_entry_intr_info_field;
    u32 type = INTR_TYPE(info), vec = INTR_VECTOR(info);
    bool pe = v->guest_cr0 & X86_CR0_PE;

    if (!(info & INTR_INFO_VALID_MASK))
        return true;
    if (CC(type == INTR_TYPE_RESERVED) || CC(info & INTR_RESERVED))
        return false;
    if (CC(type == INTR_TYPE_NMI_INTR && vec != 2) ||
        CC(type == INTR_TYPE_HARD_EXCEPTION && vec > 31) ||
        CC(type == INTR_TYPE_OTHER_EVENT && (vec != 0 || !(nested_proc_allowed & CPU_BASED_MONITOR_TRAP_FLAG))))
        return false;
    /* Deliver-error-code is 1 exactly for a hardware exception that pushes
     * one, in protected mode (or without unrestricted guest). */
    bool ug = nested_proc2(v) & SECONDARY_EXEC_UNRESTRICTED_GUEST;
    /* #CP (21) pushes one only where the CPU has CET ("load CET state"
     * can be 1, SDM 26.2.1.3): the CPU that enters vmcs02 decides. */
    bool code_vec = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 ||
                    (vec == 21 && nested_host_has_cet());
    bool needs_code = (!ug || pe) && type == INTR_TYPE_HARD_EXCEPTION && code_vec;
    if (CC(!!(info & INTR_INFO_DELIVER_CODE_MASK) != needs_code))
        return false;
    if ((info & INTR_INFO_DELIVER_CODE_MASK) && CC(v->vm_entry_exception_error_code & 0xffff8000u))
        return false;
    if ((type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
         type == INTR_TYPE_PRIV_SW_EXCEPTION) &&
        CC(v->vm_entry_instruction_len == 0 || v->vm_entry_instruction_len > 15))
        return false;
    return true;
}

/* SDM 27.2.1.1: "virtual NMIs" needs "NMI exiting", and "NMI-window
 * exiting" needs "virtual NMIs". */
static bool check_virtual_nmis(const struct vmcs12 *v)
{
    u32 pin = v->pin_based_vm_exec_control;

    if (CC((pin & PIN_BASED_VIRTUAL_NMIS) && !(pin & PIN_BASED_NMI_EXITING)) ||
        CC((v->cpu_based_vm_exec_control & CPU_BASED_NMI_WINDOW_EXITING) && !(pin & PIN_BASED_VIRTUAL_NMIS)))
        return false;
    return true;
}

/* SDM 27.2.1.1: "enable PML" needs "enable EPT" and a PML address that is
 * 4 KiB aligned within the physical-address width. */
static bool check_pml(const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);

    if (!(proc2 & SECONDARY_EXEC_ENABLE_PML))
        return true;
    return !CC(!(proc2 & SECONDARY_EXEC_ENABLE_EPT)) && !CC(!page_addr_ok(v->pml_address));
}

bool nested_check_controls(const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);

    if (CC(!ctls_ok(v->pin_based_vm_exec_control, PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, nested_pin_allowed)) ||
        CC(!ctls_ok(v->cpu_based_vm_exec_control, CPU_BASED_TRUE_ALWAYSON, nested_proc_allowed)) ||
        CC(!ctls_ok(proc2, 0, nested_proc2_allowed)) ||
        CC(!ctls_ok(v->vm_exit_controls, VM_EXIT_TRUE_ALWAYSON, nested_exit_allowed)) ||
        CC(!ctls_ok(v->vm_entry_controls, VM_ENTRY_TRUE_ALWAYSON, nested_entry_allowed)))
        return false;
    if (CC(v->cr3_target_count != 0))           /* IA32_VMX_MISC shows 0 CR3 targets */
        return false;
    if (!check_virtual_nmis(v) || !check_pml(v))
        return false;
    /* SDM 26.2.1.2: saving the timer's value needs the timer. */
    if (CC(!(v->pin_based_vm_exec_control & PIN_BASED_VMX_PREEMPTION_TIMER) &&
           (v->vm_exit_controls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)))
        return false;
    if ((v->cpu_based_vm_exec_control & CPU_BASED_USE_IO_BITMAPS) &&
        (CC(!page_addr_ok(v->io_bitmap_a)) || CC(!page_addr_ok(v->io_bitmap_b))))
        return false;
    if ((v->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS) && CC(!page_addr_ok(v->msr_bitmap)))
        return false;
    if ((proc2 & SECONDARY_EXEC_SHADOW_VMCS) &&
        (CC(!page_addr_ok(v->vmread_bitmap)) || CC(!page_addr_ok(v->vmwrite_bitmap))))
        return false;
    if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) && CC(!nested_eptp_valid(v->ept_pointer)))
        return false;
    if ((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && CC(!(proc2 & SECONDARY_EXEC_ENABLE_EPT)))
        return false;
    if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) && CC(v->virtual_processor_id == 0))
        return false;
    if (CC(!msr_list_ok(v->vm_exit_msr_store_count, v->vm_exit_msr_store_addr)) ||
        CC(!msr_list_ok(v->vm_exit_msr_load_count, v->vm_exit_msr_load_addr)) ||
        CC(!msr_list_ok(v->vm_entry_msr_load_count, v->vm_entry_msr_load_addr)))
        return false;
    return check_entry_event(v);
}

bool nested_check_host_state(const struct vmcs12 *v, bool l1_long_mode)
{
    bool host64 = v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;

    if (CC(!nested_cr0_valid(v->host_cr0, false)) || CC(!nested_cr4_valid(v->host_cr4)) ||
        CC(!within_width(v->host_cr3)))
        return false;
    if (CC(!is_canonical(v->host_ia32_sysenter_esp)) || CC(!is_canonical(v->host_ia32_sysenter_eip)))
        return false;
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) && CC(!pat_ok(v->host_ia32_pat)))
        return false;
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER) &&
        (CC(v->host_ia32_efer & EFER_RESERVED) ||
         CC(!!(v->host_ia32_efer & EFER_LMA) != host64) || CC(!!(v->host_ia32_efer & EFER_LME) != host64)))
        return false;
    /* Selectors: RPL and TI clear; CS and TR not null; SS not null without 64-bit host. */
    u16 sels[] = { v->host_es_selector, v->host_cs_selector, v->host_ss_selector,
                   v->host_ds_selector, v->host_fs_selector, v->host_gs_selector, v->host_tr_selector };
    for (u32 i = 0; i < ARRAY_SIZE(sels); i++)
        if (CC(sels[i] & 7))
            return false;
    if (CC(v->host_cs_selector == 0) || CC(v->host_tr_selector == 0) ||
        CC(!host64 && v->host_ss_selector == 0))
        return false;
    if (CC(host64 != l1_long_mode))
        return false;
    if (host64) {
        if (CC(!(v->host_cr4 & X86_CR4_PAE)) || CC(!is_canonical(v->host_rip)) ||
            CC(!is_canonical(v->host_fs_base)) || CC(!is_canonical(v->host_gs_base)) ||
            CC(!is_canonical(v->host_gdtr_base)) || CC(!is_canonical(v->host_idtr_base)) ||
            CC(!is_canonical(v->host_tr_base)))
            return false;
    } else {
        if (CC(v->vm_entry_controls & VM_ENTRY_IA32E_MODE) || CC(v->host_rip >> 32) ||
            CC(v->host_cr4 & X86_CR4_PCIDE))
            return false;
    }
    return true;
}

struct seg12 {
    u16 sel;
    u64 base;
    u32 limit, ar;
};

static bool limit_g_ok(const struct seg12 *s)
{
    if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
        return false;
    if ((s->limit >> 20) && !(s->ar & AR_G))
        return false;
    return true;
}

/* Segment checks (SDM 27.3.1.2), for protected and IA-32e mode guests. */
static bool check_segments(const struct vmcs12 *v, bool ia32e, bool unrestricted)
{
    struct seg12 cs = { v->guest_cs_selector, v->guest_cs_base, v->guest_cs_limit, v->guest_cs_ar_bytes };
    struct seg12 ss = { v->guest_ss_selector, v->guest_ss_base, v->guest_ss_limit, v->guest_ss_ar_bytes };
    struct seg12 tr = { v->guest_tr_selector, v->guest_tr_base, v->guest_tr_limit, v->guest_tr_ar_bytes };
    struct seg12 ldtr = { v->guest_ldtr_selector, v->guest_ldtr_base, v->guest_ldtr_limit, v->guest_ldtr_ar_bytes };
    struct seg12 data[] = {
        { v->guest_ds_selector, v->guest_ds_base, v->guest_ds_limit, v->guest_ds_ar_bytes },
        { v->guest_es_selector, v->guest_es_base, v->guest_es_limit, v->guest_es_ar_bytes },
        { v->guest_fs_selector, v->guest_fs_base, v->guest_fs_limit, v->guest_fs_ar_bytes },
        { v->guest_gs_selector, v->guest_gs_base, v->guest_gs_limit, v->guest_gs_ar_bytes },
    };
    u32 cs_type = AR_TYPE(cs.ar);

    if (CC(v->guest_rflags & X86_RFLAGS_VM))
        return false;                   /* virtual-8086 L2s are not supported */
    /* TR */
    if (CC(tr.sel & 4) || CC(tr.ar & AR_UNUSABLE) || CC(tr.ar & AR_S) || CC(!(tr.ar & AR_P)) ||
        CC(ia32e ? AR_TYPE(tr.ar) != 11 : (AR_TYPE(tr.ar) != 11 && AR_TYPE(tr.ar) != 3)) ||
        CC(!limit_g_ok(&tr)) || CC(tr.ar & AR_RESERVED) || CC(!is_canonical(tr.base)))
        return false;
    /* LDTR */
    if (!(ldtr.ar & AR_UNUSABLE) &&
        (CC(ldtr.sel & 4) || CC(AR_TYPE(ldtr.ar) != 2) || CC(ldtr.ar & AR_S) || CC(!(ldtr.ar & AR_P)) ||
         CC(!limit_g_ok(&ldtr)) || CC(ldtr.ar & AR_RESERVED) || CC(!is_canonical(ldtr.base))))
        return false;
    /* CS */
    if (CC(cs.ar & AR_UNUSABLE) || CC(!(cs.ar & AR_S)) || CC(!(cs.ar & AR_P)) ||
        CC(!(cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 ||
             (unrestricted && cs_type == 3))) ||
        CC(cs.ar & AR_RESERVED) || CC(!limit_g_ok(&cs)) || CC(cs.base >> 32) ||
        CC(ia32e && (cs.ar & AR_L) && (cs.ar & AR_DB)))
        return false;
    if (CC((cs_type == 9 || cs_type == 11) && AR_DPL(cs.ar) != AR_DPL(ss.ar)))
        return false;
    /* SS */
    if (!(ss.ar & AR_UNUSABLE) &&
        (CC(AR_TYPE(ss.ar) != 3 && AR_TYPE(ss.ar) != 7) || CC(!(ss.ar & AR_S)) || CC(!(ss.ar & AR_P)) ||
         CC(ss.ar & AR_RESERVED) || CC(!limit_g_ok(&ss))))
        return false;
    if (CC(!unrestricted && (ss.sel & 3) != (cs.sel & 3)) || CC(ss.base >> 32))
        return false;
    /* DS ES FS GS */
    for (u32 i = 0; i < ARRAY_SIZE(data); i++) {
        const struct seg12 *s = &data[i];
        if (i >= 2 ? CC(!is_canonical(s->base)) : CC(s->base >> 32))
            return false;
        if (s->ar & AR_UNUSABLE)
            continue;
        if (CC(!(AR_TYPE(s->ar) & 1)) || CC(!(s->ar & AR_S)) || CC(!(s->ar & AR_P)) ||
            CC((AR_TYPE(s->ar) & 8) && !(AR_TYPE(s->ar) & 2)) ||
            CC(s->ar & AR_RESERVED) || CC(!limit_g_ok(s)))
            return false;
    }
    return true;
}

/* SDM 27.3.1.5: with virtual NMIs, an NMI is not injected while blocking
 * by NMI (virtual-NMI blocking) is set. */
static bool check_virtual_nmi_blocking(const struct vmcs12 *v)
{
    u32 ev = v->vm_entry_intr_info_field;

    return !CC((v->pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS) &&
               (v->guest_interruptibility_info & GUEST_INTR_STATE_NMI) &&
               (ev & INTR_INFO_VALID_MASK) && INTR_TYPE(ev) == INTR_TYPE_NMI_INTR);
}

bool nested_check_guest_state(struct vm *vm, const struct vmcs12 *v, u64 *qual)
{
    u32 proc2 = nested_proc2(v);
    bool ug = proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
    bool ia32e = v->vm_entry_controls & VM_ENTRY_IA32E_MODE;
    u64 cr0 = v->guest_cr0, cr4 = v->guest_cr4;

    *qual = ENTRY_FAIL_DEFAULT;
    if (CC(!nested_cr0_valid(cr0, ug)) || CC((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) ||
        CC(!nested_cr4_valid(cr4)))
        return false;
    if (CC(ia32e && (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE))) || CC(!ia32e && (cr4 & X86_CR4_PCIDE)))
        return false;
    if (CC(!within_width(v->guest_cr3)))
        return false;
    /* SDM 26.3.1.1: DR7 bits 63:32 and IA32_DEBUGCTL's reserved bits; the
     * bits turtle does not give a guest count as reserved, as an L1 sees
     * them in WRMSR (#GP), so vmcs02 never carries them (KVM does so too). */
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
        (CC(v->guest_dr7 >> 32) || CC(v->guest_ia32_debugctl & ~nested_debugctl_allowed)))
        return false;
    if (CC(!is_canonical(v->guest_sysenter_esp)) || CC(!is_canonical(v->guest_sysenter_eip)))
        return false;
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) && CC(!pat_ok(v->guest_ia32_pat)))
        return false;
    if (v->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER) {
        u64 efer = v->guest_ia32_efer;
        if (CC(efer & EFER_RESERVED) || CC(!!(efer & EFER_LMA) != ia32e) ||
            CC((cr0 & X86_CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA)))
            return false;
    }
    if (!check_segments(v, ia32e, ug))
        return false;
    if (CC(!is_canonical(v->guest_gdtr_base)) || CC(!is_canonical(v->guest_idtr_base)) ||
        CC(v->guest_gdtr_limit >> 16) || CC(v->guest_idtr_limit >> 16))
        return false;
    bool cs_l = ia32e && (v->guest_cs_ar_bytes & AR_L);
    if (CC(cs_l ? !is_canonical(v->guest_rip) : (v->guest_rip >> 32) != 0))
        return false;
    u64 rf = v->guest_rflags;
    if (CC(rf & RFLAGS_RESERVED) || CC(!(rf & X86_RFLAGS_FIXED)))
        return false;
    u32 ev = v->vm_entry_intr_info_field;
    if ((ev & INTR_INFO_VALID_MASK) && INTR_TYPE(ev) == INTR_TYPE_EXT_INTR && CC(!(rf & X86_RFLAGS_IF)))
        return false;
    /* Activity and interruptibility (SDM 27.3.1.5). */
    u32 act = v->guest_activity_state, intr = v->guest_interruptibility_info;
    if (CC(act > GUEST_ACTIVITY_MAX) ||
        CC(act == GUEST_ACTIVITY_HLT && !(nested_vmx_misc() & VMX_MISC_ACTIVITY_HLT)) ||
        CC(act == GUEST_ACTIVITY_HLT && AR_DPL(v->guest_ss_ar_bytes) != 0))
        return false;
    /* Bits 2 (SMI blocking: no SMM here) and 4 (enclave interruption: no
     * SGX shown) must be 0, like every reserved bit. */
    if (CC(intr & ~(u32)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)) ||
        CC((intr & GUEST_INTR_STATE_STI) && (intr & GUEST_INTR_STATE_MOV_SS)) ||
        CC(!(rf & X86_RFLAGS_IF) && (intr & GUEST_INTR_STATE_STI)) ||
        CC((ev & INTR_INFO_VALID_MASK) && INTR_TYPE(ev) == INTR_TYPE_EXT_INTR &&
           (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) ||
        CC((ev & INTR_INFO_VALID_MASK) && INTR_TYPE(ev) == INTR_TYPE_NMI_INTR &&
           (intr & GUEST_INTR_STATE_MOV_SS)))
        return false;
    if (!check_virtual_nmi_blocking(v))
        return false;
    /* B3:B0, BS (14) and enabled-breakpoint (12); bit 16 (RTM) is not
     * allowed since RTM is not shown. */
    if (CC(v->guest_pending_dbg_exceptions & ~0x500fULL))
        return false;
    /* PAE paging outside IA-32e mode: the four PDPTEs (from vmcs12 with
     * EPT, else from L2's CR3 in L1 memory) must have no reserved bit set
     * where present (SDM 27.3.1.6). */
    if ((cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !ia32e) {
        u64 pdpte[4] = { 0 };
        u64 reserved = 0x1e6ULL | ~((1ULL << nested_phys_addr_width()) - 1);
        if (proc2 & SECONDARY_EXEC_ENABLE_EPT) {
            pdpte[0] = v->guest_pdptr0;
            pdpte[1] = v->guest_pdptr1;
            pdpte[2] = v->guest_pdptr2;
            pdpte[3] = v->guest_pdptr3;
        } else if (!guest_copy_from(vm, pdpte, v->guest_cr3 & ~0x1fULL, sizeof(pdpte))) {
            memset(pdpte, 0xff, sizeof(pdpte));     /* outside L1 RAM: all ones */
        }
        for (u32 i = 0; i < 4; i++) {
            if ((pdpte[i] & 1) && CC(pdpte[i] & reserved)) {
                *qual = ENTRY_FAIL_PDPTE;
                return false;
            }
        }
    }
    /* The VMCS link pointer: anything but ~0 must be a valid region whose
     * shadow-VMCS indicator (bit 31) is "VMCS shadowing" (SDM 27.3.1.5,
     * 27.8). */
    if (v->vmcs_link_pointer != ~0ULL) {
        u32 rev = 0xffffffff;
        u32 shadow = (proc2 & SECONDARY_EXEC_SHADOW_VMCS) ? BIT(31) : 0;
        *qual = ENTRY_FAIL_VMCS_LINK_PTR;
        guest_copy_from(vm, &rev, v->vmcs_link_pointer, 4);
        if (CC(!page_addr_ok(v->vmcs_link_pointer)) || CC(rev != (VMCS12_REVISION | shadow)))
            return false;
        *qual = ENTRY_FAIL_DEFAULT;
    }
    return true;
}
