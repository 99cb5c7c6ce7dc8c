/*
 * VM-entry checks on vmcs12's guest segment registers (SDM Vol. 3
 * 27.3.1.2), in the SDM's order: selectors, bases, then the access rights
 * of CS, SS, DS, ES, FS, GS (type, S, DPL, P, reserved bits, D/B, G),
 * then TR and LDTR. Every failure here is a VM-entry failure with
 * qualification 0, so the order only decides which CC() line is printed.
 *
 * The DPL rules are those of SDM editions with "unrestricted guest": CS's
 * DPL is compared with SS's DPL. Bochs 2.7 applies the older rule (CS DPL
 * against CS RPL) even with unrestricted guest, and checks the DS/ES/FS/GS
 * DPL rule for types 0-10 only; docs/nested.md ("rule by rule") lists both.
 */
#include "nested/checks.h"

struct seg12 {
    u16 sel;
    u64 base;
    u32 limit, ar;
};

#define SEL_RPL(sel)        ((sel) & 3)
#define SEL_TI              BIT(2)
#define CS_TYPE_DATA_RW_A   3           /* only with unrestricted guest */
#define SS_TYPE_RW_A        3
#define SS_TYPE_RW_DOWN_A   7
#define TSS_TYPE_BUSY16     3
#define TSS_TYPE_BUSY32_64  11
#define LDT_TYPE            2
#define TYPE_NONCONFORMING_MAX 11       /* types 0-11: data or non-conforming code */

static bool usable(const struct seg12 *s)
{
    return !(s->ar & AR_UNUSABLE);
}

/* G must be 0 if any of limit[11:0] is 0, and 1 if any of limit[31:20] is 1. */
static bool limit_g_ok(const struct seg12 *s)
{
    if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
        return false;
    if ((s->limit >> 20) && !(s->ar & AR_G))
        return false;
    return true;
}

static bool cs_type_ok(u32 type, bool unrestricted)
{
    return type == 9 || type == 11 || type == 13 || type == 15 ||
           (unrestricted && type == CS_TYPE_DATA_RW_A);
}

/* CS and SS DPL (rules 43-48 of docs/nested.md). */
static bool check_dpl_cs_ss(const struct seg12 *cs, const struct seg12 *ss, bool unrestricted, u64 cr0)
{
    u32 cs_type = AR_TYPE(cs->ar), cs_dpl = AR_DPL(cs->ar), ss_dpl = AR_DPL(ss->ar);

    if (CC(cs_type == CS_TYPE_DATA_RW_A && cs_dpl != 0) ||
        CC((cs_type == 9 || cs_type == 11) && cs_dpl != ss_dpl) ||
        CC((cs_type == 13 || cs_type == 15) && cs_dpl > ss_dpl))
        return false;
    if (CC(!unrestricted && ss_dpl != SEL_RPL(ss->sel)) ||
        CC((cs_type == CS_TYPE_DATA_RW_A || !(cr0 & X86_CR0_PE)) && ss_dpl != 0))
        return false;
    return true;
}

/* DS, ES, FS, GS when usable (rules 50, 51). */
static bool check_data_seg(const struct seg12 *s, bool unrestricted)
{
    u32 type = AR_TYPE(s->ar);

    if (CC(!(type & AR_TYPE_ACCESSED)) || CC((type & AR_TYPE_CODE) && !(type & AR_TYPE_WRITABLE)) ||
        CC(!(s->ar & AR_S)))
        return false;
    if (CC(!unrestricted && type <= TYPE_NONCONFORMING_MAX && AR_DPL(s->ar) < SEL_RPL(s->sel)))
        return false;
    if (CC(!(s->ar & AR_P)) || CC(s->ar & AR_RESERVED) || CC(!limit_g_ok(s)))
        return false;
    return true;
}

