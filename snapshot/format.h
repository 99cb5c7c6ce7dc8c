/*
 * The turtle snapshot file ("tsnap"), format version 1: one file per L1.
 * docs/snapshot.md describes it byte by byte; this header is that
 * description as C, pinned by static asserts. It is freestanding (only
 * kernel/types.h), so turtle, the host tool tools/turtle-snap, the KVM VMM
 * and the host tests all include the same definitions.
 *
 * The compatibility rule: once a version is released, no field of it moves
 * or changes meaning. Something new is a new section type, or a new
 * version of a section, which older readers refuse by name (or skip, if
 * the writer marked the section TSNAP_SEC_F_OPTIONAL).
 *
 * All integers are little-endian. A file is
 *
 *     struct tsnap_header                 (64 bytes, at offset 0)
 *     struct tsnap_section[n_sections]    (32 bytes each, at offset 64)
 *     section payloads                    (each at an 8-aligned offset)
 *
 * and its CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, initial
 * value and final XOR 0xffffffff) covers all total_size bytes, computed
 * with the crc32c field itself taken as zero.
 *
 * The vCPU sections hold Linux KVM's uapi structures byte for byte
 * (struct kvm_regs, kvm_sregs, kvm_msr_entry, kvm_xsave, kvm_xcrs, kvm_vcpu_events,
 * kvm_debugregs, kvm_mp_state, kvm_lapic_state, kvm_cpuid_entry2 and
 * kvm_nested_state), so exporting a vCPU to KVM is a copy. They are
 * declared here under tsnap_ names from the documented layouts, so that
 * nothing depends on <linux/kvm.h>; a host build that has that header
 * checks the two agree (tools/turtle-snap).
 */
#ifndef TURTLE_SNAPSHOT_FORMAT_H
#define TURTLE_SNAPSHOT_FORMAT_H

#include "kernel/types.h"

#define TSNAP_MAGIC             "TSNAP\r\n\032"     /* 8 bytes, no NUL */
#define TSNAP_MAGIC_LEN         8
#define TSNAP_VERSION           1
#define TSNAP_ALIGN             8                   /* every section offset */
#define TSNAP_MAX_SECTIONS      256

/* ---- file header ---------------------------------------------------- */

#define TSNAP_F_ZERO_PAGES_ELIDED   BIT(0)  /* always set by version 1 writers */
#define TSNAP_F_KNOWN               TSNAP_F_ZERO_PAGES_ELIDED

struct tsnap_header {
    u8  magic[8];               /* TSNAP_MAGIC */
    u32 version;                /* TSNAP_VERSION */
    u32 header_size;            /* sizeof(struct tsnap_header) = 64 */
    char turtle_version[16];    /* the writer, NUL-padded (kernel/version.h) */
    u32 flags;                  /* TSNAP_F_*; a bit outside TSNAP_F_KNOWN is refused */
    u32 n_sections;             /* 1..TSNAP_MAX_SECTIONS */
    u64 total_size;             /* bytes in the file, this header included */
    u32 crc32c;                 /* over total_size bytes, with this field 0 */
    u32 reserved0;              /* 0 */
    u64 reserved1;              /* 0 */
};

/* ---- section table -------------------------------------------------- */

enum tsnap_section_type {
    /* The machine (one of each). */
    TSNAP_SEC_MACHINE   = 1,    /* struct tsnap_machine */
    TSNAP_SEC_CPUID     = 2,    /* struct tsnap_kvm_cpuid2 + entries: CPUID as this L1 saw it */
    TSNAP_SEC_VMX_CAPS  = 3,    /* struct tsnap_kvm_msrs + entries: the VMX capability MSRs
                                 * (0x480-0x491) this L1 was shown; absent when not nested */
    TSNAP_SEC_MEMORY    = 4,    /* struct tsnap_memory + bitmap + pages */

