/*
 * PCI configuration mechanism #1 and the host bridge (vmx/dev/pci.h).
 */
#include "vmx/dev/pci.h"

#define ADDR_RESERVED           0x7f000003u     /* bits 30:24 and 1:0 read 0 */
#define ADDR_BDF_SHIFT          8               /* bus 23:16, device 15:11, function 10:8 */
#define ADDR_BDF_MASK           0xffffu
#define ADDR_REG_MASK           0xfcu
#define CFG_VENDOR_ID           0x00
#define CFG_COMMAND             0x04
#define CFG_CLASS_REV           0x08
#define COMMAND_WRITABLE        0x0007          /* I/O space, memory space, bus master */
#define STATUS_DEVSEL_MEDIUM    0x0200          /* DEVSEL timing medium, as the 440FX */
#define COMMAND_RESET           0x0006          /* memory and bus master on, as after firmware */

void pci_host_reset(struct pci_host *p)
{
    p->config_address = 0;
    p->command = COMMAND_RESET;
}

/* The dword at register reg (a multiple of 4) of the host bridge. */
static u32 host_dword(const struct pci_host *p, u32 reg)
{
    switch (reg) {
    case CFG_VENDOR_ID:     return (u32)PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR;
    case CFG_COMMAND:       return (u32)STATUS_DEVSEL_MEDIUM << 16 | p->command;
    case CFG_CLASS_REV:     return (u32)PCI_CLASS_HOST_BRIDGE << 8 | PCI_HOST_REVISION;
    default:                return 0;       /* header type 0 (single function), no BARs,
                                             * no capabilities, no interrupt pin */
    }
}

/* Does CONFIG_ADDRESS select a register of the host bridge? (bus 0,
 * device 0, function 0; any other is absent.) */
static bool selects_host(const struct pci_host *p)
{
    return (p->config_address & PCI_CONFIG_ENABLE) &&
           ((p->config_address >> ADDR_BDF_SHIFT) & ADDR_BDF_MASK) == 0;
}

u32 pci_io_read(struct pci_host *p, u16 port, u32 size)
{
    u32 ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

    if (port == PCI_PORT_CONFIG_ADDRESS && size == 4)
        return p->config_address;
    if (port < PCI_PORT_CONFIG_DATA || port + size > PCI_PORT_CONFIG_DATA + 4)
        return ones;                            /* byte/word at 0xcf8-0xcfb: not ours */
    if (!selects_host(p))
        return ones;                            /* master abort: all ones */
    u32 shift = 8 * (port - PCI_PORT_CONFIG_DATA);
    return (host_dword(p, p->config_address & ADDR_REG_MASK) >> shift) & ones;
}

void pci_io_write(struct pci_host *p, u16 port, u32 size, u32 val)
{
    if (port == PCI_PORT_CONFIG_ADDRESS && size == 4) {
        p->config_address = val & ~ADDR_RESERVED;
        return;
    }
    if (port < PCI_PORT_CONFIG_DATA || port + size > PCI_PORT_CONFIG_DATA + 4 || !selects_host(p))
        return;
    /* Only the command register (bytes 4-5) takes writes; the status
     * bits this bridge could set (RW1C) are never set. */
    u32 first = (p->config_address & ADDR_REG_MASK) + (port - PCI_PORT_CONFIG_DATA);
    for (u32 i = 0; i < size; i++) {
        if (first + i == CFG_COMMAND)           /* command bits 7:0; 15:8 are fixed */
            p->command = (u16)((p->command & ~COMMAND_WRITABLE) | ((val >> (8 * i)) & COMMAND_WRITABLE));
    }
}
