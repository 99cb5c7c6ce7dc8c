/*
 * VMs and vCPUs: creation, stopping and freeing. A VM stops as a whole
 * (its vCPUs stop at their next exit); the scheduler then frees it.
 */
#include "kernel/console.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "vmx/dev/debug_exit.h"
#include "vmx/ept.h"
#include "vmx/vmx.h"
#include "vmx/xsave.h"

struct vm vms[MAX_VMS];
u32 n_vms;

void vm_stop(struct vm *vm, bool failed, const char *fmt, ...)
{
    va_list ap;

    if (vm->stopped)
        return;
    uart_flush(&vm->uart);
    va_start(ap, fmt);
    kvsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
    va_end(ap);
    vm->stopped = true;
    vm_update_held(vm);
    vm->failed = failed;
    kprintf("turtle: guest '%s' %s: %s\n", vm->name, failed ? "stopped" : "finished", vm->stop_reason);
    if (console_attached() == vm)
        console_detach();               /* its COM1 takes no more input */
}

bool vm_devices_init(struct vm *vm)
{
    const struct bus_device devices[] = {
        { "debug-exit", DEBUG_EXIT_PORT, DEBUG_EXIT_PORTS, false, NULL, debug_exit_bus_write, vm },
        { "COM1", UART_COM1_BASE, UART_PORTS, true, uart_bus_read, uart_bus_write, &vm->uart },
    };

    struct irq_line irq4 = platform_isa_line(vm, UART_COM1_IRQ);

    uart_init(&vm->uart, vm->name, &irq4);
    for (u32 i = 0; i < ARRAY_SIZE(devices); i++)
        if (!bus_register(&vm->pio, &devices[i]))
            return false;
    return true;
}

struct vcpu *vcpu_create(struct vm *vm)
{
    _Static_assert(sizeof(struct vcpu) <= PAGE_SIZE, "a vCPU fits a page");
    if (vm->n_vcpus == VM_MAX_VCPUS)
        return NULL;
    u64 page = alloc_page();
    if (!page)
        return NULL;
    struct vcpu *vcpu = phys_to_virt(page);
    vcpu->vm = vm;
    vcpu->id = vm->n_vcpus;
    /* VPIDs 1..MAX_VMS * VM_MAX_VCPUS for L1s (nested/ uses others for L2). */
    vcpu->vpid = (u16)(1 + vm->index * VM_MAX_VCPUS + vcpu->id);
    vpid_flush(vcpu->vpid);             /* nothing cached for an earlier holder serves it */
    u64 xsave = alloc_page();
    if (!xsave) {
        free_pages(page, 1);
        return NULL;
    }
    vcpu->xsave = phys_to_virt(xsave);
    vcpu_fpu_reset(vcpu);               /* FCW 0x37f, MXCSR 0x1f80, XCR0 1 (SDM 10.5.1) */
    vcpu->msrs.dr6 = DR6_RESET;
    vcpu->msrs.pat = PAT_POWER_ON;
    vm->vcpus[vm->n_vcpus++] = vcpu;
    platform_vcpu_init(vcpu);
    return vcpu;
}

void vcpu_free(struct vcpu *vcpu)
{
    struct vmx_cpu *c = this_vmx_cpu();

    for (u32 r = 0; r <= EXIT_REASON_MAX; r++)
        vcpu->vm->exits[r] += vcpu->exits[r];
    vcpu->vm->total_exits += vcpu->total_exits;
    if (vcpu->nvmx)
        nested_ops->vcpu_free(vcpu);    /* leaves vmcs == vmcs01 */
    if (c->vcpu == vcpu)
        c->vcpu = NULL;
    apicv_vcpu_free(vcpu);
    vmcs_free(vcpu->vmcs01);
    free_pages(virt_to_phys_direct(vcpu->xsave), 1);
    free_pages(virt_to_phys_direct(vcpu), 1);
}

void vm_free(struct vm *vm)
{
    for (u32 i = 0; i < vm->n_vcpus; i++)
        vcpu_free(vm->vcpus[i]);
    vm->n_vcpus = 0;
    if (vm->pages.n_total)
        kprintf("turtle: guest '%s': run-time pool of %lu pages, %lu used at most\n", vm->name,
                vm->pages.n_total, vm->pages.n_total - vm->pages.low_water);
    /* Its vCPUs gave back every pool page (EPT02 dropped): a page still
     * out would be a turtle bug, and would be lost to every later VM. */
    u64 leaked = vm_pages_release(&vm->pages);
    ASSERT(leaked == 0);
    /* No translation through EPT01 may outlive its tables or the frames
     * they map: both go back to the allocator for the next VM. */
    if (vm->ept_root)
        ept_flush(vm->eptp);
    ept_free(NULL, vm->ept_root);
    vm->ept_root = 0;
    guest_mem_free(vm);
    if (vm->cpuid_pa)
        free_pages(vm->cpuid_pa, VM_CPUID_PAGES);
    vm->cpuid_pa = 0;
    vm->cpuid_n = 0;
}
