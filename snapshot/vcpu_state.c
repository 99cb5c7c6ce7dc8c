/*
 * One vCPU between turtle and KVM's uapi layouts: kvm_regs, kvm_sregs, the
 * MSR list, kvm_xsave, kvm_vcpu_events, kvm_debugregs, kvm_mp_state, and
 * turtle's own section for what those lack (snapshot/format.h). The vCPU
 * runs in L1 (vmcs01 current): a vCPU in L2 is first brought back to L1's
 * view by nested/state.c.
 */
#include "kernel/mm.h"
#include "snapshot/snap_int.h"
#include "vmx/caps.h"
#include "vmx/dev/lapic_regs.h"
#include "vmx/exit.h"
#include "vmx/xsave.h"

#define XSTATE_BV_OFFSET    512
#define XSTATE_X87_SSE      0x3ULL      /* XSTATE_BV: x87 and SSE state present */
#define MISC_ENABLE_VALUE   0x1ULL      /* what vmx/exit_msr.c shows */
#define INTR_TYPE_SHIFT     8
#define INTR_TYPE_MASK      0x700u
#define INTR_TYPE_EXT       0u
#define INTR_TYPE_NMI       2u
#define INTR_TYPE_HW_EXC    3u
#define INTR_TYPE_SW_INT    4u
#define INTR_INFO_ERRCODE   BIT(11)

/* The segment fields of ES..GS, LDTR and TR sit at fixed strides from
 * ES's (SDM Appendix B): selector, limit, access rights and base. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static void seg_save(u32 seg, struct tsnap_kvm_segment *k)
{
    u32 ar = (u32)__vmcs_read(GUEST_ES_AR_BYTES + 2 * seg);

    k->selector = (u16)__vmcs_read(GUEST_ES_SELECTOR + 2 * seg);
    k->base = __vmcs_read(GUEST_ES_BASE + 2 * seg);
    k->limit = (u32)__vmcs_read(GUEST_ES_LIMIT + 2 * seg);
    k->type = ar & 0xf;
    k->s = (ar >> 4) & 1;
    k->dpl = (ar >> 5) & 3;
    k->present = (ar >> 7) & 1;
    k->avl = (ar >> 12) & 1;
    k->l = (ar >> 13) & 1;
    k->db = (ar >> 14) & 1;
    k->g = (ar >> 15) & 1;
    k->unusable = (ar >> 16) & 1;
    k->padding = 0;
}

static void seg_load(u32 seg, const struct tsnap_kvm_segment *k)
{
    u32 ar = (k->type & 0xf) | (k->s & 1) << 4 | (k->dpl & 3) << 5 | (k->present & 1) << 7 |
             (k->avl & 1) << 12 | (k->l & 1) << 13 | (k->db & 1) << 14 | (k->g & 1) << 15;

    if (k->unusable)
        ar = AR_UNUSABLE;
    __vmcs_write(GUEST_ES_SELECTOR + 2 * seg, k->selector);
    __vmcs_write(GUEST_ES_BASE + 2 * seg, k->base);
    __vmcs_write(GUEST_ES_LIMIT + 2 * seg, k->limit);
    __vmcs_write(GUEST_ES_AR_BYTES + 2 * seg, ar);
}

static void add_msr(struct snap_vcpu *s, u32 index, u64 data)
{
    if (s->msrs.nmsrs < SNAP_MAX_MSRS)
        s->msr[s->msrs.nmsrs++] = (struct tsnap_kvm_msr_entry){ .index = index, .data = data };
}

u32 snap_msr_count(const struct snap_vcpu *s)
{
    return s->msrs.nmsrs;
}

static u64 guest_pat(const struct vcpu *vcpu)
{
    return (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT) ? vmcs_read64(GUEST_IA32_PAT) : vcpu->msrs.pat;
}

/* Every MSR the guest can observe, as RDMSR in the guest would read it. */
static void msrs_save(struct vcpu *vcpu, struct snap_vcpu *s, u64 tsc)
{
    u64 v;

    add_msr(s, MSR_IA32_EFER, vmcs_read64(GUEST_IA32_EFER));
    add_msr(s, MSR_STAR, vcpu->msrs.star);
    add_msr(s, MSR_LSTAR, vcpu->msrs.lstar);
    add_msr(s, MSR_CSTAR, vcpu->msrs.cstar);
    add_msr(s, MSR_SFMASK, vcpu->msrs.sfmask);
    add_msr(s, MSR_KERNEL_GS_BASE, vcpu->msrs.kernel_gs_base);
    if (vmx_caps.has_tsc_aux)
        add_msr(s, MSR_TSC_AUX, vcpu->msrs.tsc_aux);
    add_msr(s, MSR_IA32_SYSENTER_CS, vmcs_read32(GUEST_SYSENTER_CS));
    add_msr(s, MSR_IA32_SYSENTER_ESP, vmcs_readl(GUEST_SYSENTER_ESP));
    add_msr(s, MSR_IA32_SYSENTER_EIP, vmcs_readl(GUEST_SYSENTER_EIP));
    add_msr(s, MSR_IA32_PAT, guest_pat(vcpu));
    add_msr(s, MSR_IA32_TSC, tsc);
    add_msr(s, MSR_IA32_TSC_DEADLINE, vcpu->lapic.s.tsc_deadline ?
            vcpu->lapic.s.tsc_deadline + vcpu->vm->tsc_offset : 0);
    add_msr(s, MSR_IA32_APIC_BASE, vcpu->lapic.s.apic_base);
    if (vmx_caps.has_debugctl)
        add_msr(s, MSR_IA32_DEBUGCTL, vmcs_read64(GUEST_IA32_DEBUGCTL));
    add_msr(s, MSR_IA32_MISC_ENABLE, MISC_ENABLE_VALUE);
    if (vcpu->nvmx && nested_ops->msr_read(vcpu, MSR_IA32_FEATURE_CONTROL, &v))
        add_msr(s, MSR_IA32_FEATURE_CONTROL, v);
    else
        add_msr(s, MSR_IA32_FEATURE_CONTROL,
                vcpu->vm->nested ? (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX) : 0);
}

