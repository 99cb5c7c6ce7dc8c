/*
 * L0 shadowing vmcs12 for L1: a hardware shadow VMCS linked from vmcs01
 * (SDM 25.10, 26.10), so L1's VMREAD/VMWRITE of the shadowed fields go to
 * a shadow VMCS without an exit, so a reflected L2 exit costs two L0 exits
 * (the exit and L1's VMRESUME) instead of one per field L1 touches. The
 * shadowed fields are the guest state an exit may change but for its
 * 64-bit fields and the PML index (an L1 that syncs all of L2's state, as
 * turtle itself does as an L1, then takes no exit for it), the fields
 * only L1 changes that L1s write at every entry, and the exit information. turtle's copy of vmcs12 (cached12) stays the state of
 * record: the shadow is filled from it when L1 makes a vmcs12 current, and
 * after every emulated exit only the fields that changed are written (the
 * shadow's contents are remembered in shadow_vals); before turtle reads
 * vmcs12 (VMLAUNCH, VMRESUME, VMCLEAR, VMPTRLD of another, VMXOFF) the
 * read-write fields are read back, and each one L1 changed is marked for
 * the next entry (nested_vmcs12_changed()).
 *
 * Only 16-bit, 32-bit and natural-width fields are shadowed: a 64-bit
 * field's _HIGH half would otherwise exit and read a stale vmcs12.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/guest_fields.h"
#include "nested/nested.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

/* Fields L1 reads and writes through the shadow: those an emulated exit
 * may change (L2's state: the guest fields vmcs02 takes as they are, CR0,
 * CR4, DR7; "IA-32e mode guest"; the entry event's valid bit; the saved
 * timer), and those only L1 changes, which the exit does not look at.
 * Each list names (encoding, vmcs12 member) once; the copies on the hot
 * path expand it into straight-line code, one VMREAD or VMWRITE per
 * field. */
#define SHADOW_RW_EXIT(X)                                                       \
    VMCS02_GUEST_FIELDS(X)                                                      \
    X(GUEST_CR0, guest_cr0) X(GUEST_CR4, guest_cr4) X(GUEST_DR7, guest_dr7)     \
    X(VM_ENTRY_CONTROLS, vm_entry_controls)                                     \
    X(VM_ENTRY_INTR_INFO_FIELD, vm_entry_intr_info_field)                       \
    X(VMX_PREEMPTION_TIMER_VALUE, vmx_preemption_timer_value)
#define SHADOW_RW_L1(X)                                                         \
    X(VM_ENTRY_INSTRUCTION_LEN, vm_entry_instruction_len)                       \
    X(VM_ENTRY_EXCEPTION_ERROR_CODE, vm_entry_exception_error_code)             \
    X(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control)                     \
    X(EXCEPTION_BITMAP, exception_bitmap) X(CR0_READ_SHADOW, cr0_read_shadow)   \
    X(CR4_READ_SHADOW, cr4_read_shadow) X(HOST_RSP, host_rsp)
/* Exit information: L1 reads it without exits; its writes still exit. */
#define SHADOW_RO(X)                                                            \
    X(VM_EXIT_REASON, vm_exit_reason) X(EXIT_QUALIFICATION, exit_qualification) \
    X(VM_EXIT_INSTRUCTION_LEN, vm_exit_instruction_len)                         \
    X(VMX_INSTRUCTION_INFO, vmx_instruction_info)                               \
    X(VM_EXIT_INTR_INFO, vm_exit_intr_info)                                     \
    X(VM_EXIT_INTR_ERROR_CODE, vm_exit_intr_error_code)                         \
    X(IDT_VECTORING_INFO_FIELD, idt_vectoring_info_field)                       \
    X(IDT_VECTORING_ERROR_CODE, idt_vectoring_error_code)                       \
    X(GUEST_LINEAR_ADDRESS, guest_linear_address)                               \
    X(VM_INSTRUCTION_ERROR, vm_instruction_error)

/* The APIC fields an L1 running APIC virtualization for L2 writes before
 * its entries, KVM at most of them (the TPR threshold after each change
 * of L2's TPR or pending interrupts; RVI/SVI, which the exit changes):
 * shadowed where the CPU has them (shadow_apic). They are copied only
 * while vmcs12 has a TPR shadow (apic_live()), and whenever turtle reads
 * all of vmcs12: without a TPR shadow no entry reads them (rules 7b/7c
 * and vmcs02 need it; virtual-interrupt delivery needs it, rule 7e) and
 * no exit changes them, so cached12 may lag behind what L1 wrote in the
 * shadow until the entry with a TPR shadow reads them back. */
#define SHADOW_RW_APIC(X)                                                       \
    X(TPR_THRESHOLD, tpr_threshold) X(GUEST_INTR_STATUS, guest_intr_status)

