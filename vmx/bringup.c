/*
 * Entering VMX operation (SDM Vol. 3 25.7): CR4.VMXE, the CR0/CR4 fixed
 * bits, a VMXON region carrying the VMCS revision identifier, VMXON.
 */
#include "kernel/mm.h"
#include "kernel/x86.h"
#include "vmx/caps.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

const char *vmx_on(void)
{
    u64 cr0 = read_cr0(), cr4 = read_cr4();

    /* OSFXSR (and OSXSAVE, xsave_cpu_init()): turtle saves and restores
     * guests' x87/SSE/AVX state (vmx/xsave.c). */
    cr4 |= X86_CR4_VMXE | X86_CR4_OSFXSR;
    cr0 = vmx_fixed_cr0(cr0);
    cr4 = vmx_fixed_cr4(cr4);
    if (!(cr4 & X86_CR4_VMXE))
        return "CR4.VMXE cannot be set";
    write_cr0(cr0);
    write_cr4(cr4);
    xsave_cpu_init();

    struct vmx_cpu *c = &vmx_cpus[this_cpu()->id];
    this_cpu()->hv = c;
    c->vmxon_region = alloc_page();
    if (!c->vmxon_region)
        return "out of memory for the VMXON region";
    *(u32 *)phys_to_virt(c->vmxon_region) = vmx_caps.revision;
    switch (vmxon(c->vmxon_region)) {
    case VMX_OK:
        return NULL;
    case VMX_FAIL_INVALID:
        return "VMXON failed (VMfailInvalid)";
    default:
        return "VMXON failed (already in VMX operation)";
    }
}
