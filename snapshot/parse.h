/*
 * Validating a whole snapshot file (snapshot/format.h, docs/snapshot.md)
 * before anything reads it, and a view of its sections through typed
 * pointers. Pure and freestanding: turtle's restore path, tools/turtle-snap,
 * the KVM VMM, the host tests and the fuzzer all run this same code.
 *
 * tsnap_parse() makes the checks in the order docs/snapshot.md lists them
 * and stops at the first failure, returning a short message naming the
 * check ("bad magic", "checksum mismatch", "truncated: 1000 of 4096 bytes",
 * "section 3 (regs, vCPU 0): size 100, expected 144"). Messages with numbers
 * are formatted into view->msg; the returned pointer is valid as long as
 * the view is. NULL means the file is sound: every section inside the file,
 * 8-aligned, non-overlapping, of a known type and version (or optional and
 * skipped), no duplicates, every required section present and of the right
 * size. Values inside the KVM structures are not judged here (that is
 * restore's business and nested_check's).
 */
#ifndef TURTLE_SNAPSHOT_PARSE_H
#define TURTLE_SNAPSHOT_PARSE_H

#include "snapshot/format.h"

/* The most vCPUs a view holds; a file with more is refused by name. */
#define TSNAP_VIEW_MAX_VCPUS    8
/* Bounds on the list sections (KVM's own: KVM_MAX_CPUID_ENTRIES is 256). */
#define TSNAP_MAX_CPUID_ENTRIES 256
#define TSNAP_MAX_MSRS          1024
#define TSNAP_MAX_DEVICES       32
#define TSNAP_VMX_CAPS_FIRST    0x480   /* IA32_VMX_BASIC */
#define TSNAP_VMX_CAPS_LAST     0x491   /* IA32_VMX_VMFUNC */

struct tsnap_vcpu_view {
    const struct tsnap_kvm_regs *regs;
    const struct tsnap_kvm_sregs *sregs;
    const struct tsnap_kvm_msrs *msrs;
    const struct tsnap_kvm_msr_entry *msr_entries;  /* msrs->nmsrs of them */
    const struct tsnap_kvm_xsave *xsave;
    const struct tsnap_kvm_xcrs *xcrs;                  /* optional: NULL = XCR0 is 1 */
    const struct tsnap_kvm_vcpu_events *events;
    const struct tsnap_kvm_debugregs *debugregs;
    const struct tsnap_kvm_mp_state *mp_state;
    const struct tsnap_kvm_lapic_state *lapic;
    /* struct kvm_nested_state: header, then nested_size - 128 bytes of
     * vmcs12 (and shadow vmcs12). NULL when the machine is not nested. */
    const struct tsnap_kvm_nested_state_hdr *nested;
    u32 nested_size;
    const void *vcpu_turtle;            /* TSNAP_SEC_VCPU_TURTLE payload, or NULL */
    u64 vcpu_turtle_size;
    u32 vcpu_turtle_version;
};

struct tsnap_device_view {
    u32 instance;                       /* enum tsnap_device (+ 256 * vCPU for per-vCPU ones) */
    u32 version;
    const void *data;
    u64 size;
};

struct tsnap_view {
    const struct tsnap_header *header;
    const struct tsnap_section *sections;   /* header->n_sections of them */
    const struct tsnap_machine *machine;
    const struct tsnap_kvm_cpuid2 *cpuid;
    const struct tsnap_kvm_cpuid_entry2 *cpuid_entries;
    const struct tsnap_kvm_msrs *vmx_caps;  /* NULL unless the machine is nested */
    const struct tsnap_kvm_msr_entry *vmx_cap_entries;
    const struct tsnap_memory *memory;
    const u64 *mem_bitmap;                  /* ceil(pages / 64) words */
    const u8 *mem_pages;                    /* memory->n_present pages of 4096 bytes */
    u64 n_pages;                            /* mem_size / 4096 */
    struct tsnap_vcpu_view vcpu[TSNAP_VIEW_MAX_VCPUS];
    struct tsnap_device_view device[TSNAP_MAX_DEVICES];
    u32 n_devices;
    u32 n_skipped;                          /* optional sections this reader does not know */
    char msg[128];                          /* a refusal's text, when it carries numbers */
};

/* Checks the len bytes at buf (8-aligned) and fills *view. NULL when the
 * file is sound, else the first failed check's message. */
const char *tsnap_parse(const void *buf, u64 len, struct tsnap_view *view);

/* The 4096 bytes of guest-physical page pfn as stored, or NULL for a page
 * the file elides (all zeros) or one beyond mem_size. view must have been
 * accepted by tsnap_parse(). */
const u8 *tsnap_mem_page(const struct tsnap_view *view, u64 pfn);

/* Copies len bytes of guest RAM from gpa into dst (elided pages read as
 * zeros). False, with dst untouched, if any byte is beyond mem_size. */
bool tsnap_mem_read(const struct tsnap_view *view, u64 gpa, void *dst, u64 len);

/* A section type's name ("regs", "nested", ...), or "unknown". */
const char *tsnap_section_name(u32 type);

/* The CRC-32C of a file as format.h defines it: total_size bytes with the
 * crc32c field taken as zero. len must be at least sizeof(struct tsnap_header). */
u32 tsnap_file_crc(const void *buf, u64 len);

#endif