bool nested_check_guest_segments(const struct vmcs12 *v, bool ia32e, bool unrestricted)
{
    struct seg12 cs = { v->guest_cs_selector, v->guest_cs_base, v->guest_cs_limit, v->guest_cs_ar_bytes };
    struct seg12 ss = { v->guest_ss_selector, v->guest_ss_base, v->guest_ss_limit, v->guest_ss_ar_bytes };
    struct seg12 tr = { v->guest_tr_selector, v->guest_tr_base, v->guest_tr_limit, v->guest_tr_ar_bytes };
    struct seg12 ldtr = { v->guest_ldtr_selector, v->guest_ldtr_base, v->guest_ldtr_limit, v->guest_ldtr_ar_bytes };
    struct seg12 data[] = {
        { v->guest_ds_selector, v->guest_ds_base, v->guest_ds_limit, v->guest_ds_ar_bytes },
        { v->guest_es_selector, v->guest_es_base, v->guest_es_limit, v->guest_es_ar_bytes },
        { v->guest_fs_selector, v->guest_fs_base, v->guest_fs_limit, v->guest_fs_ar_bytes },
        { v->guest_gs_selector, v->guest_gs_base, v->guest_gs_limit, v->guest_gs_ar_bytes },
    };

    if (CC(v->guest_rflags & X86_RFLAGS_VM))
        return false;                   /* virtual-8086 L2s are not supported (rule 39) */
    /* Selectors. */
    if (CC(tr.sel & SEL_TI) || CC(usable(&ldtr) && (ldtr.sel & SEL_TI)) ||
        CC(!unrestricted && SEL_RPL(ss.sel) != SEL_RPL(cs.sel)))
        return false;
    /* Bases: TR, FS, GS canonical; LDTR canonical when usable; CS bits
     * 63:32 clear; SS, DS, ES bits 63:32 clear only when usable. */
    if (CC(!is_canonical(tr.base)) || CC(!is_canonical(data[2].base)) || CC(!is_canonical(data[3].base)) ||
        CC(usable(&ldtr) && !is_canonical(ldtr.base)) || CC(cs.base >> 32) ||
        CC(usable(&ss) && (ss.base >> 32)) || CC(usable(&data[0]) && (data[0].base >> 32)) ||
        CC(usable(&data[1]) && (data[1].base >> 32)))
        return false;
    /* CS: always usable. */
    if (CC(cs.ar & AR_UNUSABLE) || CC(!cs_type_ok(AR_TYPE(cs.ar), unrestricted)) || CC(!(cs.ar & AR_S)) ||
        CC(!(cs.ar & AR_P)) || CC(cs.ar & AR_RESERVED) || CC(ia32e && (cs.ar & AR_L) && (cs.ar & AR_DB)) ||
        CC(!limit_g_ok(&cs)))
        return false;
    /* SS: type, S, P, reserved bits and G when usable; its DPL always. */
    if (usable(&ss) &&
        (CC(AR_TYPE(ss.ar) != SS_TYPE_RW_A && AR_TYPE(ss.ar) != SS_TYPE_RW_DOWN_A) || CC(!(ss.ar & AR_S)) ||
         CC(!(ss.ar & AR_P)) || CC(ss.ar & AR_RESERVED) || CC(!limit_g_ok(&ss))))
        return false;
    if (!check_dpl_cs_ss(&cs, &ss, unrestricted, v->guest_cr0))
        return false;
    for (u32 i = 0; i < ARRAY_SIZE(data); i++)
        if (usable(&data[i]) && !check_data_seg(&data[i], unrestricted))
            return false;
    /* TR */
    if (CC(ia32e ? AR_TYPE(tr.ar) != TSS_TYPE_BUSY32_64
                 : (AR_TYPE(tr.ar) != TSS_TYPE_BUSY32_64 && AR_TYPE(tr.ar) != TSS_TYPE_BUSY16)) ||
        CC(tr.ar & AR_S) || CC(!(tr.ar & AR_P)) || CC(tr.ar & AR_RESERVED) || CC(!limit_g_ok(&tr)) ||
        CC(tr.ar & AR_UNUSABLE))
        return false;
    /* LDTR, when usable */
    if (usable(&ldtr) &&
        (CC(AR_TYPE(ldtr.ar) != LDT_TYPE) || CC(ldtr.ar & AR_S) || CC(!(ldtr.ar & AR_P)) ||
         CC(ldtr.ar & AR_RESERVED) || CC(!limit_g_ok(&ldtr))))
        return false;
    return true;
}
