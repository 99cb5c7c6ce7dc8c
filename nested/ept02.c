/*
 * EPT02: the shadow of L1's EPT12, composed with EPT01. Built lazily: it
 * starts empty; each EPT violation in L2 walks EPT12 (in L1 memory, every
 * entry checked as the CPU checks it, SDM 29.3.3) and either installs an
 * EPT02 leaf (L2-physical → L1-physical → host-physical, with EPT12's
 * permissions) or reports the violation or misconfiguration L1 must see.
 * The leaf is 2 MiB where EPT12 maps the 2 MiB around the address with one
 * large page (2 MiB or 1 GiB) and EPT01 maps their L1-physical 2 MiB with
 * one 2 MiB page; 4 KiB otherwise. An EPT12 mapping to L1-physical memory L1 does not have is
 * never installed: L1 gets an EPT violation instead.
 *
 * EPT02s are kept per EPTP12: an L1 that switches between L2s (a new
 * EPTP12 at VMRESUME) parks the current one and finds the other's again,
 * up to EPT02_PARKED besides the current (the least recently used goes).
 * INVEPT drops what it names (all-context: all of them; single-context:
 * those of that EPT12 root), VMXOFF drops all; their hardware translations
 * go with them.
 */
#include "kernel/mm.h"
#include "nested/apicv12.h"
#include "nested/nested.h"
#include "vmx/ept.h"
#include "vmx/exit.h"
#include "vmx/vmx.h"

#define EPT12_ADDR              0x000ffffffffff000ULL

/* EPT02 may hold at most this many paging-structure pages: an L1 whose
 * EPT12 aliases a small region over a huge L2 space would otherwise make
 * turtle allocate without end. Past it, EPT02 starts again empty. */
static u64 ept02_budget(u64 mem_size)
{
    return 64 + 2 * (mem_size / LARGE_PAGE_SIZE);
}

/* The budget is checked before each fill and each new root (over it, the
 * parked EPT02s go, then the current one starts again), and one fill adds
 * at most the three tables below the root (PDPT, PD, PT): the EPT02s of a
 * vCPU never hold more together. Their pages come from the VM's pool
 * (vm->pages), reserved for this many. */
u64 ept02_max_pages(u64 mem_size)
{
    return ept02_budget(mem_size) + EPT_LEVELS - 2;
}

static void free_ctx(struct vcpu *vcpu, u64 root)
{
    ept_flush(ept_make_eptp(root));     /* before any page of it is reused */
    ept_free(&vcpu->vm->pages, root);
}

void ept02_drop(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->ept02_root)
        return;
    free_ctx(vcpu, n->ept02_root);
    n->ept02_root = 0;
    n->ept02_eptp12 = 0;
    n->ept02_pages = 0;
}

static void drop_parked(struct vcpu *vcpu, u32 i)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->ept02_parked[i].root)
        return;
    free_ctx(vcpu, n->ept02_parked[i].root);
    n->ept02_parked[i] = (struct ept02_ctx){ 0 };
}

void ept02_drop_all(struct vcpu *vcpu)
{
    ept02_drop(vcpu);
    for (u32 i = 0; i < EPT02_PARKED; i++)
        drop_parked(vcpu, i);
}

void ept02_invept(struct vcpu *vcpu, bool all_context, u64 eptp)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (all_context) {
        ept02_drop_all(vcpu);
        return;
    }
    if (n->ept02_root && (n->ept02_eptp12 & EPT12_ADDR) == (eptp & EPT12_ADDR))
        ept02_drop(vcpu);
    for (u32 i = 0; i < EPT02_PARKED; i++)
        if ((n->ept02_parked[i].eptp12 & EPT12_ADDR) == (eptp & EPT12_ADDR))
            drop_parked(vcpu, i);
}

/* Paging-structure pages of every EPT02 of this vCPU. */
static u64 total_pages(const struct nested_vmx *n)
{
    u64 t = n->ept02_pages;
    for (u32 i = 0; i < EPT02_PARKED; i++)
        t += n->ept02_parked[i].pages;
    return t;
}

/* The current EPT02 to the front of the parked ones (the last one goes). */
static void park_current(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    drop_parked(vcpu, EPT02_PARKED - 1);
    for (u32 i = EPT02_PARKED - 1; i > 0; i--)
        n->ept02_parked[i] = n->ept02_parked[i - 1];
    n->ept02_parked[0] = (struct ept02_ctx){ n->ept02_eptp12, n->ept02_root, n->ept02_pages };
    n->ept02_root = 0;
    n->ept02_eptp12 = 0;
    n->ept02_pages = 0;
}

