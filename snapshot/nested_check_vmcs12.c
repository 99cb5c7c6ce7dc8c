/*
 * KVM's vmcs12 content checks at KVM_SET_NESTED_STATE with GUEST_MODE
 * (nested_vmx_check_controls, _host_state, _guest_state and the CR3 test
 * of prepare_vmcs02), in KVM's order, against the vCPU's capability MSRs
 * and CPUID (struct nested_check_caps). Refusals are "KVM 6.x.n: ...",
 * numbered as docs/snapshot.md lists them. The SDM's own entry checks,
 * which turtle applies at VMLAUNCH/VMRESUME, are nested/checks.c; KVM's
 * restore set differs (no segment, RIP or interruptibility checks; EFER
 * only with RUN_PENDING; limits from the vCPU's MSRs rather than turtle's).
 */
#include "kernel/x86.h"
#include "nested/checks.h"
#include "nested/vmcs12.h"
#include "snapshot/nested_check_int.h"
#include "vmx/vmx_arch.h"

#define REFUSE(id, text)    return "KVM " id ": " text

#define X86_CR4_LA57        BIT(12)
#define X86_CR4_PCIDE       BIT(17)
#define X86_CR4_CET         BIT(23)
#define EFER_LME            BIT(8)
#define EFER_LMA            BIT(10)
#define INTR_VALID          BIT(31)
#define INTR_DELIVER_CODE   BIT(11)
#define INTR_TYPE(i)        ((i) & INTR_INFO_INTR_TYPE_MASK)
#define EPTP_MT_UC          0
#define EPTP_MT_WB          6
#define EPT_CAP_PWL4        BIT(6)
#define EPT_CAP_PWL5        BIT(7)
#define EPT_CAP_UC          BIT(8)
#define EPT_CAP_WB          BIT(14)
#define EPT_CAP_AD          BIT(21)
#define BASIC_NO_HW_ERRCODE_CC  BIT(56)
#define MISC_ZERO_LEN_INS   BIT(30)
#define CET_SHSTK_BITS      0x3ULL          /* SH_STK_EN, WR_SHSTK_EN */
#define CET_RESERVED        0x3c0ULL        /* bits 9:6 */
#define CET_SUPPRESS        BIT(10)
#define CET_WAIT_ENDBR      BIT(11)

static bool canonical(u64 v, u32 bits)
{
    return (u64)((s64)(v << (64 - bits)) >> (64 - bits)) == v;
}

bool ncheck_legal_gpa(const struct nested_check_caps *c, u64 gpa)
{
    return c->maxphyaddr >= 64 || !(gpa >> c->maxphyaddr);
}

bool ncheck_page_valid(const struct nested_check_caps *c, u64 gpa)
{
    return IS_ALIGNED(gpa, PAGE_SIZE) && ncheck_legal_gpa(c, gpa);
}

/* A control word against a capability MSR: low half must-be-1, high half may-be-1. */
static bool ctls_ok(u32 v, u64 msr)
{
    return (v & (u32)msr) == (u32)msr && !(v & ~(u32)(msr >> 32));
}

static bool msr_list_ok(const struct nested_check_caps *c, u32 count, u64 addr)
{
    if (!count)
        return true;
    u64 max = (((c->misc >> 25) & 7) + 1) * 512;
    return count <= max && IS_ALIGNED(addr, 16) && ncheck_legal_gpa(c, addr) &&
           ncheck_legal_gpa(c, addr + (u64)count * 16 - 1);
}

static bool cet_ok(const struct nested_check_caps *c, u64 cet)
{
    if (cet & CET_RESERVED)
        return false;
    if (!c->shstk && (cet & CET_SHSTK_BITS))
        return false;
    if (!c->ibt && (cet & ~(CET_SHSTK_BITS | CET_RESERVED)))
        return false;
    return (cet & (CET_SUPPRESS | CET_WAIT_ENDBR)) != (CET_SUPPRESS | CET_WAIT_ENDBR);
}

