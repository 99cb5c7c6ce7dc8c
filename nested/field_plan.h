/*
 * A list of vmcs12 fields sorted by width, with their vmcs12 offsets
 * resolved once at start-up: the copies on every nested entry and exit
 * then loop over each width without looking a field up or switching on
 * its width (nested/field_plan.c). Index order is the plan's, not the
 * list's: 16-bit fields first, then 32-bit, then 64-bit and natural-width.
 */
#ifndef TURTLE_NESTED_FIELD_PLAN_H
#define TURTLE_NESTED_FIELD_PLAN_H

#include "nested/vmcs12.h"

#define FIELD_PLAN_MAX  192

struct field_plan {
    u32 n16, n32, n;            /* [0,n16) 16-bit, [n16,n32) 32-bit, [n32,n) 64-bit/natural */
    u32 field[FIELD_PLAN_MAX];
    u16 offset[FIELD_PLAN_MAX];
};

/* fields: n encodings, each a vmcs12 field (not a _HIGH half). */
void field_plan_init(struct field_plan *p, const u32 *fields, u32 n);
/* The plan's fields of v, into the current VMCS / from it. */
void field_plan_to_vmcs(const struct field_plan *p, const struct vmcs12 *v);
void field_plan_from_vmcs(const struct field_plan *p, struct vmcs12 *v);

#endif
