/* Synthetic snapshots (snap_fixture.h). */
#include <stdlib.h>
#include <string.h>

#include "kernel/x86.h"
#include "nested/vmcs12.h"
#include "tests/unit/snap_fixture.h"
#include "tools/turtle-snap/builder.h"
#include "vmx/vmx_arch.h"

const char *const snapfix_names[SNAPFIX_N] = {
    "plain", "no_vmx", "vmxon", "vmcs", "l2", "l2_pending", "l2_shadow",
};

#define CTL(lo, hi)     ((u64)(lo) | (u64)(hi) << 32)

static const struct tsnap_kvm_msr_entry vmx_caps[] = {
    { IA32_VMX_BASIC, 0, VMCS12_REVISION | (0x1000ULL << 32) | (6ULL << 50) | BIT(54) | BIT(55) },
    { IA32_VMX_PINBASED_CTLS, 0, CTL(0x16, 0x7f) },
    { IA32_VMX_PROCBASED_CTLS, 0, CTL(0x0401e172, 0xfffdfffe) },
    { IA32_VMX_EXIT_CTLS, 0, CTL(0x36dff, 0x7fffff) },
    { IA32_VMX_ENTRY_CTLS, 0, CTL(0x11ff, 0x1f3ff) },
    { IA32_VMX_MISC, 0, 0x5 | BIT(5) | BIT(6) | BIT(7) | BIT(29) },
    { IA32_VMX_CR0_FIXED0, 0, 0x80000021 },
    { IA32_VMX_CR0_FIXED1, 0, 0xffffffff },
    { IA32_VMX_CR4_FIXED0, 0, 0x2000 },
    { IA32_VMX_CR4_FIXED1, 0, 0x3727ff },
    { IA32_VMX_VMCS_ENUM, 0, 0x2e },
    { IA32_VMX_PROCBASED_CTLS2, 0, CTL(0, 0x3ffff) },
    { IA32_VMX_EPT_VPID_CAP, 0, BIT(6) | BIT(8) | BIT(14) | BIT(16) | BIT(17) | BIT(20) | BIT(21) |
                                BIT(25) | BIT(26) | BIT(32) | BIT(40) | BIT(41) | BIT(42) | BIT(43) },
    { IA32_VMX_TRUE_PINBASED_CTLS, 0, CTL(0x16, 0x7f) },
    { IA32_VMX_TRUE_PROCBASED_CTLS, 0, CTL(0x04006172, 0xfffdfffe) },
    { IA32_VMX_TRUE_EXIT_CTLS, 0, CTL(0x36dfb, 0x7fffff) },
    { IA32_VMX_TRUE_ENTRY_CTLS, 0, CTL(0x11fb, 0x1f3ff) },
    { IA32_VMX_VMFUNC, 0, 1 },
};

static const struct tsnap_kvm_cpuid_entry2 fix_cpuid[] = {
    { .function = 0, .eax = 0xd, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
    { .function = 1, .eax = 0x50654, .ecx = BIT(5) | BIT(17) | BIT(26), .edx = 0x078bfbff },
    { .function = 7, .index = 0, .flags = TSNAP_KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = BIT(0) | BIT(7) | BIT(20) },
    { .function = 0xa, .eax = 2 | 4 << 8 | 48 << 16, .edx = 3 },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000001, .edx = BIT(11) | BIT(20) | BIT(29) },
    { .function = 0x80000008, .eax = 39 | 48 << 8 },
};

static u8 ram[SNAPFIX_MEM];

const u8 *snapfix_ram(void)
{
    return ram;
}

bool snapfix_read(const void *ctx, u64 gpa, void *dst, u64 len)
{
    (void)ctx;
    if (gpa > sizeof(ram) || len > sizeof(ram) - gpa)
        return false;
    memcpy(dst, ram + gpa, len);
    return true;
}

void snapfix_caps(struct nested_check_caps *c)
{
    u64 len;
    u8 *f = snapfix_file(SNAPFIX_L2, &len);
    struct tsnap_view *view = malloc(sizeof(*view));
    if (!f || !view || tsnap_parse(f, len, view))
        abort();
    nested_check_caps_from_view(c, view, 0);
    free(view);
    free(f);
}

