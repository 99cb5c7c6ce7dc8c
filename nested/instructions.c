/*
 * The VMX instructions executed by L1 (SDM Vol. 3 32.3, "Operation" of
 * each). Order of checks as the SDM gives it: #UD conditions, then #GP(0)
 * for CPL > 0, then operand checks ending in VMfailInvalid or
 * VMfailValid(error). Only when every check passed does state change.
 * VMLAUNCH/VMRESUME are in nested/entry.c.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "nested/nested.h"
#include "vmx/exit.h"
#include "vmx/gva.h"

#define RFLAGS_ARITH    (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
                         X86_RFLAGS_SF | X86_RFLAGS_OF)
#define SHADOW_VMCS_BIT BIT(31)

/* --- results (SDM 32.2 "conventions") ------------------------------------ */

static void set_arith_flags(u64 set)
{
    vmcs_writel(GUEST_RFLAGS, (vmcs_readl(GUEST_RFLAGS) & ~RFLAGS_ARITH) | set);
    skip_instruction();
}

void nested_vmx_succeed(void)
{
    set_arith_flags(0);
}

void nested_vmx_fail_invalid(void)
{
    set_arith_flags(X86_RFLAGS_CF);
}

/* VMfail(error): VMfailValid with the error in the current vmcs12, or
 * VMfailInvalid when there is no current VMCS. */
void nested_vmx_fail(struct vcpu *vcpu, u32 error)
{
    if (vcpu->nvmx->current_vmptr == VMPTR_NONE) {
        nested_vmx_fail_invalid();
        return;
    }
    vcpu->nvmx->cached12.vm_instruction_error = error;
    shadow_write_field(vcpu, VM_INSTRUCTION_ERROR, error);
    set_arith_flags(X86_RFLAGS_ZF);
}

/* --- operands ---------------------------------------------------------------- */

/* Reads the 64-bit memory operand (VMXON, VMCLEAR, VMPTRLD). */
static bool read_ptr_operand(struct vcpu *vcpu, u64 *ptr)
{
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
    u64 gla;
    if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), 8, false, &gla))
        return false;
    return guest_read_linear(vcpu, gla, ptr, 8);
}

/* A VMCS/VMXON pointer must be 4 KiB aligned and within the physical
 * address width (SDM 32.3, VMXON/VMCLEAR/VMPTRLD). */
static bool ptr_valid(u64 pa)
{
    return IS_ALIGNED(pa, PAGE_SIZE) && (pa >> nested_phys_addr_width()) == 0;
}

/* The operand prologue of VMCLEAR and VMPTRLD, in the SDM's order (32.3):
 * read the 64-bit pointer (a fault on the way is injected), then
 * VMfail(err_address) if it is not 4 KiB aligned or is beyond the physical
 * address width, then VMfail(err_vmxon) if it is the VMXON pointer. True
 * with *ptr when every check passed; false when the instruction is already
 * complete. (VMXON reads and checks its operand the same way but fails
 * with VMfailInvalid and has no VMXON-pointer check.) */
static bool vmcs_ptr_operand(struct vcpu *vcpu, u32 err_address, u32 err_vmxon, u64 *ptr)
{
    if (!read_ptr_operand(vcpu, ptr))
        return false;
    if (!ptr_valid(*ptr)) {
        nested_vmx_fail(vcpu, err_address);
        return false;
    }
    if (*ptr == vcpu->nvmx->vmxon_ptr) {
        nested_vmx_fail(vcpu, err_vmxon);
        return false;
    }
    return true;
}

/* The first 32 bits of a region; memory outside L1's RAM reads as ones. */
static u32 region_revision(struct vcpu *vcpu, u64 pa)
{
    u32 rev = 0xffffffff;
    guest_copy_from(vcpu->vm, &rev, pa, 4);
    return rev;
}

