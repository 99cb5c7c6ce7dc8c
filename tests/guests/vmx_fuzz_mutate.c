/*
 * vmx_fuzz: the fields the mutations damage (every writable control and
 * guest-state field of turtle's vmcs12 but EPT_POINTER and
 * VM_EXIT_MSR_LOAD_COUNT), the values they take, and the containment
 * restored after them (vmx_fuzz.c's comment says why each).
 */
#include "vmx_fuzz.h"

/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP: the exceptions that push an error code. */
#define EXCEPTIONS_WITH_ERROR_CODE  (BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(17) | BIT(21))

/* An address bit no physical-address width reaches (MAXPHYADDR <= 52). */

enum field_kind {
    K_ANY,              /* any value */
    K_CPU_WRITES,       /* an address the CPU writes through: a scratch page (.page) */
    K_STORE_ADDR,       /* VM-exit MSR-store address: inside store_list */
    K_STORE_COUNT,      /* VM-exit MSR-store count: at most STORE_COUNT_MAX */
    K_LOAD_ADDR,        /* VM-entry MSR-load address: anything, or a valid list */
    K_TIMER,            /* VMX-preemption timer value: below TIMER_MAX */
    K_LINK,             /* VMCS link pointer: anything, ~0, or a VMCS-like page */
    K_L2_ADDR,          /* an L2 address: anything, or in or just past the sandbox */
    K_EVENT,            /* VM-entry interruption information: anything, or well formed */
};

#define ANY(f)              { f, K_ANY, 0, #f }
#define KIND(f, k)          { f, k, 0, #f }
#define WRITTEN(f, p)       { f, K_CPU_WRITES, p, #f }

const struct field fields[] = {
    /* 16-bit control */
    ANY(VIRTUAL_PROCESSOR_ID), ANY(POSTED_INTR_NV),
    /* 16-bit guest state */
    ANY(GUEST_ES_SELECTOR), ANY(GUEST_CS_SELECTOR), ANY(GUEST_SS_SELECTOR), ANY(GUEST_DS_SELECTOR),
    ANY(GUEST_FS_SELECTOR), ANY(GUEST_GS_SELECTOR), ANY(GUEST_LDTR_SELECTOR), ANY(GUEST_TR_SELECTOR),
    ANY(GUEST_INTR_STATUS), ANY(GUEST_PML_INDEX),
    /* 64-bit control. EPT_POINTER: never (the sandbox). Bitmaps: only read. */
    ANY(IO_BITMAP_A), ANY(IO_BITMAP_B), ANY(MSR_BITMAP),
    KIND(VM_EXIT_MSR_STORE_ADDR, K_STORE_ADDR),
    ANY(VM_EXIT_MSR_LOAD_ADDR),                 /* the count stays 0: never used */
    KIND(VM_ENTRY_MSR_LOAD_ADDR, K_LOAD_ADDR),
    WRITTEN(PML_ADDRESS, PAGE_PML),
    ANY(TSC_OFFSET),
    WRITTEN(VIRTUAL_APIC_PAGE_ADDR, PAGE_VIRTUAL_APIC),
    ANY(APIC_ACCESS_ADDR),                      /* accesses to it are virtualized, never made */
    WRITTEN(POSTED_INTR_DESC_ADDR, PAGE_POSTED_INTR),
    ANY(VM_FUNCTION_CONTROL),
    ANY(EOI_EXIT_BITMAP0), ANY(EOI_EXIT_BITMAP1), ANY(EOI_EXIT_BITMAP2), ANY(EOI_EXIT_BITMAP3),
    WRITTEN(EPTP_LIST_ADDRESS, PAGE_EPTP_LIST), /* read, but VMFUNC could switch to its EPTPs */
    ANY(VMREAD_BITMAP), ANY(VMWRITE_BITMAP),
    ANY(XSS_EXIT_BITMAP), ANY(ENCLS_EXITING_BITMAP), ANY(TSC_MULTIPLIER),
    /* 64-bit guest state */
    KIND(VMCS_LINK_POINTER, K_LINK),
    ANY(GUEST_IA32_DEBUGCTL), ANY(GUEST_IA32_PAT), ANY(GUEST_IA32_EFER), ANY(GUEST_IA32_PERF_GLOBAL_CTRL),
    ANY(GUEST_PDPTR0), ANY(GUEST_PDPTR1), ANY(GUEST_PDPTR2), ANY(GUEST_PDPTR3), ANY(GUEST_BNDCFGS),
    /* 32-bit control. VM_EXIT_MSR_LOAD_COUNT: never (VMX abort). */
    ANY(PIN_BASED_VM_EXEC_CONTROL), ANY(CPU_BASED_VM_EXEC_CONTROL), ANY(EXCEPTION_BITMAP),
    ANY(PAGE_FAULT_ERROR_CODE_MASK), ANY(PAGE_FAULT_ERROR_CODE_MATCH), ANY(CR3_TARGET_COUNT),
    ANY(VM_EXIT_CONTROLS), KIND(VM_EXIT_MSR_STORE_COUNT, K_STORE_COUNT),
    ANY(VM_ENTRY_CONTROLS), ANY(VM_ENTRY_MSR_LOAD_COUNT), KIND(VM_ENTRY_INTR_INFO_FIELD, K_EVENT),
    ANY(VM_ENTRY_EXCEPTION_ERROR_CODE), ANY(VM_ENTRY_INSTRUCTION_LEN), ANY(TPR_THRESHOLD),
    ANY(SECONDARY_VM_EXEC_CONTROL),
    /* natural-width control */
    ANY(CR0_GUEST_HOST_MASK), ANY(CR4_GUEST_HOST_MASK), ANY(CR0_READ_SHADOW), ANY(CR4_READ_SHADOW),
    /* 32-bit guest state */
    ANY(GUEST_ES_LIMIT), ANY(GUEST_CS_LIMIT), ANY(GUEST_SS_LIMIT), ANY(GUEST_DS_LIMIT),
    ANY(GUEST_FS_LIMIT), ANY(GUEST_GS_LIMIT), ANY(GUEST_LDTR_LIMIT), ANY(GUEST_TR_LIMIT),
    ANY(GUEST_GDTR_LIMIT), ANY(GUEST_IDTR_LIMIT),
    ANY(GUEST_ES_AR_BYTES), ANY(GUEST_CS_AR_BYTES), ANY(GUEST_SS_AR_BYTES), ANY(GUEST_DS_AR_BYTES),
    ANY(GUEST_FS_AR_BYTES), ANY(GUEST_GS_AR_BYTES), ANY(GUEST_LDTR_AR_BYTES), ANY(GUEST_TR_AR_BYTES),
    ANY(GUEST_INTERRUPTIBILITY_INFO), ANY(GUEST_ACTIVITY_STATE), ANY(GUEST_SYSENTER_CS),
    KIND(VMX_PREEMPTION_TIMER_VALUE, K_TIMER),
    /* natural-width guest state */
    ANY(GUEST_CR0), KIND(GUEST_CR3, K_L2_ADDR), ANY(GUEST_CR4),
    ANY(GUEST_ES_BASE), ANY(GUEST_CS_BASE), ANY(GUEST_SS_BASE), ANY(GUEST_DS_BASE),
    ANY(GUEST_FS_BASE), ANY(GUEST_GS_BASE), ANY(GUEST_LDTR_BASE), KIND(GUEST_TR_BASE, K_L2_ADDR),
    KIND(GUEST_GDTR_BASE, K_L2_ADDR), KIND(GUEST_IDTR_BASE, K_L2_ADDR),
    ANY(GUEST_DR7), KIND(GUEST_RSP, K_L2_ADDR), KIND(GUEST_RIP, K_L2_ADDR), ANY(GUEST_RFLAGS),
    ANY(GUEST_PENDING_DBG_EXCEPTIONS), ANY(GUEST_SYSENTER_ESP), ANY(GUEST_SYSENTER_EIP),
    ANY(GUEST_S_CET), ANY(GUEST_SSP), ANY(GUEST_INTR_SSP_TABLE),
};
const size_t n_fields = ARRAY_SIZE(fields);

