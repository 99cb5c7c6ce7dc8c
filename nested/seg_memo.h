/*
 * The inputs with which nested_check_guest_segments() last passed, kept
 * per vCPU (nested/seg_memo.c). L2 changes vmcs12's guest state at every
 * exit, but seldom its segment registers: when every input of the segment
 * checks is bit for bit what last passed, they pass again and are not
 * redone. The memo is keyed by the inputs alone (no vmcs12 identity, no
 * dirty bits), so it needs no invalidation: another vmcs12, a restored
 * snapshot or a VMWRITE simply miss.
 */
#ifndef TURTLE_NESTED_SEG_MEMO_H
#define TURTLE_NESTED_SEG_MEMO_H

#include "nested/vmcs12.h"

/* vmcs12's guest segment fields, ES..TR in the order of the layout, as
 * four blocks of the KVM layout (nested/vmcs12.h pins the offsets). */
#define SEG_MEMO_SEL_BYTES      (8 * 2)     /* guest_es_selector .. guest_tr_selector */
#define SEG_MEMO_LIMIT_BYTES    (8 * 4)     /* guest_es_limit .. guest_tr_limit */
#define SEG_MEMO_AR_BYTES       (8 * 4)     /* guest_es_ar_bytes .. guest_tr_ar_bytes */
#define SEG_MEMO_BASE_BYTES     (8 * 8)     /* guest_es_base .. guest_tr_base */
#define SEG_MEMO_WORDS          ((SEG_MEMO_SEL_BYTES + SEG_MEMO_LIMIT_BYTES + SEG_MEMO_AR_BYTES + \
                                  SEG_MEMO_BASE_BYTES) / 8)

struct seg_memo {
    u64 words[SEG_MEMO_WORDS];  /* the four blocks, one after the other */
    u32 key;                    /* the other inputs (seg_memo_key()) */
    bool valid;                 /* words and key passed the checks */
};

/* The inputs of the segment checks besides the segment fields. */
u32 seg_memo_key(const struct vmcs12 *v, bool ia32e, bool unrestricted);
/* True when m holds exactly v's segment fields and key, which passed. */
bool seg_memo_hit(const struct seg_memo *m, const struct vmcs12 *v, u32 key);
/* v's segment fields and key passed the checks: remember them. */
void seg_memo_store(struct seg_memo *m, const struct vmcs12 *v, u32 key);

#endif