/* The #UD conditions shared by every VMX instruction but VMXON. */
static bool vmx_mode_ok(void)
{
    if (!(guest_read_cr0() & X86_CR0_PE) || (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_VM))
        return false;
    if ((vmcs_read64(GUEST_IA32_EFER) & EFER_LMA) && !guest_in_long_mode())
        return false;
    return true;
}

/* --- the instructions ---------------------------------------------------------- */

static void handle_vmxon(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 ptr;

    if (!n || !vmx_mode_ok() || !(guest_read_cr4() & X86_CR4_VMXE)) {
        inject_ud(vcpu);
        return;
    }
    if (n->vmxon) {
        if (guest_cpl() > 0)
            inject_gp0(vcpu);
        else
            nested_vmx_fail(vcpu, VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
        return;
    }
    /* CR0 and CR4 must hold values supported in VMX operation (SDM 24.8). */
    if (guest_cpl() > 0 || !nested_cr0_valid(&n->caps, guest_read_cr0(), false) ||
        !nested_cr4_valid(&n->caps, guest_read_cr4())) {
        inject_gp0(vcpu);
        return;
    }
    if (!read_ptr_operand(vcpu, &ptr))
        return;
    if (!ptr_valid(ptr) || region_revision(vcpu, ptr) != VMCS12_REVISION) {
        nested_vmx_fail_invalid();
        return;
    }
    n->vmxon = true;
    n->vmxon_ptr = ptr;
    n->current_vmptr = VMPTR_NONE;
    n->vmcs12 = NULL;
    nested_vmx_succeed();
}

static void handle_vmxoff(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    nested_release_vmcs12(vcpu);
    shadow12_flush(vcpu, VMPTR_NONE);
    n->vmxon = false;
    ept02_drop_all(vcpu);
    nested_vmx_succeed();
}

static void handle_vmclear(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 ptr;

    if (!vmcs_ptr_operand(vcpu, VMXERR_VMCLEAR_INVALID_ADDRESS, VMXERR_VMCLEAR_VMXON_POINTER, &ptr))
        return;
    if (ptr == n->current_vmptr)
        nested_release_vmcs12(vcpu);
    shadow12_flush(vcpu, ptr);             /* L2's VMWRITEs to it, if it is linked */
    /* The region's launch state becomes "clear" (KVM keeps it in vmcs12). */
    u32 clear = 0;
    guest_copy_to(vcpu->vm, ptr + __builtin_offsetof(struct vmcs12, launch_state), &clear, sizeof(clear));
    nested_vmx_succeed();
}

static void handle_vmptrld(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 ptr;

    if (!vmcs_ptr_operand(vcpu, VMXERR_VMPTRLD_INVALID_ADDRESS, VMXERR_VMPTRLD_VMXON_POINTER, &ptr))
        return;
    /* Revision bits 30:0 must match; bit 31 (a shadow VMCS) only when
     * VMCS shadowing is shown to L1 (SDM 31.3, VMPTRLD). */
    u32 rev = region_revision(vcpu, ptr);
    if ((rev & ~(u32)SHADOW_VMCS_BIT) != VMCS12_REVISION ||
        ((rev & SHADOW_VMCS_BIT) && !(nested_caps_proc2(&n->caps) & SECONDARY_EXEC_SHADOW_VMCS)) ||
        ptr + PAGE_SIZE > vcpu->vm->mem_size) {
        nested_vmx_fail(vcpu, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
        return;
    }
    /* VMPTRLD of the current VMCS keeps it as it is (with what L1 wrote). */
    if (ptr != n->current_vmptr) {
        nested_release_vmcs12(vcpu);       /* the previous vmcs12, if any */
        shadow12_flush(vcpu, ptr);         /* L2's VMWRITEs to it, if it is linked */
        n->current_vmptr = ptr;
        n->current_is_shadow = rev & SHADOW_VMCS_BIT;
        n->vmcs12 = phys_to_virt(guest_gpa_to_hpa(vcpu->vm, ptr));
        memcpy(&n->cached12, n->vmcs12, sizeof(n->cached12));
        n->dirty = DIRTY_ALL;
        shadow_sync_to_shadow(vcpu);
    }
    nested_vmx_succeed();
}

static void handle_vmptrst(struct vcpu *vcpu)
{
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
    u64 gla, v = vcpu->nvmx->current_vmptr;

    if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), 8, true, &gla) ||
        !guest_write_linear(vcpu, gla, &v, 8))
        return;
    nested_vmx_succeed();
}

