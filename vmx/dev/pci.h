/*
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2)
 * with one device: the host bridge at 00:00.0. CONFIG_ADDRESS is the dword
 * at 0xcf8 (bit 31 enable, bus 23:16, device 15:11, function 10:8,
 * register 7:2); CONFIG_DATA is 0xcfc-0xcff, of which an access of 1, 2 or
 * 4 bytes reaches the register's bytes at (0xcfc offset). Only dword
 * accesses to 0xcf8 are CONFIG_ADDRESS: a byte or word there is not this
 * device's (configuration mechanism #2's registers, and 0xcf9 the reset
 * control byte, vmx/dev/reset.h), and reads as a floating bus.
 *
 * Every other bus/device/function is absent: its reads return all ones
 * (so the vendor ID reads 0xffff) and writes go nowhere. The host bridge
 * has the identity Bochs's i440FX host bridge has (8086:1237, class
 * 06/00/00), a type-0 header with no BARs, no interrupt pin and no
 * capabilities; only its command register's I/O, memory and bus-master
 * bits are writable. Pure logic: tests/unit/test_pci.c runs it on the host.
 */
#ifndef TURTLE_DEV_PCI_H
#define TURTLE_DEV_PCI_H

#include "kernel/types.h"

#define PCI_PORT_CONFIG_ADDRESS 0xcf8
#define PCI_PORT_CONFIG_DATA    0xcfc
#define PCI_PORT_LEN            8           /* 0xcf8-0xcff */
#define PCI_CONFIG_ENABLE       0x80000000u
#define PCI_HOST_VENDOR         0x8086
#define PCI_HOST_DEVICE         0x1237
#define PCI_HOST_REVISION       0x02
#define PCI_CLASS_HOST_BRIDGE   0x060000    /* base class 06 (bridge), sub-class 00 (host) */

struct pci_host {
    u32 config_address;         /* 0xcf8: bits 31, 30:24 reserved (read 0), 23:2 */
    u16 command;                /* the host bridge's command register */
};

void pci_host_reset(struct pci_host *p);

/* An access in 0xcf8-0xcff of size 1, 2 or 4 (port + size <= 0xd00).
 * Reads fill the access's bytes. A byte at 0xcf9 never reaches this
 * model: the platform gives it to the reset control register. */
u32 pci_io_read(struct pci_host *p, u16 port, u32 size);
void pci_io_write(struct pci_host *p, u16 port, u32 size, u32 val);

#endif