/* CET state loaded by an exit (host) or entry (guest), 6.2.12 / 6.3.12. */
static bool cet_state_ok(const struct nested_check_caps *c, u64 s_cet, u64 ssp, u64 ssp_tbl, bool ia32e)
{
    if (!cet_ok(c, s_cet) || !IS_ALIGNED(ssp, 4) || !canonical(ssp_tbl, c->host_va_bits))
        return false;
    if (ia32e)
        return canonical(s_cet, c->host_va_bits) && canonical(ssp, c->host_va_bits);
    return !(s_cet >> 32) && !(ssp >> 32);
}

static bool cr0_ok(const struct nested_check_caps *c, u64 cr0, bool relax_pe_pg)
{
    u64 f0 = c->cr0_fixed0 & ~(relax_pe_pg ? X86_CR0_PE | X86_CR0_PG : 0);
    return (cr0 & f0) == f0 && !(cr0 & ~c->cr0_fixed1);
}

static bool cr4_ok(const struct nested_check_caps *c, u64 cr4)
{
    return (cr4 & c->cr4_fixed0) == c->cr4_fixed0 && !(cr4 & ~c->cr4_fixed1) && !(cr4 & c->cr4_reserved);
}

static bool has_error_code(u32 vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

static const char *check_eptp(const struct nested_check_caps *c, u64 eptp)
{
    u64 mt = eptp & 7, pwl = (eptp >> 3) & 7;

    if (mt == EPTP_MT_UC ? !(c->ept_vpid_cap & EPT_CAP_UC) :
        mt == EPTP_MT_WB ? !(c->ept_vpid_cap & EPT_CAP_WB) : true)
        REFUSE("6.1.15", "EPT pointer: memory type not allowed");
    if (pwl == 3 ? !(c->ept_vpid_cap & EPT_CAP_PWL4) : pwl == 4 ? !(c->ept_vpid_cap & EPT_CAP_PWL5) : true)
        REFUSE("6.1.15", "EPT pointer: page-walk length not allowed");
    if ((eptp & 0xf80) || !ncheck_legal_gpa(c, eptp))
        REFUSE("6.1.15", "EPT pointer: reserved bits set");
    if ((eptp & BIT(6)) && !(c->ept_vpid_cap & EPT_CAP_AD))
        REFUSE("6.1.15", "EPT pointer: A/D enabled without the capability");
    return NULL;
}

static const char *check_event(const struct nested_check_caps *c, const struct vmcs12 *v, u32 proc2)
{
    u32 info = v->vm_entry_intr_info_field, type = INTR_TYPE(info), vec = info & 0xff;
    bool ug = (proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && (c->procbased2 >> 32 & SECONDARY_EXEC_UNRESTRICTED_GUEST);
    bool real = ug && !(v->guest_cr0 & X86_CR0_PE);
    bool code = info & INTR_DELIVER_CODE;

    if (!(info & INTR_VALID))
        return NULL;
    if (type == INTR_TYPE_RESERVED)
        REFUSE("6.1.20", "event injection: reserved type 1");
    if (type == INTR_TYPE_OTHER_EVENT && !(c->procbased >> 32 & CPU_BASED_MONITOR_TRAP_FLAG))
        REFUSE("6.1.20", "event injection: type 7 without MTF");
    if ((type == INTR_TYPE_NMI_INTR && vec != 2) || (type == INTR_TYPE_HARD_EXCEPTION && vec > 31) ||
        (type == INTR_TYPE_OTHER_EVENT && vec != 0))
        REFUSE("6.1.20", "event injection: vector not valid for its type");
    if (code && (real || type != INTR_TYPE_HARD_EXCEPTION))
        REFUSE("6.1.20", "event injection: error code in real mode or for a non-exception");
    if (type == INTR_TYPE_HARD_EXCEPTION && !real && !(c->basic & BASIC_NO_HW_ERRCODE_CC) &&
        code != has_error_code(vec))
        REFUSE("6.1.20", "event injection: deliver-error-code does not match the vector");
    if (code && (v->vm_entry_exception_error_code >> 16))
        REFUSE("6.1.20", "event injection: error code bits 31:16 set");
    if (info & 0x7ffff000u)
        REFUSE("6.1.20", "event injection: reserved bits 30:12 set");
    if ((type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION || type == INTR_TYPE_SOFT_EXCEPTION) &&
        (v->vm_entry_instruction_len > 15 || (!v->vm_entry_instruction_len && !(c->misc & MISC_ZERO_LEN_INS))))
        REFUSE("6.1.20", "event injection: bad instruction length");
    return NULL;
}

static const char *check_apicv(const struct nested_check_caps *c, const struct vmcs12 *v, u32 pin, u32 proc, u32 proc2)
{
    const u32 any = SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE | SECONDARY_EXEC_APIC_REGISTER_VIRT |
                    SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;

    if (!(proc2 & any) && !(pin & PIN_BASED_POSTED_INTR))
        return NULL;
    if ((proc2 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) && (proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES))
        REFUSE("6.1.8", "virtual x2APIC mode with virtualize APIC accesses");
    if ((proc2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) && !(pin & PIN_BASED_EXT_INTR_MASK))
        REFUSE("6.1.8", "virtual-interrupt delivery without external-interrupt exiting");
    if ((pin & PIN_BASED_POSTED_INTR) &&
        (!(proc2 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) || !(v->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT) ||
         (v->posted_intr_nv & 0xff00) || !IS_ALIGNED(v->posted_intr_desc_addr, 64) ||
         !ncheck_legal_gpa(c, v->posted_intr_desc_addr)))
        REFUSE("6.1.8", "posted interrupts: a requirement is not met");
    if (!(proc & CPU_BASED_TPR_SHADOW))
        REFUSE("6.1.8", "APIC virtualization without TPR shadow");
    return NULL;
}

static const char *check_controls(const struct nested_check_caps *c, const struct vmcs12 *v)
{
    u32 pin = v->pin_based_vm_exec_control, proc = v->cpu_based_vm_exec_control;
    u32 proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? v->secondary_vm_exec_control : 0;
    const char *err;

    if (!ctls_ok(pin, c->pinbased))
        REFUSE("6.1.1", "pin-based controls not allowed by IA32_VMX_TRUE_PINBASED_CTLS");
    if (!ctls_ok(proc, c->procbased))
        REFUSE("6.1.1", "primary controls not allowed by IA32_VMX_TRUE_PROCBASED_CTLS");
    if ((proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) && !ctls_ok(proc2, c->procbased2))
        REFUSE("6.1.2", "secondary controls not allowed by IA32_VMX_PROCBASED_CTLS2");
    if (v->cr3_target_count > ((c->misc >> 16) & 0x1ff))
        REFUSE("6.1.3", "cr3_target_count above IA32_VMX_MISC[24:16]");
    if ((proc & CPU_BASED_USE_IO_BITMAPS) &&
        (!ncheck_page_valid(c, v->io_bitmap_a) || !ncheck_page_valid(c, v->io_bitmap_b)))
        REFUSE("6.1.4", "I/O bitmap address not page-valid");
    if ((proc & CPU_BASED_USE_MSR_BITMAPS) && !ncheck_page_valid(c, v->msr_bitmap))
        REFUSE("6.1.5", "MSR bitmap address not page-valid");
    if ((proc & CPU_BASED_TPR_SHADOW) && !ncheck_page_valid(c, v->virtual_apic_page_addr))
        REFUSE("6.1.6", "virtual-APIC page address not page-valid");
    if ((proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) && !ncheck_page_valid(c, v->apic_access_addr))
        REFUSE("6.1.7", "APIC-access address not page-valid");
    if ((err = check_apicv(c, v, pin, proc, proc2)))
        return err;
    if (((pin & PIN_BASED_VIRTUAL_NMIS) && !(pin & PIN_BASED_NMI_EXITING)) ||
        ((proc & CPU_BASED_NMI_WINDOW_EXITING) && !(pin & PIN_BASED_VIRTUAL_NMIS)))
        REFUSE("6.1.9", "virtual NMIs without NMI exiting, or NMI-window exiting without virtual NMIs");
    if ((proc2 & SECONDARY_EXEC_ENABLE_PML) &&
        (!(proc2 & SECONDARY_EXEC_ENABLE_EPT) || !ncheck_page_valid(c, v->pml_address)))
        REFUSE("6.1.10", "PML without EPT or with a bad PML address");
    if ((proc2 & (SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_MODE_BASED_EPT_EXEC)) &&
        !(proc2 & SECONDARY_EXEC_ENABLE_EPT))
        REFUSE("6.1.11", "unrestricted guest or mode-based EPT execute without EPT");
    if ((proc2 & SECONDARY_EXEC_SHADOW_VMCS) &&
        (!ncheck_page_valid(c, v->vmread_bitmap) || !ncheck_page_valid(c, v->vmwrite_bitmap)))
        REFUSE("6.1.12", "VMREAD/VMWRITE bitmap address not page-valid");
    if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) && !v->virtual_processor_id)
        REFUSE("6.1.13", "VPID enabled with virtual_processor_id 0");
    if ((v->vm_exit_controls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) && !(pin & PIN_BASED_VMX_PREEMPTION_TIMER))
        REFUSE("6.1.14", "save preemption timer without the preemption timer");
    if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) && (err = check_eptp(c, v->ept_pointer)))
        return err;
    if (proc2 & SECONDARY_EXEC_ENABLE_VMFUNC) {
        if (v->vm_function_control & ~c->vmfunc)
            REFUSE("6.1.16", "VM-function controls not allowed by IA32_VMX_VMFUNC");
        if ((v->vm_function_control & VMX_VMFUNC_EPTP_SWITCHING) &&
            (!(proc2 & SECONDARY_EXEC_ENABLE_EPT) || !ncheck_page_valid(c, v->eptp_list_address)))
            REFUSE("6.1.16", "EPTP switching without EPT or with a bad EPTP-list address");
    }
    if (!ctls_ok(v->vm_exit_controls, c->exit))
        REFUSE("6.1.17", "exit controls not allowed by IA32_VMX_TRUE_EXIT_CTLS");
    if (!msr_list_ok(c, v->vm_exit_msr_store_count, v->vm_exit_msr_store_addr) ||
        !msr_list_ok(c, v->vm_exit_msr_load_count, v->vm_exit_msr_load_addr))
        REFUSE("6.1.18", "VM-exit MSR-store or MSR-load list bad");
    if (!ctls_ok(v->vm_entry_controls, c->entry))
        REFUSE("6.1.19", "entry controls not allowed by IA32_VMX_TRUE_ENTRY_CTLS");
    if ((err = check_event(c, v, proc2)))
        return err;
    if (!msr_list_ok(c, v->vm_entry_msr_load_count, v->vm_entry_msr_load_addr))
        REFUSE("6.1.21", "VM-entry MSR-load list bad");
    return NULL;
}

