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
#include "nested/apicv12.h"
#include "nested/checks.h"
#include "vmx/vmx.h"

/* A hostile L1 can fail checks in a loop: the console gets the first
 * CHECK_MESSAGES_MAX of them, then one line saying the rest are dropped. */
#define CHECK_MESSAGES_MAX  200
static u32 check_messages;

void nested_check_failed(const char *text)
{
    if (check_messages < CHECK_MESSAGES_MAX)
        kprintf("turtle: nested: VM-entry check failed: %s\n", text);
    else if (check_messages == CHECK_MESSAGES_MAX)
        kprintf("turtle: nested: further VM-entry check messages suppressed\n");
    check_messages++;
}

#define X86_CR4_PCIDE       BIT(17)
#define RFLAGS_RESERVED     (~0x3fffffULL | BIT(15) | BIT(5) | BIT(3))
#define INTR_TYPE(i)        ((i) & INTR_INFO_INTR_TYPE_MASK)
#define INTR_VECTOR(i)      ((i) & INTR_INFO_VECTOR_MASK)
#define INTR_RESERVED       0x7ffff000u
#define EFER_RESERVED       (~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
#define MSR_LIST_ALIGN      16
#define GUEST_ACTIVITY_MAX  GUEST_ACTIVITY_HLT
#define ENTRY_ERROR_CODE_RESERVED 0xffff0000u   /* bits 31:16 (SDM 27.2.1.3) */
#define PENDING_DBG_BS      BIT(14)             /* single step */
#define PENDING_DBG_ALLOWED 0x500fULL           /* B3:B0, enabled breakpoint (12), BS (14) */
#define PDPTE_P             BIT(0)
#define PDPTE_RESERVED_LOW  0x1e6ULL            /* bits 2:1 and 8:5 */

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

bool nested_eptp_valid(const struct nested_caps *c, u64 eptp)
{
    u64 cap = nested_caps_ept_vpid(c);
    u64 mt = eptp & VMX_EPTP_MT_MASK;
    if (mt == VMX_EPTP_MT_WB ? !(cap & VMX_EPTP_WB_BIT)
        : mt == VMX_EPTP_MT_UC ? !(cap & VMX_EPTP_UC_BIT) : true)
        return false;
    if ((eptp & VMX_EPTP_PWL_MASK) != VMX_EPTP_PWL_4)
        return false;
    if (eptp & (0xf80ULL))                      /* bits 11:7: SSS and reserved */
        return false;
    if ((eptp & VMX_EPTP_AD_ENABLE_BIT) && !(cap & VMX_EPT_AD_BIT))
        return false;                           /* bit 6: A/D flags, when shown */
    return within_width(eptp & ~0xfffULL);
}

/* Event injection fields (SDM 27.2.1.3). */
static bool check_entry_event(const struct nested_caps *c, const struct vmcs12 *v)
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
        CC(type == INTR_TYPE_OTHER_EVENT && (vec != 0 || !(nested_caps_proc(c) & CPU_BASED_MONITOR_TRAP_FLAG))))
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
    if ((info & INTR_INFO_DELIVER_CODE_MASK) && CC(v->vm_entry_exception_error_code & ENTRY_ERROR_CODE_RESERVED))
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

/* SDM 27.2.1.1: with "enable VM functions", no VM-function control that
 * IA32_VMX_VMFUNC does not allow; EPTP switching needs "enable EPT" and an
 * EPTP-list address 4 KiB aligned within the physical-address width. */
static bool check_vmfunc(const struct nested_caps *c, const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);

    if (!(proc2 & SECONDARY_EXEC_ENABLE_VMFUNC))
        return true;
    if (CC(v->vm_function_control & ~nested_caps_vmfunc(c)))
        return false;
    if (!(v->vm_function_control & VMX_VMFUNC_EPTP_SWITCHING))
        return true;
    return !CC(!(proc2 & SECONDARY_EXEC_ENABLE_EPT)) && !CC(!page_addr_ok(v->eptp_list_address));
}

