/*
 * Exits while L2 runs (the hot path of docs/nested.md). First: is this
 * L0's own business (EPT02 faults, turtle's timer, turtle's devices when
 * L1 did not ask)? Otherwise: did L1 ask for it (nested_exit_wanted())? If
 * so, nested_vmx_vmexit() copies L2's state and the exit information into
 * vmcs12 and resumes L1 at vmcs12's host RIP; if not, turtle handles it as
 * it would for L1 itself, on vmcs02.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/checks.h"
#include "nested/msr_list.h"
#include "nested/vmcs02.h"
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/prof.h"


static bool bitmap_bit(struct vcpu *vcpu, u64 page, u32 bit)
{
    u8 byte = 0xff;                     /* outside L1 RAM: every bit set */
    guest_copy_from(vcpu->vm, &byte, page + bit / 8, 1);
    return byte & (1u << (bit % 8));
}

static bool io_wanted(struct vcpu *vcpu, const struct vmcs12 *v, u64 qual)
{
    u32 proc = v->cpu_based_vm_exec_control;

    /* INS/OUTS of an L2 behind EPT12 would need every access of the page
     * walk translated by EPT12 too: turtle gives such an exit to L1
     * instead of touching L1 memory the L2 cannot address. */
    if ((qual & IO_QUAL_STRING) && (nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT))
        return true;

    if (!(proc & CPU_BASED_USE_IO_BITMAPS))
        return proc & CPU_BASED_UNCOND_IO_EXITING;
    u32 port = IO_QUAL_PORT(qual), size = (u32)IO_QUAL_SIZE(qual);
    for (u32 p = port; p < port + size; p++) {
        if (p > 0xffff)
            return true;                /* wrap-around exits (SDM 26.1.3) */
        if (bitmap_bit(vcpu, p < 0x8000 ? v->io_bitmap_a : v->io_bitmap_b, p & 0x7fff))
            return true;
    }
    return false;
}

static bool msr_wanted(struct vcpu *vcpu, const struct vmcs12 *v, bool write)
{
    u32 msr = (u32)vcpu->regs.gpr[REG_RCX];

    if (!(v->cpu_based_vm_exec_control & CPU_BASED_USE_MSR_BITMAPS))
        return true;
    u32 base = write ? 2048 : 0;
    if (msr <= 0x1fff)
        return bitmap_bit(vcpu, v->msr_bitmap, (base + msr / 8) * 8 + msr % 8);
    if (msr >= 0xc0000000 && msr <= 0xc0001fff)
        return bitmap_bit(vcpu, v->msr_bitmap, (base + 1024 + (msr & 0x1fff) / 8) * 8 + msr % 8);
    return true;
}

/* MOV to CR0/CR4 exits to L1 when it changes a bit L1 owns away from L1's
 * read shadow (SDM 26.1.3); CLTS and LMSW likewise for their bits. */
static bool cr_wanted(struct vcpu *vcpu, const struct vmcs12 *v, u64 qual)
{
    u32 cr = CR_QUAL_NUM(qual), type = CR_QUAL_TYPE(qual);
    u32 proc = v->cpu_based_vm_exec_control;

    switch (type) {
    case 0: {                           /* MOV to CR */
        u64 val = guest_reg_read(vcpu, CR_QUAL_REG(qual));
        if (!guest_in_long_mode())
            val = (u32)val;
        if (cr == 0)
            return (val ^ v->cr0_read_shadow) & v->cr0_guest_host_mask;
        if (cr == 4)
            return (val ^ v->cr4_read_shadow) & v->cr4_guest_host_mask;
        if (cr == 3)
            return proc & CPU_BASED_CR3_LOAD_EXITING;
        if (cr == 8)
            return proc & CPU_BASED_CR8_LOAD_EXITING;
        return true;
    }
    case 1:                             /* MOV from CR */
        if (cr == 3)
            return proc & CPU_BASED_CR3_STORE_EXITING;
        if (cr == 8)
            return proc & CPU_BASED_CR8_STORE_EXITING;
        return true;
    case 2:                             /* CLTS */
        return (v->cr0_guest_host_mask & X86_CR0_TS) && (v->cr0_read_shadow & X86_CR0_TS);
    default: {                          /* LMSW */
        u64 src = CR_QUAL_LMSW_SRC(qual), mask = v->cr0_guest_host_mask;
        if ((mask & X86_CR0_PE) && (src & X86_CR0_PE) && !(v->cr0_read_shadow & X86_CR0_PE))
            return true;
        return (mask & 0xe) & (src ^ v->cr0_read_shadow);
    }
    }
}