/* shadow_vals[] holds the fields in this order: K_<member> is the index. */
#define INDEX(enc, member)      K_##member,
enum { SHADOW_RW_EXIT(INDEX) N_RW_EXIT_END, K_RW_L1_FIRST = N_RW_EXIT_END - 1, SHADOW_RW_L1(INDEX) N_RW_END,
       K_RO_FIRST = N_RW_END - 1, SHADOW_RO(INDEX) N_RO_END, K_APIC_FIRST = N_RO_END - 1,
       SHADOW_RW_APIC(INDEX) N_ALL_END };
#undef INDEX
#define ENCODING(enc, member)   enc,
static const u32 shadow_rw_exit[] = { SHADOW_RW_EXIT(ENCODING) };
static const u32 shadow_rw_l1[] = { SHADOW_RW_L1(ENCODING) };
static const u32 shadow_ro[] = { SHADOW_RO(ENCODING) };
static const u32 shadow_rw_apic[] = { SHADOW_RW_APIC(ENCODING) };
static const u32 shadow_fields[] = { SHADOW_RW_EXIT(ENCODING) SHADOW_RW_L1(ENCODING) SHADOW_RO(ENCODING)
                                     SHADOW_RW_APIC(ENCODING) };
#undef ENCODING
SHADOW_RW_EXIT(GUEST_FIELD_WIDTH_OK)
SHADOW_RW_L1(GUEST_FIELD_WIDTH_OK)
SHADOW_RO(GUEST_FIELD_WIDTH_OK)
SHADOW_RW_APIC(GUEST_FIELD_WIDTH_OK)

#define N_RW_EXIT   ARRAY_SIZE(shadow_rw_exit)
#define N_RW        (ARRAY_SIZE(shadow_rw_exit) + ARRAY_SIZE(shadow_rw_l1))
#define N_RO_END_   (N_RW + ARRAY_SIZE(shadow_ro))
#define N_ALL       ARRAY_SIZE(shadow_fields)
_Static_assert(N_ALL <= SHADOW_FIELDS_MAX, "struct nested_vmx's shadow_vals holds every field");
_Static_assert(N_RW_EXIT == N_RW_EXIT_END && N_RW == N_RW_END && N_RO_END_ == N_RO_END && N_ALL == N_ALL_END,
               "K_<member> indexes shadow_fields");

static u64 vmread_bitmap, vmwrite_bitmap;
static bool shadowing, shadow_apic;
static u32 n_shadowed;          /* shadow_fields[0, n_shadowed) are in the shadow */

static void clear_bit(u64 page, u32 field)
{
    u8 *b = phys_to_virt(page);
    b[(field & 0x7fff) / 8] &= (u8)~(1u << (field % 8));
}

void shadow_init(void)
{
    /* turtle writes exit information into the shadow: that needs
     * "VMWRITE to any supported field" (IA32_VMX_MISC[29]). */
    if (!(vmx_caps.proc2.may_be_1 & SECONDARY_EXEC_SHADOW_VMCS) ||
        !(vmx_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS))
        return;
    vmread_bitmap = alloc_page();
    vmwrite_bitmap = alloc_page();
    if (!vmread_bitmap || !vmwrite_bitmap)
        return;
    memset(phys_to_virt(vmread_bitmap), 0xff, PAGE_SIZE);
    memset(phys_to_virt(vmwrite_bitmap), 0xff, PAGE_SIZE);
    for (u32 i = 0; i < N_RW_EXIT; i++) {
        clear_bit(vmread_bitmap, shadow_rw_exit[i]);
        clear_bit(vmwrite_bitmap, shadow_rw_exit[i]);
    }
    for (u32 i = 0; i < ARRAY_SIZE(shadow_rw_l1); i++) {
        clear_bit(vmread_bitmap, shadow_rw_l1[i]);
        clear_bit(vmwrite_bitmap, shadow_rw_l1[i]);
    }
    for (u32 i = 0; i < ARRAY_SIZE(shadow_ro); i++)
        clear_bit(vmread_bitmap, shadow_ro[i]);
    /* TPR threshold and guest interrupt status: where the CPU has both. */
    shadow_apic = (vmx_caps.proc.may_be_1 & CPU_BASED_TPR_SHADOW) &&
                  (vmx_caps.proc2.may_be_1 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);
    for (u32 i = 0; shadow_apic && i < ARRAY_SIZE(shadow_rw_apic); i++) {
        clear_bit(vmread_bitmap, shadow_rw_apic[i]);
        clear_bit(vmwrite_bitmap, shadow_rw_apic[i]);
    }
    n_shadowed = shadow_apic ? N_ALL : N_RO_END_;
    shadowing = true;
}

bool shadow_guest_init(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!shadowing)
        return true;
    n->shadow_vmcs = vmcs_alloc(true);
    return n->shadow_vmcs != 0;
}

static bool apic_live(const struct nested_vmx *n, bool all)
{
    return shadow_apic && (all || (n->cached12.cpu_based_vm_exec_control & CPU_BASED_TPR_SHADOW));
}

/* One field into the shadow: always (all), or if cached12's value is no
 * longer the one the shadow holds. */