bool ept02_prepare(struct vcpu *vcpu, u64 eptp12)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (n->ept02_root && n->ept02_eptp12 == eptp12)
        return true;
    if (n->ept02_root)
        park_current(vcpu);
    for (u32 i = 0; i < EPT02_PARKED; i++) {
        struct ept02_ctx c = n->ept02_parked[i];
        if (!c.root || c.eptp12 != eptp12)
            continue;
        for (u32 j = i; j + 1 < EPT02_PARKED; j++)
            n->ept02_parked[j] = n->ept02_parked[j + 1];
        n->ept02_parked[EPT02_PARKED - 1] = (struct ept02_ctx){ 0 };
        n->ept02_root = c.root;
        n->ept02_eptp12 = c.eptp12;
        n->ept02_pages = c.pages;
        return true;
    }
    /* A new root must fit the budget with the parked ones. */
    if (total_pages(n) + 1 > ept02_budget(vcpu->vm->mem_size))
        for (u32 i = 0; i < EPT02_PARKED; i++)
            drop_parked(vcpu, i);
    n->ept02_root = ept_alloc_root(&vcpu->vm->pages);
    if (!n->ept02_root)
        return false;
    n->ept02_eptp12 = eptp12;
    n->ept02_pages = 1;
    n->ept02_built++;
    return true;
}

/* The bytes one entry at this level maps (level 1: 4 KiB ... level 4: 512 GiB). */
static u64 level_size(int level)
{
    return 1ULL << (12 + 9 * (level - 1));
}

/* EPT misconfiguration conditions of one entry (SDM 29.3.3.1). */
static bool misconfigured(const struct nested_caps *c, u64 e, int level, bool leaf)
{
    u64 cap = nested_caps_ept_vpid(c);
    u64 rwx = e & VMX_EPT_RWX_MASK;
    u32 width = nested_phys_addr_width();

    if ((rwx & VMX_EPT_WRITABLE_MASK) && !(rwx & VMX_EPT_READABLE_MASK))
        return true;
    if (rwx == VMX_EPT_EXECUTABLE_MASK && !(cap & VMX_EPT_EXECUTE_ONLY_BIT))
        return true;
    if ((e & EPT12_ADDR) >> width)
        return true;
    if (!leaf && (e & 0xf8))                    /* bits 7:3 reserved in non-leaf entries */
        return true;
    if (leaf) {
        u64 mt = (e >> 3) & 7;
        if (mt == 2 || mt == 3 || mt == 7)
            return true;
        if (level == 3 && !(cap & VMX_EPT_1GB_PAGE_BIT))
            return true;
        u64 size = level_size(level);
        if (level > 1 && (e & EPT12_ADDR & (size - 1)))
            return true;                        /* large-page frame bits must be zero */
    }
    return false;
}

/* The outcome of one walk of EPT12 for an L2-physical address. */
enum ept12_walk_result {
    EPT12_LEAF,             /* a leaf maps it: *leaf is filled in */
    EPT12_NOT_PRESENT,      /* an entry with bits 2:0 clear: an EPT violation */
    EPT12_MISCONFIG,        /* a misconfigured entry, or a paging structure outside L1 RAM */
};

struct ept12_leaf {
    u64 l1_gpa;             /* the L1-physical address l2_gpa translates to */
    u64 size;               /* the leaf's page size: 4 KiB, 2 MiB or 1 GiB */
    u64 perms;              /* R/W/X (bits 2:0) granted by every level of the walk */
    u64 entry;              /* the leaf entry itself */
    u64 entry_at[EPT_LEVELS];   /* L1-physical address of each entry walked, root first */
    u32 n_entries;
};

/* Walk L1's 4-level EPT12 (at cached12's EPT pointer) for l2_gpa, checking
 * every entry as the CPU does (SDM 29.3.2, 29.3.3). Reads L1 memory only;
 * installs nothing. *leaf is complete only on EPT12_LEAF; the permissions
 * are not checked against any access here. */
static enum ept12_walk_result ept12_walk(struct vcpu *vcpu, u64 l2_gpa, struct ept12_leaf *leaf)
{
    u64 table = vcpu->nvmx->cached12.ept_pointer & EPT12_ADDR, perms = VMX_EPT_RWX_MASK, e = 0;

