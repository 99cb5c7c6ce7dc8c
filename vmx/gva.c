/*
 * Linear-to-physical translation through the guest's own page tables,
 * for the memory operands of instructions turtle emulates. Supports the
 * four paging modes (none, 32-bit, PAE, 4-level), 4 KiB/2 MiB/4 MiB/1 GiB
 * pages, and the permission checks a supervisor access gets (write needs
 * R/W at every level when CR0.WP or CPL 3; user accesses need U/S).
 * Accessed/dirty bits are set as the CPU would.
 */
#include "kernel/mm.h"
#include "kernel/paging.h"
#include "vmx/gva.h"
#include "vmx/vmx.h"

#define PF_PRESENT          BIT(0)
#define PF_WRITE            BIT(1)
#define PF_USER             BIT(2)
#define X86_CR4_PSE         BIT(4)
#define SEG_SS              2


/* The segment checks of a protected-mode memory access (SDM Vol. 3 5.3,
 * 5.4): usable, a type that allows the access, and the offsets
 * [ea, ea + len) inside the limit, expand-down segments included. */
static bool segment_allows(u32 seg, u64 ea, u32 len, bool write)
{
    u32 ar = (u32)__vmcs_read(GUEST_ES_AR_BYTES + 2 * seg);
    u64 limit = (u32)__vmcs_read(GUEST_ES_LIMIT + 2 * seg), last = ea + len - 1;
    u32 type = ar & 0xf;

    if (ar & AR_UNUSABLE)
        return false;
    if (type & AR_TYPE_CODE) {
        if (write || !(type & AR_TYPE_WRITABLE))
            return false;               /* code is never writable; execute-only is not readable */
    } else if (write && !(type & AR_TYPE_WRITABLE)) {
        return false;
    }
    if (!(type & AR_TYPE_CODE) && (type & AR_TYPE_EXPAND_DOWN)) {
        u64 upper = (ar & AR_DB) ? 0xffffffffULL : 0xffffULL;
        return ea > limit && last <= upper;
    }
    return last <= limit;
}

bool insn_operand_address(struct vcpu *vcpu, u32 info, u64 disp, u32 len, bool write, u64 *gla)
{
    u32 asize = INSN_INFO_ADDR_SIZE(info), seg = INSN_INFO_SEG(info);
    u64 ea = disp, mask = asize == 0 ? 0xffff : asize == 1 ? 0xffffffffULL : ~0ULL;

    if (!INSN_INFO_BASE_INVALID(info))
        ea += guest_reg_read(vcpu, INSN_INFO_BASE(info));
    if (!INSN_INFO_INDEX_INVALID(info))
        ea += guest_reg_read(vcpu, INSN_INFO_INDEX(info)) << INSN_INFO_SCALE(info);
    ea &= mask;

    /* Segment bases: ES CS SS DS FS GS in encoding order (SDM Table 28-9). */
    u64 base = __vmcs_read(GUEST_ES_BASE + 2 * seg);
    if (guest_in_long_mode()) {
        *gla = (seg >= 4) ? base + ea : ea;     /* only FS/GS bases apply */
        if (!is_canonical(*gla) || !is_canonical(*gla + len - 1)) {
            inject_exception(vcpu, seg == SEG_SS ? VECTOR_SS : 13, true, 0);
            return false;
        }
        return true;
    }
    if (!segment_allows(seg, ea, len, write)) {
        inject_exception(vcpu, seg == SEG_SS ? VECTOR_SS : 13, true, 0);
        return false;
    }
    *gla = (base + ea) & 0xffffffffULL;
    return true;
}

/* Reads or updates one paging-structure entry of width 4 or 8 in guest RAM. */
static bool pte_read(struct vcpu *vcpu, u64 gpa, u32 width, u64 *e)
{
    *e = 0;
    return guest_copy_from(vcpu->vm, e, gpa, width);
}

static void pte_set_bits(struct vcpu *vcpu, u64 gpa, u32 width, u64 e, u64 bits)
{
    if ((e & bits) != bits) {
        e |= bits;
        guest_copy_to(vcpu->vm, gpa, &e, width);
    }
}

/* Translates gla; on a fault returns false with the #PF error code. An
 * entry outside guest RAM is treated as not present. */