#define FILL(enc, member)                                                       \
    do {                                                                        \
        u64 x_ = n->cached12.member;                                            \
        if (all || x_ != n->shadow_vals[K_##member]) {                          \
            __vmcs_write(enc, x_);                                              \
            n->shadow_vals[K_##member] = x_;                                    \
        }                                                                       \
    } while (0);

/* Runs with vmcs01 current and leaves it current. all: every field into
 * the shadow (a new vmcs12); otherwise (after an emulated exit) those the
 * exit may have changed, and of them only those whose value did. */
static void fill_shadow(struct vcpu *vcpu, bool all)
{
    struct nested_vmx *n = vcpu->nvmx;

    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    SHADOW_RW_EXIT(FILL)
    SHADOW_RO(FILL)
    if (apic_live(n, all)) {
        SHADOW_RW_APIC(FILL)
    }
    if (all) {
        SHADOW_RW_L1(FILL)
    }
    vmcs_load(vcpu->vmcs01, "vmcs01");
}
#undef FILL

/* One read-write field back: if L1 changed it, into cached12 and marked
 * for the next entry. */
#define READ_BACK(enc, member)                                                  \
    do {                                                                        \
        u64 x_ = __vmcs_read(enc);                                              \
        if (x_ != n->shadow_vals[K_##member]) {                                 \
            n->shadow_vals[K_##member] = x_;                                    \
            n->cached12.member = (__typeof__(n->cached12.member))x_;            \
            nested_vmcs12_changed(vcpu, enc, n->cached12.member);               \
        }                                                                       \
    } while (0);

/* The read-write fields back into cached12; each one L1 changed is
 * marked for the next entry. all: the APIC fields too, whatever vmcs12's
 * controls (turtle reads or writes back all of vmcs12). */
static void read_shadow(struct vcpu *vcpu, bool all)
{
    struct nested_vmx *n = vcpu->nvmx;

    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    SHADOW_RW_EXIT(READ_BACK)
    SHADOW_RW_L1(READ_BACK)
    if (apic_live(n, all)) {         /* after the primary controls */
        SHADOW_RW_APIC(READ_BACK)
    }
    vmcs_load(vcpu->vmcs01, "vmcs01");
}
#undef READ_BACK

/* Debug mode (nested_verify): false, with a message, when the shadow does
 * not hold cached12's value of every shadowed field. vmcs01 current. */
bool shadow_verify(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    bool ok = true;

    if (!n->shadow_active)
        return true;
    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    u32 n_checked = apic_live(n, false) ? n_shadowed : N_RO_END_;
    for (u32 i = 0; i < n_checked && ok; i++) {
        u64 v = __vmcs_read(shadow_fields[i]), w = 0;
        vmcs12_read(&n->cached12, shadow_fields[i], &w);
        if (v != w) {
            kprintf("turtle: nested verify: shadow field %x holds %lx, vmcs12 %lx\n", shadow_fields[i], v, w);
            ok = false;
        }
    }
    vmcs_load(vcpu->vmcs01, "vmcs01");
    return ok;
}

/* After turtle changed one vmcs12 field on L1's behalf (an emulated
 * VMWRITE, a VMfail's error number): the same value into the shadow, if
 * the field is shadowed. Other shadowed fields keep what L1 wrote. */
void shadow_write_field(struct vcpu *vcpu, u32 field, u64 value)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 *val = NULL;

    if (!n->shadow_active)
        return;
    for (u32 i = 0; i < n_shadowed && !val; i++)
        if (shadow_fields[i] == field)
            val = &n->shadow_vals[i];
    if (!val)
        return;
    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    __vmcs_write(field, value);
    *val = __vmcs_read(field);             /* as the shadow keeps it */
    vmcs_load(vcpu->vmcs01, "vmcs01");
}

/* vmcs12 → shadow; turns shadowing on in vmcs01 (L1 has a current VMCS). */
void shadow_sync_to_shadow(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->shadow_vmcs || n->current_vmptr == VMPTR_NONE)
        return;
    fill_shadow(vcpu, !n->shadow_active);
    if (!n->shadow_active) {
        vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vmcs_read32(SECONDARY_VM_EXEC_CONTROL) | SECONDARY_EXEC_SHADOW_VMCS);
        vmcs_write64(VMCS_LINK_POINTER, n->shadow_vmcs);
        vmcs_write64(VMREAD_BITMAP, vmread_bitmap);
        vmcs_write64(VMWRITE_BITMAP, vmwrite_bitmap);
        n->shadow_active = true;
    }
}

/* shadow → vmcs12, so turtle reads what L1 wrote. */
void shadow_sync_from_shadow(struct vcpu *vcpu)
{
    if (vcpu->nvmx->shadow_active)
        read_shadow(vcpu, true);
}

void shadow_sync_for_entry(struct vcpu *vcpu)
{
    if (vcpu->nvmx->shadow_active)
        read_shadow(vcpu, false);
}

/* L1 no longer has a current VMCS (VMCLEAR of it, VMXOFF). */
void shadow_off(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->shadow_active)
        return;
    vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & ~SECONDARY_EXEC_SHADOW_VMCS);
    vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
    n->shadow_active = false;
}