    /* Per vCPU (instance = vCPU index). */
    TSNAP_SEC_REGS      = 16,   /* struct tsnap_kvm_regs */
    TSNAP_SEC_SREGS     = 17,   /* struct tsnap_kvm_sregs */
    TSNAP_SEC_MSRS      = 18,   /* struct tsnap_kvm_msrs + entries */
    TSNAP_SEC_XSAVE     = 19,   /* struct tsnap_kvm_xsave */
    TSNAP_SEC_EVENTS    = 20,   /* struct tsnap_kvm_vcpu_events */
    TSNAP_SEC_DEBUGREGS = 21,   /* struct tsnap_kvm_debugregs */
    TSNAP_SEC_MP_STATE  = 22,   /* struct tsnap_kvm_mp_state */
    TSNAP_SEC_LAPIC     = 23,   /* struct tsnap_kvm_lapic_state */
    TSNAP_SEC_NESTED    = 24,   /* struct kvm_nested_state, VMX format: exactly its `size` bytes */
    TSNAP_SEC_VCPU_TURTLE = 25, /* turtle's own per-vCPU state KVM's structures lack
                                 * (docs/snapshot.md; versioned by the section) */
    TSNAP_SEC_XCRS      = 26,   /* struct tsnap_kvm_xcrs: XCR0, which kvm_xsave does not
                                 * hold; absent = XCR0 at its reset value 1 (x87 only) */

    /* Devices (instance = enum tsnap_device; version = that device's layout). */
    TSNAP_SEC_DEVICE    = 48,
};

enum tsnap_device {
    TSNAP_DEV_PIC        = 1,   /* the 8259A pair and ELCR */
    TSNAP_DEV_PIT        = 2,
    TSNAP_DEV_RTC        = 3,   /* CMOS/RTC and its NVRAM */
    TSNAP_DEV_ACPI_PM    = 4,
    TSNAP_DEV_IOAPIC     = 5,
    TSNAP_DEV_UART_COM1  = 6,
    TSNAP_DEV_RESET      = 7,
    TSNAP_DEV_LAPIC_TIMER = 8,  /* per vCPU: instance = 8 + 256 * vCPU index */
};

#define TSNAP_SEC_F_OPTIONAL    BIT(0)  /* a reader that does not know this type/version may skip it */

struct tsnap_section {
    u32 type;                   /* enum tsnap_section_type */
    u32 version;                /* of this section's payload layout; 1 for all of version 1 */
    u32 instance;               /* vCPU index, or device (see above); 0 for machine sections */
    u32 flags;                  /* TSNAP_SEC_F_* */
    u64 offset;                 /* from the start of the file, TSNAP_ALIGN-aligned */
    u64 size;                   /* payload bytes */
};

/* ---- machine -------------------------------------------------------- */

#define TSNAP_MACHINE_NESTED    BIT(0)  /* VT-x is shown to this L1 (module option `nested`) */

struct tsnap_machine {
    char name[16];              /* the VM's name, NUL-padded */
    u64 mem_size;               /* bytes of guest-physical RAM from 0, a multiple of 4 KiB */
    u32 n_vcpus;
    u32 flags;                  /* TSNAP_MACHINE_* */
    u64 tsc_khz;                /* the TSC rate this L1 was told (CPUID 0x15) */
    u64 reserved[4];            /* 0 */
};

/* Memory: `mem_size` again, the number of pages stored, then a bitmap of
 * ceil(mem_size / 4096 / 64) u64s (bit i of word i/64: page i is stored;
 * a clear bit is an all-zero page), then the stored pages, 4096 bytes
 * each, in ascending page order. The payload size is exactly
 * 16 + 8 * bitmap words + 4096 * n_present. */
struct tsnap_memory {
    u64 mem_size;
    u64 n_present;
};

/* ---- KVM uapi layouts (arch/x86/include/uapi/asm/kvm.h) --------------- */

