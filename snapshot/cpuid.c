/*
 * What L1 was shown, for the machine sections: every CPUID leaf and
 * subleaf turtle answers, as kvm_cpuid_entry2 (with the significant-index
 * flag where the subleaf matters, as KVM_GET_CPUID2 marks them), and the
 * VMX capability MSRs 0x480-0x491 L1 can read.
 */
#include "snapshot/snap_int.h"
#include "vmx/exit.h"

#define CPUID_HV_BASE       0x40000000u
#define CPUID_EXT_BASE      0x80000000u
#define IA32_VMX_FIRST      0x480u
#define IA32_VMX_LAST       0x491u
#define SUBLEAF_MAX         64

static bool put(struct tsnap_kvm_cpuid_entry2 *e, u32 *n, u32 max, u32 fn, u32 idx, bool indexed,
                const struct cpuid_regs *r)
{
    if (*n == max)
        return false;
    e[(*n)++] = (struct tsnap_kvm_cpuid_entry2){
        .function = fn, .index = idx, .flags = indexed ? TSNAP_KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
        .eax = r->eax, .ebx = r->ebx, .ecx = r->ecx, .edx = r->edx,
    };
    return true;
}

/* Leaves whose subleaves differ, and how many there are: 4 and 0xb/0x1f
 * until a subleaf reports type 0; 7 up to EAX of subleaf 0; 0xd, 0x14 and
 * the rest of the indexed leaves by their subleaf 0 (turtle zeroes them). */
static u32 subleaves(struct vcpu *vcpu, u32 fn, bool *indexed)
{
    struct cpuid_regs r;
    u32 n;

    *indexed = true;
    switch (fn) {
    case 0x4:
        for (n = 0; n < SUBLEAF_MAX; n++) {
            vcpu_cpuid(vcpu, fn, n, &r);
            if (!(r.eax & 0x1f))
                break;
        }
        return n + 1;
    case 0xb:
    case 0x1f:
        for (n = 0; n < SUBLEAF_MAX; n++) {
            vcpu_cpuid(vcpu, fn, n, &r);
            if (!((r.ecx >> 8) & 0xff))
                break;
        }
        return n + 1;
    case 0x7:
        vcpu_cpuid(vcpu, fn, 0, &r);
        return MIN(r.eax, (u32)SUBLEAF_MAX - 1) + 1;
    case 0xd:
    case 0xf:
    case 0x10:
    case 0x12:
    case 0x14:
    case 0x17:
    case 0x18:
    case 0x1d:
    case 0x1e:
        return 2;
    default:
        *indexed = false;
        return 1;
    }
}

static void range(struct vcpu *vcpu, u32 base, struct tsnap_kvm_cpuid_entry2 *e, u32 *n, u32 max)
{
    struct cpuid_regs r;

    vcpu_cpuid(vcpu, base, 0, &r);
    u32 last = r.eax;
    if (last < base || last - base > SNAP_MAX_CPUID)
        last = base;
    for (u32 fn = base; fn <= last; fn++) {
        bool indexed;
        u32 count = subleaves(vcpu, fn, &indexed);
        for (u32 i = 0; i < count; i++) {
            vcpu_cpuid(vcpu, fn, i, &r);
            if (!put(e, n, max, fn, i, indexed, &r))
                return;
        }
    }
}

u32 snap_cpuid_collect(struct vcpu *vcpu, struct tsnap_kvm_cpuid_entry2 *e, u32 max)
{
    u32 n = 0;

    range(vcpu, 0, e, &n, max);
    range(vcpu, CPUID_HV_BASE, e, &n, max);
    range(vcpu, CPUID_EXT_BASE, e, &n, max);
    return n;
}

u32 snap_vmx_caps_collect(struct vcpu *vcpu, struct tsnap_kvm_msr_entry *e, u32 max)
{
    u32 n = 0;
    u64 v;

    if (!vcpu->nvmx)
        return 0;
    for (u32 msr = IA32_VMX_FIRST; msr <= IA32_VMX_LAST && n < max; msr++)
        if (nested_ops->msr_read(vcpu, msr, &v))
            e[n++] = (struct tsnap_kvm_msr_entry){ .index = msr, .data = v };
    return n;
}