/* Does L1's exception bitmap want this exception? For #PF, bit 14 decides,
 * inverted when the error code does not match (SDM 26.2). */
bool nested_exception_wanted(const struct vmcs12 *v, u32 vector, u32 error_code)
{
    if (vector == VECTOR_PF) {
        bool match = (error_code & v->page_fault_error_code_mask) == v->page_fault_error_code_match;
        return !!(v->exception_bitmap & BIT(VECTOR_PF)) == match;
    }
    return v->exception_bitmap & BIT(vector);
}

static bool exception_wanted(const struct vmcs12 *v)
{
    u32 info = vmcs_read32(VM_EXIT_INTR_INFO);

    if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
        return v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING;
    return nested_exception_wanted(v, info & INTR_INFO_VECTOR_MASK,
                                   (info & INTR_INFO_VECTOR_MASK) == VECTOR_PF ?
                                   vmcs_read32(VM_EXIT_INTR_ERROR_CODE) : 0);
}

/* Does L1 want this exit (its vmcs12 controls say so)? */
static bool nested_exit_wanted(struct vcpu *vcpu, const struct vmcs12 *v, u32 reason, u64 qual)
{
    u32 proc = v->cpu_based_vm_exec_control, proc2 = nested_proc2(v);

    switch (reason) {
    case EXIT_REASON_EXCEPTION_NMI:         return exception_wanted(v);
    case EXIT_REASON_EXTERNAL_INTERRUPT:    return false;   /* turtle's own (it delivers none to L1) */
    case EXIT_REASON_INTERRUPT_WINDOW:      return proc & CPU_BASED_INTR_WINDOW_EXITING;
    case EXIT_REASON_NMI_WINDOW:            return proc & CPU_BASED_NMI_WINDOW_EXITING;
    case EXIT_REASON_HLT:                   return proc & CPU_BASED_HLT_EXITING;
    case EXIT_REASON_INVLPG:                return proc & CPU_BASED_INVLPG_EXITING;
    case EXIT_REASON_RDPMC:                 return proc & CPU_BASED_RDPMC_EXITING;
    case EXIT_REASON_RDTSC:
    case EXIT_REASON_RDTSCP:                return proc & CPU_BASED_RDTSC_EXITING;
    case EXIT_REASON_CR_ACCESS:             return cr_wanted(vcpu, v, qual);
    case EXIT_REASON_DR_ACCESS:             return proc & CPU_BASED_MOV_DR_EXITING;
    case EXIT_REASON_IO_INSTRUCTION:        return io_wanted(vcpu, v, qual);
    case EXIT_REASON_MSR_READ:              return msr_wanted(vcpu, v, false);
    case EXIT_REASON_MSR_WRITE:             return msr_wanted(vcpu, v, true);
    case EXIT_REASON_MWAIT_INSTRUCTION:     return proc & CPU_BASED_MWAIT_EXITING;
    case EXIT_REASON_MONITOR_INSTRUCTION:   return proc & CPU_BASED_MONITOR_EXITING;
    case EXIT_REASON_PAUSE_INSTRUCTION:     return proc & CPU_BASED_PAUSE_EXITING;
    case EXIT_REASON_GDTR_IDTR:
    case EXIT_REASON_LDTR_TR:               return proc2 & SECONDARY_EXEC_DESC;
    case EXIT_REASON_WBINVD:                return proc2 & SECONDARY_EXEC_WBINVD_EXITING;
    case EXIT_REASON_APIC_ACCESS:           return proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
    case EXIT_REASON_RDRAND:                return proc2 & SECONDARY_EXEC_RDRAND_EXITING;
    case EXIT_REASON_RDSEED:                return proc2 & SECONDARY_EXEC_RDSEED_EXITING;
    default:
        /* CPUID, GETSEC, INVD, VMCALL and the VMX instructions, XSETBV,
         * task switches, triple faults: unconditional for L1 too. */
        return true;
    }
}