struct tsnap_kvm_regs {
    u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    u64 r8, r9, r10, r11, r12, r13, r14, r15;
    u64 rip, rflags;
};

struct tsnap_kvm_segment {
    u64 base;
    u32 limit;
    u16 selector;
    u8 type, present, dpl, db, s, l, g, avl;
    u8 unusable;
    u8 padding;
};

struct tsnap_kvm_dtable {
    u64 base;
    u16 limit;
    u16 padding[3];
};

struct tsnap_kvm_sregs {
    struct tsnap_kvm_segment cs, ds, es, fs, gs, ss;
    struct tsnap_kvm_segment tr, ldt;
    struct tsnap_kvm_dtable gdt, idt;
    u64 cr0, cr2, cr3, cr4, cr8;
    u64 efer;
    u64 apic_base;
    u64 interrupt_bitmap[4];    /* (KVM_NR_INTERRUPTS + 63) / 64 */
};

struct tsnap_kvm_msr_entry {
    u32 index;
    u32 reserved;
    u64 data;
};

/* struct kvm_msrs: this header, then nmsrs struct tsnap_kvm_msr_entry. */
struct tsnap_kvm_msrs {
    u32 nmsrs;
    u32 pad;
};

/* struct kvm_xsave (the 4 KiB form of KVM_GET_XSAVE): bytes 0-511 are the
 * FXSAVE image, 512-575 the XSAVE header (XSTATE_BV at 512). */
struct tsnap_kvm_xsave {
    u32 region[1024];
};

/* struct kvm_xcrs (KVM_GET/SET_XCRS): the extended control registers. */
#define TSNAP_KVM_MAX_XCRS      16

struct tsnap_kvm_xcr {
    u32 xcr;                    /* 0: XCR0 */
    u32 reserved;
    u64 value;
};

struct tsnap_kvm_xcrs {
    u32 nr_xcrs;
    u32 flags;
    struct tsnap_kvm_xcr xcrs[TSNAP_KVM_MAX_XCRS];
    u64 padding[16];
};

#define TSNAP_KVM_VCPUEVENT_VALID_NMI_PENDING   0x00000001
#define TSNAP_KVM_VCPUEVENT_VALID_SIPI_VECTOR   0x00000002
#define TSNAP_KVM_VCPUEVENT_VALID_SHADOW        0x00000004
#define TSNAP_KVM_VCPUEVENT_VALID_SMM           0x00000008
#define TSNAP_KVM_VCPUEVENT_VALID_PAYLOAD       0x00000010
#define TSNAP_KVM_VCPUEVENT_VALID_TRIPLE_FAULT  0x00000020

#define TSNAP_KVM_X86_SHADOW_INT_MOV_SS         0x01
#define TSNAP_KVM_X86_SHADOW_INT_STI            0x02

struct tsnap_kvm_vcpu_events {
    struct {
        u8 injected, nr, has_error_code, pending;
        u32 error_code;
    } exception;
    struct {
        u8 injected, nr, soft, shadow;
    } interrupt;
    struct {
        u8 injected, pending, masked, pad;
    } nmi;
    u32 sipi_vector;
    u32 flags;                  /* TSNAP_KVM_VCPUEVENT_VALID_* */
    struct {
        u8 smm, pending, smm_inside_nmi, latched_init;
    } smi;
    struct {
        u8 pending;
    } triple_fault;
    u8 reserved[26];
    u8 exception_has_payload;
    u64 exception_payload;
};

struct tsnap_kvm_debugregs {
    u64 db[4];
    u64 dr6;
    u64 dr7;
    u64 flags;
    u64 reserved[9];
};

#define TSNAP_KVM_MP_STATE_RUNNABLE         0
#define TSNAP_KVM_MP_STATE_UNINITIALIZED    1
#define TSNAP_KVM_MP_STATE_INIT_RECEIVED    2
#define TSNAP_KVM_MP_STATE_HALTED           3
#define TSNAP_KVM_MP_STATE_SIPI_RECEIVED    4

