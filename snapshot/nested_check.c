/*
 * KVM_SET_NESTED_STATE's header checks (the generic ioctl layer G1-G4,
 * then vmx_set_nested_state V1-V18), in the order KVM makes them, and the
 * capabilities of a snapshot's vCPU as those checks need them. The vmcs12
 * content checks made with GUEST_MODE are in nested_check_vmcs12.c.
 */
#include "snapshot/nested_check_int.h"
#include "vmx/vmx_arch.h"

#define REFUSE(id, text)    return "KVM " id ": " text

#define F_GUEST_MODE    TSNAP_KVM_STATE_NESTED_GUEST_MODE
#define F_RUN_PENDING   TSNAP_KVM_STATE_NESTED_RUN_PENDING
#define F_EVMCS         TSNAP_KVM_STATE_NESTED_EVMCS
#define SMM_GUEST_MODE  TSNAP_KVM_STATE_NESTED_SMM_GUEST_MODE
#define SMM_VMXON       TSNAP_KVM_STATE_NESTED_SMM_VMXON
#define INVALID         TSNAP_INVALID_GPA

static u32 rd32(const u8 *p)
{
    return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

const char *nested_check_state(const void *blob, u64 len, const struct nested_check_caps *c,
                               nested_check_read_fn *read, const void *ctx)
{
    const u8 *b = blob;
    struct tsnap_kvm_nested_state_hdr h;

    if (!blob || len < sizeof(h))
        REFUSE("G1", "header not readable (fewer than 128 bytes)");
    __builtin_memcpy(&h, b, sizeof(h));
    if (h.size < sizeof(h))
        REFUSE("G2", "size below 128");
    if (h.flags & ~NESTED_KVM_FLAGS_KNOWN)
        REFUSE("G3", "unknown flags");
    if ((h.flags & F_RUN_PENDING) && !(h.flags & F_GUEST_MODE))
        REFUSE("G4", "RUN_PENDING without GUEST_MODE");
    if (h.format != TSNAP_KVM_STATE_NESTED_FORMAT_VMX)
        REFUSE("V1", "format not VMX (0)");
    if (h.vmxon_pa == INVALID) {
        if (h.smm_flags)
            REFUSE("V2", "smm.flags without VMX operation (vmxon_pa -1)");
        if (h.vmcs12_pa != INVALID)
            REFUSE("V2", "vmcs12_pa without VMX operation (vmxon_pa -1)");
        if (h.flags & ~F_EVMCS)
            REFUSE("V2", "flags other than EVMCS without VMX operation (vmxon_pa -1)");
    } else {
        if (!c->vmx)
            REFUSE("V3", "VMX operation but the guest CPUID lacks VMX");
        if (!ncheck_page_valid(c, h.vmxon_pa))
            REFUSE("V3", "vmxon_pa unaligned or beyond MAXPHYADDR");
    }
    if ((h.smm_flags & SMM_GUEST_MODE) && (h.flags & F_GUEST_MODE))
        REFUSE("V4", "SMM_GUEST_MODE with GUEST_MODE");
    if (h.smm_flags & ~(SMM_GUEST_MODE | SMM_VMXON))
        REFUSE("V5", "unknown smm.flags");
    if (h.vmx_flags & ~TSNAP_KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)
        REFUSE("V6", "unknown hdr.vmx.flags");
    if (c->in_smm ? (h.flags & (F_GUEST_MODE | F_RUN_PENDING)) : h.smm_flags)
        REFUSE("V7", "SMM state inconsistent with the vCPU's (GUEST_MODE in SMM, or smm.flags outside SMM)");
    if ((h.smm_flags & SMM_GUEST_MODE) && !(h.smm_flags & SMM_VMXON))
        REFUSE("V8", "SMM_GUEST_MODE without SMM_VMXON");
    if ((h.flags & F_EVMCS) && (!c->vmx || !c->evmcs))
        REFUSE("V9", "EVMCS without VMX and eVMCS enabled on the vCPU");
    if (h.vmxon_pa == INVALID)
        return NULL;                                            /* S2 */
    if (h.size < NESTED_SIZE_MIN_VMCS12) {
        if (h.flags & (F_GUEST_MODE | F_EVMCS) || h.vmcs12_pa != INVALID)
            REFUSE("V10", "no vmcs12 in the blob, but GUEST_MODE, EVMCS or a vmcs12_pa");
        return NULL;                                            /* VMXON, no current VMCS */
    }
    if (h.vmcs12_pa != INVALID) {
        if (h.vmcs12_pa == h.vmxon_pa)
            REFUSE("V11", "vmcs12_pa equals vmxon_pa");
        if (!ncheck_page_valid(c, h.vmcs12_pa))
            REFUSE("V11", "vmcs12_pa unaligned or beyond MAXPHYADDR");
    } else if (!(h.flags & F_EVMCS)) {
        REFUSE("V13", "a vmcs12 in the blob but no vmcs12_pa and no EVMCS");
    }
    if (len < NESTED_SIZE_MIN_VMCS12)
        REFUSE("V14", "vmcs12 not readable (the blob is shorter than its size)");
    /* struct vmcs12 is packed (alignment 1), so it can be read in place. */
    const struct vmcs12 *vmcs12 = (const void *)(b + TSNAP_NESTED_HDR_SIZE);
    if ((rd32(b + TSNAP_NESTED_HDR_SIZE) & 0x7fffffffu) != VMCS12_REVISION)
        REFUSE("V15", "vmcs12 revision not 0x11e57ed0");
    if (!(h.flags & F_GUEST_MODE))
        return NULL;                                            /* S5 */
    u32 proc = vmcs12->cpu_based_vm_exec_control;
    bool shadowing = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
                     (vmcs12->secondary_vm_exec_control & SECONDARY_EXEC_SHADOW_VMCS);
    if (shadowing && vmcs12->vmcs_link_pointer != INVALID) {
        if (h.size < NESTED_SIZE_MIN_SHADOW)
            REFUSE("V16", "VMCS shadowing with a link pointer but no shadow vmcs12 (size below 5222)");
        if (len < NESTED_SIZE_MIN_SHADOW)
            REFUSE("V17", "shadow vmcs12 not readable (the blob is shorter than its size)");
        u32 shdr = rd32(b + TSNAP_NESTED_SIZE_VMCS12);
        if ((shdr & 0x7fffffffu) != VMCS12_REVISION || !(shdr >> 31))
            REFUSE("V18", "shadow vmcs12 revision not 0x11e57ed0 or shadow-VMCS bit clear");
    }
    return ncheck_vmcs12(c, vmcs12, h.flags & F_RUN_PENDING, read, ctx);
}

/* ---- the capabilities of a snapshot's vCPU -------------------------- */

static const struct tsnap_kvm_cpuid_entry2 *cpuid_find(const struct tsnap_view *view, u32 fn, u32 idx)
{
    for (u32 i = 0; i < view->cpuid->nent; i++) {
        const struct tsnap_kvm_cpuid_entry2 *e = &view->cpuid_entries[i];
        if (e->function == fn && (!(e->flags & TSNAP_KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx))
            return e;
    }
    return NULL;
}

#define CPUID_BIT(e, reg, bit)  ((e) && ((e)->reg >> (bit) & 1))

static u64 vmx_cap(const struct tsnap_view *view, u32 msr)
{
    for (u32 i = 0; view->vmx_caps && i < view->vmx_caps->nmsrs; i++)
        if (view->vmx_cap_entries[i].index == msr)
            return view->vmx_cap_entries[i].data;
    return 0;
}

/* CR4 bits KVM knows; the rest are reserved for every guest. */
#define CR4_KNOWN   (0x7ffULL | BIT(11) | BIT(12) | BIT(13) | BIT(16) | BIT(17) | BIT(18) | \
                     BIT(20) | BIT(21) | BIT(22) | BIT(23) | BIT(24) | BIT(28))

static u64 cr4_reserved(const struct tsnap_view *view)
{
    const struct tsnap_kvm_cpuid_entry2 *l1 = cpuid_find(view, 1, 0), *l7 = cpuid_find(view, 7, 0),
                                        *l71 = cpuid_find(view, 7, 1);
    u64 r = ~CR4_KNOWN | BIT(14);                               /* SMXE: never in KVM */

    if (!CPUID_BIT(l1, ecx, 5))  r |= BIT(13);                  /* VMXE */
    if (!CPUID_BIT(l1, ecx, 26)) r |= BIT(18);                  /* OSXSAVE */
    if (!CPUID_BIT(l1, ecx, 17)) r |= BIT(17);                  /* PCIDE */
    if (!CPUID_BIT(l7, ebx, 0))  r |= BIT(16);                  /* FSGSBASE */
    if (!CPUID_BIT(l7, ebx, 7))  r |= BIT(20);                  /* SMEP */
    if (!CPUID_BIT(l7, ebx, 20)) r |= BIT(21);                  /* SMAP */
    if (!CPUID_BIT(l7, ecx, 2))  r |= BIT(11);                  /* UMIP */
    if (!CPUID_BIT(l7, ecx, 3))  r |= BIT(22);                  /* PKE */
    if (!CPUID_BIT(l7, ecx, 16)) r |= BIT(12);                  /* LA57 */
    if (!CPUID_BIT(l7, ecx, 31)) r |= BIT(24);                  /* PKS */
    if (!CPUID_BIT(l7, ecx, 7) && !CPUID_BIT(l7, edx, 20)) r |= BIT(23);   /* CET */
    if (!CPUID_BIT(l71, eax, 26)) r |= BIT(28);                 /* LAM_SUP */
    return r;
}

void nested_check_caps_from_view(struct nested_check_caps *c, const struct tsnap_view *view, u32 vcpu)
{
    const struct tsnap_kvm_cpuid_entry2 *l1 = cpuid_find(view, 1, 0), *l7 = cpuid_find(view, 7, 0),
                                        *l71 = cpuid_find(view, 7, 1), *ext = cpuid_find(view, 0x80000001, 0),
                                        *pa = cpuid_find(view, 0x80000008, 0), *pmu = cpuid_find(view, 0xa, 0);
    bool true_ctls;

    __builtin_memset(c, 0, sizeof(*c));
    c->basic = vmx_cap(view, IA32_VMX_BASIC);
    true_ctls = c->basic & BIT(55);
    c->pinbased = vmx_cap(view, true_ctls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS);
    c->procbased = vmx_cap(view, true_ctls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS);
    c->exit = vmx_cap(view, true_ctls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS);
    c->entry = vmx_cap(view, true_ctls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS);
    c->misc = vmx_cap(view, IA32_VMX_MISC);
    c->cr0_fixed0 = vmx_cap(view, IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = vmx_cap(view, IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = vmx_cap(view, IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = vmx_cap(view, IA32_VMX_CR4_FIXED1);
    c->procbased2 = vmx_cap(view, IA32_VMX_PROCBASED_CTLS2);
    c->ept_vpid_cap = vmx_cap(view, IA32_VMX_EPT_VPID_CAP);
    c->vmfunc = vmx_cap(view, IA32_VMX_VMFUNC);

    c->vmx = CPUID_BIT(l1, ecx, 5);
    c->maxphyaddr = pa && (pa->eax & 0xff) ? pa->eax & 0xff : 36;
    c->host_va_bits = CPUID_BIT(l7, ecx, 16) ? 57 : 48;
    c->shstk = CPUID_BIT(l7, ecx, 7);
    c->ibt = CPUID_BIT(l7, edx, 20);
    c->lam = CPUID_BIT(l71, eax, 26);
    c->cr4_reserved = cr4_reserved(view);
    c->efer_allowed = (CPUID_BIT(ext, edx, 11) ? BIT(0) : 0) |                 /* SCE */
                      (CPUID_BIT(ext, edx, 29) ? BIT(8) | BIT(10) : 0) |       /* LME, LMA */
                      (CPUID_BIT(ext, edx, 20) ? BIT(11) : 0);                 /* NXE */
    c->debugctl_allowed = BIT(0) | BIT(1) |                                     /* LBR, BTF */
                          (CPUID_BIT(l7, ecx, 24) ? BIT(2) : 0) |               /* bus-lock detect */
                          (CPUID_BIT(l7, ebx, 11) ? BIT(15) : 0);               /* RTM debug */
    if (pmu && (pmu->eax & 0xff)) {
        u32 gp = (pmu->eax >> 8) & 0xff, fixed = (pmu->eax & 0xff) > 1 ? pmu->edx & 0x1f : 0;
        c->perf_global_ctrl_allowed = (gp >= 32 ? 0xffffffffULL : BIT(gp) - 1) | ((BIT(fixed) - 1) << 32);
    }
    if (vcpu < view->machine->n_vcpus && view->vcpu[vcpu].events) {
        const struct tsnap_kvm_vcpu_events *ev = view->vcpu[vcpu].events;
        c->in_smm = (ev->flags & TSNAP_KVM_VCPUEVENT_VALID_SMM) && ev->smi.smm;
    }
}

static bool snap_read(const void *ctx, u64 gpa, void *dst, u64 len)
{
    return tsnap_mem_read(ctx, gpa, dst, len);
}

const char *nested_check_vcpu(const struct tsnap_view *view, u32 vcpu)
{
    struct nested_check_caps caps;

    if (vcpu >= view->machine->n_vcpus || !view->vcpu[vcpu].nested)
        return NULL;
    nested_check_caps_from_view(&caps, view, vcpu);
    return nested_check_state(view->vcpu[vcpu].nested, view->vcpu[vcpu].nested_size, &caps, snap_read, view);
}

/* ---- KVM's rules for writing the capability MSRs (vmx_set_vmx_msr) ---- */

static bool ctls_narrower(u64 want, u64 host)
{
    /* must-be-1 (low) keeps every host bit; allowed-1 (high) adds none */
    return ((u32)want & (u32)host) == (u32)host && !((want >> 32) & ~(host >> 32));
}

#define BASIC_FEATURES      (BIT(49) | BIT(54) | BIT(55) | BIT(56))
#define BASIC_FIXED         (0x7fffffffULL | (0x1fffULL << 32) | (0xfULL << 50))  /* revision, size, memory type */
#define MISC_FEATURES       (BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(14) | BIT(15) | BIT(28) | BIT(29) | BIT(30))

const char *nested_check_caps_allowed(const struct nested_check_caps *w, const struct nested_check_caps *h)
{
    if (!ctls_narrower(w->pinbased, h->pinbased) || !ctls_narrower(w->procbased, h->procbased) ||
        !ctls_narrower(w->exit, h->exit) || !ctls_narrower(w->entry, h->entry) ||
        !ctls_narrower(w->procbased2, h->procbased2))
        return "capabilities: VM-execution/exit/entry controls the host lacks";
    if ((w->basic & BASIC_FIXED) != (h->basic & BASIC_FIXED) || (w->basic & BASIC_FEATURES & ~h->basic) ||
        (w->basic & BIT(48)) || (w->basic & ~(BASIC_FIXED | BASIC_FEATURES)))
        return "capabilities: IA32_VMX_BASIC differs from the host's";
    /* The timer rate (bits 4:0) may differ: turtle counts L1's timer in
     * TSC cycles and shows each L1 its own rate (nested/nested.h). KVM,
     * emulating the timer at one rate, refuses another one. */
    if ((w->misc & MISC_FEATURES & ~h->misc) ||
        ((w->misc >> 16) & 0x1ff) > ((h->misc >> 16) & 0x1ff) ||
        ((w->misc >> 25) & 7) > ((h->misc >> 25) & 7) || (w->misc >> 32) != (h->misc >> 32))
        return "capabilities: IA32_VMX_MISC promises more than the host";
    if ((w->cr0_fixed0 & h->cr0_fixed0) != h->cr0_fixed0 || (w->cr4_fixed0 & h->cr4_fixed0) != h->cr4_fixed0)
        return "capabilities: CR0/CR4_FIXED0 drop a bit the host requires";
    if ((w->ept_vpid_cap & ~h->ept_vpid_cap) || (w->vmfunc & ~h->vmfunc))
        return "capabilities: EPT/VPID or VMFUNC capabilities the host lacks";
    return NULL;
}