    for (int level = 4; level >= 1; level--) {
        u64 size = level_size(level);
        u64 at = table + ((l2_gpa / size) & 0x1ff) * 8;
        if (!guest_copy_from(vcpu->vm, &e, at, 8))
            return EPT12_MISCONFIG;             /* paging structure outside L1 RAM */
        leaf->entry_at[4 - level] = at;
        if (!(e & VMX_EPT_RWX_MASK))
            return EPT12_NOT_PRESENT;
        bool is_leaf = level == 1 || ((level == 2 || level == 3) && (e & VMX_EPT_LARGE_PAGE_BIT));
        if (misconfigured(&vcpu->nvmx->caps, e, level, is_leaf))
            return EPT12_MISCONFIG;
        perms &= e & VMX_EPT_RWX_MASK;
        if (!is_leaf) {
            table = e & EPT12_ADDR;
            continue;
        }
        leaf->l1_gpa = (e & EPT12_ADDR & ~(size - 1)) | (l2_gpa & (size - 1));
        leaf->size = size;
        leaf->perms = perms;
        leaf->entry = e;
        leaf->n_entries = (u32)(5 - level);
        return EPT12_LEAF;
    }
    return EPT12_MISCONFIG;                     /* not reached: level 1 is always a leaf */
}

/* vmcs02's EPT pointer for the current EPT02: A/D flags enabled when
 * EPTP12 enables them (see ept12_update_ad()). */
u64 ept02_eptp(const struct nested_vmx *n)
{
    return ept_make_eptp(n->ept02_root) | (n->ept02_eptp12 & VMX_EPTP_AD_ENABLE_BIT);
}

/* EPT02 starts over, empty (vmcs02 is current: point it at the new root). */
static bool restart(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 eptp12 = n->ept02_eptp12;

    ept02_drop(vcpu);
    if (!ept02_prepare(vcpu, eptp12))
        return false;
    vmcs_write64(EPT_POINTER, ept02_eptp(n));
    n->vmcs02_eptp = ept02_eptp(n);
    return true;
}

/* Sets bits in an entry of EPT12 (in L1 RAM: the walk read it) with a
 * locked OR, as the CPU updates paging structures (SDM 29.3.5). */
static void ept12_set_bits(struct vcpu *vcpu, u64 at, u64 bits)
{
    u64 hpa = guest_gpa_to_hpa(vcpu->vm, at & ~(PAGE_SIZE - 1));

    if (hpa)
        __atomic_fetch_or((u64 *)phys_to_virt(hpa + (at & (PAGE_SIZE - 1))), bits, __ATOMIC_SEQ_CST);
}

/*
 * EPT accessed and dirty flags (EPTP12 bit 6, SDM 29.3.5): an access that
 * EPT12 allows sets the accessed flag of every EPT12 entry it used, and a
 * write sets the leaf's dirty flag. vmcs02's EPTP has A/D enabled too, so
 * the CPU treats L2's paging-structure accesses as writes, as the SDM
 * says for EPT12. Returns the permissions the EPT02 leaf may have: without
 * write until the EPT12 leaf is dirty, so that L2's first write faults
 * here and sets the dirty flag (and logs it: ept12_would_dirty()).
 */
static u64 ept12_update_ad(struct vcpu *vcpu, const struct ept12_leaf *leaf, u64 access)
{
    bool dirty = (leaf->entry & VMX_EPT_DIRTY_BIT) || (access & VMX_EPT_WRITABLE_MASK);

    if (!(vcpu->nvmx->cached12.ept_pointer & VMX_EPTP_AD_ENABLE_BIT))
        return leaf->perms;
    for (u32 i = 0; i < leaf->n_entries; i++)
        ept12_set_bits(vcpu, leaf->entry_at[i],
                       VMX_EPT_ACCESS_BIT | (i + 1 == leaf->n_entries && dirty ? VMX_EPT_DIRTY_BIT : 0));
    return dirty ? leaf->perms : leaf->perms & ~(u64)VMX_EPT_WRITABLE_MASK;
}

/* This access sets the EPT12 leaf's dirty flag (it was clear). */
static bool ept12_would_dirty(struct vcpu *vcpu, const struct ept12_leaf *leaf, u64 access)
{
    return (vcpu->nvmx->cached12.ept_pointer & VMX_EPTP_AD_ENABLE_BIT) &&
           (access & VMX_EPT_WRITABLE_MASK) && !(leaf->entry & VMX_EPT_DIRTY_BIT);
}

enum ept02_result ept02_fault(struct vcpu *vcpu, u64 l2_gpa, u64 hw_qual, u64 *qual12)
{
    struct nested_vmx *n = vcpu->nvmx;
    u64 access = hw_qual & EPT_QUAL_ACCESS;
    struct ept12_leaf leaf;