struct tsnap_kvm_mp_state {
    u32 mp_state;
};

/* struct kvm_lapic_state: the xAPIC register page as KVM_GET_LAPIC gives
 * it (each register at its xAPIC MMIO offset). */
struct tsnap_kvm_lapic_state {
    u8 regs[1024];
};

#define TSNAP_KVM_CPUID_FLAG_SIGNIFCANT_INDEX   BIT(0)

struct tsnap_kvm_cpuid_entry2 {
    u32 function;
    u32 index;
    u32 flags;                  /* TSNAP_KVM_CPUID_FLAG_* */
    u32 eax, ebx, ecx, edx;
    u32 padding[3];
};

/* struct kvm_cpuid2: this header, then nent struct tsnap_kvm_cpuid_entry2. */
struct tsnap_kvm_cpuid2 {
    u32 nent;
    u32 padding;
};

/* ---- struct kvm_nested_state, VMX format -----------------------------
 * docs/snapshot.md; sizes 128 (not in VMX operation,
 * or VMXON without a current VMCS), 4224 (a current VMCS: the vmcs12 page
 * follows the header) or 8320 (in L2 with VMCS shadowing and a link
 * pointer: the shadow vmcs12 page follows). */

#define TSNAP_KVM_STATE_NESTED_FORMAT_VMX             0
#define TSNAP_KVM_STATE_NESTED_GUEST_MODE             0x0001
#define TSNAP_KVM_STATE_NESTED_RUN_PENDING            0x0002
#define TSNAP_KVM_STATE_NESTED_EVMCS                  0x0004
#define TSNAP_KVM_STATE_NESTED_MTF_PENDING            0x0008
#define TSNAP_KVM_STATE_NESTED_GIF_SET                0x0100
#define TSNAP_KVM_STATE_NESTED_SMM_GUEST_MODE         0x0001
#define TSNAP_KVM_STATE_NESTED_SMM_VMXON              0x0002
#define TSNAP_KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE 0x0001
#define TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE          0x1000
#define TSNAP_NESTED_HDR_SIZE                   128
#define TSNAP_NESTED_SIZE_VMCS12                (TSNAP_NESTED_HDR_SIZE + TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE)
#define TSNAP_NESTED_SIZE_MAX                   (TSNAP_NESTED_HDR_SIZE + 2 * TSNAP_KVM_STATE_NESTED_VMX_VMCS_SIZE)
#define TSNAP_INVALID_GPA                       (~0ULL)

struct tsnap_kvm_nested_state_hdr {
    u16 flags;                  /* TSNAP_KVM_STATE_NESTED_* */
    u16 format;                 /* TSNAP_KVM_STATE_NESTED_FORMAT_VMX */
    u32 size;                   /* 128, 4224 or 8320 */
    u64 vmxon_pa;               /* or TSNAP_INVALID_GPA */
    u64 vmcs12_pa;              /* or TSNAP_INVALID_GPA */
    u16 smm_flags;              /* TSNAP_KVM_STATE_NESTED_SMM_* */
    u16 pad;
    u32 vmx_flags;              /* TSNAP_KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE */
    u64 preemption_timer_deadline;  /* in units of (L1 TSC >> 5), with the flag */
    u8 reserved[88];            /* the rest of KVM's 120-byte header union: 0 */
};

/* ---- turtle's own per-vCPU section (TSNAP_SEC_VCPU_TURTLE, version 1) --
 * What KVM's structures lack. Every time is relative to `tsc`, L1's TSC
 * when the snapshot was taken, so a restore on another boot (another TSC)
 * resumes timers where they stood. */
