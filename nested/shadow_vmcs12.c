/*
 * VMCS shadowing shown to L1 (SDM 25.10, 26.10): L1 may set "VMCS
 * shadowing" in vmcs12 with a shadow vmcs12 (a region with bit 31 of its
 * revision set) at the VMCS link pointer, and VMREAD/VMWRITE bitmaps.
 * L2's VMREADs and VMWRITEs of the fields the bitmaps allow then go to the
 * shadow vmcs12 without an exit to L1.
 *
 * turtle does that in hardware where it can. vmcs02 runs with VMCS
 * shadowing on, its link pointer at shadow02 (a hardware shadow VMCS that
 * holds the shadow vmcs12's fields this CPU has) and its bitmaps built at
 * every entry from L1's: a field's bit is L1's when both vmcs12 and this
 * CPU have the field, and 1 (exit) otherwise. What exits to L0 is decided
 * here (shadow12_l2_vmrw()): L1's bitmap says exit, or the encoding has
 * bits above 14 -> the exit goes to L1; otherwise turtle performs the
 * instruction on the shadow vmcs12 as the CPU would (VMfailInvalid without
 * a link pointer, VMfailValid 12 for a field vmcs12 lacks, 13 for a
 * read-only field without IA32_VMX_MISC[29]).
 *
 * shadow02 is the state of record for its fields of the shadow vmcs12 at
 * shadow02_pa from the entry that loads it until L1 looks at that region
 * (VMPTRLD or VMCLEAR of it, VMXOFF) or links another: then its fields are
 * written back to L1 memory (shadow12_flush()). The other fields live in
 * L1 memory throughout. KVM emulates all of this (every such VMREAD or
 * VMWRITE of L2 exits to KVM); docs/nested.md compares.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "nested/checks.h"
#include "nested/field_plan.h"
#include "nested/nested.h"
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/gva.h"
#include "vmx/vmx.h"

#define RFLAGS_VMX_RESULT (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
                           X86_RFLAGS_SF | X86_RFLAGS_OF)
#define ROR16(v, n)     ((u16)(((u16)(v) >> (n)) | ((u16)(v) << (16 - (n)))))
#define BITMAP_BYTES_MAX 128

/* The vmcs12 fields this CPU's VMCS has too (no _HIGH halves). */
static struct field_plan hw_plan;
/* The bytes of the VMREAD/VMWRITE bitmaps holding those fields' bits
 * (_HIGH halves included), and which bits: all other bits stay 1. */
static struct {
    u16 offset;
    u8 mask;
} bitmap_bytes[BITMAP_BYTES_MAX];
static u32 n_bitmap_bytes;
static bool shown;

static void add_bitmap_bit(u32 enc)
{
    u16 off = (u16)((enc & 0x7fff) / 8);
    u32 j = 0;

    while (j < n_bitmap_bytes && bitmap_bytes[j].offset != off)
        j++;
    if (j == n_bitmap_bytes) {
        ASSERT(j < BITMAP_BYTES_MAX);
        bitmap_bytes[j].offset = off;
        bitmap_bytes[j].mask = 0;
        n_bitmap_bytes++;
    }
    bitmap_bytes[j].mask |= (u8)(1u << (enc % 8));
}

/* Finds which vmcs12 fields this CPU has, with a scratch VMCS. Shown to
 * L1 only with "VMWRITE to any field" (IA32_VMX_MISC[29]): turtle loads
 * the read-only ones into shadow02. */
bool shadow12_init(void)
{
    static u32 fields[FIELD_PLAN_MAX];
    u32 n = 0;

    if (!(vmx_caps.proc2.may_be_1 & SECONDARY_EXEC_SHADOW_VMCS) ||
        !(vmx_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS))
        return false;
    u64 scratch = vmcs_alloc(true);
    if (!scratch)
        return false;
    vmcs_load(scratch, "a scratch shadow VMCS");
    for (u32 idx = 0; idx < vmcs12_field_table_len; idx++) {
        u64 v;
        u32 enc = ROR16(idx, 6);
        if (!vmcs12_field_offsets[idx] || vmread_raw(enc, &v) != VMX_OK)
            continue;
        add_bitmap_bit(enc);
        if (!VMCS_FIELD_IS_HIGH(enc)) {
            ASSERT(n < ARRAY_SIZE(fields));
            fields[n++] = enc;
        }
    }
    vmcs_free(scratch);
    field_plan_init(&hw_plan, fields, n);
    shown = n > 0;
    return shown;
}

bool shadow12_vcpu_init(struct nested_vmx *n)
{
    if (!shown)
        return true;
    n->shadow02 = vmcs_alloc(true);
    n->vmread_bitmap02 = alloc_page();
    n->vmwrite_bitmap02 = alloc_page();
    if (!n->shadow02 || !n->vmread_bitmap02 || !n->vmwrite_bitmap02)
        return false;
    memset(phys_to_virt(n->vmread_bitmap02), 0xff, PAGE_SIZE);
    memset(phys_to_virt(n->vmwrite_bitmap02), 0xff, PAGE_SIZE);
    return true;
}