/* One segment register of the host state: sel is a GUEST_*_SELECTOR; the
 * limit, access-rights and base fields follow the selector's (SDM
 * appendix B: same index, other width). */
static inline __attribute__((always_inline)) void load_host_segment(u32 sel, u16 selector, u32 ar, u64 base)
{
    u32 idx = (sel - GUEST_ES_SELECTOR) / 2;

    __vmcs_write(sel, selector);
    __vmcs_write(GUEST_ES_LIMIT + 2 * idx, 0xffffffff);
    __vmcs_write(GUEST_ES_AR_BYTES + 2 * idx, ar);
    __vmcs_write(GUEST_ES_BASE + 2 * idx, base);
}

/* SDM 28.5: loading host state, from vmcs12 into vmcs01's guest state. */
void load_vmcs12_host_state(struct vcpu *vcpu)
{
    struct vmcs12 *v = &vcpu->nvmx->cached12;
    bool host64 = v->vm_exit_controls & VM_EXIT_HOST_ADDR_SPACE_SIZE;
    u64 efer = vmcs_read64(GUEST_IA32_EFER);

    if (vcpu->guest_mode)
        nested_switch_to_l1(vcpu);
    event_cancel_injection(&vcpu->events);  /* L2's events end with L2 */
    vmcs_writel(CR0_READ_SHADOW, v->host_cr0);
    vmcs_writel(GUEST_CR0, guest_real_cr0(v->host_cr0));
    vmcs_writel(CR4_READ_SHADOW, v->host_cr4);
    vmcs_writel(GUEST_CR4, v->host_cr4 | X86_CR4_VMXE);
    vmcs_writel(GUEST_CR3, v->host_cr3);
    vmcs_writel(GUEST_DR7, DR7_RESET);
    vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
    vmcs_write32(GUEST_SYSENTER_CS, v->host_ia32_sysenter_cs);
    vmcs_writel(GUEST_SYSENTER_ESP, v->host_ia32_sysenter_esp);
    vmcs_writel(GUEST_SYSENTER_EIP, v->host_ia32_sysenter_eip);
    if (v->vm_exit_controls & VM_EXIT_LOAD_IA32_EFER)
        efer = v->host_ia32_efer;
    else
        efer = host64 ? efer | EFER_LMA | EFER_LME : efer & ~(EFER_LMA | EFER_LME);
    vmcs_write64(GUEST_IA32_EFER, efer);
    if ((v->vm_exit_controls & VM_EXIT_LOAD_IA32_PAT) && (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT))
        vmcs_write64(GUEST_IA32_PAT, v->host_ia32_pat);
    u32 entry = vmcs_read32(VM_ENTRY_CONTROLS);
    vmcs_write32(VM_ENTRY_CONTROLS, host64 ? entry | VM_ENTRY_IA32E_MODE : entry & ~VM_ENTRY_IA32E_MODE);

    /* Segments (SDM 28.5.2): flat, limit 4 GiB; null selectors unusable
     * (but SS and CS). Field numbers are constants: straight-line writes. */
    load_host_segment(GUEST_CS_SELECTOR, v->host_cs_selector, host64 ? AR_CODE64 : AR_CODE32, 0);
    load_host_segment(GUEST_SS_SELECTOR, v->host_ss_selector, AR_DATA, 0);
    load_host_segment(GUEST_DS_SELECTOR, v->host_ds_selector, v->host_ds_selector ? AR_DATA : AR_DATA | AR_UNUSABLE, 0);
    load_host_segment(GUEST_ES_SELECTOR, v->host_es_selector, v->host_es_selector ? AR_DATA : AR_DATA | AR_UNUSABLE, 0);
    load_host_segment(GUEST_FS_SELECTOR, v->host_fs_selector, v->host_fs_selector ? AR_DATA : AR_DATA | AR_UNUSABLE,
                      v->host_fs_base);
    load_host_segment(GUEST_GS_SELECTOR, v->host_gs_selector, v->host_gs_selector ? AR_DATA : AR_DATA | AR_UNUSABLE,
                      v->host_gs_base);
    vmcs_write16(GUEST_TR_SELECTOR, v->host_tr_selector);
    vmcs_writel(GUEST_TR_BASE, v->host_tr_base);
    vmcs_write32(GUEST_TR_LIMIT, 0x67);
    vmcs_write32(GUEST_TR_AR_BYTES, AR_TSS_BUSY);
    vmcs_write16(GUEST_LDTR_SELECTOR, 0);
    vmcs_write32(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
    vmcs_writel(GUEST_GDTR_BASE, v->host_gdtr_base);
    vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
    vmcs_writel(GUEST_IDTR_BASE, v->host_idtr_base);
    vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);
    vmcs_writel(GUEST_RIP, v->host_rip);
    vmcs_writel(GUEST_RSP, v->host_rsp);
    vmcs_writel(GUEST_RFLAGS, X86_RFLAGS_FIXED);
    vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
    vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
    /* A 64-bit host's paging mode is set above (CR0.PG and PAE are in its
     * fixed bits and checks, EFER.LMA/LME and IA-32e mode with it); a
     * 32-bit host may use PAE paging, whose PDPTEs are loaded here. */
    if (!host64)
        guest_update_paging_mode(vcpu);
    PROF_MARK(PROF_EXIT_HOST);
    shadow_sync_to_shadow(vcpu);           /* L1 reads the exit through its shadow VMCS */
    PROF_MARK(PROF_EXIT_SHADOW);
    if (turtle_opts.nested_verify && !shadow_verify(vcpu))
        vm_stop(vcpu->vm, true, "nested verify: L1's shadow VMCS differs from vmcs12");

    /* SDM 28.5.4: a host with PAE paging outside IA-32e mode loads its
     * PDPTEs from host CR3 (guest_update_paging_mode() put them in
     * vmcs01); a reserved bit in a present one is a VMX abort. */
    if ((v->host_cr0 & X86_CR0_PG) && (v->host_cr4 & X86_CR4_PAE) && !(efer & EFER_LMA)) {
        u64 pdpte[4];
        nested_read_pdptes(vcpu->vm, v->host_cr3, pdpte);
        if (!nested_pdptes_valid(pdpte)) {
            vcpu->nvmx->vmcs12->abort = VMX_ABORT_HOST_PDPTE_FAIL;
            vm_stop(vcpu->vm, true, "VMX abort: a host PDPTE has a reserved bit set");
            return;
        }
    }
    if (msr_list_load(vcpu, v->vm_exit_msr_load_addr, v->vm_exit_msr_load_count, false)) {
        /* SDM 28.7: a failure loading host MSRs is a VMX abort. */
        v->abort = VMX_ABORT_LOAD_HOST_MSR_FAIL;
        vcpu->nvmx->vmcs12->abort = VMX_ABORT_LOAD_HOST_MSR_FAIL;
        vm_stop(vcpu->vm, true, "VMX abort: VM-exit MSR-load list entry failed");
    }
}