struct tsnap_vcpu_turtle {
    u64 tsc;                    /* L1's TSC at the snapshot */
    u8 halted;                  /* HLT with IF=1: waits for an interrupt */
    u8 reinject;                /* an event whose delivery an exit interrupted */
    u8 irq_check;               /* look at the platform before the next entry */
    u8 lapic_lint_level;        /* bit n: level of LINTn */
    u32 reinject_info;          /* interruption-information format */
    u32 reinject_error_code;
    u32 reinject_insn_len;
    u8 lapic_nmi_pending, lapic_init_pending, lapic_sipi_pending, lapic_extint_pending;
    u8 lapic_sipi_vector;
    u8 l1_timer_on;             /* nested: L1's VMX-preemption timer runs for L2 */
    u8 launch_pending;          /* nested: vmcs12 becomes launched at L2's first exit */
    u8 pad0;
    u32 lapic_esr_pending;      /* LAPIC errors since the last ESR write */
    u32 pad1;
    u64 l1_timer_left;          /* nested: TSC cycles until it fires (only time in L2 counts); turtle
                                 * 0.1.0 wrote ticks at the CPU's rate: Bochs's is 0, so the same */
    u64 reserved[4];            /* 0 */
};

/* ---- devices (TSNAP_SEC_DEVICE, instance = enum tsnap_device) ---------
 * Each device's state, version 1 of each. `*_rel` fields are TSC values
 * relative to the owning vCPU's tsnap_vcpu_turtle.tsc (vCPU 0 for the
 * platform devices): negative in the past, positive ahead. */
#define TSNAP_NO_DEADLINE_REL   INT64_MAX   /* a timer that is not armed */

struct tsnap_dev_pic_chip {
    u8 irr, isr, imr, line, elcr, elcr_mask, vector_base, icw3;
    u8 lowest, init_step, icw4_needed, single, ltim, auto_eoi, sfnm, rotate_aeoi;
    u8 special_mask, read_isr, poll, int_out;
};

struct tsnap_dev_pic {
    struct tsnap_dev_pic_chip chip[2];  /* master, slave */
    u8 intr_level;
    u8 pad[7];
};

struct tsnap_dev_pit_channel {
    u8 ctrl, mode, rw, bcd, state, gate, frozen, pending;
    u8 write_msb, write_lsb, read_msb, latch_left, status_latched, status;
    u16 latched;
    u32 cr, n;
    u64 load_tick, frozen_d, pending_tick, edges;   /* in PIT ticks from base */
};

struct tsnap_dev_pit {
    struct tsnap_dev_pit_channel ch[3];
    u8 irq0_level, nmi_sc;
    u16 pad0;
    u32 tsc_khz;                /* the rate its ticks were counted at */
    s64 base_rel;               /* TSC of tick 0 */
};

struct tsnap_dev_rtc {
    u8 cmos[128];
    u8 index, nmi_disabled, irq_level, pad0;
    u32 tsc_khz;
    s64 div_base_rel;           /* origin of the 32.768 kHz divider chain */
    u64 base_secs, base_idx, last_idx, last_period;
};

struct tsnap_dev_acpi_pm {
    u16 sts, en, cnt;
    u8 sci_level, sleep_requested, sleep_type, pad0[3];
    u32 tsc_khz;
    s64 base_rel;               /* TSC of timer value 0 */
    u64 last_half;
};

struct tsnap_dev_ioapic {
    u32 ioregsel, id, pin_level, pad0;
    u64 redir[24];
};

struct tsnap_dev_uart {
    u8 ier, lcr, mcr, scr, dll, dlm, fcr, lsr_errors;
    u8 thre_pending, msr_delta, irq_level, pad0;
    u32 rx_head, rx_count;
    u8 rx[16];
    u32 line_len;               /* bytes of an unfinished console line */
    char line[160];
};

struct tsnap_dev_reset {
    u8 rst_cnt, sysctl_a, pad0[2];
    u32 requested;              /* 0 none, 1 soft, 2 hard */
};