/* KVM's vcpu_events from turtle's event queue. An event an exit
 * interrupted is "injected" (being delivered); a queued exception is
 * "pending" with its payload (KVM_CAP_EXCEPTION_PAYLOAD semantics); an
 * acknowledged interrupt waiting for injection is "injected". */
static void events_save(struct vcpu *vcpu, struct snap_vcpu *s)
{
    const struct vcpu_events *ev = &vcpu->events;
    struct tsnap_kvm_vcpu_events *k = &s->events;
    u32 intr = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

    if (ev->reinject) {
        u32 type = (ev->reinject_info & INTR_TYPE_MASK) >> INTR_TYPE_SHIFT;
        u8 vec = (u8)ev->reinject_info;
        if (type == INTR_TYPE_HW_EXC) {
            k->exception.injected = 1;
            k->exception.nr = vec;
            k->exception.has_error_code = !!(ev->reinject_info & INTR_INFO_ERRCODE);
            k->exception.error_code = ev->reinject_error_code;
        } else if (type == INTR_TYPE_NMI) {
            k->nmi.injected = 1;
        } else if (type == INTR_TYPE_EXT || type == INTR_TYPE_SW_INT) {
            k->interrupt.injected = 1;
            k->interrupt.nr = vec;
            k->interrupt.soft = type == INTR_TYPE_SW_INT;
        }
    }
    if (ev->exception_pending && !k->exception.injected) {
        k->exception.pending = 1;
        k->exception.nr = ev->exception.vector;
        k->exception.has_error_code = ev->exception.has_error_code;
        k->exception.error_code = ev->exception.error_code;
        k->exception_has_payload = ev->exception.has_payload;
        k->exception_payload = ev->exception.payload;
    }
    if (ev->interrupt_pending && !k->interrupt.injected) {
        k->interrupt.injected = 1;
        k->interrupt.nr = ev->interrupt_vector;
        s->sregs.interrupt_bitmap[ev->interrupt_vector / 64] |= 1ULL << (ev->interrupt_vector % 64);
    }
    k->interrupt.shadow = ((intr & GUEST_INTR_STATE_STI) ? TSNAP_KVM_X86_SHADOW_INT_STI : 0) |
                          ((intr & GUEST_INTR_STATE_MOV_SS) ? TSNAP_KVM_X86_SHADOW_INT_MOV_SS : 0);
    k->nmi.pending = ev->nmi_pending;
    k->nmi.masked = !!(intr & GUEST_INTR_STATE_NMI);
    k->sipi_vector = vcpu->lapic.s.sipi_vector;
    k->flags = TSNAP_KVM_VCPUEVENT_VALID_NMI_PENDING | TSNAP_KVM_VCPUEVENT_VALID_SHADOW |
               TSNAP_KVM_VCPUEVENT_VALID_SIPI_VECTOR | TSNAP_KVM_VCPUEVENT_VALID_PAYLOAD;

    s->turtle.halted = vcpu->halted;
    s->turtle.reinject = ev->reinject;
    s->turtle.irq_check = ev->irq_check;
    s->turtle.reinject_info = ev->reinject_info;
    s->turtle.reinject_error_code = ev->reinject_error_code;
    s->turtle.reinject_insn_len = ev->reinject_insn_len;
}