static const char *check_host(const struct nested_check_caps *c, const struct vmcs12 *v)
{
    bool ia32e = v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
    u32 w = c->host_va_bits;

    if (!cr0_ok(c, v->host_cr0, false))
        REFUSE("6.2.1", "host_cr0 outside CR0_FIXED0/FIXED1");
    if (!cr4_ok(c, v->host_cr4))
        REFUSE("6.2.2", "host_cr4 outside CR4_FIXED0/FIXED1 or reserved for this guest");
    if (!ncheck_legal_gpa(c, v->host_cr3 & ~(c->lam ? (BIT(61) | BIT(62)) : 0)))
        REFUSE("6.2.3", "host_cr3 beyond MAXPHYADDR");
    if ((v->host_cr4 & X86_CR4_CET) && !(v->host_cr0 & X86_CR0_WP))
        REFUSE("6.2.4", "host_cr4.CET without host_cr0.WP");
    if (!canonical(v->host_ia32_sysenter_esp, w) || !canonical(v->host_ia32_sysenter_eip, w))
        REFUSE("6.2.5", "host SYSENTER ESP/EIP not canonical");
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) && !x86_pat_valid(v->host_ia32_pat))
        REFUSE("6.2.6", "host_ia32_pat not a valid PAT");
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL) &&
        (v->host_ia32_perf_global_ctrl & ~c->perf_global_ctrl_allowed))
        REFUSE("6.2.7", "host_ia32_perf_global_ctrl has bits the vPMU lacks");
    if (ia32e ? !(v->host_cr4 & X86_CR4_PAE)
              : (v->vm_entry_controls & VM_ENTRY_IA32E_MODE) || (v->host_cr4 & X86_CR4_PCIDE) || (v->host_rip >> 32))
        REFUSE("6.2.8", "host address-space size inconsistent with CR4.PAE/PCIDE, IA-32e guest or RIP");
    if ((v->host_cs_selector | v->host_ss_selector | v->host_ds_selector | v->host_es_selector |
         v->host_fs_selector | v->host_gs_selector | v->host_tr_selector) & 7)
        REFUSE("6.2.9", "host selector with RPL or TI set");
    if (!v->host_cs_selector || !v->host_tr_selector || (!ia32e && !v->host_ss_selector))
        REFUSE("6.2.9", "host CS, TR (or SS outside IA-32e) selector null");
    if (!canonical(v->host_fs_base, w) || !canonical(v->host_gs_base, w) || !canonical(v->host_gdtr_base, w) ||
        !canonical(v->host_idtr_base, w) || !canonical(v->host_tr_base, w) ||
        !canonical(v->host_rip, (v->host_cr4 & X86_CR4_LA57) ? 57 : 48))
        REFUSE("6.2.10", "host base or RIP not canonical");
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER) &&
        ((v->host_ia32_efer & ~c->efer_allowed) || !!(v->host_ia32_efer & EFER_LMA) != ia32e ||
         !!(v->host_ia32_efer & EFER_LME) != ia32e))
        REFUSE("6.2.11", "host_ia32_efer reserved bits, or LMA/LME differ from the address-space size");
    if ((v->vm_exit_controls & VM_EXIT_LOAD_CET_STATE) &&
        !cet_state_ok(c, v->host_s_cet, v->host_ssp, v->host_ssp_tbl, ia32e))
        REFUSE("6.2.12", "host CET state invalid");
    return NULL;
}

