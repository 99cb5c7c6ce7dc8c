/*
 * Snapshots written by Linux KVM's side (the project's VMM, then
 * turtle-snap import-kvm): KVM's structures only, without turtle's own
 * per-vCPU section (TSNAP_SEC_VCPU_TURTLE) and without device sections
 * (docs/snapshot.md, "Restoring a snapshot KVM wrote"). What turtle's
 * section would hold is derived from KVM's: the TSC from IA32_TSC in the
 * MSR list, an event being delivered from kvm_vcpu_events' "injected"
 * ones, L1's preemption timer for L2 from the nested state's deadline, the
 * LAPIC timer from the register page and IA32_TSC_DEADLINE. The platform
 * devices are turtle's, at reset: KVM's in-kernel PIC, IOAPIC and PIT and
 * the VMM's COM1 are not in the file.
 */
#include "kernel/mm.h"
#include "snapshot/snap_int.h"
#include "vmx/vcpu.h"
#include "vmx/dev/lapic_priv.h"
#include "vmx/dev/lapic_regs.h"

#define INTR_VALID          BIT(31)
#define INTR_ERRCODE        BIT(11)
#define INTR_TYPE_NMI       (2u << 8)
#define INTR_TYPE_HW_EXC    (3u << 8)
#define NMI_VECTOR          2
#define KVM_TIMER_SHIFT     5       /* KVM's deadline unit: L1 TSC >> 5 */

/* The MSRs turtle's vCPU has state for (snapshot/vcpu_state.c writes
 * these); KVM's list holds every MSR KVM can read. */
static const u32 modelled[] = {
    MSR_IA32_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_PAT, MSR_IA32_TSC,
    MSR_IA32_TSC_DEADLINE, MSR_IA32_APIC_BASE, MSR_IA32_DEBUGCTL, MSR_IA32_MISC_ENABLE,
    MSR_IA32_FEATURE_CONTROL,
};

u32 snap_kvm_made_msrs(struct snap_vcpu *s, const struct tsnap_kvm_msr_entry *e, u32 n)
{
    u32 kept = 0;

    for (u32 i = 0; i < n; i++) {
        for (u32 k = 0; k < ARRAY_SIZE(modelled); k++) {
            if (e[i].index == modelled[k] && kept < SNAP_MAX_MSRS) {
                s->msr[kept++] = e[i];
                break;
            }
        }
    }
    s->msrs.nmsrs = kept;
    return n - kept;
}

static bool msr_value(const struct snap_vcpu *s, u32 index, u64 *v)
{
    for (u32 i = 0; i < s->msrs.nmsrs && i < SNAP_MAX_MSRS; i++) {
        if (s->msr[i].index == index) {
            *v = s->msr[i].data;
            return true;
        }
    }
    return false;
}

const char *snap_kvm_made_vcpu(struct snap_vcpu *s, u32 nested_size)
{
    struct tsnap_vcpu_turtle *t = &s->turtle;
    const struct tsnap_kvm_vcpu_events *k = &s->events;

    memset(t, 0, sizeof(*t));
    if (!msr_value(s, MSR_IA32_TSC, &t->tsc))
        return "KVM's snapshot has no IA32_TSC in vCPU 0's MSR list";
    t->halted = s->mp_state.mp_state == TSNAP_KVM_MP_STATE_HALTED;
    t->irq_check = 1;
    if (k->interrupt.injected && k->interrupt.soft)
        return "a software interrupt in delivery (KVM's snapshot does not record its instruction length)";
    if (k->exception.injected) {
        t->reinject = 1;
        t->reinject_info = INTR_VALID | INTR_TYPE_HW_EXC | k->exception.nr |
                           (k->exception.has_error_code ? INTR_ERRCODE : 0);
        t->reinject_error_code = k->exception.error_code;
    } else if (k->nmi.injected) {
        t->reinject = 1;
        t->reinject_info = INTR_VALID | INTR_TYPE_NMI | NMI_VECTOR;
    }
    const struct tsnap_kvm_nested_state_hdr *h = (const void *)s->nested;
    if (nested_size && (h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE) &&
        (h->vmx_flags & TSNAP_KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE)) {
        u64 now = t->tsc >> KVM_TIMER_SHIFT;
        t->l1_timer_on = 1;
        t->l1_timer_left = h->preemption_timer_deadline > now
                               ? (h->preemption_timer_deadline - now) << KVM_TIMER_SHIFT : 0;
    }
    return NULL;
}

/* After snap_lapic_load() with a disarmed timer: the timer as KVM's page
 * and IA32_TSC_DEADLINE have it, resumed with the time it had left. */
void snap_kvm_made_lapic_timer(struct vcpu *vcpu, u64 now, const struct snap_vcpu *s)
{
    struct lapic *l = &vcpu->lapic;
    u32 initial, current;
    u64 v;

    if (lapic_timer_deadline_mode(l)) {
        if (msr_value(s, MSR_IA32_TSC_DEADLINE, &v) && v)
            l->s.tsc_deadline = now + (u64)snap_rel(v, s->turtle.tsc);
        return;
    }
    memcpy(&initial, s->lapic.regs + APIC_TIMER_ICR, sizeof(initial));
    memcpy(&current, s->lapic.regs + APIC_TIMER_CCR, sizeof(current));
    if (!initial)
        return;
    u64 tick = lapic_timer_tick_tsc(l);
    lapic_timer_write_icr(l, now - (u64)(initial - MIN(current, initial)) * tick, initial);
    if (!current)                       /* a one-shot count that ran out */
        l->s.timer_next = DEV_NO_DEADLINE;
}
