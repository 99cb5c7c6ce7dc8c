/*
 * CPUID: the host's answer, filtered down to what turtle virtualises
 * (docs/guests.md lists the hidden features), plus turtle's own leaves at
 * 0x40000000.
 */
#include "kernel/mm.h"
#include "kernel/tsc.h"
#include "vmx/exit.h"
#include "vmx/platform.h"
#include "vmx/spec_caps.h"
#include "vmx/xsave.h"

#define CPUID_HV_BASE           0x40000000
#define CPUID_HV_INTERFACE      0x40000001
#define VMCALL_INTERFACE_VERSION 1

/* Leaf 1 ECX. */
#define CPUID1_ECX_MONITOR      BIT(3)
#define CPUID1_ECX_DS_CPL       BIT(4)
#define CPUID1_ECX_VMX          BIT(5)
#define CPUID1_ECX_SMX          BIT(6)
#define CPUID1_ECX_EST          BIT(7)
#define CPUID1_ECX_TM2          BIT(8)
#define CPUID1_ECX_SDBG         BIT(11)
#define CPUID1_ECX_FMA          BIT(12)
#define CPUID1_ECX_PDCM         BIT(15)
#define CPUID1_ECX_PCID         BIT(17)
#define CPUID1_ECX_DCA          BIT(18)
#define CPUID1_ECX_X2APIC       BIT(21)
#define CPUID1_ECX_TSC_DEADLINE BIT(24)
#define CPUID1_ECX_XSAVE        BIT(26)
#define CPUID1_ECX_OSXSAVE      BIT(27)
#define CPUID1_ECX_AVX          BIT(28)
#define CPUID1_ECX_F16C         BIT(29)
#define CPUID1_ECX_HYPERVISOR   BIT(31)
/* Leaf 1 EDX. */
#define CPUID1_EDX_VME          BIT(1)
#define CPUID1_EDX_MCE          BIT(7)
#define CPUID1_EDX_APIC         BIT(9)
#define CPUID1_EDX_MTRR         BIT(12)
#define CPUID1_EDX_MCA          BIT(14)
#define CPUID1_EDX_ACPI         BIT(22)
#define CPUID1_EDX_DS           BIT(21)
#define CPUID1_EDX_TM           BIT(29)
#define CPUID1_EDX_PBE          BIT(31)
/* Leaf 7.0 EBX / ECX / EDX. */
#define CPUID7_EBX_AVX2         BIT(5)
#define CPUID7_EBX_INVPCID      BIT(10)
#define CPUID7_EBX_RTM          BIT(11)
#define CPUID7_EBX_MPX          BIT(14)
#define CPUID7_EBX_AVX512       (BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31))
#define CPUID7_EBX_PT           BIT(25)
#define CPUID7_EBX_HLE          BIT(4)
#define CPUID7_ECX_PKU          (BIT(3) | BIT(4))
#define CPUID7_ECX_OSPKE        BIT(4)
#define CPUID7_ECX_WAITPKG      BIT(5)
#define CPUID7_ECX_CET_SS       BIT(7)
#define CPUID7_ECX_AVX512       (BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
#define CPUID7_ECX_LA57         BIT(16)
#define CPUID7_EDX_CET_IBT      BIT(20)
#define CPUID7_EDX_AVX512       (BIT(2) | BIT(3) | BIT(8) | BIT(23))
#define CPUID7_EDX_IBRS_IBPB    BIT(26)     /* IA32_SPEC_CTRL.IBRS and IA32_PRED_CMD */
#define CPUID7_EDX_STIBP        BIT(27)     /* IA32_SPEC_CTRL.STIBP */
#define CPUID7_EDX_L1D_FLUSH    BIT(28)     /* IA32_FLUSH_CMD 0x10b */
#define CPUID7_EDX_ARCH_CAP     BIT(29)     /* IA32_ARCH_CAPABILITIES 0x10a */
#define CPUID7_EDX_SSBD         BIT(31)     /* IA32_SPEC_CTRL.SSBD */
#define CPUID7_EDX_SPEC         (CPUID7_EDX_IBRS_IBPB | CPUID7_EDX_STIBP | CPUID7_EDX_L1D_FLUSH | \
                                 CPUID7_EDX_ARCH_CAP | CPUID7_EDX_SSBD)
#define CPUID7_EDX_CORE_CAP     BIT(30)