void snap_vcpu_save(struct vcpu *vcpu, struct snap_vcpu *s)
{
    struct tsnap_kvm_sregs *sr = &s->sregs;
    u64 now = rdtsc(), tsc = now + vcpu->vm->tsc_offset;

    memset(s, 0, sizeof(*s));
    s->host_now = now;
    s->turtle.tsc = tsc;
    /* kvm_regs: RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8-R15 in that order. */
    const struct guest_regs *g = &vcpu->regs;
    s->regs = (struct tsnap_kvm_regs){
        g->gpr[REG_RAX], g->gpr[REG_RBX], g->gpr[REG_RCX], g->gpr[REG_RDX],
        g->gpr[REG_RSI], g->gpr[REG_RDI], vmcs_readl(GUEST_RSP), g->gpr[REG_RBP],
        g->gpr[8], g->gpr[9], g->gpr[10], g->gpr[11], g->gpr[12], g->gpr[13], g->gpr[14], g->gpr[15],
        vmcs_readl(GUEST_RIP), vmcs_readl(GUEST_RFLAGS),
    };
    seg_save(SEG_CS, &sr->cs);
    seg_save(SEG_DS, &sr->ds);
    seg_save(SEG_ES, &sr->es);
    seg_save(SEG_FS, &sr->fs);
    seg_save(SEG_GS, &sr->gs);
    seg_save(SEG_SS, &sr->ss);
    seg_save(SEG_TR, &sr->tr);
    seg_save(SEG_LDTR, &sr->ldt);
    sr->gdt.base = vmcs_readl(GUEST_GDTR_BASE);
    sr->gdt.limit = (u16)vmcs_read32(GUEST_GDTR_LIMIT);
    sr->idt.base = vmcs_readl(GUEST_IDTR_BASE);
    sr->idt.limit = (u16)vmcs_read32(GUEST_IDTR_LIMIT);
    sr->cr0 = guest_read_cr0();
    sr->cr2 = g->cr2;
    sr->cr3 = vmcs_readl(GUEST_CR3);
    sr->cr4 = guest_read_cr4();
    sr->cr8 = lapic_read_cr8(&vcpu->lapic);
    sr->efer = vmcs_read64(GUEST_IA32_EFER);
    sr->apic_base = vcpu->lapic.s.apic_base;

    msrs_save(vcpu, s, tsc);
    /* The XSAVE area is already kvm_xsave's standard format; FXSAVE (a
     * CPU without XSAVE) leaves its header to be written here. */
    memcpy(s->xsave.region, vcpu->xsave, sizeof(s->xsave.region));
    if (!xsave_caps.xsave)
        *(u64 *)((u8 *)s->xsave.region + XSTATE_BV_OFFSET) = XSTATE_X87_SSE;
    s->xcrs = (struct tsnap_kvm_xcrs){ .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = vcpu->xcr0 } };
    events_save(vcpu, s);
    for (int i = 0; i < 4; i++)
        s->debugregs.db[i] = vcpu->msrs.dr[i];
    s->debugregs.dr6 = vcpu->msrs.dr6;
    s->debugregs.dr7 = vmcs_readl(GUEST_DR7);
    s->mp_state.mp_state = vcpu->halted ? TSNAP_KVM_MP_STATE_HALTED : TSNAP_KVM_MP_STATE_RUNNABLE;
    snap_lapic_save(vcpu, now, &s->lapic, &s->lapic_timer);
    s->turtle.lapic_lint_level = vcpu->lapic.s.lint_level;
    s->turtle.lapic_nmi_pending = vcpu->lapic.s.nmi_pending;
    s->turtle.lapic_init_pending = vcpu->lapic.s.init_pending;
    s->turtle.lapic_sipi_pending = vcpu->lapic.s.sipi_pending;
    s->turtle.lapic_extint_pending = vcpu->lapic.s.extint_pending;
    s->turtle.lapic_sipi_vector = vcpu->lapic.s.sipi_vector;
    s->turtle.lapic_esr_pending = vcpu->lapic.s.esr_pending;
}