/* An exception turtle raised in L2 that L1 intercepts: its exit info. */
struct exit_exception {
    u64 qual;
    u32 intr_info, error_code;
    u32 idt_vectoring_info, idt_vectoring_error_code;
};

static void vmexit(struct vcpu *vcpu, u32 reason, const u64 *qual, const struct exit_exception *exc)
{
    struct nested_vmx *n = vcpu->nvmx;
    struct vmcs12 *v = &n->cached12;

    PROF_MARK(PROF_EXIT_DECIDE);
    n->reflected++;
    /* An exit to L1 before L2's first instruction (an interrupt L1
     * intercepts, its preemption timer at 0) still ends a VM entry that
     * succeeded: the VMCS is launched (SDM 27.3), or L1's next VMRESUME
     * fails with error 5. Linux's kvm_intel hit this with the preemption
     * timer on. */
    if (n->launch_pending) {
        v->launch_state = LAUNCH_STATE_LAUNCHED;
        n->launch_pending = false;
    }
    sync_vmcs02_to_vmcs12(vcpu, v);
    copy_exit_info(v);
    PROF_MARK(PROF_EXIT_SYNC);
    if (qual)
        v->exit_qualification = *qual;
    if (exc) {
        v->exit_qualification = exc->qual;
        v->vm_exit_intr_info = exc->intr_info;
        v->vm_exit_intr_error_code = exc->error_code;
        v->idt_vectoring_info_field = exc->idt_vectoring_info;
        v->idt_vectoring_error_code = exc->idt_vectoring_error_code;
    }
    v->vm_exit_reason = reason;
    if ((v->vm_exit_controls & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) && n->l1_timer_on)
        v->vmx_preemption_timer_value = (u32)nested_timer_ticks(n, n->l1_timer_left);
    if (!msr_list_store(vcpu, v->vm_exit_msr_store_addr, v->vm_exit_msr_store_count)) {
        v->abort = VMX_ABORT_SAVE_GUEST_MSR_FAIL;
        vcpu->nvmx->vmcs12->abort = VMX_ABORT_SAVE_GUEST_MSR_FAIL;
        load_vmcs12_host_state(vcpu);
        vm_stop(vcpu->vm, true, "VMX abort: VM-exit MSR-store list entry failed");
        return;
    }
    load_vmcs12_host_state(vcpu);
}