static unsigned width_bits(u32 enc)
{
    static const u8 bits[4] = { 16, 64, 32, 64 };   /* 16-bit, 64-bit, 32-bit, natural */
    return bits[VMCS_FIELD_WIDTH(enc)];
}

static u64 any_value(u64 *s, u64 valid, unsigned bits)
{
    u64 mask = bits == 64 ? ~0ull : BIT(bits) - 1;

    switch (rnd_below(s, 10)) {
    case 0:  return rnd_next(s);                                   /* bits above the width too */
    case 1:  return rnd_next(s) & mask;
    case 2:  return rnd_below(s, 16);
    case 3:
    case 4:
    case 5:  return valid ^ BIT(rnd_below(s, bits));
    case 6:  return valid ^ BIT(rnd_below(s, bits)) ^ BIT(rnd_below(s, bits));
    case 7:  return 0;
    case 8:  return ~0ull;
    default: return valid + rnd_below(s, 16) - 8;
    }
}

/* An address in [base, base + room) or one no CPU accepts when it matters. */
static u64 contained_address(u64 *s, u64 base, u64 room, u64 align)
{
    switch (rnd_below(s, 6)) {
    case 0:  return base;
    case 1:
    case 2:  return base + rnd_below(s, room / align) * align;
    case 3:  return base + rnd_below(s, room);                     /* often misaligned */
    case 4:  return base | BEYOND_ANY_WIDTH(rnd_next(s));
    default: return ~0ull;
    }
}