/* A 64-bit L1 running a 64-bit L2 with EPT, VPID and MSR bitmaps. */
static void fill_vmcs12(struct vmcs12 *v, enum snapfix_state st)
{
    memset(v, 0, sizeof(*v));
    v->hdr.revision_id = VMCS12_REVISION;
    v->launch_state = st >= SNAPFIX_L2 && st != SNAPFIX_L2_PENDING;
    v->pin_based_vm_exec_control = 0x16 | PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING;
    v->cpu_based_vm_exec_control = 0x04006172 | CPU_BASED_HLT_EXITING | CPU_BASED_USE_MSR_BITMAPS |
                                   CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    v->secondary_vm_exec_control = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID;
    if (st == SNAPFIX_L2_SHADOW) {
        v->secondary_vm_exec_control |= SECONDARY_EXEC_SHADOW_VMCS;
        v->vmread_bitmap = 0x6000;
        v->vmwrite_bitmap = 0x7000;
        v->vmcs_link_pointer = SNAPFIX_LINK_PA;
    } else {
        v->vmcs_link_pointer = ~0ULL;
    }
    v->msr_bitmap = 0x5000;
    v->ept_pointer = 0x8000 | 6 | 3 << 3;
    v->virtual_processor_id = 1;
    v->vm_exit_controls = 0x36dfb | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_EFER;
    v->vm_entry_controls = 0x11fb | VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER;
    v->host_cr0 = v->guest_cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    v->host_cr4 = v->guest_cr4 = X86_CR4_VMXE | X86_CR4_PAE;
    v->host_cr3 = 0x1000;
    v->guest_cr3 = 0xa000;
    v->host_ia32_efer = v->guest_ia32_efer = 0xd01;
    v->host_cs_selector = 0x08;
    v->host_ss_selector = v->host_ds_selector = v->host_es_selector = 0x10;
    v->host_tr_selector = 0x18;
    v->host_rip = 0x100000;
    v->guest_rip = 0x180000;
    v->guest_rflags = 2;
    v->guest_cs_selector = 0x08;
    v->guest_cs_ar_bytes = 0xa09b;
    v->guest_activity_state = GUEST_ACTIVITY_ACTIVE;
}

u32 snapfix_nested(enum snapfix_state st, u8 *blob)
{
    struct tsnap_kvm_nested_state_hdr h = { .size = TSNAP_NESTED_HDR_SIZE, .vmxon_pa = TSNAP_INVALID_GPA,
                                            .vmcs12_pa = TSNAP_INVALID_GPA };
    memset(blob, 0, TSNAP_NESTED_SIZE_MAX);
    memset(ram, 0, sizeof(ram));
    ram[0x100000] = 0xf4;                       /* L1 code: hlt */
    ram[0x180000] = 0x90;                       /* L2 code: nop */
    if (st >= SNAPFIX_VMXON) {
        u32 rev = VMCS12_REVISION;
        h.vmxon_pa = SNAPFIX_VMXON_PA;
        memcpy(ram + SNAPFIX_VMXON_PA, &rev, 4);
    }
    if (st >= SNAPFIX_VMCS) {
        struct vmcs12 v;
        h.vmcs12_pa = SNAPFIX_VMCS12_PA;
        h.size = TSNAP_NESTED_SIZE_VMCS12;
        fill_vmcs12(&v, st);
        memcpy(blob + TSNAP_NESTED_HDR_SIZE, &v, sizeof(v));
        memcpy(ram + SNAPFIX_VMCS12_PA, &v, sizeof(v));
    }
    if (st >= SNAPFIX_L2)
        h.flags = TSNAP_KVM_STATE_NESTED_GUEST_MODE;
    if (st == SNAPFIX_L2_PENDING)
        h.flags |= TSNAP_KVM_STATE_NESTED_RUN_PENDING;
    if (st == SNAPFIX_L2_SHADOW) {
        u32 rev = VMCS12_REVISION | BIT(31);
        h.size = TSNAP_NESTED_SIZE_MAX;
        memcpy(blob + TSNAP_NESTED_SIZE_VMCS12, &rev, 4);
        memcpy(ram + SNAPFIX_LINK_PA, &rev, 4);
    }
    memcpy(blob, &h, sizeof(h));
    return h.size;
}