void nested_vmx_vmexit(struct vcpu *vcpu, u32 reason, const u64 *qual)
{
    vmexit(vcpu, reason, qual, NULL);
}

/*
 * Before an entry to L2: the events queued for this vCPU, seen through
 * L1's vmcs12 (SDM 26.2, 27.2.2).
 * - An NMI for L1 with "NMI exiting" in vmcs12: an NMI exit to L1, once L2
 *   does not block it (l2_nmi_blocked()).
 * - An interrupt for L1 (the platform's: local APIC or PIC) with
 *   "external-interrupt exiting": an external-interrupt exit to L1; with
 *   "acknowledge interrupt on exit" turtle acknowledges it and puts the
 *   vector in the exit interruption information, otherwise it stays
 *   pending for L1 to take.
 * - An exception turtle queued for L2 while handling an exit L1 did not
 *   want (#GP for an MSR, #UD, #PF from an INS/OUTS operand...) that L1's
 *   exception bitmap wants: the exception exit the CPU would have given
 *   L1. A reflected #PF leaves L2's CR2 alone; the address (the queue's
 *   payload) goes in the exit qualification.
 * Whatever stays queued is injected into L2 (an interrupt then reaches
 * L2's IDT, as it does when L1 does not exit on interrupts). An event
 * that was being delivered to L2 is reported as IDT-vectoring information.
 * While such an event is to be re-injected (turtle fixed an EPT02 fault
 * in its delivery, invisible to L1), an NMI or interrupt for L1 waits:
 * the CPU recognizes them only at an instruction boundary, after the
 * delivery, so they never exit with IDT-vectoring information valid.
 * Linux's KVM stops its guest on such an exit (internal error, suberror
 * 3), as it did for vmx_suite's event-injection tests under it.
 */
/* Is an NMI blocked in L2 (SDM 26.6.1)? By MOV SS; and without virtual NMIs
 * by blocking by NMI, which with NMI exiting lasts as long as L2 runs. With
 * virtual NMIs that bit is virtual-NMI blocking and blocks no NMI. A blocked
 * NMI stays pending (it is not injected into L2 either: the same bits
 * block it in vmx_inject_events()). */