static void msrs_load(struct vcpu *vcpu, const struct snap_vcpu *s)
{
    for (u32 i = 0; i < s->msrs.nmsrs && i < SNAP_MAX_MSRS; i++) {
        u64 v = s->msr[i].data;
        switch (s->msr[i].index) {
        case MSR_STAR:              vcpu->msrs.star = v; break;
        case MSR_LSTAR:             vcpu->msrs.lstar = v; break;
        case MSR_CSTAR:             vcpu->msrs.cstar = v; break;
        case MSR_SFMASK:            vcpu->msrs.sfmask = v; break;
        case MSR_KERNEL_GS_BASE:    vcpu->msrs.kernel_gs_base = v; break;
        case MSR_TSC_AUX:           vcpu->msrs.tsc_aux = v; break;
        case MSR_IA32_SYSENTER_CS:  vmcs_write32(GUEST_SYSENTER_CS, v); break;
        case MSR_IA32_SYSENTER_ESP: vmcs_writel(GUEST_SYSENTER_ESP, v); break;
        case MSR_IA32_SYSENTER_EIP: vmcs_writel(GUEST_SYSENTER_EIP, v); break;
        case MSR_IA32_DEBUGCTL:     vmcs_write64(GUEST_IA32_DEBUGCTL, v); break;
        case MSR_IA32_PAT:
            if (vmx_policy->entry & VM_ENTRY_LOAD_IA32_PAT)
                vmcs_write64(GUEST_IA32_PAT, v);
            else
                vcpu->msrs.pat = v;
            break;
        default:                    /* EFER, APIC_BASE (sregs); TSC, TSC_DEADLINE
                                     * (relative, turtle's section); read-only ones */
            break;
        }
    }
}

static void events_load(struct vcpu *vcpu, const struct snap_vcpu *s)
{
    struct vcpu_events *ev = &vcpu->events;
    const struct tsnap_kvm_vcpu_events *k = &s->events;
    u32 intr = 0;

    memset(ev, 0, sizeof(*ev));
    ev->reinject = s->turtle.reinject;
    ev->reinject_info = s->turtle.reinject_info;
    ev->reinject_error_code = s->turtle.reinject_error_code;
    ev->reinject_insn_len = s->turtle.reinject_insn_len;
    if (k->exception.pending) {
        ev->exception_pending = true;
        ev->exception = (struct pending_exception){
            .vector = k->exception.nr, .has_error_code = k->exception.has_error_code,
            .error_code = k->exception.error_code, .has_payload = k->exception_has_payload,
            .payload = k->exception_payload,
        };
    }
    /* An acknowledged interrupt not being re-delivered waits for injection. */
    if (k->interrupt.injected && !k->interrupt.soft && !ev->reinject) {
        ev->interrupt_pending = true;
        ev->interrupt_vector = k->interrupt.nr;
    }
    ev->nmi_pending = k->nmi.pending;
    ev->irq_check = true;               /* look at the restored LAPIC and PIC */
    if (k->interrupt.shadow & TSNAP_KVM_X86_SHADOW_INT_STI)
        intr |= GUEST_INTR_STATE_STI;
    if (k->interrupt.shadow & TSNAP_KVM_X86_SHADOW_INT_MOV_SS)
        intr |= GUEST_INTR_STATE_MOV_SS;
    if (k->nmi.masked)
        intr |= GUEST_INTR_STATE_NMI;
    vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, intr);
    vcpu->halted = s->mp_state.mp_state == TSNAP_KVM_MP_STATE_HALTED;
}