/* The field encoding from reg2; in 64-bit mode bits 63:32 must be zero. */
static bool field_operand(struct vcpu *vcpu, u32 info, u32 *field)
{
    u64 v = guest_reg_read(vcpu, INSN_INFO_REG2(info));

    if (!guest_in_long_mode())
        v = (u32)v;
    *field = (u32)v;
    return (v >> 32) == 0;
}

static void handle_vmread(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO), field;
    u32 size = guest_in_long_mode() ? 8 : 4;
    u64 v;

    if (n->current_vmptr == VMPTR_NONE) {
        nested_vmx_fail_invalid();
        return;
    }
    if (!field_operand(vcpu, info, &field) || !vmcs12_read(&n->cached12, field, &v)) {
        nested_vmx_fail(vcpu, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        return;
    }
    if (INSN_INFO_IS_REG(info)) {
        guest_reg_write(vcpu, INSN_INFO_REG1(info), size == 8 ? v : (u32)v);
    } else {
        u64 gla;
        if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), size, true, &gla) ||
            !guest_write_linear(vcpu, gla, &v, size))
            return;
    }
    nested_vmx_succeed();
}

static void handle_vmwrite(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO), field;
    u32 size = guest_in_long_mode() ? 8 : 4;
    u64 v = 0;

    if (n->current_vmptr == VMPTR_NONE) {
        nested_vmx_fail_invalid();
        return;
    }
    if (INSN_INFO_IS_REG(info)) {
        v = guest_reg_read(vcpu, INSN_INFO_REG1(info));
    } else {
        u64 gla;
        if (!insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), size, false, &gla) ||
            !guest_read_linear(vcpu, gla, &v, size))
            return;
    }
    if (size == 4)
        v = (u32)v;
    if (!field_operand(vcpu, info, &field) || vmcs12_field_offset(field) < 0) {
        nested_vmx_fail(vcpu, VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        return;
    }
    /* IA32_VMX_MISC[29] is shown, so read-only fields are writable too
     * (SDM 25.11.2); the check stays for when it is not. */
    if (vmcs12_field_read_only(field) && !(nested_caps_misc(&n->caps) & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS)) {
        nested_vmx_fail(vcpu, VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
        return;
    }
    vmcs12_write(&n->cached12, field, v);
    vmcs12_read(&n->cached12, field, &v);   /* as truncated to the field's width */
    shadow_write_field(vcpu, field, v);
    nested_vmcs12_changed(vcpu, field, v);
    nested_vmx_succeed();
}

/* INVEPT / INVVPID: the type from reg2 (checked first, SDM 32.3), then a
 * 16-byte descriptor in memory. */
static u64 inv_type(struct vcpu *vcpu)
{
    u64 type = guest_reg_read(vcpu, INSN_INFO_REG2(vmcs_read32(VMX_INSTRUCTION_INFO)));
    return guest_in_long_mode() ? type : (u32)type;
}

static bool inv_descriptor(struct vcpu *vcpu, u64 desc[2])
{
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
    u64 gla;

    return insn_operand_address(vcpu, info, vmcs_readl(EXIT_QUALIFICATION), 16, false, &gla) &&
           guest_read_linear(vcpu, gla, desc, 16);
}

static void handle_invept(struct vcpu *vcpu)
{
    const struct nested_caps *c = &vcpu->nvmx->caps;
    u64 cap = nested_caps_ept_vpid(c);
    u64 desc[2];

    if (!(nested_caps_proc2(c) & SECONDARY_EXEC_ENABLE_EPT) || !(cap & VMX_EPT_INVEPT_BIT)) {
        inject_ud(vcpu);
        return;
    }
    u64 type = inv_type(vcpu);
    if (!((type == VMX_EPT_EXTENT_CONTEXT && (cap & VMX_EPT_EXTENT_CONTEXT_BIT)) ||
          (type == VMX_EPT_EXTENT_GLOBAL && (cap & VMX_EPT_EXTENT_GLOBAL_BIT)))) {
        nested_vmx_fail(vcpu, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        return;
    }
    if (!inv_descriptor(vcpu, desc))
        return;
    if (type == VMX_EPT_EXTENT_CONTEXT && !nested_eptp_valid(c, desc[0])) {
        nested_vmx_fail(vcpu, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        return;
    }
    /* What INVEPT names is rebuilt from EPT12 on demand. */
    ept02_invept(vcpu, type == VMX_EPT_EXTENT_GLOBAL, desc[0]);
    nested_vmx_succeed();
}

static void handle_invvpid(struct vcpu *vcpu)
{
    const struct nested_caps *c = &vcpu->nvmx->caps;
    u64 cap = nested_caps_ept_vpid(c);
    u64 desc[2];

    if (!(nested_caps_proc2(c) & SECONDARY_EXEC_ENABLE_VPID) || !(cap & VMX_VPID_INVVPID_BIT)) {
        inject_ud(vcpu);
        return;
    }
    u64 type = inv_type(vcpu);
    if (type > VMX_VPID_EXTENT_SINGLE_NON_GLOBAL ||
        !(cap & (VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT << type))) {
        nested_vmx_fail(vcpu, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        return;
    }
    if (!inv_descriptor(vcpu, desc))
        return;
    u16 vpid = (u16)desc[0];
    bool ok = (desc[0] >> 16) == 0;
    if (ok && type != VMX_VPID_EXTENT_ALL_CONTEXT && vpid == 0)
        ok = false;
    if (ok && type == VMX_VPID_EXTENT_INDIVIDUAL_ADDR && !is_canonical(desc[1]))
        ok = false;
    if (!ok) {
        nested_vmx_fail(vcpu, VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        return;
    }
    /* All of L1's VPIDs map to vpid02: flushing it covers every type. */
    vpid_flush(vcpu->nvmx->vpid02);
    nested_vmx_succeed();
}

void nested_vmx_instruction(struct vcpu *vcpu, u64 qual)
{
    u32 reason = vmcs_read32(VM_EXIT_REASON) & VMX_EXIT_REASON_BASIC_MASK;

    (void)qual;
    if (reason == EXIT_REASON_VMON) {
        handle_vmxon(vcpu);
        return;
    }
    if (!vcpu->nvmx || !vcpu->nvmx->vmxon || !vmx_mode_ok() || reason == EXIT_REASON_VMFUNC) {
        inject_ud(vcpu);
        return;
    }
    if (guest_cpl() > 0) {
        inject_gp0(vcpu);
        return;
    }
    switch (reason) {
    case EXIT_REASON_VMOFF:     handle_vmxoff(vcpu); break;
    case EXIT_REASON_VMCLEAR:   handle_vmclear(vcpu); break;
    case EXIT_REASON_VMPTRLD:   handle_vmptrld(vcpu); break;
    case EXIT_REASON_VMPTRST:   handle_vmptrst(vcpu); break;
    case EXIT_REASON_VMREAD:    handle_vmread(vcpu); break;
    case EXIT_REASON_VMWRITE:   handle_vmwrite(vcpu); break;
    case EXIT_REASON_VMLAUNCH:  nested_vmx_run(vcpu, true); break;
    case EXIT_REASON_VMRESUME:  nested_vmx_run(vcpu, false); break;
    case EXIT_REASON_INVEPT:    handle_invept(vcpu); break;
    case EXIT_REASON_INVVPID:   handle_invvpid(vcpu); break;
    default:                    inject_ud(vcpu); break;
    }
}