bool nested_check_controls(const struct nested_caps *c, const struct vmcs12 *v)
{
    u32 proc2 = nested_proc2(v);

    if (CC(!ctls_ok(v->pin_based_vm_exec_control, PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, nested_caps_pin(c))) ||
        CC(!ctls_ok(v->cpu_based_vm_exec_control, CPU_BASED_TRUE_ALWAYSON, nested_caps_proc(c))) ||
        CC(!ctls_ok(proc2, 0, nested_caps_proc2(c))) ||
        CC(!ctls_ok(v->vm_exit_controls, VM_EXIT_TRUE_ALWAYSON, nested_caps_exit(c))) ||
        CC(!ctls_ok(v->vm_entry_controls, VM_ENTRY_TRUE_ALWAYSON, nested_caps_entry(c))))
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
    if (!nested_check_apic_controls(v))
        return false;
    if ((proc2 & SECONDARY_EXEC_SHADOW_VMCS) &&
        (CC(!page_addr_ok(v->vmread_bitmap)) || CC(!page_addr_ok(v->vmwrite_bitmap))))
        return false;
    if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) && CC(!nested_eptp_valid(c, v->ept_pointer)))
        return false;
    if ((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && CC(!(proc2 & SECONDARY_EXEC_ENABLE_EPT)))
        return false;
    if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) && CC(v->virtual_processor_id == 0))
        return false;
    if (!check_vmfunc(c, v))
        return false;
    if (CC(!msr_list_ok(v->vm_exit_msr_store_count, v->vm_exit_msr_store_addr)) ||
        CC(!msr_list_ok(v->vm_exit_msr_load_count, v->vm_exit_msr_load_addr)) ||
        CC(!msr_list_ok(v->vm_entry_msr_load_count, v->vm_entry_msr_load_addr)))
        return false;
    return check_entry_event(c, v);
}

bool nested_check_host_state(const struct nested_caps *c, const struct vmcs12 *v, bool l1_long_mode)
{
    bool host64 = v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;

    if (CC(!nested_cr0_valid(c, v->host_cr0, false)) || CC(!nested_cr4_valid(c, v->host_cr4)) ||
        CC(!within_width(v->host_cr3)))
        return false;
    if (CC(!is_canonical(v->host_ia32_sysenter_esp)) || CC(!is_canonical(v->host_ia32_sysenter_eip)))
        return false;
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) && CC(!x86_pat_valid(v->host_ia32_pat)))
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
    /* The CPU supports Intel 64: these bases are canonical whatever the
     * host's address-space size (SDM 27.2.3). */
    if (CC(!is_canonical(v->host_fs_base)) || CC(!is_canonical(v->host_gs_base)) ||
        CC(!is_canonical(v->host_gdtr_base)) || CC(!is_canonical(v->host_idtr_base)) ||
        CC(!is_canonical(v->host_tr_base)))
        return false;
    /* Address-space size (SDM 27.2.4). */
    if (CC(host64 != l1_long_mode))
        return false;
    if (host64) {
        if (CC(!(v->host_cr4 & X86_CR4_PAE)) || CC(!is_canonical(v->host_rip)))
            return false;
    } else {
        if (CC(v->vm_entry_controls & VM_ENTRY_IA32E_MODE) || CC(v->host_rip >> 32) ||
            CC(v->host_cr4 & X86_CR4_PCIDE))
            return false;
    }
    return true;
}

/* The four PAE PDPTEs at cr3 in L1 memory; all ones outside L1's RAM
 * (every one present, with reserved bits set). */
void nested_read_pdptes(struct vm *vm, u64 cr3, u64 pdpte[4])
{
    if (!guest_copy_from(vm, pdpte, cr3 & ~0x1fULL, 4 * sizeof(u64)))
        memset(pdpte, 0xff, 4 * sizeof(u64));
}

/* No present PDPTE has a reserved bit (2:1, 8:5, or beyond the
 * physical-address width) set (SDM 4.4.1, 27.3.1.6, 28.5.4). */
bool nested_pdptes_valid(const u64 pdpte[4])
{
    u64 reserved = PDPTE_RESERVED_LOW | ~((1ULL << nested_phys_addr_width()) - 1);

    for (u32 i = 0; i < 4; i++)
        if ((pdpte[i] & PDPTE_P) && (pdpte[i] & reserved))
            return false;
    return true;
}

/*
 * Guest non-register state (SDM 27.3.1.5) but the VMCS link pointer:
 * activity state, interruptibility, and pending debug exceptions, with
 * the rules that tie them to RFLAGS and to the event being injected.
 */