void shadow12_vcpu_free(struct nested_vmx *n)
{
    vmcs_free(n->shadow02);
    if (n->vmread_bitmap02)
        free_pages(n->vmread_bitmap02, 1);
    if (n->vmwrite_bitmap02)
        free_pages(n->vmwrite_bitmap02, 1);
}

/* One of vmcs02's bitmaps from L1's at gpa (outside L1 RAM: all ones). */
static void merge_bitmap(struct vcpu *vcpu, u64 dst_page, u64 gpa)
{
    u8 *dst = phys_to_virt(dst_page);

    if (gpa >= vcpu->vm->mem_size) {
        for (u32 i = 0; i < n_bitmap_bytes; i++)
            dst[bitmap_bytes[i].offset] = 0xff;
        return;
    }
    const u8 *l1 = phys_to_virt(guest_gpa_to_hpa(vcpu->vm, gpa));
    for (u32 i = 0; i < n_bitmap_bytes; i++) {
        u32 off = bitmap_bytes[i].offset;
        dst[off] = (u8)(~bitmap_bytes[i].mask | l1[off]);
    }
}

/* shadow02's fields written into the shadow vmcs12 in L1 memory; shadow02
 * keeps them. Leaves `current` (a VMCS of this vCPU) current. */
static void write_back(struct vcpu *vcpu, u64 current)
{
    struct nested_vmx *n = vcpu->nvmx;
    static struct vmcs12 buf;

    if (n->shadow02_pa == VMPTR_NONE)
        return;
    guest_copy_from(vcpu->vm, &buf, n->shadow02_pa, sizeof(buf));
    vmcs_load(n->shadow02, "shadow02");
    field_plan_from_vmcs(&hw_plan, &buf);
    vmcs_load(current, "a vCPU's current VMCS");
    guest_copy_to(vcpu->vm, n->shadow02_pa, &buf, sizeof(buf));
}

/* shadow02's fields back into the shadow vmcs12 in L1 memory; shadow02
 * then holds nothing. Leaves `current` (a VMCS of this vCPU) current. */
static void flush(struct vcpu *vcpu, u64 current)
{
    write_back(vcpu, current);
    vcpu->nvmx->shadow02_pa = VMPTR_NONE;
}

void shadow12_write_back(struct vcpu *vcpu)
{
    write_back(vcpu, vcpu->vmcs);
}

void shadow12_flush(struct vcpu *vcpu, u64 region)
{
    if (vcpu->nvmx->shadow02_pa == region || region == VMPTR_NONE)
        flush(vcpu, vcpu->vmcs);
}

/*
 * At each entry to L2, vmcs02 current (after prepare_vmcs02 or
 * prepare_vmcs02_dirty): VMCS shadowing for L2 as vmcs12 asks. The
 * link pointer and its region passed the entry checks (a shadow VMCS in
 * L1 RAM, or ~0).
 */
void shadow12_prepare(struct vcpu *vcpu, const struct vmcs12 *v)
{
    struct nested_vmx *n = vcpu->nvmx;
    static struct vmcs12 buf;

    if (!shown || !(nested_proc2(v) & SECONDARY_EXEC_SHADOW_VMCS)) {
        vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
        return;
    }
    merge_bitmap(vcpu, n->vmread_bitmap02, v->vmread_bitmap);
    merge_bitmap(vcpu, n->vmwrite_bitmap02, v->vmwrite_bitmap);
    vmcs_write64(VMREAD_BITMAP, n->vmread_bitmap02);
    vmcs_write64(VMWRITE_BITMAP, n->vmwrite_bitmap02);
    if (v->vmcs_link_pointer == ~0ULL) {
        vmcs_write64(VMCS_LINK_POINTER, ~0ULL);     /* the CPU gives VMfailInvalid */
        return;
    }
    if (n->shadow02_pa != v->vmcs_link_pointer) {
        flush(vcpu, n->vmcs02);
        guest_copy_from(vcpu->vm, &buf, v->vmcs_link_pointer, sizeof(buf));
        vmcs_load(n->shadow02, "shadow02");
        field_plan_to_vmcs(&hw_plan, &buf);
        vmcs_load(n->vmcs02, "vmcs02");
        n->shadow02_pa = v->vmcs_link_pointer;
    }
    vmcs_write64(VMCS_LINK_POINTER, n->shadow02);
}

/* Is the field one shadow02 holds? */
static int hw_index(u32 field)
{
    for (u32 i = 0; i < hw_plan.n; i++)
        if (hw_plan.field[i] == field)
            return (int)i;
    return -1;
}

