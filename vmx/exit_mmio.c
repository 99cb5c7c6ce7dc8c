/*
 * MMIO: an EPT violation on a page a device holds (the local APIC's xAPIC
 * page, the IOAPIC; vmx/platform.c). turtle fetches the instruction at
 * CS:RIP through the guest's paging, decodes and executes it against the
 * device (vmx/mmio_decode.c, vmx/mmio_emulate.c) and moves RIP past it.
 * An instruction turtle does not emulate stops only that VM, with RIP,
 * the bytes and the address in the message.
 */
#include "kernel/printf.h"
#include "vmx/exit.h"
#include "vmx/gva.h"
#include "vmx/mmio_emulate.h"

#define INSN_MAX    15

static u64 read_gpr(void *ctx, u32 reg) { return guest_reg_read(ctx, reg); }
static void write_gpr(void *ctx, u32 reg, u64 v) { guest_reg_write(ctx, reg, v); }
static bool dev_read(void *ctx, u64 gpa, u32 size, u64 *v) { return platform_mmio_read(ctx, gpa, size, v); }
static bool dev_write(void *ctx, u64 gpa, u32 size, u64 v) { return platform_mmio_write(ctx, gpa, size, v); }

static enum mmio_cpu_mode cpu_mode(void)
{
    if (guest_in_long_mode())
        return MMIO_MODE_64;
    if (!(guest_read_cr0() & X86_CR0_PE))
        return MMIO_MODE_16;            /* real mode (unrestricted guest) */
    return (vmcs_read32(GUEST_CS_AR_BYTES) & AR_DB) ? MMIO_MODE_32 : MMIO_MODE_16;
}

void handle_mmio(struct vcpu *vcpu, u64 gpa)
{
    const struct mmio_ops ops = { read_gpr, write_gpr, dev_read, dev_write, vcpu };
    u8 bytes[INSN_MAX];
    u32 n = guest_fetch_insn(vcpu, bytes, INSN_MAX), advance = 0;
    u64 rflags = vmcs_readl(GUEST_RFLAGS);
    struct mmio_insn in;

    int st = mmio_run(bytes, n, cpu_mode(), gpa, &ops, &rflags, &advance, &in);
    if (st != MMIO_OK) {
        char hex[3 * INSN_MAX + 1];
        u32 k = 0;
        for (u32 i = 0; i < n && k + 4 < sizeof(hex); i++)
            k += (u32)ksnprintf(hex + k, sizeof(hex) - k, "%s%02x", i ? " " : "", bytes[i]);
        hex[k] = '\0';
        vm_stop(vcpu->vm, true, "MMIO at %lx by an instruction turtle does not emulate (%s) at rip %lx: %s",
                gpa, mmio_status_str(st), vmcs_readl(GUEST_RIP), n ? hex : "(not mapped)");
        return;
    }
    vmcs_writel(GUEST_RFLAGS, rflags);
    if (advance)
        advance_rip(advance);
}
