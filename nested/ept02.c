/*
 * EPT02: the shadow of L1's EPT12, composed with EPT01. Built lazily: it
 * starts empty; each EPT violation in L2 walks EPT12 (in L1 memory, every
 * entry checked as the CPU checks it, SDM 29.3.3) and either installs a
 * 4 KiB EPT02 leaf (L2-physical → L1-physical → host-physical, with
 * EPT12's permissions) or reports the violation or misconfiguration L1
 * must see. An EPT12 mapping to L1-physical memory L1 does not have is
 * never installed: L1 gets an EPT violation instead. INVEPT, VMXOFF and a
 * new EPTP12 drop EPT02 (and its hardware translations).
 */
#include "kernel/mm.h"
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

/* The budget is checked before each fill, and one fill adds at most the
 * three tables below the root (PDPT, PD, PT): EPT02 never holds more. Its
 * pages come from the VM's pool (vm->pages), reserved for this many. */
u64 ept02_max_pages(u64 mem_size)
{
    return ept02_budget(mem_size) + EPT_LEVELS - 2;
}

void ept02_drop(struct vcpu *vcpu)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (!n->ept02_root)
        return;
    ept_flush(ept_make_eptp(n->ept02_root));    /* before any page of it is reused */
    ept_free(&vcpu->vm->pages, n->ept02_root);
    n->ept02_root = 0;
    n->ept02_eptp12 = 0;
    n->ept02_pages = 0;
}

bool ept02_prepare(struct vcpu *vcpu, u64 eptp12)
{
    struct nested_vmx *n = vcpu->nvmx;

    if (n->ept02_root && n->ept02_eptp12 != eptp12)
        ept02_drop(vcpu);
    if (!n->ept02_root) {
        n->ept02_root = ept_alloc_root(&vcpu->vm->pages);
        if (!n->ept02_root)
            return false;
        n->ept02_eptp12 = eptp12;
        n->ept02_pages = 1;
    }
    return true;
}

/* The bytes one entry at this level maps (level 1: 4 KiB ... level 4: 512 GiB). */
static u64 level_size(int level)
{
    return 1ULL << (12 + 9 * (level - 1));
}

/* EPT misconfiguration conditions of one entry (SDM 29.3.3.1). */
static bool misconfigured(u64 e, int level, bool leaf)
{
    u64 rwx = e & VMX_EPT_RWX_MASK;
    u32 width = nested_phys_addr_width();

    if ((rwx & VMX_EPT_WRITABLE_MASK) && !(rwx & VMX_EPT_READABLE_MASK))
        return true;
    if (rwx == VMX_EPT_EXECUTABLE_MASK && !(nested_ept_vpid_cap & VMX_EPT_EXECUTE_ONLY_BIT))
        return true;
    if ((e & EPT12_ADDR) >> width)
        return true;
    if (!leaf && (e & 0xf8))                    /* bits 7:3 reserved in non-leaf entries */
        return true;
    if (leaf) {
        u64 mt = (e >> 3) & 7;
        if (mt == 2 || mt == 3 || mt == 7)
            return true;
        if (level == 3 && !(nested_ept_vpid_cap & VMX_EPT_1GB_PAGE_BIT))
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
};

/* Walk L1's 4-level EPT12 (at cached12's EPT pointer) for l2_gpa, checking
 * every entry as the CPU does (SDM 29.3.2, 29.3.3). Reads L1 memory only;
 * installs nothing. *leaf is written only on EPT12_LEAF; the permissions
 * are not checked against any access here. */
static enum ept12_walk_result ept12_walk(struct vcpu *vcpu, u64 l2_gpa, struct ept12_leaf *leaf)
{
    u64 table = vcpu->nvmx->cached12.ept_pointer & EPT12_ADDR, perms = VMX_EPT_RWX_MASK, e = 0;

    for (int level = 4; level >= 1; level--) {
        u64 size = level_size(level);
        u64 at = table + ((l2_gpa / size) & 0x1ff) * 8;
        if (!guest_copy_from(vcpu->vm, &e, at, 8))
            return EPT12_MISCONFIG;             /* paging structure outside L1 RAM */
        if (!(e & VMX_EPT_RWX_MASK))
            return EPT12_NOT_PRESENT;
        bool is_leaf = level == 1 || ((level == 2 || level == 3) && (e & VMX_EPT_LARGE_PAGE_BIT));
        if (misconfigured(e, level, is_leaf))
            return EPT12_MISCONFIG;
        perms &= e & VMX_EPT_RWX_MASK;
        if (!is_leaf) {
            table = e & EPT12_ADDR;
            continue;
        }
        leaf->l1_gpa = (e & EPT12_ADDR & ~(size - 1)) | (l2_gpa & (size - 1));
        leaf->size = size;
        leaf->perms = perms;
        return EPT12_LEAF;
    }
    return EPT12_MISCONFIG;                     /* not reached: level 1 is always a leaf */
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
    /* L1's own device pages (its xAPIC page where IA32_APIC_BASE puts it,
     * its IOAPIC) answer L2 as the hardware's would answer an L2 that L1
     * gives them: the instruction is decoded through L2's paging and runs
     * against L1's device, and L2's RIP moves past it. EPT02 maps nothing
     * there, so every such access comes back here. */
    if (!hpa && platform_mmio_claims(vcpu, leaf.l1_gpa, 1)) {
        handle_mmio(vcpu, leaf.l1_gpa);
        return EPT02_EMULATED;
    }
    if (!hpa || leaf.l1_gpa >= vcpu->vm->mem_size) {
        *qual12 |= leaf.perms << EPT_QUAL_PERMS_SHIFT;
        return EPT02_OUTSIDE_L1;
    }
    if (n->ept02_pages >= ept02_budget(vcpu->vm->mem_size)) {
        /* Start over (vmcs02 is current: point it at the new root). */
        u64 eptp12 = n->ept02_eptp12;
        ept02_drop(vcpu);
        if (!ept02_prepare(vcpu, eptp12)) {
            vm_stop(vcpu->vm, true, "out of memory for EPT02");
            return EPT02_FIXED;
        }
        vmcs_write64(EPT_POINTER, ept_make_eptp(n->ept02_root));
    }
    if (!ept_set_4k(&vcpu->vm->pages, n->ept02_root, l2_gpa & ~(PAGE_SIZE - 1), hpa, leaf.perms, &n->ept02_pages))
        vm_stop(vcpu->vm, true, "out of memory for EPT02");
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