#define CPUID1_ECX_AVX_ALL      (CPUID1_ECX_AVX | CPUID1_ECX_F16C | CPUID1_ECX_FMA)
#define CPUID7_EBX_AVX_ALL      (CPUID7_EBX_AVX2 | CPUID7_EBX_AVX512)
#define CPUID7_ECX_VEX          (BIT(9) | BIT(10))  /* VAES, VPCLMULQDQ (VEX/EVEX forms) */
#define XSAVE_D1_XSAVEC         BIT(1)

#define LEAF_THERMAL            0x06
#define LEAF_EXT_FEATURES       0x07
#define LEAF_PMU                0x0a
#define LEAF_XSAVE              0x0d
#define LEAF_PT                 0x14
#define LEAF_TOPOLOGY           0x0b
#define LEAF_TSC_CRYSTAL        0x15
#define LEAF_FREQUENCY          0x16
#define TOPOLOGY_SMT            1
#define TOPOLOGY_CORE           2

/* The speculation controls a guest has: exactly the MSRs the CPU has,
 * which turtle emulates (vmx/exit_msr.c), whatever the host's CPUID says
 * (an emulator's CPUID and MSRs can disagree). */
static u32 spec_cpuid7_edx(void)
{
    const struct spec_caps *c = &spec_caps;
    u32 edx = 0;

    if ((c->spec_ctrl_bits & SPEC_CTRL_IBRS) && c->has_pred_cmd)
        edx |= (u32)CPUID7_EDX_IBRS_IBPB;
    if (c->spec_ctrl_bits & SPEC_CTRL_STIBP)
        edx |= (u32)CPUID7_EDX_STIBP;
    if (c->spec_ctrl_bits & SPEC_CTRL_SSBD)
        edx |= (u32)CPUID7_EDX_SSBD;
    if (c->has_flush_cmd)
        edx |= (u32)CPUID7_EDX_L1D_FLUSH;
    if (c->has_arch_cap)
        edx |= (u32)CPUID7_EDX_ARCH_CAP;
    return edx;
}

/* Leaf 0xD (SDM Vol. 1 13.2) for the components vmx/xsave.c offers:
 * sizes and offsets as the CPU reports them, subleaf 0 EBX and subleaf 1
 * EBX for the guest's XCR0 (IA32_XSS is 0: no XSAVES), the others zero. */
static void cpuid_xsave(struct vcpu *vcpu, u32 subleaf, struct cpuid_regs *r)
{
    u64 mask = xsave_caps.xcr0;

    if (!xsave_caps.xsave) {
        r->eax = r->ebx = r->ecx = r->edx = 0;
    } else if (subleaf == 0) {
        r->eax = (u32)mask;
        r->edx = (u32)(mask >> 32);
        r->ebx = xsave_size_for(vcpu->xcr0);
        r->ecx = xsave_caps.size;
    } else if (subleaf == 1) {
        r->eax &= xsave_caps.d1_eax;
        r->ebx = (r->eax & XSAVE_D1_XSAVEC) ? xsave_compacted_size_for(vcpu->xcr0) : 0;
        r->ecx = r->edx = 0;
    } else if (subleaf >= 64 || !(mask & BIT(subleaf))) {
        r->eax = r->ebx = r->ecx = r->edx = 0;
    } else {
        r->edx = 0;                     /* ECX: bit 0 clear (user state), bit 1 as the CPU's */
    }
}

/* The bits of leaf 1 that follow the vCPU's state: OSXSAVE its CR4 (SDM
 * Vol. 2A CPUID, Table 3-10), where XSAVE is offered; APIC its
 * IA32_APIC_BASE.EN. The rest of r stays. */
void cpuid1_live(struct vcpu *vcpu, struct cpuid_regs *r)
{
    r->ecx &= ~(u32)CPUID1_ECX_OSXSAVE;
    if (xsave_caps.xsave && (guest_read_cr4() & X86_CR4_OSXSAVE))
        r->ecx |= (u32)CPUID1_ECX_OSXSAVE;
    r->edx &= ~(u32)CPUID1_EDX_APIC;
    if (lapic_hw_enabled(&vcpu->lapic))
        r->edx |= (u32)CPUID1_EDX_APIC;
}