    *qual12 = access | (hw_qual & EPT_QUAL_KEEP);
    switch (ept12_walk(vcpu, l2_gpa, &leaf)) {
    case EPT12_NOT_PRESENT:
        return EPT02_VIOLATION;                 /* not present: bits 5:3 stay 0 */
    case EPT12_MISCONFIG:
        return EPT02_MISCONFIG;
    case EPT12_LEAF:
        break;
    }
    if (access & ~leaf.perms) {
        *qual12 |= leaf.perms << EPT_QUAL_PERMS_SHIFT;
        return EPT02_VIOLATION;
    }
    u64 hpa = guest_gpa_to_hpa(vcpu->vm, leaf.l1_gpa & ~(PAGE_SIZE - 1));
    /* vmcs12's APIC-access page outside L1 RAM: turtle's stand-in. */
    bool access02 = !hpa && apicv12_ept02_page(vcpu, leaf.l1_gpa, &hpa);
    /* L1's own device pages (its xAPIC page where IA32_APIC_BASE puts it,
     * its IOAPIC) answer L2 as the hardware's would answer an L2 that L1
     * gives them: the instruction is decoded through L2's paging and runs
     * against L1's device, and L2's RIP moves past it. EPT02 maps nothing
     * there, so every such access comes back here. */
    if (!hpa && platform_mmio_claims(vcpu, leaf.l1_gpa, 1)) {
        handle_mmio(vcpu, leaf.l1_gpa);
        return EPT02_EMULATED;
    }
    if (!hpa || (!access02 && leaf.l1_gpa >= vcpu->vm->mem_size)) {
        *qual12 |= leaf.perms << EPT_QUAL_PERMS_SHIFT;
        return EPT02_OUTSIDE_L1;
    }
    /* PML (SDM 29.3.6): logged before the dirty flag is set; a full log
     * is an exit before the access, no flag set. */
    if (ept12_would_dirty(vcpu, &leaf, access) && !nested_pml_log(vcpu, l2_gpa)) {
        *qual12 = hw_qual & EPT_QUAL_NMI_UNBLOCK;
        return EPT02_PML_FULL;
    }
    u64 perms02 = ept12_update_ad(vcpu, &leaf, access);
    /* The budget holds for all EPT02s: the parked ones go first. */
    if (total_pages(n) >= ept02_budget(vcpu->vm->mem_size))
        for (u32 i = 0; i < EPT02_PARKED; i++)
            drop_parked(vcpu, i);
    if (n->ept02_pages >= ept02_budget(vcpu->vm->mem_size) && !restart(vcpu)) {
        vm_stop(vcpu->vm, true, "out of memory for EPT02");
        return EPT02_FIXED;
    }
    if (leaf.size >= LARGE_PAGE_SIZE && !access02) {
        u64 hpa2m = guest_gpa_to_hpa_2m(vcpu->vm, leaf.l1_gpa & ~(LARGE_PAGE_SIZE - 1));
        if (hpa2m && ept_set_2m(&vcpu->vm->pages, n->ept02_root, l2_gpa & ~(LARGE_PAGE_SIZE - 1), hpa2m,
                                perms02, &n->ept02_pages))
            return EPT02_FIXED;
        /* 4 KiB pages below already (EPT12 was split since): 4 KiB. */
    }
    if (!ept_set_4k(&vcpu->vm->pages, n->ept02_root, l2_gpa & ~(PAGE_SIZE - 1), hpa, perms02, &n->ept02_pages)) {
        int level;
        /* A 2 MiB leaf from an EPT12 large page L1 has split since (with
         * no INVEPT, the CPU may use the old one too): start again. */
        if (!ept_lookup(n->ept02_root, l2_gpa, &level) || level == 1 || !restart(vcpu) ||
            !ept_set_4k(&vcpu->vm->pages, n->ept02_root, l2_gpa & ~(PAGE_SIZE - 1), hpa, perms02,
                        &n->ept02_pages))
            vm_stop(vcpu->vm, true, "out of memory for EPT02");
    }
    return EPT02_FIXED;
}

/* L2-physical → L1-physical through EPT12, for turtle's own reads of L2
 * memory (PDPTEs on an L2 CR write turtle handles). Read-only: nothing is
 * installed; false if EPT12 does not map gpa readable. */
bool ept12_translate(struct vcpu *vcpu, u64 l2_gpa, u64 *l1_gpa)
{
    struct ept12_leaf leaf;

    if (ept12_walk(vcpu, l2_gpa, &leaf) != EPT12_LEAF)
        return false;
    *l1_gpa = leaf.l1_gpa;
    return (leaf.perms & VMX_EPT_READABLE_MASK) && leaf.l1_gpa < vcpu->vm->mem_size;
}