static const char *check_guest(const struct nested_check_caps *c, const struct vmcs12 *v, bool run_pending,
                               nested_check_read_fn *read, const void *ctx)
{
    u32 proc2 = (v->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? v->secondary_vm_exec_control : 0;
    bool ug = (c->procbased2 >> 32 & SECONDARY_EXEC_UNRESTRICTED_GUEST) && (proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST);
    bool ia32e = v->vm_entry_controls & VM_ENTRY_IA32E_MODE;
    u64 cr0 = v->guest_cr0, cr4 = v->guest_cr4;

    if (!cr0_ok(c, cr0, ug))
        REFUSE("6.3.1", "guest_cr0 outside CR0_FIXED0/FIXED1");
    if (!cr4_ok(c, cr4))
        REFUSE("6.3.2", "guest_cr4 outside CR4_FIXED0/FIXED1 or reserved for this guest");
    if ((cr4 & X86_CR4_CET) && !(cr0 & X86_CR0_WP))
        REFUSE("6.3.3", "guest_cr4.CET without guest_cr0.WP");
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_DEBUG_CONTROLS) &&
        ((v->guest_dr7 >> 32) || (v->guest_ia32_debugctl & ~c->debugctl_allowed)))
        REFUSE("6.3.4", "guest_dr7 bits 63:32 or unsupported guest_ia32_debugctl bits");
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_IA32_PAT) && !x86_pat_valid(v->guest_ia32_pat))
        REFUSE("6.3.5", "guest_ia32_pat not a valid PAT");
    if (v->vmcs_link_pointer != TSNAP_INVALID_GPA) {
        u32 hdr;
        bool shadow = proc2 & SECONDARY_EXEC_SHADOW_VMCS;
        if (!ncheck_page_valid(c, v->vmcs_link_pointer))
            REFUSE("6.3.6", "VMCS link pointer not page-valid");
        if (!read || !read(ctx, v->vmcs_link_pointer, &hdr, sizeof(hdr)))
            REFUSE("6.3.6", "VMCS link pointer outside guest memory");
        if ((hdr & 0x7fffffffu) != VMCS12_REVISION || !!(hdr >> 31) != shadow)
            REFUSE("6.3.6", "VMCS link pointer's region: revision or shadow-VMCS bit wrong");
    }
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL) &&
        (v->guest_ia32_perf_global_ctrl & ~c->perf_global_ctrl_allowed))
        REFUSE("6.3.7", "guest_ia32_perf_global_ctrl has bits the vPMU lacks");
    if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
        REFUSE("6.3.8", "guest_cr0.PG without PE");
    if (ia32e && (!(cr4 & X86_CR4_PAE) || !(cr0 & X86_CR0_PG)))
        REFUSE("6.3.9", "IA-32e mode guest without CR4.PAE and CR0.PG");
    if (run_pending && (v->vm_entry_controls & VM_ENTRY_LOAD_IA32_EFER) &&
        ((v->guest_ia32_efer & ~c->efer_allowed) || !!(v->guest_ia32_efer & EFER_LMA) != ia32e ||
         ((cr0 & X86_CR0_PG) && !!(v->guest_ia32_efer & EFER_LME) != ia32e)))
        REFUSE("6.3.10", "guest_ia32_efer reserved bits, or LMA/LME differ from IA-32e mode guest");
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_BNDCFGS) &&
        (!canonical(v->guest_bndcfgs & ~0xfffULL, c->host_va_bits) || (v->guest_bndcfgs & 0xffcULL)))
        REFUSE("6.3.11", "guest_bndcfgs not canonical or reserved bits set");
    if ((v->vm_entry_controls & VM_ENTRY_LOAD_CET_STATE) &&
        (!cet_state_ok(c, v->guest_s_cet, v->guest_ssp, v->guest_ssp_tbl, ia32e) ||
         !canonical(v->guest_ssp, c->host_va_bits + 1)))
        REFUSE("6.3.12", "guest CET state invalid");
    if (v->guest_activity_state != GUEST_ACTIVITY_ACTIVE && v->guest_activity_state != GUEST_ACTIVITY_HLT &&
        v->guest_activity_state != GUEST_ACTIVITY_WAIT_SIPI)
        REFUSE("6.3.13", "guest_activity_state not active, HLT or wait-for-SIPI");
    return NULL;
}

const char *ncheck_vmcs12(const struct nested_check_caps *c, const struct vmcs12 *v, bool run_pending,
                          nested_check_read_fn *read, const void *ctx)
{
    const char *err;

    if ((err = check_controls(c, v)) || (err = check_host(c, v)) || (err = check_guest(c, v, run_pending, read, ctx)))
        return err;
    /* prepare_vmcs02 at restore: only guest_cr3 can fail (a legal GPA). */
    if (!ncheck_legal_gpa(c, v->guest_cr3 & ~(c->lam ? (BIT(61) | BIT(62)) : 0)))
        REFUSE("V22", "guest_cr3 beyond MAXPHYADDR");
    return NULL;
}
