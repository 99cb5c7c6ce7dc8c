/*
 * Valid synthetic snapshots for the host tests and the fuzzer's seed
 * corpus: a 64-bit L1 with 2 MiB of RAM, KVM-like VMX capabilities, and its
 * nested state in each of the states KVM writes (docs/snapshot.md).
 */
#ifndef TURTLE_TESTS_SNAP_FIXTURE_H
#define TURTLE_TESTS_SNAP_FIXTURE_H

#include "snapshot/nested_check.h"

enum snapfix_state {
    SNAPFIX_PLAIN,          /* not nested: no vmx_caps, no nested sections */
    SNAPFIX_NO_VMX,         /* nested machine, L1 not in VMX operation: size 128 */
    SNAPFIX_VMXON,          /* VMXON, no current VMCS: 128 */
    SNAPFIX_VMCS,           /* a current VMCS, in L1: 4224 */
    SNAPFIX_L2,             /* in L2: GUEST_MODE, 4224 */
    SNAPFIX_L2_PENDING,     /* GUEST_MODE | RUN_PENDING, 4224 */
    SNAPFIX_L2_SHADOW,      /* in L2 with VMCS shadowing and a link pointer: 8320 */
    SNAPFIX_N
};

#define SNAPFIX_MEM         (2ULL << 20)
#define SNAPFIX_VMXON_PA    0x3000
#define SNAPFIX_VMCS12_PA   0x4000
#define SNAPFIX_LINK_PA     0x9000

extern const char *const snapfix_names[SNAPFIX_N];

/* The file for a state (malloc'd, 8-aligned), *len bytes. */
u8 *snapfix_file(enum snapfix_state st, u64 *len);
/* The kvm_nested_state alone (up to 8320 bytes into blob; returns its
 * size), the caps of the fixture's vCPU, and its RAM (for the link
 * pointer), for the nested checks' tests. */
u32 snapfix_nested(enum snapfix_state st, u8 *blob);
void snapfix_caps(struct nested_check_caps *caps);
const u8 *snapfix_ram(void);
bool snapfix_read(const void *ctx, u64 gpa, void *dst, u64 len);

#endif