/* The local APIC's timer (its registers are in TSNAP_SEC_LAPIC). */
struct tsnap_dev_lapic_timer {
    s64 start_rel;              /* TSC at which the count was last loaded */
    s64 next_rel;               /* next expiry, TSNAP_NO_DEADLINE_REL if none */
    s64 tsc_deadline_rel;       /* IA32_TSC_DEADLINE; TSNAP_NO_DEADLINE_REL when 0 */
    u32 tsc_per_tick;           /* the timer's clock, in TSC ticks at divide-by-1 */
    u32 pad0;
};

/* ---- the serial stream -----------------------------------------------
 * A snapshot leaving turtle over a serial port is framed so that a reader
 * can find it in a byte stream and check it without knowing the format:
 * head, `length` bytes of the snapshot file, tail. */

#define TSNAP_FRAME_HEAD_MAGIC  "TSNAPFRM"
#define TSNAP_FRAME_TAIL_MAGIC  "TSNAPEND"

struct tsnap_frame_head {
    u8 magic[8];                /* TSNAP_FRAME_HEAD_MAGIC */
    u64 length;                 /* bytes of the snapshot file that follow */
};

struct tsnap_frame_tail {
    u32 crc32c;                 /* of the `length` bytes (the file's own CRC also checks them) */
    u32 reserved;               /* 0 */
    u8 magic[8];                /* TSNAP_FRAME_TAIL_MAGIC */
};

/* ---- the layouts, pinned ---------------------------------------------- */