static bool translate(struct vcpu *vcpu, u64 gla, bool write, u64 *gpa, u32 *pfec)
{
    u64 cr0 = guest_read_cr0(), cr4 = guest_read_cr4(), cr3 = vmcs_readl(GUEST_CR3);
    bool user = guest_cpl() == 3, wp = (cr0 & X86_CR0_WP) || user;
    int levels, width;
    u64 table, e = 0, gpa_e[4];
    int depth = 0;

    *pfec = (write ? PF_WRITE : 0) | (user ? PF_USER : 0);
    if (!(cr0 & X86_CR0_PG)) {
        *gpa = gla & 0xffffffffULL;
        return true;
    }
    if (guest_in_long_mode() || (vmcs_read64(GUEST_IA32_EFER) & EFER_LMA)) {
        levels = 4, width = 8, table = cr3 & PTE_ADDR_MASK;
    } else if (cr4 & X86_CR4_PAE) {
        u64 pdpte = __vmcs_read(GUEST_PDPTR0 + 2 * ((gla >> 30) & 3));
        if (!(pdpte & PTE_P))
            return false;
        levels = 2, width = 8, table = pdpte & PTE_ADDR_MASK;
    } else {
        levels = 2, width = 4, table = cr3 & 0xfffff000ULL;
    }

    u64 allow_w = PTE_W, allow_u = PTE_U;
    for (int level = levels; level >= 1; level--) {
        u32 shift = width == 8 ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
        u64 idx = (gla >> shift) & (width == 8 ? 0x1ff : 0x3ff);
        u64 at = table + idx * width;
        if (!pte_read(vcpu, at, width, &e) || !(e & PTE_P))
            return false;
        allow_w &= e;
        allow_u &= e;
        gpa_e[depth++] = at;
        bool large = (e & PTE_PS) && (level == 2 || (level == 3 && width == 8)) &&
                     (width == 8 || (cr4 & X86_CR4_PSE));
        if (level == 1 || large) {
            u64 page_mask = (1ULL << shift) - 1;
            u64 frame = width == 8 ? (e & PTE_ADDR_MASK & ~page_mask)
                                   : (large ? ((e & 0xffc00000ULL) | ((e & 0x1fe000ULL) << 19)) : (e & 0xfffff000ULL));
            *pfec |= PF_PRESENT;
            if ((write && wp && !allow_w) || (user && !allow_u))
                return false;
            for (int i = 0; i < depth - 1; i++) {
                u64 pe;
                pte_read(vcpu, gpa_e[i], width, &pe);
                pte_set_bits(vcpu, gpa_e[i], width, pe, PTE_A);
            }
            pte_set_bits(vcpu, at, width, e, PTE_A | (write ? PTE_D : 0));
            *gpa = frame | (gla & page_mask);
            return true;
        }
        table = e & (width == 8 ? PTE_ADDR_MASK : 0xfffff000ULL);
    }
    return false;
}

static bool access(struct vcpu *vcpu, u64 gla, void *buf, u32 len, bool write)
{
    u8 *p = buf;

    while (len) {
        u32 n = (u32)MIN((u64)len, PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        u64 gpa;
        u32 pfec;
        if (!translate(vcpu, gla, write, &gpa, &pfec)) {
            inject_page_fault(vcpu, gla, pfec);
            return false;
        }
        /* Physical memory outside RAM reads as all ones and ignores writes. */
        if (write) {
            guest_copy_to(vcpu->vm, gpa, p, n);
        } else if (!guest_copy_from(vcpu->vm, p, gpa, n)) {
            memset(p, 0xff, n);
        }
        gla += n;
        p += n;
        len -= n;
    }
    return true;
}

bool guest_read_linear(struct vcpu *vcpu, u64 gla, void *buf, u32 len)
{
    return access(vcpu, gla, buf, len, false);
}

bool guest_write_linear(struct vcpu *vcpu, u64 gla, const void *buf, u32 len)
{
    return access(vcpu, gla, (void *)buf, len, true);
}

u32 guest_fetch_insn(struct vcpu *vcpu, u8 *buf, u32 max)
{
    u64 gla = vmcs_readl(GUEST_RIP);
    u32 got = 0;

    if (!guest_in_long_mode())
        gla = (vmcs_readl(GUEST_CS_BASE) + gla) & 0xffffffffULL;
    while (got < max) {
        u32 n = (u32)MIN((u64)(max - got), PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        u64 gpa, l1;
        u32 pfec;
        if (!translate(vcpu, gla, false, &gpa, &pfec))
            break;
        l1 = gpa;
        if (vcpu->guest_mode && !nested_ops->gpa_to_l1(vcpu, gpa, &l1))
            break;
        if (!guest_copy_from(vcpu->vm, buf + got, l1, n))
            break;
        got += n;
        gla += n;
    }
    return got;
}
