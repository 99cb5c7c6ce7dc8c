#include "vmx/dev/debug_exit.h"
#include "vmx/vm.h"

void debug_exit_bus_write(void *ctx, u64 offset, u32 size, u64 val)
{
    struct vm *vm = ctx;
    u32 status = (u32)(val & (size == 4 ? 0xffffffffULL : (1ULL << (8 * size)) - 1));

    if (offset)
        return;
    vm->exit_status = status;
    vm_stop(vm, status != 0, "exit status %u", status);
}
