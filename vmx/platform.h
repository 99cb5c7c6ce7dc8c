/*
 * The PC platform each VM sees (docs/guests.md, "The platform"): the 8259A
 * pair, the 8254 PIT, the CMOS RTC, the ACPI PM blocks and timer, the
 * reset ports, the 8042 keyboard controller (no keyboard or mouse), PCI
 * configuration mechanism #1 with a host bridge, one IOAPIC, a local APIC per vCPU (in struct vcpu), and
 * ACPI tables in the BIOS area. The device models are vmx/dev/'s; this
 * file wires them: buses, interrupt routing (ISA IRQ n -> PIC pin n and
 * IOAPIC pin n, IRQ 0 -> IOAPIC pin 2), time, and what an interrupt means
 * for a vCPU (a wake-up, an injection, a window).
 */
#ifndef TURTLE_PLATFORM_H
#define TURTLE_PLATFORM_H

#include "vmx/dev/acpi_pm.h"
#include "vmx/dev/i8042.h"
#include "vmx/dev/ioapic.h"
#include "vmx/dev/pci.h"
#include "vmx/dev/pic.h"
#include "vmx/dev/pit.h"
#include "vmx/dev/reset.h"
#include "vmx/dev/rtc.h"

/* The guest-physical layout of the platform (docs/guests.md). */
#define PLATFORM_BIOS_AREA      0xe0000ULL  /* reserved to the end of the first MiB */
#define PLATFORM_RSDP_GPA       0xe0000ULL
#define PLATFORM_ACPI_GPA       0xe0040ULL  /* tables after the RSDP */
#define PLATFORM_ACPI_MAX       0x10000ULL
#define PLATFORM_SCI_IRQ        9
#define PLATFORM_EPOCH          1767225600ULL   /* 2026-01-01 00:00:00 UTC: the RTC at reset */

struct vm;
struct vcpu;

#define PLATFORM_PORT_WINDOWS   16

/* A port window's bus context: its VM and which window it is. */
struct port_ctx {
    struct vm *vm;
    u32 index;
};

struct vm_platform {
    struct pic pic;
    struct pit pit;
    struct rtc rtc;
    struct acpi_pm pm;
    struct reset_ctl reset;
    struct i8042 kbc;
    struct pci_host pci;
    struct ioapic ioapic;
    u64 next_deadline;          /* earliest device timer (TSC), or DEV_NO_DEADLINE;
                                 * 0 after an access that may have changed one */
    struct port_ctx windows[PLATFORM_PORT_WINDOWS];
};

/* Builds the VM's devices, registers them on its buses and writes its
 * ACPI tables into its RAM. NULL, or what went wrong. */
const char *platform_init(struct vm *vm);
/* The line of ISA IRQ irq (to the PIC and the IOAPIC), for a device. */
struct irq_line platform_isa_line(struct vm *vm, u32 irq);
/* The rate of every local APIC timer (before its divider): the TSC's below
 * 100 MHz, about 100 MHz above (CPUID leaves 0x15/0x16 report it). */
extern u32 platform_apic_timer_khz;     /* set by the first platform_init() */
/* Resets a new vCPU's local APIC. */
void platform_vcpu_init(struct vcpu *vcpu);

/* Brings every device timer of the VM up to now (raising the interrupts
 * that fell due), takes power-off and reset requests, and recomputes the
 * next deadline. */
void platform_update(struct vm *vm, u64 now);

/* An interrupt source for vcpu: a vector its local APIC would deliver now
 * (above PPR), or the PIC's INT when the APIC passes it on. */
bool platform_interrupt_pending(struct vcpu *vcpu);
/* Acknowledges the interrupt platform_interrupt_pending() reported (the
 * INTA cycle: IRR -> ISR) and returns its vector. */
u8 platform_interrupt_ack(struct vcpu *vcpu);

/* The PIC's INT alone, as the BSP's LINT0 passes it on (virtual-interrupt
 * delivery leaves the local APIC's own interrupts to the CPU), and its
 * INTA cycle. */
bool platform_pic_pending(struct vcpu *vcpu);
u8 platform_pic_ack(struct vcpu *vcpu);

/* The MSRs of the local APIC (IA32_APIC_BASE, x2APIC 0x800-0x8ff,
 * IA32_TSC_DEADLINE): true if msr is one; *gp set when the access faults. */
bool platform_msr_read(struct vcpu *vcpu, u32 msr, u64 *val, bool *gp);
bool platform_msr_write(struct vcpu *vcpu, u32 msr, u64 val, bool *gp);

/* An access to guest-physical gpa outside RAM: true if a device (the
 * vCPU's xAPIC page, the IOAPIC) holds all of [gpa, gpa + size). */
bool platform_mmio_read(struct vcpu *vcpu, u64 gpa, u32 size, u64 *val);
bool platform_mmio_write(struct vcpu *vcpu, u64 gpa, u32 size, u64 val);
bool platform_mmio_claims(struct vcpu *vcpu, u64 gpa, u32 size);

#endif