#define TSNAP_OFF(type, member, off) \
    _Static_assert(__builtin_offsetof(struct type, member) == (off), #type "." #member)

_Static_assert(sizeof(struct tsnap_header) == 64, "tsnap_header");
TSNAP_OFF(tsnap_header, version, 8);
TSNAP_OFF(tsnap_header, turtle_version, 16);
TSNAP_OFF(tsnap_header, flags, 32);
TSNAP_OFF(tsnap_header, n_sections, 36);
TSNAP_OFF(tsnap_header, total_size, 40);
TSNAP_OFF(tsnap_header, crc32c, 48);
_Static_assert(sizeof(struct tsnap_section) == 32, "tsnap_section");
TSNAP_OFF(tsnap_section, offset, 16);
TSNAP_OFF(tsnap_section, size, 24);
_Static_assert(sizeof(struct tsnap_machine) == 72, "tsnap_machine");
_Static_assert(sizeof(struct tsnap_memory) == 16, "tsnap_memory");

_Static_assert(sizeof(struct tsnap_kvm_regs) == 144, "kvm_regs");
TSNAP_OFF(tsnap_kvm_regs, rip, 128);
_Static_assert(sizeof(struct tsnap_kvm_segment) == 24, "kvm_segment");
TSNAP_OFF(tsnap_kvm_segment, selector, 12);
TSNAP_OFF(tsnap_kvm_segment, unusable, 22);
_Static_assert(sizeof(struct tsnap_kvm_dtable) == 16, "kvm_dtable");
_Static_assert(sizeof(struct tsnap_kvm_sregs) == 312, "kvm_sregs");
TSNAP_OFF(tsnap_kvm_sregs, ldt, 168);
TSNAP_OFF(tsnap_kvm_sregs, gdt, 192);
TSNAP_OFF(tsnap_kvm_sregs, cr0, 224);
TSNAP_OFF(tsnap_kvm_sregs, efer, 264);
TSNAP_OFF(tsnap_kvm_sregs, apic_base, 272);
TSNAP_OFF(tsnap_kvm_sregs, interrupt_bitmap, 280);
_Static_assert(sizeof(struct tsnap_kvm_msr_entry) == 16, "kvm_msr_entry");
_Static_assert(sizeof(struct tsnap_kvm_msrs) == 8, "kvm_msrs");
_Static_assert(sizeof(struct tsnap_kvm_xsave) == 4096, "kvm_xsave");
_Static_assert(sizeof(struct tsnap_kvm_xcrs) == 392, "kvm_xcrs");
TSNAP_OFF(tsnap_kvm_xcrs, xcrs, 8);
TSNAP_OFF(tsnap_kvm_xcrs, padding, 264);
_Static_assert(sizeof(struct tsnap_kvm_vcpu_events) == 64, "kvm_vcpu_events");
TSNAP_OFF(tsnap_kvm_vcpu_events, interrupt, 8);
TSNAP_OFF(tsnap_kvm_vcpu_events, nmi, 12);
TSNAP_OFF(tsnap_kvm_vcpu_events, sipi_vector, 16);
TSNAP_OFF(tsnap_kvm_vcpu_events, flags, 20);
TSNAP_OFF(tsnap_kvm_vcpu_events, smi, 24);
TSNAP_OFF(tsnap_kvm_vcpu_events, triple_fault, 28);
TSNAP_OFF(tsnap_kvm_vcpu_events, exception_has_payload, 55);
TSNAP_OFF(tsnap_kvm_vcpu_events, exception_payload, 56);
_Static_assert(sizeof(struct tsnap_kvm_debugregs) == 128, "kvm_debugregs");
TSNAP_OFF(tsnap_kvm_debugregs, dr7, 40);
_Static_assert(sizeof(struct tsnap_kvm_mp_state) == 4, "kvm_mp_state");
_Static_assert(sizeof(struct tsnap_kvm_lapic_state) == 1024, "kvm_lapic_state");
_Static_assert(sizeof(struct tsnap_kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2");
_Static_assert(sizeof(struct tsnap_kvm_cpuid2) == 8, "kvm_cpuid2");
_Static_assert(sizeof(struct tsnap_kvm_nested_state_hdr) == TSNAP_NESTED_HDR_SIZE, "kvm_nested_state");
TSNAP_OFF(tsnap_kvm_nested_state_hdr, vmxon_pa, 8);
TSNAP_OFF(tsnap_kvm_nested_state_hdr, vmcs12_pa, 16);
TSNAP_OFF(tsnap_kvm_nested_state_hdr, smm_flags, 24);
TSNAP_OFF(tsnap_kvm_nested_state_hdr, vmx_flags, 28);
TSNAP_OFF(tsnap_kvm_nested_state_hdr, preemption_timer_deadline, 32);
_Static_assert(sizeof(struct tsnap_vcpu_turtle) == 80, "tsnap_vcpu_turtle");
TSNAP_OFF(tsnap_vcpu_turtle, lapic_esr_pending, 32);
TSNAP_OFF(tsnap_vcpu_turtle, l1_timer_left, 40);
_Static_assert(sizeof(struct tsnap_dev_pic) == 48, "tsnap_dev_pic");
_Static_assert(sizeof(struct tsnap_dev_pit_channel) == 56, "tsnap_dev_pit_channel");
_Static_assert(sizeof(struct tsnap_dev_pit) == 184, "tsnap_dev_pit");
_Static_assert(sizeof(struct tsnap_dev_rtc) == 176, "tsnap_dev_rtc");
_Static_assert(sizeof(struct tsnap_dev_acpi_pm) == 32, "tsnap_dev_acpi_pm");
_Static_assert(sizeof(struct tsnap_dev_ioapic) == 208, "tsnap_dev_ioapic");
_Static_assert(sizeof(struct tsnap_dev_uart) == 200, "tsnap_dev_uart");
_Static_assert(sizeof(struct tsnap_dev_reset) == 8, "tsnap_dev_reset");
_Static_assert(sizeof(struct tsnap_dev_lapic_timer) == 32, "tsnap_dev_lapic_timer");
_Static_assert(sizeof(struct tsnap_frame_head) == 16, "tsnap_frame_head");
_Static_assert(sizeof(struct tsnap_frame_tail) == 16, "tsnap_frame_tail");

#endif
