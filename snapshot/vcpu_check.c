/* Value checks on a snapshot's vCPU state (vcpu_check.h). */
#include "snapshot/nested_check.h"
#include "snapshot/vcpu_check.h"

#define CR0_PE      BIT(0)
#define CR0_NE      BIT(5)
#define CR0_NW      BIT(29)
#define CR0_CD      BIT(30)
#define CR0_PG      BIT(31)
#define CR4_PAE     BIT(5)
#define CR4_VMXE    BIT(13)
#define EFER_LME    BIT(8)
#define EFER_LMA    BIT(10)
#define EVENTS_KNOWN_FLAGS  0x3fu
#define VECTOR_NMI  2

static const char *check_sregs(const struct tsnap_kvm_sregs *s, u32 maxphyaddr)
{
    if (s->cr0 >> 32)
        return "sregs: CR0 bits 63:32 set";
    if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
        return "sregs: CR0.PG without CR0.PE";
    if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
        return "sregs: CR0.NW without CR0.CD";
    if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG)) {
        if (!(s->cr4 & CR4_PAE) || !(s->efer & EFER_LMA))
            return "sregs: long mode (EFER.LME, CR0.PG) without CR4.PAE or EFER.LMA";
        if (maxphyaddr < 64 && (s->cr3 >> maxphyaddr))
            return "sregs: CR3 beyond MAXPHYADDR";
    } else if ((s->efer & EFER_LMA) || s->cs.l) {
        return "sregs: EFER.LMA or CS.L outside long mode";
    }
    return NULL;
}

static const char *check_events(const struct tsnap_kvm_vcpu_events *e)
{
    if (e->flags & ~EVENTS_KNOWN_FLAGS)
        return "events: unknown flags";
    if ((e->exception.injected || e->exception.pending) && (e->exception.nr > 31 || e->exception.nr == VECTOR_NMI))
        return "events: exception vector above 31 or NMI";
    return NULL;
}

static const char *check_debugregs(const struct tsnap_kvm_debugregs *d)
{
    if (d->flags)
        return "debugregs: flags not 0";
    if ((d->dr6 >> 32) || (d->dr7 >> 32))
        return "debugregs: DR6 or DR7 bits 63:32 set";
    return NULL;
}

static bool in_ram(const struct tsnap_view *view, u64 pa)
{
    return pa < view->n_pages * PAGE_SIZE && view->n_pages * PAGE_SIZE - pa >= PAGE_SIZE;
}

static const char *check_nested_ram(const struct tsnap_view *view, const struct tsnap_vcpu_view *v)
{
    const struct tsnap_kvm_nested_state_hdr *h = v->nested;

    if (!h || h->vmxon_pa == TSNAP_INVALID_GPA)
        return NULL;
    if (!in_ram(view, h->vmxon_pa))
        return "nested: vmxon_pa outside the L1's RAM";
    if (h->vmcs12_pa != TSNAP_INVALID_GPA && !in_ram(view, h->vmcs12_pa))
        return "nested: vmcs12_pa outside the L1's RAM";
    /* In L1 (not GUEST_MODE) sregs are L1's: VMX operation needs CR4.VMXE
     * and CR0.PE/PG/NE (KVM applies FIXED0/FIXED1 to every CR write). */
    if (!(h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE) &&
        (!(v->sregs->cr4 & CR4_VMXE) || (v->sregs->cr0 & (CR0_PE | CR0_PG | CR0_NE)) != (CR0_PE | CR0_PG | CR0_NE)))
        return "nested: L1 in VMX operation without CR4.VMXE, CR0.PE, CR0.PG and CR0.NE";
    return NULL;
}

const char *tsnap_check_vcpu(const struct tsnap_view *view, u32 vcpu)
{
    const struct tsnap_vcpu_view *v = &view->vcpu[vcpu];
    struct nested_check_caps caps;
    const char *err;

    nested_check_caps_from_view(&caps, view, vcpu);
    if ((err = check_sregs(v->sregs, caps.maxphyaddr)) || (err = check_events(v->events)) ||
        (err = check_debugregs(v->debugregs)))
        return err;
    if (v->mp_state->mp_state > TSNAP_KVM_MP_STATE_SIPI_RECEIVED)
        return "mp_state: not one of KVM's x86 states (0-4)";
    return check_nested_ram(view, v);
}