/* The field (or _HIGH half) of the shadow vmcs12 at pa: from shadow02
 * where it lives there, else from L1 memory. vmcs02 current. */
static u64 shadow_read(struct vcpu *vcpu, u64 pa, u32 field)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 full = VMCS_FIELD_IS_HIGH(field) ? field - 1 : field;
    u64 v = 0;

    if (n->shadow02_pa == pa && hw_index(full) >= 0) {
        vmcs_load(n->shadow02, "shadow02");
        v = __vmcs_read(field);
        vmcs_load(n->vmcs02, "vmcs02");
        return v;
    }
    guest_copy_from(vcpu->vm, &v, pa + (u32)vmcs12_field_offset(field), vmcs12_field_width(field));
    return v;
}

static void shadow_write(struct vcpu *vcpu, u64 pa, u32 field, u64 v)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 full = VMCS_FIELD_IS_HIGH(field) ? field - 1 : field;

    if (n->shadow02_pa == pa && hw_index(full) >= 0) {
        vmcs_load(n->shadow02, "shadow02");
        __vmcs_write(field, v);
        vmcs_load(n->vmcs02, "vmcs02");
        return;
    }
    guest_copy_to(vcpu->vm, pa + (u32)vmcs12_field_offset(field), &v, vmcs12_field_width(field));
}

static bool bitmap_says_exit(struct vcpu *vcpu, u64 bitmap, u32 field)
{
    u8 byte = 0xff;                 /* outside L1 RAM: every bit set */
    guest_copy_from(vcpu->vm, &byte, bitmap + (field & 0x7fff) / 8, 1);
    return byte & (1u << (field % 8));
}

/* L2's VMfailValid: the error goes to the current (ordinary) VMCS, vmcs12. */
static void l2_fail(struct vcpu *vcpu, u32 error)
{
    vcpu->nvmx->cached12.vm_instruction_error = error;
    vmcs_writel(GUEST_RFLAGS, (vmcs_readl(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | X86_RFLAGS_ZF);
    skip_instruction();
}

static void l2_result(u64 flags)
{
    vmcs_writel(GUEST_RFLAGS, (vmcs_readl(GUEST_RFLAGS) & ~RFLAGS_VMX_RESULT) | flags);
    skip_instruction();
}

/*
 * A VMREAD or VMWRITE exit of L2 while vmcs12 has VMCS shadowing on (the
 * VMREAD/VMWRITE operation of the SDM in VMX non-root operation). False:
 * the exit is L1's (its bitmap or the encoding says so, or a memory
 * operand behind EPT12, see docs/nested.md); true: done here.
 */
bool shadow12_l2_vmrw(struct vcpu *vcpu, bool write)
{
    struct nested_vmx *n = vcpu->nvmx;
    const struct vmcs12 *v = &n->cached12;
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
    bool long_mode = guest_in_long_mode();
    u32 size = long_mode ? 8 : 4;
    u64 enc = guest_reg_read(vcpu, INSN_INFO_REG2(info));

    if (!long_mode)
        enc = (u32)enc;
    if (enc >> 15 || bitmap_says_exit(vcpu, write ? v->vmwrite_bitmap : v->vmread_bitmap, (u32)enc))
        return false;
    if (!INSN_INFO_IS_REG(info) && (nested_proc2(v) & SECONDARY_EXEC_ENABLE_EPT))
        return false;
    if (guest_cpl() > 0) {
        inject_gp0(vcpu);
        return true;
    }
    u64 pa = v->vmcs_link_pointer;
    u32 field = (u32)enc;
    if (pa == ~0ULL) {
        l2_result(X86_RFLAGS_CF);
        return true;
    }
    if (!write) {
        if (vmcs12_field_offset(field) < 0) {
            l2_fail(vcpu, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
            return true;
        }
        u64 x = shadow_read(vcpu, pa, field);
        if (INSN_INFO_IS_REG(info)) {
            guest_reg_write(vcpu, INSN_INFO_REG1(info), size == 8 ? x : (u32)x);
        } else {
            u64 gla;
            if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), size, true, &gla) ||
                !guest_write_linear(vcpu, gla, &x, size))
                return true;
        }
        l2_result(0);
        return true;
    }
    u64 x = 0;
    if (INSN_INFO_IS_REG(info)) {
        x = guest_reg_read(vcpu, INSN_INFO_REG1(info));
    } else {
        u64 gla;
        if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), size, false, &gla) ||
            !guest_read_linear(vcpu, gla, &x, size))
            return true;
    }
    if (size == 4)
        x = (u32)x;
    if (vmcs12_field_offset(field) < 0) {
        l2_fail(vcpu, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        return true;
    }
    if (vmcs12_field_read_only(field) && !(nested_caps_misc(&vcpu->nvmx->caps) & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS)) {
        l2_fail(vcpu, VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
        return true;
    }
    shadow_write(vcpu, pa, field, x);
    l2_result(0);
    return true;
}
