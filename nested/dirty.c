/*
 * What L1 changed in its current vmcs12, for the hot path of VMRESUME
 * (docs/nested.md, "The hot path"). Every change of vmcs12 by L1 reaches
 * nested_vmcs12_changed(): an emulated VMWRITE, and each field L1 wrote in
 * its shadow VMCS without an exit (found when the shadow is read back).
 * The field decides what the next entry redoes:
 * - a guest field vmcs02 takes as it is, the VM-entry event fields and the
 *   exception bitmap: that one field is copied into vmcs02 (the event
 *   fields are inputs of nested_check_controls() too);
 * - guest CR0/CR4 and their read shadows: vmcs02's CR0/CR4, masks and
 *   read shadows are written again (guest CR0.PE is an input of
 *   nested_check_controls() too);
 * - the exit-information fields (writable with IA32_VMX_MISC[29]), the
 *   preemption-timer value (read at every entry), the PML index (read at
 *   each logged write) and HOST_RSP: no input of the checks, nor of vmcs02;
 * - HOST_RIP: an input of nested_check_host_state() only;
 * - the APIC fields (docs/nested.md, "APIC virtualization for L2"): the
 *   EOI-exit bitmaps and guest interrupt status are no input of any check,
 *   the TPR threshold and the virtual-APIC and APIC-access addresses only
 *   of nested_check_apic_controls() (rules 7a, 7b, 7d; VTPR against the
 *   threshold, rule 7c, runs at every entry anyway); vmcs02 takes them
 *   again from apicv12_prepare_fields();
 * - anything else: all three checks and a complete prepare_vmcs02().
 * nested_check_guest_state() runs at every entry: L2 changes its inputs;
 * only its segment checks are skipped, when their inputs are bit for bit
 * those they last passed with (nested/seg_memo.h).
 */
#include "kernel/mm.h"
#include "nested/nested.h"
#include "nested/vmcs02.h"

static void add_field(struct nested_vmx *n, u32 field, u64 value)
{
    u32 i = 0;

    while (i < n->n_dirty_fields && n->dirty_fields[i] != field)
        i++;
    if (i == DIRTY_FIELDS_MAX) {
        n->dirty |= DIRTY_VMCS02;
        return;
    }
    n->dirty_fields[i] = field;
    n->dirty_vals[i] = value;
    if (i == n->n_dirty_fields)
        n->n_dirty_fields++;
}

void nested_vmcs12_changed(struct vcpu *vcpu, u32 field, u64 value)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (n->dirty & DIRTY_VMCS02) {
        n->dirty |= DIRTY_ALL;  /* everything is redone anyway */
        return;
    }
    if (VMCS_FIELD_IS_HIGH(field)) {    /* the upper half of a 64-bit field: the field */
        field &= ~1u;
        vmcs12_read(&n->cached12, field, &value);
    }
    switch (field) {
    case GUEST_RIP:             /* the usual ones first: guest_fields */
    case GUEST_RSP:
    case GUEST_RFLAGS:
    case GUEST_INTERRUPTIBILITY_INFO:
    case GUEST_ACTIVITY_STATE:
        add_field(n, field, value);
        return;
    case VM_ENTRY_INTR_INFO_FIELD:
    case VM_ENTRY_EXCEPTION_ERROR_CODE:
    case VM_ENTRY_INSTRUCTION_LEN:
        n->dirty |= DIRTY_CONTROLS;
        add_field(n, field, value);
        return;
    case EXCEPTION_BITMAP:
        add_field(n, field, value);
        return;
    case GUEST_CR0:
        n->dirty |= DIRTY_CONTROLS | DIRTY_CRS;
        return;
    case GUEST_CR4:
    case CR0_READ_SHADOW:
    case CR4_READ_SHADOW:
        n->dirty |= DIRTY_CRS;
        return;
    case HOST_RIP:
        n->dirty |= DIRTY_HOST;
        return;
    case EOI_EXIT_BITMAP0:
    case EOI_EXIT_BITMAP1:
    case EOI_EXIT_BITMAP2:
    case EOI_EXIT_BITMAP3:
    case GUEST_INTR_STATUS:
        n->dirty |= DIRTY_APIC;
        return;
    case TPR_THRESHOLD:
    case VIRTUAL_APIC_PAGE_ADDR:
    case APIC_ACCESS_ADDR:
        n->dirty |= DIRTY_APIC | DIRTY_APIC_CHECKS;
        return;
    case HOST_RSP:
    case VMX_PREEMPTION_TIMER_VALUE:
    case GUEST_PML_INDEX:           /* turtle's PML log (nested/pml.c), not vmcs02 */
        return;
    default:
        break;
    }
    if (vmcs12_field_read_only(field))
        return;                 /* exit information: an output only */
    if (vmcs02_guest_field(field)) {
        add_field(n, field, value);
        return;
    }
    n->dirty |= DIRTY_ALL;
}

void nested_release_vmcs12(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (n->current_vmptr == VMPTR_NONE)
        return;
    shadow_sync_from_shadow(vcpu);
    shadow_off(vcpu);
    memcpy(n->vmcs12, &n->cached12, sizeof(n->cached12));
    n->current_vmptr = VMPTR_NONE;
    n->vmcs12 = NULL;
    n->dirty = DIRTY_ALL;
    n->n_dirty_fields = 0;
}