static bool check_guest_non_register_state(const struct nested_caps *c, const struct vmcs12 *v)
{
    u32 act = v->guest_activity_state, intr = v->guest_interruptibility_info;
    u32 ev = v->vm_entry_intr_info_field;
    bool injecting = ev & INTR_INFO_VALID_MASK;
    u32 type = INTR_TYPE(ev), vec = INTR_VECTOR(ev);
    u64 rf = v->guest_rflags, pending = v->guest_pending_dbg_exceptions;
    bool sti_or_mov_ss = intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);

    /* Activity state: one IA32_VMX_MISC shows; HLT only with SS.DPL 0;
     * active under blocking by STI or MOV SS. */
    if (CC(act > GUEST_ACTIVITY_MAX) ||
        CC(act == GUEST_ACTIVITY_HLT && !(nested_caps_misc(c) & VMX_MISC_ACTIVITY_HLT)) ||
        CC(act == GUEST_ACTIVITY_HLT && AR_DPL(v->guest_ss_ar_bytes) != 0) ||
        CC(act != GUEST_ACTIVITY_ACTIVE && sti_or_mov_ss))
        return false;
    /* In the HLT state only an external interrupt, an NMI, #DB, #MC or a
     * pending MTF VM exit may be injected. */
    if (injecting && act == GUEST_ACTIVITY_HLT &&
        CC(!(type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI_INTR ||
             (type == INTR_TYPE_HARD_EXCEPTION && (vec == VECTOR_DB || vec == VECTOR_MC)) ||
             (type == INTR_TYPE_OTHER_EVENT && vec == 0))))
        return false;
    /* Interruptibility. Bits 2 (SMI blocking: no SMM here) and 4 (enclave
     * interruption: no SGX shown) must be 0, like every reserved bit. */
    if (CC(intr & ~(u32)(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)) ||
        CC((intr & GUEST_INTR_STATE_STI) && (intr & GUEST_INTR_STATE_MOV_SS)) ||
        CC(!(rf & X86_RFLAGS_IF) && (intr & GUEST_INTR_STATE_STI)) ||
        CC(injecting && type == INTR_TYPE_EXT_INTR && sti_or_mov_ss) ||
        CC(injecting && type == INTR_TYPE_NMI_INTR && (intr & GUEST_INTR_STATE_MOV_SS)))
        return false;
    /* Pending debug exceptions: B3:B0, enabled breakpoint (12), BS (14);
     * bit 16 (RTM) is not allowed since RTM is not shown. Under blocking
     * by STI or MOV SS, or in HLT, BS must say whether a single step is
     * pending: 1 exactly when RFLAGS.TF is 1 and IA32_DEBUGCTL.BTF (the
     * field) is 0. */
    if (CC(pending & ~PENDING_DBG_ALLOWED))
        return false;
    if (sti_or_mov_ss || act == GUEST_ACTIVITY_HLT) {
        bool step = (rf & X86_RFLAGS_TF) && !(v->guest_ia32_debugctl & DEBUGCTL_BTF);
        if (CC(step && !(pending & PENDING_DBG_BS)) || CC(!step && (pending & PENDING_DBG_BS)))
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

bool nested_check_guest_state(const struct nested_caps *c, struct vm *vm, const struct vmcs12 *v, u64 *qual)
{
    return nested_check_guest_state_memo(c, vm, v, qual, NULL);
}

bool nested_check_guest_state_memo(const struct nested_caps *c, struct vm *vm, const struct vmcs12 *v, u64 *qual,
                                   struct seg_memo *memo)
{
    u32 proc2 = nested_proc2(v);
    bool ug = proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
    bool ia32e = v->vm_entry_controls & VM_ENTRY_IA32E_MODE;
    u64 cr0 = v->guest_cr0, cr4 = v->guest_cr4;

    *qual = ENTRY_FAIL_DEFAULT;
    if (CC(!nested_cr0_valid(c, cr0, ug)) || CC((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) ||
        CC(!nested_cr4_valid(c, cr4)))
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
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) && CC(!x86_pat_valid(v->guest_ia32_pat)))
        return false;
    if (v->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER) {
        u64 efer = v->guest_ia32_efer;
        if (CC(efer & EFER_RESERVED) || CC(!!(efer & EFER_LMA) != ia32e) ||
            CC((cr0 & X86_CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA)))
            return false;
    }
    u32 key = memo ? seg_memo_key(v, ia32e, ug) : 0;
    if (!memo || !seg_memo_hit(memo, v, key)) {
        if (!nested_check_guest_segments(v, ia32e, ug))
            return false;
        if (memo)
            seg_memo_store(memo, v, key);
    }
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
    if (!check_guest_non_register_state(c, v) || !check_virtual_nmi_blocking(v))
        return false;
    /* PAE paging outside IA-32e mode: the four PDPTEs (from vmcs12 with
     * EPT, else from L2's CR3 in L1 memory) must have no reserved bit set
     * where present (SDM 27.3.1.6). */
    if ((cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !ia32e) {
        u64 pdpte[4] = { 0 };
        if (proc2 & SECONDARY_EXEC_ENABLE_EPT) {
            pdpte[0] = v->guest_pdptr0;
            pdpte[1] = v->guest_pdptr1;
            pdpte[2] = v->guest_pdptr2;
            pdpte[3] = v->guest_pdptr3;
        } else {
            nested_read_pdptes(vm, v->guest_cr3, pdpte);
        }
        if (CC(!nested_pdptes_valid(pdpte))) {
            *qual = ENTRY_FAIL_PDPTE;
            return false;
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
