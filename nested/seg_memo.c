/* The memo of the guest segment checks' inputs (nested/seg_memo.h). */
#include "kernel/x86.h"
#include "nested/seg_memo.h"

#define OFF(member)     ((u16)__builtin_offsetof(struct vmcs12, member))

/* Each block is contiguous in vmcs12, ES first and TR last (SDM order of
 * the KVM layout): one compare of 8-byte words covers them all. */
_Static_assert(OFF(guest_tr_selector) - OFF(guest_es_selector) == 7 * 2,
               "guest selectors ES..TR contiguous");
_Static_assert(OFF(guest_tr_limit) - OFF(guest_es_limit) == 7 * 4,
               "guest limits ES..TR contiguous");
_Static_assert(OFF(guest_tr_ar_bytes) - OFF(guest_es_ar_bytes) == 7 * 4,
               "guest access rights ES..TR contiguous");
_Static_assert(OFF(guest_tr_base) - OFF(guest_es_base) == 7 * 8,
               "guest bases ES..TR contiguous");

/* The 8-byte words of the four blocks, in memo order: constant offsets,
 * so that the compare and the copy are straight lines of loads. */
#define SEL_W       (SEG_MEMO_SEL_BYTES / 8)
#define LIMIT_W     (SEG_MEMO_LIMIT_BYTES / 8)
#define AR_W        (SEG_MEMO_AR_BYTES / 8)
static inline u32 word_offset(u32 i)
{
    return i < SEL_W ? OFF(guest_es_selector) + 8 * i
         : i < SEL_W + LIMIT_W ? OFF(guest_es_limit) + 8 * (i - SEL_W)
         : i < SEL_W + LIMIT_W + AR_W ? OFF(guest_es_ar_bytes) + 8 * (i - SEL_W - LIMIT_W)
         : OFF(guest_es_base) + 8 * (i - SEL_W - LIMIT_W - AR_W);
}

static inline u64 word(const struct vmcs12 *v, u32 i)
{
    u64 x;
    __builtin_memcpy(&x, (const u8 *)v + word_offset(i), 8);
    return x;
}

/* Besides the segment fields, nested_check_guest_segments() reads
 * RFLAGS.VM, CR0.PE, "IA-32e mode guest" and "unrestricted guest". */
u32 seg_memo_key(const struct vmcs12 *v, bool ia32e, bool unrestricted)
{
    return (v->guest_rflags & X86_RFLAGS_VM ? BIT(0) : 0) | (v->guest_cr0 & X86_CR0_PE ? BIT(1) : 0) |
           (ia32e ? BIT(2) : 0) | (unrestricted ? BIT(3) : 0);
}

bool seg_memo_hit(const struct seg_memo *m, const struct vmcs12 *v, u32 key)
{
    u64 diff = 0;

    if (!m->valid || m->key != key)
        return false;
#pragma GCC unroll 32
    for (u32 i = 0; i < SEG_MEMO_WORDS; i++)
        diff |= word(v, i) ^ m->words[i];
    return diff == 0;
}

void seg_memo_store(struct seg_memo *m, const struct vmcs12 *v, u32 key)
{
#pragma GCC unroll 32
    for (u32 i = 0; i < SEG_MEMO_WORDS; i++)
        m->words[i] = word(v, i);
    m->key = key;
    m->valid = true;
}