void snap_vcpu_load(struct vcpu *vcpu, const struct snap_vcpu *s)
{
    const struct tsnap_kvm_sregs *sr = &s->sregs;
    const struct tsnap_kvm_regs *r = &s->regs;
    struct guest_regs *g = &vcpu->regs;

    g->gpr[REG_RAX] = r->rax;
    g->gpr[REG_RBX] = r->rbx;
    g->gpr[REG_RCX] = r->rcx;
    g->gpr[REG_RDX] = r->rdx;
    g->gpr[REG_RSI] = r->rsi;
    g->gpr[REG_RDI] = r->rdi;
    g->gpr[REG_RSP] = r->rsp;
    g->gpr[REG_RBP] = r->rbp;
    g->gpr[8] = r->r8;
    g->gpr[9] = r->r9;
    g->gpr[10] = r->r10;
    g->gpr[11] = r->r11;
    g->gpr[12] = r->r12;
    g->gpr[13] = r->r13;
    g->gpr[14] = r->r14;
    g->gpr[15] = r->r15;
    g->cr2 = sr->cr2;
    vmcs_writel(GUEST_RSP, r->rsp);
    vmcs_writel(GUEST_RIP, r->rip);
    vmcs_writel(GUEST_RFLAGS, r->rflags);

    seg_load(SEG_CS, &sr->cs);
    seg_load(SEG_DS, &sr->ds);
    seg_load(SEG_ES, &sr->es);
    seg_load(SEG_FS, &sr->fs);
    seg_load(SEG_GS, &sr->gs);
    seg_load(SEG_SS, &sr->ss);
    seg_load(SEG_TR, &sr->tr);
    seg_load(SEG_LDTR, &sr->ldt);
    vmcs_writel(GUEST_GDTR_BASE, sr->gdt.base);
    vmcs_write32(GUEST_GDTR_LIMIT, sr->gdt.limit);
    vmcs_writel(GUEST_IDTR_BASE, sr->idt.base);
    vmcs_write32(GUEST_IDTR_LIMIT, sr->idt.limit);

    /* The guest sees its own CR0/CR4; the CPU runs with turtle's fixed
     * bits (as vmx/vmcs01.c builds them). */
    vmcs_writel(CR0_READ_SHADOW, sr->cr0);
    vmcs_writel(GUEST_CR0, guest_real_cr0(sr->cr0));
    vmcs_writel(CR4_READ_SHADOW, sr->cr4);
    vmcs_writel(GUEST_CR4, (sr->cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    vmcs_writel(GUEST_CR3, sr->cr3);
    vmcs_write64(GUEST_IA32_EFER, sr->efer);
    guest_update_paging_mode(vcpu);     /* EFER.LMA, IA-32e entry, PDPTRs */

    msrs_load(vcpu, s);
    /* Checked by xsave_area_check() before; loaded when the vCPU runs. */
    memcpy(vcpu->xsave, s->xsave.region, sizeof(s->xsave.region));
    vcpu->xcr0 = s->xcrs.xcrs[0].value;
    for (int i = 0; i < 4; i++)
        vcpu->msrs.dr[i] = s->debugregs.db[i];
    vcpu->msrs.dr6 = s->debugregs.dr6;
    vmcs_writel(GUEST_DR7, s->debugregs.dr7);
    events_load(vcpu, s);
    struct lapic_state *ls = &vcpu->lapic.s;
    ls->apic_base = sr->apic_base;
    ls->lint_level = s->turtle.lapic_lint_level;
    ls->nmi_pending = s->turtle.lapic_nmi_pending;
    ls->init_pending = s->turtle.lapic_init_pending;
    ls->sipi_pending = s->turtle.lapic_sipi_pending;
    ls->extint_pending = s->turtle.lapic_extint_pending;
    ls->sipi_vector = s->turtle.lapic_sipi_vector;
    ls->esr_pending = s->turtle.lapic_esr_pending;
}