static bool l2_nmi_blocked(const struct vmcs12 *v)
{
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

    if (intr & GUEST_INTR_STATE_MOV_SS)
        return true;
    return !(v->pin_based_vm_exec_control & PIN_BASED_VIRTUAL_NMIS) && (intr & GUEST_INTR_STATE_NMI);
}

void nested_check_events(struct vcpu *vcpu)
{
    struct vcpu_events *ev = &vcpu->events;
    const struct vmcs12 *v = &vcpu->nvmx->cached12;
    struct exit_exception exc = { 0 };

    /* The event L1's VMLAUNCH/VMRESUME injects (vmcs12's VM-entry
     * interruption information, copied into vmcs02) is delivered as this
     * entry begins, before anything queued here: it becomes the event
     * being delivered. Left in vmcs02, an exit to L1 below would drop it
     * (L1 sees its VM-entry event invalid, nothing in IDT-vectoring), and
     * an interrupt injected into L2 below would overwrite it. Linux's KVM
     * lost vmx_suite's injected #UD and pending MTF this way. */
    u32 entry_info = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD);
    if (entry_info & INTR_INFO_VALID_MASK) {
        event_queue_reinject(ev, entry_info, vmcs_read32(VM_ENTRY_EXCEPTION_ERROR_CODE),
                             vmcs_read32(VM_ENTRY_INSTRUCTION_LEN));
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
    }
    if (ev->reinject) {
        exc.idt_vectoring_info = ev->reinject_info;
        exc.idt_vectoring_error_code = ev->reinject_error_code;
    }
    if (ev->nmi_pending && !ev->reinject && (v->pin_based_vm_exec_control & PIN_BASED_NMI_EXITING) &&
        !l2_nmi_blocked(v)) {
        ev->nmi_pending = false;
        exc.intr_info = VECTOR_NMI | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK;
        vmexit(vcpu, EXIT_REASON_EXCEPTION_NMI, NULL, &exc);
        return;
    }
    if (ev->irq_check && !ev->reinject && (v->pin_based_vm_exec_control & PIN_BASED_EXT_INTR_MASK) &&
        platform_interrupt_pending(vcpu)) {
        if (v->vm_exit_controls & VM_EXIT_ACK_INTR_ON_EXIT)
            exc.intr_info = platform_interrupt_ack(vcpu) | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK;
        vmexit(vcpu, EXIT_REASON_EXTERNAL_INTERRUPT, NULL, &exc);
        return;
    }
    struct pending_exception *e = &ev->exception;
    if (!ev->exception_pending || !nested_exception_wanted(v, e->vector, e->error_code))
        return;
    exc.intr_info = e->vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK |
                    (e->has_error_code ? INTR_INFO_DELIVER_CODE_MASK : 0);
    exc.error_code = e->has_error_code ? e->error_code : 0;
    exc.qual = e->has_payload ? e->payload : 0;
    vmexit(vcpu, EXIT_REASON_EXCEPTION_NMI, NULL, &exc);
}

/* Exits L0 must handle whatever L1 asked for: turtle's own faults (EPT02),
 * its time slice, failed entries of vmcs02. NESTED_EXIT_L0 when the exit
 * table should run; NESTED_EXIT_DONE when handled here. */
