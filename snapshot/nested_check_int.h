/* Shared between snapshot/nested_check.c and nested_check_vmcs12.c. */
#ifndef TURTLE_SNAPSHOT_NESTED_CHECK_INT_H
#define TURTLE_SNAPSHOT_NESTED_CHECK_INT_H

#include "nested/vmcs12.h"
#include "snapshot/nested_check.h"

/* No bit at or above the guest MAXPHYADDR (KVM's kvm_vcpu_is_legal_gpa). */
bool ncheck_legal_gpa(const struct nested_check_caps *c, u64 gpa);
/* 4 KiB-aligned and legal (KVM's page_address_valid); not "in a memslot". */
bool ncheck_page_valid(const struct nested_check_caps *c, u64 gpa);
/* §6.1-6.3 and V22 on a vmcs12 with GUEST_MODE. */
const char *ncheck_vmcs12(const struct nested_check_caps *c, const struct vmcs12 *v, bool run_pending,
                          nested_check_read_fn *read, const void *ctx);

#endif
