/*
 * The VMCS regions turtle owns: allocation, VMPTRLD (inline, vmx/vmx.h) and
 * VMCLEAR. A failed VMPTRLD/VMCLEAR of turtle's own VMCS is
 * a turtle bug: panic with the VMCS dump, as a failed VMREAD/VMWRITE does.
 */
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"

struct vmx_cpu vmx_cpus[MAX_CPUS];

__noreturn void vmcs_op_failed(const char *op, u64 pa, const char *what, enum vmx_result r)
{
    u64 err = 0;

    if (r == VMX_FAIL_VALID)
        vmread_raw(VM_INSTRUCTION_ERROR, &err);
    u64 current = ~0ULL;
    __asm__ __volatile__("vmptrst %0" : "=m"(current));
    if (current != ~0ULL)
        vmcs_dump();
    panic("%s of %s (%lx) failed: %s, VM_INSTRUCTION_ERROR %lu", op, what, pa,
          r == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid", err);
}

void vmcs_clear(u64 pa, const char *what)
{
    enum vmx_result r;

    if ((r = vmclear(pa)) != VMX_OK)
        vmcs_op_failed("VMCLEAR", pa, what, r);
}

u64 vmcs_alloc(bool shadow)
{
    u64 pa = alloc_page();

    if (!pa)
        return 0;
    /* SDM 25.2: the revision identifier; bit 31 marks a shadow VMCS. */
    *(u32 *)phys_to_virt(pa) = vmx_caps.revision | (shadow ? (u32)BIT(31) : 0);
    vmcs_clear(pa, shadow ? "a new shadow VMCS" : "a new VMCS");
    return pa;
}

void vmcs_free(u64 pa)
{
    if (!pa)
        return;
    vmcs_clear(pa, "a VMCS being freed");
    free_pages(pa, 1);
}