static void cpuid_filter(struct vcpu *vcpu, u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
    switch (leaf) {
    case 0x01:
        r->ecx &= ~(u32)(CPUID1_ECX_MONITOR | CPUID1_ECX_DS_CPL | CPUID1_ECX_SMX | CPUID1_ECX_EST |
                         CPUID1_ECX_TM2 | CPUID1_ECX_SDBG | CPUID1_ECX_PDCM | CPUID1_ECX_DCA | CPUID1_ECX_OSXSAVE);
        /* XSAVE and AVX as vmx/xsave.c offers them; OSXSAVE follows the
         * guest's CR4 (SDM Vol. 2A CPUID, Table 3-10). PCID with CR4.PCIDE
         * as vmx/exit_cr.c allows it. */
        if (!xsave_caps.xsave)
            r->ecx &= ~(u32)CPUID1_ECX_XSAVE;
        if (!(xsave_caps.xcr0 & XFEATURE_AVX))
            r->ecx &= ~(u32)CPUID1_ECX_AVX_ALL;
        if (!(vmx_policy->cr4_guest & X86_CR4_PCIDE))
            r->ecx &= ~(u32)CPUID1_ECX_PCID;
        if (!vcpu->vm->nested)
            r->ecx &= ~(u32)CPUID1_ECX_VMX;
        r->ecx |= (u32)CPUID1_ECX_HYPERVISOR;
        /* The local APIC (xAPIC and x2APIC) and its TSC-deadline timer are
         * turtle's (vmx/dev/lapic.c); APIC follows IA32_APIC_BASE.EN. */
        r->ecx |= (u32)(CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
        r->edx &= ~(u32)(CPUID1_EDX_MCE | CPUID1_EDX_MTRR | CPUID1_EDX_MCA |
                         CPUID1_EDX_ACPI | CPUID1_EDX_DS | CPUID1_EDX_TM | CPUID1_EDX_PBE);
        cpuid1_live(vcpu, r);
        r->ebx &= 0x0000ffff;           /* initial APIC ID, one logical CPU per package */
        r->ebx |= 1u << 16 | vcpu->id << 24;
        break;
    case LEAF_XSAVE:
        cpuid_xsave(vcpu, subleaf, r);
        break;
    case LEAF_THERMAL:
    case LEAF_PMU:
    case LEAF_PT:
        r->eax = r->ebx = r->ecx = r->edx = 0;
        break;
    case LEAF_TOPOLOGY:
        /* Extended topology (SDM Vol. 2A CPUID 0BH): one thread per core,
         * the VM's vCPUs as cores of one package. */
        r->edx = vcpu->id;              /* x2APIC ID */
        if (subleaf == 0) {
            r->eax = 0;
            r->ebx = 1;
            r->ecx = 0 | TOPOLOGY_SMT << 8;
        } else if (subleaf == 1) {
            u32 shift = 0;
            while ((1u << shift) < vcpu->vm->n_vcpus)
                shift++;
            r->eax = shift;
            r->ebx = vcpu->vm->n_vcpus;
            r->ecx = 1 | TOPOLOGY_CORE << 8;
        } else {
            r->eax = r->ebx = 0;
            r->ecx = subleaf & 0xff;    /* level type 0: invalid */
        }
        break;
    case LEAF_EXT_FEATURES:
        if (subleaf == 0) {
            r->ebx &= ~(u32)(CPUID7_EBX_RTM | CPUID7_EBX_HLE | CPUID7_EBX_MPX | CPUID7_EBX_PT);
            r->ecx &= ~(u32)(CPUID7_ECX_PKU | CPUID7_ECX_WAITPKG | CPUID7_ECX_CET_SS | CPUID7_ECX_LA57);
            r->edx &= ~(u32)(CPUID7_EDX_CET_IBT | CPUID7_EDX_CORE_CAP | CPUID7_EDX_SPEC);
            /* AVX2 and AVX-512 with the state components they use. */
            if (!(xsave_caps.xcr0 & XFEATURE_AVX)) {
                r->ebx &= ~(u32)CPUID7_EBX_AVX_ALL;
                r->ecx &= ~(u32)(CPUID7_ECX_AVX512 | CPUID7_ECX_VEX);
            }
            if ((xsave_caps.xcr0 & XFEATURE_AVX512) != XFEATURE_AVX512) {
                r->ebx &= ~(u32)CPUID7_EBX_AVX512;
                r->ecx &= ~(u32)CPUID7_ECX_AVX512;
                r->edx &= ~(u32)CPUID7_EDX_AVX512;
            }
            /* INVPCID runs natively where vmcs01 enables it. */
            if (!(vmx_policy->proc2 & SECONDARY_EXEC_ENABLE_INVPCID))
                r->ebx &= ~(u32)CPUID7_EBX_INVPCID;
            r->edx |= spec_cpuid7_edx();
        } else {
            r->eax = r->ebx = r->ecx = r->edx = 0;
        }
        break;
    case LEAF_TSC_CRYSTAL:
        /* The clocks turtle gives the guest (SDM Vol. 2A CPUID 15H): the
         * "crystal" is the local APIC timer's clock, which Linux assumes,
         * and TSC = crystal * EBX / EAX is the TSC rate turtle measured
         * and runs every device timer on. The host's own values describe
         * other clocks (Bochs: a 3.5 GHz TSC that ticks once per emulated
         * instruction), and a guest that believes them sleeps hundreds of
         * times too long. */
        r->eax = platform_apic_timer_khz;
        r->ebx = tsc_khz;
        r->ecx = platform_apic_timer_khz * 1000;
        r->edx = 0;
        break;
    case LEAF_FREQUENCY:
        /* Base and maximum frequency (the TSC's), bus (APIC timer) in MHz. */
        r->eax = r->ebx = tsc_khz / 1000;
        r->ecx = platform_apic_timer_khz / 1000;
        r->edx = 0;
        break;
    case CPUID_HV_BASE:
        r->eax = CPUID_HV_INTERFACE;
        __builtin_memcpy(&r->ebx, "Turt", 4);
        __builtin_memcpy(&r->ecx, "leTu", 4);
        __builtin_memcpy(&r->edx, "rtle", 4);
        break;
    case CPUID_HV_INTERFACE:
        r->eax = VMCALL_INTERFACE_VERSION;
        r->ebx = r->ecx = r->edx = 0;
        break;
    default:
        if (leaf > CPUID_HV_BASE && leaf < 0x80000000)
            r->eax = r->ebx = r->ecx = r->edx = 0;
        break;
    }
}

static const struct vm_cpuid_entry *recorded_end(const struct vm *vm)
{
    return (const struct vm_cpuid_entry *)phys_to_virt(vm->cpuid_pa) + vm->cpuid_n;
}

/* The table is ordered by leaf once installed (vm_cpuid_installed()), a
 * leaf's entries in their recorded order: the first that matches answers.
 * The first entry of leaf, or the end of the table. */
static const struct vm_cpuid_entry *recorded_first(const struct vm *vm, u32 leaf)
{
    const struct vm_cpuid_entry *t = phys_to_virt(vm->cpuid_pa);
    u32 lo = 0, hi = vm->cpuid_n;

    while (lo < hi) {
        u32 mid = lo + (hi - lo) / 2;
        if (t[mid].leaf < leaf)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &t[lo];
}

/* A VM restored from a snapshot answers CPUID as recorded (KVM: the VMM's
 * KVM_SET_CPUID2), a leaf it lacks with zeros. The bits that follow the
 * vCPU's state stay live, as KVM updates them: the APIC ID (leaf 1 EBX
 * 31:24, leaves 0xb/0x1f EDX), OSXSAVE, the APIC's enable bit and OSPKE. */
static void recorded(const struct vm *vm, u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
    const struct vm_cpuid_entry *e = recorded_first(vm, leaf);
    const struct vm_cpuid_entry *end = recorded_end(vm);
    struct cpuid_regs live = *r;

    *r = (struct cpuid_regs){ 0 };
    for (; e < end && e->leaf == leaf; e++) {
        if (!e->indexed || e->subleaf == subleaf) {
            *r = (struct cpuid_regs){ e->eax, e->ebx, e->ecx, e->edx };
            break;
        }
    }
    if (leaf == 1) {
        r->ebx = (r->ebx & 0x00ffffffu) | (live.ebx & 0xff000000u);
        r->ecx = (r->ecx & ~(u32)CPUID1_ECX_OSXSAVE) | (live.ecx & CPUID1_ECX_OSXSAVE);
        r->edx = (r->edx & ~(u32)CPUID1_EDX_APIC) | (live.edx & CPUID1_EDX_APIC);
    } else if (leaf == 7 && subleaf == 0) {
        r->ecx = (r->ecx & ~(u32)CPUID7_ECX_OSPKE) | (live.ecx & CPUID7_ECX_OSPKE);
    } else if (leaf == 0xb || leaf == 0x1f) {
        r->edx = live.edx;
    }
}

void vcpu_cpuid(struct vcpu *vcpu, u32 leaf, u32 subleaf, struct cpuid_regs *r)
{
    if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_INTERFACE)
        *r = (struct cpuid_regs){ 0 };
    else
        cpuid_count(leaf, subleaf, r);
    cpuid_filter(vcpu, leaf, subleaf, r);
    if (vcpu->vm->cpuid_n)
        recorded(vcpu->vm, leaf, subleaf, r);
}

/* The leaves vcpu_cpuid() answers without looking at the subleaf (SDM
 * Vol. 2A CPUID), where subleaf_free() agrees; turtle makes up the
 * synthesized ones whole. */
#define CPUID_SYNTHESIZED   (BIT(LEAF_THERMAL) | BIT(LEAF_PMU) | BIT(LEAF_TSC_CRYSTAL) | BIT(LEAF_FREQUENCY))
#define CPUID_CACHED_BASIC  (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(5) | BIT(9) | CPUID_SYNTHESIZED)
_Static_assert(LEAF_FREQUENCY < CPUID_CACHE_BASIC, "the cached basic leaves fit the cache");

/* Whether leaf (one of the cached ones) answers the same for every
 * subleaf. A recorded table answers a leaf from its first entry, or zero
 * (recorded()). The CPU answers a leaf past its last one (max, of the
 * leaf's range) with its last basic leaf, which may take a subleaf (SDM
 * Vol. 2A CPUID): there only the leaves turtle makes up itself are safe. */
static bool subleaf_free(const struct vm *vm, u32 leaf, u32 max)
{
    if (!vm->cpuid_n)
        return leaf <= max || (leaf < CPUID_CACHE_BASIC && (CPUID_SYNTHESIZED & BIT(leaf)));
    const struct vm_cpuid_entry *e = recorded_first(vm, leaf);
    return e == recorded_end(vm) || e->leaf != leaf || !e->indexed;
}

/* Fills vcpu's CPUID cache (vmx/vcpu.h) from vcpu_cpuid(): leaf 1's live
 * bits as they are now, which the fast path sets again at every use. */
static __attribute__((noinline, cold)) void cpuid_cache_fill(struct vcpu *vcpu)
{
    struct vcpu_cpuid_cache *c = &vcpu->cpuid_cache;
    u32 basic_ok = 0, ext_ok = 0;
    struct cpuid_regs max, max_ext;

    cpuid_count(0, 0, &max);
    cpuid_count(CPUID_CACHE_EXT_BASE, 0, &max_ext);
    for (u32 leaf = 0; leaf < CPUID_CACHE_BASIC; leaf++) {
        if (!(CPUID_CACHED_BASIC & BIT(leaf)) || !subleaf_free(vcpu->vm, leaf, max.eax))
            continue;
        vcpu_cpuid(vcpu, leaf, 0, &c->basic[leaf]);
        basic_ok |= (u32)BIT(leaf);
    }
    for (u32 i = 0; i < CPUID_CACHE_EXT; i++) {
        if (!subleaf_free(vcpu->vm, CPUID_CACHE_EXT_BASE + i, max_ext.eax))
            continue;
        vcpu_cpuid(vcpu, CPUID_CACHE_EXT_BASE + i, 0, &c->ext[i]);
        ext_ok |= (u32)BIT(i);
    }
    c->basic_ok = basic_ok;
    c->ext_ok = ext_ok;
}

void vm_cpuid_installed(struct vm *vm)
{
    struct vm_cpuid_entry *t = phys_to_virt(vm->cpuid_pa);

    /* Insertion sort by leaf: stable, so a leaf's entries keep their order. */
    for (u32 i = 1; i < vm->cpuid_n; i++) {
        struct vm_cpuid_entry e = t[i];
        u32 j = i;
        for (; j > 0 && t[j - 1].leaf > e.leaf; j--)
            t[j] = t[j - 1];
        t[j] = e;
    }
    for (u32 i = 0; i < vm->n_vcpus; i++)
        vm->vcpus[i]->cpuid_cache.basic_ok = vm->vcpus[i]->cpuid_cache.ext_ok = 0;
}

void handle_cpuid(struct vcpu *vcpu, u64 qual)
{
    u32 leaf = (u32)vcpu->regs.gpr[REG_RAX], subleaf = (u32)vcpu->regs.gpr[REG_RCX];
    struct cpuid_regs r;

    (void)qual;
    /* The cache serves L1 (vmx/exit_fast.h): filled with vmcs01 current. */
    if (__builtin_expect(!vcpu->cpuid_cache.basic_ok && !vcpu->guest_mode, 0))
        cpuid_cache_fill(vcpu);
    vcpu_cpuid(vcpu, leaf, subleaf, &r);
    vcpu->regs.gpr[REG_RAX] = r.eax;
    vcpu->regs.gpr[REG_RBX] = r.ebx;
    vcpu->regs.gpr[REG_RCX] = r.ecx;
    vcpu->regs.gpr[REG_RDX] = r.edx;
    skip_instruction();
}
