/* VM-entry checks on vmcs12 (nested/checks.c, nested/checks_guest_seg.c). */
#ifndef TURTLE_NESTED_CHECKS_H
#define TURTLE_NESTED_CHECKS_H

#include "kernel/x86.h"
#include "nested/nested.h"

u32 nested_proc2(const struct vmcs12 *v);
/* Each against the capability MSRs the L1 was shown (c: its vCPU's). */
bool nested_check_controls(const struct nested_caps *c, const struct vmcs12 *v);
bool nested_check_host_state(const struct nested_caps *c, const struct vmcs12 *v, bool l1_long_mode);
/* False on failure, with *qual set to the VM-entry failure qualification:
 * ENTRY_FAIL_PDPTE (2) for a PAE PDPTE, ENTRY_FAIL_VMCS_LINK_PTR (4) for
 * the VMCS link pointer, ENTRY_FAIL_DEFAULT (0) for anything else. */
bool nested_check_guest_state(const struct nested_caps *c, struct vm *vm, const struct vmcs12 *v, u64 *qual);
/* The same, with the segment checks skipped when their inputs are those
 * memo holds (they passed with them), and memo updated when they pass. */
bool nested_check_guest_state_memo(const struct nested_caps *c, struct vm *vm, const struct vmcs12 *v, u64 *qual,
                                   struct seg_memo *memo);
/* The guest segment-register checks (SDM 27.3.1.2), part of the above. */
bool nested_check_guest_segments(const struct vmcs12 *v, bool ia32e, bool unrestricted);

/* The four PAE PDPTEs at cr3 in L1 memory (all ones outside L1's RAM),
 * and whether the present ones are free of reserved bits. The VM-entry
 * checks and the VM exit to a 32-bit PAE host both use them. */
void nested_read_pdptes(struct vm *vm, u64 cr3, u64 pdpte[4]);
bool nested_pdptes_valid(const u64 pdpte[4]);

/* Prints the text of a failed check (a bounded number of times). */
void nested_check_failed(const char *text);
/* CC(expr): true when the check expr fails, and then says which. */
#define CC(expr)                                                                \
    ({                                                                          \
        bool _failed = (expr);                                                  \
        if (_failed)                                                            \
            nested_check_failed(#expr);                                         \
        _failed;                                                                \
    })

#endif
