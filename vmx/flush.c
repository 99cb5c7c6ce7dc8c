/*
 * Invalidating cached translations turtle made the CPU build (SDM 29.4):
 * an EPT root before its pages are freed, a VPID before a vCPU takes it
 * or when the L2 it tags becomes another one. Otherwise a translation
 * cached from a freed paging structure could serve whoever gets the page
 * next. The extent type is the narrowest this CPU has (vmx_caps). A
 * failure is an L0 bug: panic with the VMCS dump, as for VMPTRLD.
 */
#include "vmx/caps.h"
#include "vmx/vmx.h"

void ept_flush(u64 eptp)
{
    enum vmx_result r = invept(vmx_caps.invept_type, eptp);

    if (r != VMX_OK)
        vmcs_op_failed("INVEPT", eptp, "an EPT root", r);
}