u8 *snapfix_file(enum snapfix_state st, u64 *len)
{
    static struct tsnap_builder b;
    static u8 blob[TSNAP_NESTED_SIZE_MAX];
    bool nested = st != SNAPFIX_PLAIN;
    struct tsnap_machine m = { .mem_size = SNAPFIX_MEM, .n_vcpus = 1,
                               .flags = nested ? TSNAP_MACHINE_NESTED : 0, .tsc_khz = 10000 };
    struct tsnap_kvm_regs regs = { .rip = 0x100000, .rflags = 2, .rsp = 0x90000 };
    struct tsnap_kvm_sregs sregs = { .cr0 = 0x80000031, .cr3 = 0x1000, .cr4 = 0x2020, .efer = 0xd01,
                                     .apic_base = 0xfee00900 };
    struct tsnap_kvm_msr_entry msrs[] = { { MSR_IA32_SYSENTER_CS, 0, 0 }, { MSR_IA32_PAT, 0, 0x0007040600070406ULL },
                                          { MSR_IA32_FEATURE_CONTROL, 0, 5 } };
    struct tsnap_kvm_xsave xsave = { .region = { [6] = 0x1f80, [128] = 3 } };     /* MXCSR; XSTATE_BV x87|SSE */
    struct tsnap_kvm_vcpu_events ev = { .flags = TSNAP_KVM_VCPUEVENT_VALID_SHADOW };
    struct tsnap_kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { 0, 0, 3 } } };
    struct tsnap_kvm_debugregs dr = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };
    struct tsnap_kvm_mp_state mp = { TSNAP_KVM_MP_STATE_RUNNABLE };
    struct tsnap_kvm_lapic_state lapic = { .regs = { [0x20] = 0, [0x30] = 0x14, [0xf0] = 0xff, [0xf1] = 1 } };

    memcpy(m.name, "fixture", 8);
    u32 nsize = snapfix_nested(st, blob);
    tsnap_builder_init(&b, "test");
    tsnap_add(&b, TSNAP_SEC_MACHINE, 0, &m, sizeof(m));
    tsnap_add_list(&b, TSNAP_SEC_CPUID, 0, fix_cpuid, ARRAY_SIZE(fix_cpuid), sizeof(fix_cpuid[0]));
    if (nested)
        tsnap_add_list(&b, TSNAP_SEC_VMX_CAPS, 0, vmx_caps, ARRAY_SIZE(vmx_caps), sizeof(vmx_caps[0]));
    tsnap_add_memory(&b, ram, SNAPFIX_MEM);
    tsnap_add(&b, TSNAP_SEC_REGS, 0, &regs, sizeof(regs));
    tsnap_add(&b, TSNAP_SEC_SREGS, 0, &sregs, sizeof(sregs));
    tsnap_add_list(&b, TSNAP_SEC_MSRS, 0, msrs, ARRAY_SIZE(msrs), sizeof(msrs[0]));
    tsnap_add(&b, TSNAP_SEC_XSAVE, 0, &xsave, sizeof(xsave));
    tsnap_add(&b, TSNAP_SEC_EVENTS, 0, &ev, sizeof(ev));
    tsnap_add(&b, TSNAP_SEC_DEBUGREGS, 0, &dr, sizeof(dr));
    tsnap_add(&b, TSNAP_SEC_MP_STATE, 0, &mp, sizeof(mp));
    tsnap_add(&b, TSNAP_SEC_LAPIC, 0, &lapic, sizeof(lapic));
    if (nested)
        tsnap_add(&b, TSNAP_SEC_NESTED, 0, blob, nsize);
    if (st != SNAPFIX_VMXON)        /* optional: one state goes without */
        tsnap_add(&b, TSNAP_SEC_XCRS, 0, &xcrs, sizeof(xcrs));
    return tsnap_build(&b, len);
}
