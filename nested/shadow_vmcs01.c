/*
 * L0 shadowing vmcs12 for L1: a hardware shadow VMCS linked from vmcs01
 * (SDM 25.10, 26.10), so L1's VMREAD/VMWRITE
 * of the hot fields go to a shadow VMCS without an exit, so a reflected L2
 * exit costs two L0 exits (the exit and L1's VMRESUME) instead of one per
 * field L1 touches. turtle's copy of vmcs12 (cached12) stays the state of
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
#include "nested/field_plan.h"
#include "nested/nested.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

/* Fields L1 reads and writes through the shadow: those an emulated exit
 * may change (L2's state, the entry event's valid bit, the saved timer),
 * and those only L1 changes, which the exit does not look at. */
static const u32 shadow_rw_exit[] = {
    GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
    VM_ENTRY_INTR_INFO_FIELD, GUEST_CR0, GUEST_CR3, GUEST_CR4,
    GUEST_CS_SELECTOR, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES,
    GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_ES_BASE, GUEST_FS_BASE, GUEST_GS_BASE,
    VMX_PREEMPTION_TIMER_VALUE,
};
static const u32 shadow_rw_l1[] = {
    VM_ENTRY_INSTRUCTION_LEN, VM_ENTRY_EXCEPTION_ERROR_CODE, CPU_BASED_VM_EXEC_CONTROL,
    EXCEPTION_BITMAP, CR0_READ_SHADOW, CR4_READ_SHADOW, HOST_RSP,
};
/* Exit information: L1 reads it without exits; its writes still exit. */
static const u32 shadow_ro[] = {
    VM_EXIT_REASON, EXIT_QUALIFICATION, VM_EXIT_INSTRUCTION_LEN, VMX_INSTRUCTION_INFO,
    VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE, IDT_VECTORING_INFO_FIELD,
    IDT_VECTORING_ERROR_CODE, GUEST_LINEAR_ADDRESS, VM_INSTRUCTION_ERROR,
};

#define N_RW_EXIT   ARRAY_SIZE(shadow_rw_exit)
#define N_RW        (ARRAY_SIZE(shadow_rw_exit) + ARRAY_SIZE(shadow_rw_l1))
#define N_ALL       (N_RW + ARRAY_SIZE(shadow_ro))
_Static_assert(N_ALL <= SHADOW_FIELDS_MAX, "struct nested_vmx's shadow_vals holds every field");

/* The shadowed fields sorted by width with their vmcs12 offsets, once.
 * shadow_vals[] holds them plan after plan, in this order. */
enum { PLAN_RW_EXIT, PLAN_RW_L1, PLAN_RO, PLANS };
static struct field_plan plans[PLANS];
static const u32 plan_base[PLANS] = { 0, N_RW_EXIT, N_RW };

static u64 vmread_bitmap, vmwrite_bitmap;
static bool shadowing;

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
    field_plan_init(&plans[PLAN_RW_EXIT], shadow_rw_exit, N_RW_EXIT);
    field_plan_init(&plans[PLAN_RW_L1], shadow_rw_l1, ARRAY_SIZE(shadow_rw_l1));
    field_plan_init(&plans[PLAN_RO], shadow_ro, ARRAY_SIZE(shadow_ro));
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

/* One field of a plan into the shadow, if all or if it changed. */
static inline void fill_one(const struct field_plan *p, u64 *vals, u32 i, u64 v, bool all)
{
    if (all || v != vals[i]) {
        __vmcs_write(p->field[i], v);
        vals[i] = v;
    }
}

static void fill_plan(struct nested_vmx *n, const struct field_plan *p, u64 *vals, bool all)
{
    const u8 *v12 = (const u8 *)&n->cached12;
    u32 i = 0;
    u16 x16;
    u32 x32;
    u64 x64;

    for (; i < p->n16; i++) {
        __builtin_memcpy(&x16, v12 + p->offset[i], 2);
        fill_one(p, vals, i, x16, all);
    }
    for (; i < p->n32; i++) {
        __builtin_memcpy(&x32, v12 + p->offset[i], 4);
        fill_one(p, vals, i, x32, all);
    }
    for (; i < p->n; i++) {
        __builtin_memcpy(&x64, v12 + p->offset[i], 8);
        fill_one(p, vals, i, x64, all);
    }
}

/* Runs with vmcs01 current and leaves it current. all: every field into
 * the shadow (a new vmcs12); otherwise (after an emulated exit) those the
 * exit may have changed, and of them only those whose value did. */
static void fill_shadow(struct vcpu *vcpu, bool all)
{
    struct nested_vmx *n = vcpu->nvmx;

    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    for (u32 p = 0; p < PLANS; p++)
        if (all || p != PLAN_RW_L1)
            fill_plan(n, &plans[p], n->shadow_vals + plan_base[p], all);
    vmcs_load(vcpu->vmcs01, "vmcs01");
}

/* The read-write fields back into cached12; each one L1 changed is
 * marked for the next entry. */
static void read_shadow(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    for (u32 p = PLAN_RW_EXIT; p <= PLAN_RW_L1; p++) {
        const struct field_plan *plan = &plans[p];
        u64 *vals = n->shadow_vals + plan_base[p];
        for (u32 i = 0; i < plan->n; i++) {
            u64 v = __vmcs_read(plan->field[i]);
            if (v != vals[i]) {
                vals[i] = v;
                field_plan_put(plan, &n->cached12, i, v);
                nested_vmcs12_changed(vcpu, plan->field[i], field_plan_get(plan, &n->cached12, i));
            }
        }
    }
    vmcs_load(vcpu->vmcs01, "vmcs01");
}

static bool verify_plan(struct nested_vmx *n, const struct field_plan *p)
{
    for (u32 i = 0; i < p->n; i++) {
        u64 v = __vmcs_read(p->field[i]), w = field_plan_get(p, &n->cached12, i);
        if (v != w) {
            kprintf("turtle: nested verify: shadow field %x holds %lx, vmcs12 %lx\n", p->field[i], v, w);
            return false;
        }
    }
    return true;
}

/* Debug mode (nested_verify): false, with a message, when the shadow does
 * not hold cached12's value of every shadowed field. vmcs01 current. */
bool shadow_verify(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->shadow_active)
        return true;
    vmcs_load(n->shadow_vmcs, "L1's shadow of vmcs12");
    bool ok = true;
    for (u32 p = 0; p < PLANS && ok; p++)
        ok = verify_plan(n, &plans[p]);
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
    for (u32 p = 0; p < PLANS && !val; p++)
        for (u32 i = 0; i < plans[p].n && !val; i++)
            if (plans[p].field[i] == field)
                val = &n->shadow_vals[plan_base[p] + i];
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
        read_shadow(vcpu);
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
