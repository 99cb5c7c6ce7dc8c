/*
 * Port I/O: every port exits (I/O bitmaps all ones) and goes to the VM's
 * I/O-port bus (vmx/dev/bus.c: COM1, the debug-exit port, ...); a port no
 * device claims reads as all ones and drops writes, as an empty ISA bus. String I/O
 * (INS/OUTS, with or without REP) is emulated through the guest's own
 * segmentation and paging (vmx/gva.c).
 */
#include "vmx/exit.h"
#include "vmx/gva.h"

#define X86_RFLAGS_DF       BIT(10)
#define STRING_IO_BATCH     256     /* elements per exit; REP resumes for the rest */

/* One port access through the VM's I/O bus; a port no device claims is
 * an open ISA bus (reads all ones, writes vanish). False if the access
 * ended the VM (the debug-exit port). */
static bool port_access(struct vcpu *vcpu, u16 port, bool in, u32 size, u32 *val)
{
    struct vm *vm = vcpu->vm;

    if (in) {
        u64 v;
        if (!bus_read(&vm->pio, port, size, &v))
            v = ~0ULL;
        *val = (u32)v;
    } else {
        bus_write(&vm->pio, port, size, *val);
    }
    return !vm->stopped;
}

/* INS/OUTS (SDM 28.2.5: the linear address of the first element is in
 * GUEST_LINEAR_ADDRESS; the address size is in the instruction info). */
static void string_io(struct vcpu *vcpu, u64 qual, u16 port, u32 size, bool in)
{
    u32 info = vmcs_read32(VMX_INSTRUCTION_INFO);
    u32 asize = INSN_INFO_ADDR_SIZE(info);
    u64 amask = asize == 0 ? 0xffff : asize == 1 ? 0xffffffffULL : ~0ULL;
    bool rep = qual & IO_QUAL_REP;
    u64 count = rep ? vcpu->regs.gpr[REG_RCX] & amask : 1;
    s64 step = (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_DF) ? -(s64)size : (s64)size;
    u64 gla = vmcs_readl(GUEST_LINEAR_ADDRESS);
    u32 reg = in ? REG_RDI : REG_RSI;
    u64 done = 0, n = MIN(count, (u64)STRING_IO_BATCH);
    bool ok = true;

    for (; done < n && ok; done++, gla += (u64)step) {
        u32 val = 0;
        if (in) {
            ok = port_access(vcpu, port, true, size, &val) && guest_write_linear(vcpu, gla, &val, size);
        } else {
            ok = guest_read_linear(vcpu, gla, &val, size) && port_access(vcpu, port, false, size, &val);
        }
        if (!ok && !vcpu->vm->stopped)
            break;                      /* a fault was injected: this element did not happen */
    }
    if (vcpu->vm->stopped)
        return;
    u64 ptr = vcpu->regs.gpr[reg];
    vcpu->regs.gpr[reg] = (ptr & ~amask) | ((ptr + (u64)step * done) & amask);
    if (rep) {
        u64 rcx = vcpu->regs.gpr[REG_RCX];
        vcpu->regs.gpr[REG_RCX] = (rcx & ~amask) | ((rcx - done) & amask);
    }
    /* Finished (or never started): next instruction. Otherwise RIP stays
     * and the REP instruction exits again for the rest, as after an
     * interrupt on hardware; a fault leaves RIP for the handler. */
    if (ok && (!rep || done == count))
        skip_instruction();
}

void handle_io(struct vcpu *vcpu, u64 qual)
{
    u16 port = IO_QUAL_PORT(qual);
    u32 size = (u32)IO_QUAL_SIZE(qual);
    bool in = qual & IO_QUAL_IN;
    u32 mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    u32 val = in ? 0 : (u32)vcpu->regs.gpr[REG_RAX] & mask;

    if (qual & IO_QUAL_STRING) {
        string_io(vcpu, qual, port, size, in);
        return;
    }
    if (!port_access(vcpu, port, in, size, &val))
        return;
    if (in) {
        u64 rax = vcpu->regs.gpr[REG_RAX];
        /* A 32-bit IN zero-extends into RAX; 8/16-bit ones merge. */
        vcpu->regs.gpr[REG_RAX] = size == 4 ? (val & mask) : (rax & ~(u64)mask) | (val & mask);
    }
    skip_instruction();
}