static bool l0_wants(struct vcpu *vcpu, u32 reason, u64 qual, enum nested_exit_result *r)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 qual12;

    switch (reason) {
    case EXIT_REASON_PREEMPTION_TIMER:
        if (n->l1_timer_on && n->l1_timer_left == 0)
            return false;               /* L1's timer for L2: L1's exit */
        *r = NESTED_EXIT_L0;            /* turtle's slice */
        return true;
    case EXIT_REASON_EXTERNAL_INTERRUPT:
        *r = NESTED_EXIT_L0;            /* turtle's own (it delivers none to L1) */
        return true;
    case EXIT_REASON_EPT_VIOLATION:
        if (!(nested_proc2(&n->cached12) & SECONDARY_EXEC_ENABLE_EPT)) {
            *r = NESTED_EXIT_L0;        /* L2 physical = L1 physical: EPT01's fault */
            return true;
        }
        *r = NESTED_EXIT_DONE;
        switch (ept02_fault(vcpu, vmcs_read64(GUEST_PHYSICAL_ADDRESS), qual, &qual12)) {
        case EPT02_FIXED:
            requeue_vectoring_event(vcpu);  /* the event the fault interrupted */
            nested_vnmi_renew(vcpu, qual);
            break;
        case EPT02_EMULATED:                /* L2 reached one of L1's devices */
            break;
        case EPT02_MISCONFIG:
            qual12 = 0;
            nested_vmx_vmexit(vcpu, EXIT_REASON_EPT_MISCONFIG, &qual12);
            break;
        case EPT02_VIOLATION:
        case EPT02_OUTSIDE_L1:
            nested_vmx_vmexit(vcpu, EXIT_REASON_EPT_VIOLATION, &qual12);
            break;
        case EPT02_PML_FULL:
            nested_vmx_vmexit(vcpu, EXIT_REASON_PML_FULL, &qual12);
            break;
        }
        return true;
    case EXIT_REASON_EPT_MISCONFIG:
        kprintf("turtle: nested: '%s': EPT02 misconfiguration (turtle bug)\n", vcpu->vm->name);
        vmcs_dump();
        vm_stop(vcpu->vm, true, "EPT02 misconfiguration");
        *r = NESTED_EXIT_DONE;
        return true;
    default:
        return false;
    }
}

/*
 * The nested decision for one exit while L2 runs (KVM's
 * nested_vmx_reflect_vmexit): L0 wants it (EPT02, turtle's timer) ->
 * handled here or by vmx/'s table; L1 wants it (its vmcs12 controls) ->
 * reflected; neither -> vmx/'s table, in L2's context, as turtle handles
 * it for L1 itself. Faults the table injects into L2 go through
 * nested_check_events() before the next entry.
 */
enum nested_exit_result nested_l2_exit(struct vcpu *vcpu, u32 full, u64 qual)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 reason = full & VMX_EXIT_REASON_BASIC_MASK;
    enum nested_exit_result r;

    n->l2_exits++;
    /* L1's timer for L2 counts down only while L2 ran: from the last
     * entry to this exit (a TSC reading brackets just that). */
    if (n->l1_timer_on) {
        u64 ran = rdtsc() - n->timer_armed_tsc;
        n->l1_timer_left -= MIN(ran, n->l1_timer_left);
    }
    if (n->launch_pending && !(full & VMX_EXIT_REASONS_FAILED_VMENTRY))
        n->cached12.launch_state = LAUNCH_STATE_LAUNCHED;
    n->launch_pending = false;
    if (full & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        nested_vmcs02_entry_failed(vcpu, full, qual);
        return NESTED_EXIT_DONE;
    }
    nested_vnmi_exit(vcpu);             /* before anything reads L2's blocking */
    if (l0_wants(vcpu, reason, qual, &r))
        return r;
    /* With VMCS shadowing in vmcs12, L2's VMREAD/VMWRITE that reach L0
     * may still be for L2's shadow VMCS (nested/shadow_vmcs12.c). */
    if ((reason == EXIT_REASON_VMREAD || reason == EXIT_REASON_VMWRITE) &&
        (nested_proc2(&n->cached12) & SECONDARY_EXEC_SHADOW_VMCS) &&
        shadow12_l2_vmrw(vcpu, reason == EXIT_REASON_VMWRITE))
        return NESTED_EXIT_DONE;
    /* L2's VMFUNC always exits (vmcs02's VM-function controls are 0):
     * turtle completes an EPTP switch vmcs12 allows, L1 gets the rest. */
    if (reason == EXIT_REASON_VMFUNC && nested_vmfunc(vcpu))
        return NESTED_EXIT_DONE;
    if (nested_exit_wanted(vcpu, &n->cached12, reason, qual)) {
        nested_vmx_vmexit(vcpu, reason, NULL);
        return NESTED_EXIT_DONE;
    }
    return NESTED_EXIT_L0;
}