static u64 field_value(u64 *s, const struct field *f, u64 valid)
{
    switch (f->kind) {
    case K_CPU_WRITES:
        return contained_address(s, vmx_pa(scratch[f->page]), PAGE_4K, 64);
    case K_STORE_ADDR:
        return contained_address(s, vmx_pa(store_list), PAGE_4K, sizeof(struct msr_entry));
    case K_STORE_COUNT:
        return rnd_below(s, 2) ? rnd_below(s, 4) : rnd_below(s, STORE_COUNT_MAX + 1);
    case K_LOAD_ADDR:
        switch (rnd_below(s, 4)) {
        case 0:  return vmx_pa(load_list) + rnd_below(s, LOAD_LIST_VALID) * sizeof(struct msr_entry);
        case 1:  return vmx_pa(store_list);
        default: return any_value(s, valid, 64);
        }
    case K_TIMER:
        return rnd_below(s, 4) ? rnd_below(s, TIMER_MAX) : 0;
    case K_EVENT:
        switch (rnd_below(s, 4)) {
        case 0:
        case 1:
            return any_value(s, valid, 32);
        case 2: {   /* valid, any type (0-7), a vector, maybe "deliver error code" */
            u64 vector = rnd_below(s, 2) ? rnd_below(s, 256) : rnd_below(s, 32);
            return BIT(31) | rnd_below(s, 8) << 8 | vector | rnd_below(s, 2) << 11;
        }
        default: {  /* a well-formed hardware exception or NMI (SDM 27.2.1.3) */
            u64 vector = rnd_below(s, 32);
            if (vector == X86_NMI)
                return BIT(31) | 2 << 8 | vector;
            return BIT(31) | 3 << 8 | vector | (u64)(BIT(vector) & EXCEPTIONS_WITH_ERROR_CODE ? 1 : 0) << 11;
        }
        }
    case K_L2_ADDR:
        return rnd_below(s, 2) ? rnd_below(s, 2 * PAGE_2M) : any_value(s, valid, 64);
    case K_LINK:
        switch (rnd_below(s, 4)) {
        case 0:  return ~0ull;
        case 1:  /* a region with the revision identifier, shadow-VMCS indicator random */
            *(u32 *)shadow_vmcs = vmx_caps.revision | (u32)(rnd_below(s, 2) << 31);
            return vmx_pa(shadow_vmcs);
        default: return any_value(s, valid, 64);
        }
    default:
        return any_value(s, valid, width_bits(f->enc));
    }
}

void mutate(u64 *s, struct mutation *m)
{
    const struct field *f = &fields[rnd_below(s, ARRAY_SIZE(fields))];
    u64 valid = 0;

    vmread(f->enc, &valid);
    m->f = f;
    m->enc = f->enc;
    /* Sometimes bits 63:32 of an unrestricted 64-bit field on their own. */
    if (f->kind == K_ANY && VMCS_FIELD_WIDTH(f->enc) == VMCS_FIELD_WIDTH_64 && rnd_below(s, 8) == 0) {
        m->enc = f->enc | 1;
        m->val = any_value(s, valid >> 32, 32);
    } else {
        m->val = field_value(s, f, valid);
    }
    m->status = vmwrite(m->enc, m->val);
}

static void force_bits(u32 field, u64 bits)
{
    u64 v = 0;
    vmread(field, &v);
    if ((v & bits) != bits)
        vmcs_write(field, v | bits);
}

/* After the mutations: what keeps L2 in the sandbox and bounded in time. */
void contain(void)
{
    u64 activity = 0;

    force_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_VMX_PREEMPTION_TIMER);
    force_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    force_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT);
    vmread(GUEST_ACTIVITY_STATE, &activity);
    if (activity == GUEST_ACTIVITY_WAIT_SIPI && (vmx_caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
        vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
}

/*
 * A vmcs12 the SDM accepts but a CPU that checks CS's DPL against CS's RPL
 * refuses: with unrestricted guest, the SDM (27.3.1.2) compares a code CS's
 * DPL with SS's DPL only, while SDM editions before unrestricted guest, and
 * Bochs 2.7 still, want a non-conforming CS's DPL equal to its RPL and a
 * conforming CS's DPL not above it (docs/nested.md, rules 43, 44). turtle
 * follows the SDM, so such a vmcs12 can pass its checks and the CPU then
 * refuses vmcs02 ("hardware refused vmcs02", rule 80). The iteration is
 * announced before its VMLAUNCH, and its outcome printed after it, so that
 * a refusal right after the announcement is known for what it is
 * (tests/refusals.py). Returns whether this iteration is one.
 */
bool cs_dpl_rpl_departure(void)
{
    u64 proc2 = 0, sel = 0, ar = 0;

    vmread(SECONDARY_VM_EXEC_CONTROL, &proc2);     /* "activate secondary controls" is forced on */
    vmread(GUEST_CS_SELECTOR, &sel);
    vmread(GUEST_CS_AR_BYTES, &ar);
    if (!(proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) || !(ar & AR_TYPE_CODE))
        return false;
    u32 rpl = sel & 3, dpl = AR_DPL(ar);
    bool conforming = AR_TYPE(ar) & AR_TYPE_EXPAND_DOWN;   /* bit 2 of a code type: conforming */
    return conforming ? rpl < dpl : rpl != dpl;
}
