/*
 * vmx_suite: capability MSRs and the VMX instructions other than VM entry:
 * VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD and VMWRITE, with their
 * faults (#UD, #GP) and their VMfailInvalid / VMfailValid(error) answers
 * (SDM 31.3 pseudocode, error numbers from SDM 31.4).
 *
 * A VMfailValid answer needs a current VMCS; without one the same check
 * answers VMfailInvalid. Tests of error numbers therefore load a clean
 * VMCS first, and separate tests check the VMfailInvalid case.
 */
#include "vmx_suite.h"

#define X86_CR0_NE              BIT(5)
#define X86_CR4_VMXE            BIT(13)
#define VMCS_ENUM_MIN_INDEX     0x19    /* Bochs 2.7 reports 0x19 (DESIGN.md) */
#define UNSUPPORTED_FIELD       0x6ffe  /* natural-width host field, index 0x1ff */
#define SHADOW_VMCS_INDICATOR   BIT(31) /* revision word bit 31 */

static u8 outside_page[PAGE_4K] __attribute__((aligned(PAGE_4K)));
static void *scratch_page;

/* ---- reporting ---- */

bool expect_ok(int status, const char *name)
{
    if (!report(status == VMX_OK, "%s", name))
        printf("  status %d error %u\n", status, status == VMX_FAIL_VALID ? vmx_instruction_error() : 0);
    return status == VMX_OK;
}

bool expect_fail_invalid(int status, const char *name)
{
    if (!report(status == VMX_FAIL_INVALID, "%s", name))
        printf("  status %d (want VMfailInvalid) error %u\n", status,
               status == VMX_FAIL_VALID ? vmx_instruction_error() : 0);
    return status == VMX_FAIL_INVALID;
}

bool expect_fail_valid(int status, u32 error, const char *name)
{
    u32 got = status == VMX_FAIL_VALID ? vmx_instruction_error() : 0;
    bool ok = status == VMX_FAIL_VALID && got == error;
    if (!report(ok, "%s", name))
        printf("  status %d error %u (want VMfailValid error %u)\n", status, got, error);
    return ok;
}

bool expect_vector(int vector, int want, const char *name)
{
    if (!report(vector == want, "%s", name))
        printf("  vector %d (want %d; -1 = no fault)\n", vector, want);
    return vector == want;
}

u64 scratch_vmcs(void)
{
    if (!scratch_page)
        scratch_page = vmx_alloc_page();
    return vmx_pa(scratch_page);
}

void load_clean_vmcs(u64 pa)
{
    vmx_init_vmcs_region((void *)(uintptr_t)pa);
    if (vmclear(pa) != VMX_OK || vmptrld(pa) != VMX_OK)
        printf("vmx_suite: could not load a clean VMCS at %#lx\n", (unsigned long)pa);
}

u64 current_vmcs(void)
{
    u64 pa = 0;
    return vmptrst(&pa) == VMX_OK ? pa : 0;
}

/* ---- VMX instructions under catch_fault() ---- */

struct insn {
    int (*fn)(u64);
    u64 arg;
    int status;
};

static void run_insn(void *p)
{
    struct insn *i = p;
    i->status = i->fn(i->arg);
}

/* Runs fn(arg) catching faults; returns the vector or -1, *status the result. */
static int try_insn(int (*fn)(u64), u64 arg, int *status)
{
    struct insn i = { fn, arg, -1 };
    int v = catch_fault(run_insn, &i, NULL);
    if (status)
        *status = i.status;
    return v;
}

static int op_vmxon(u64 pa) { return vmxon(pa); }
static int op_vmxoff(u64 unused) { (void)unused; return vmxoff(); }
static int op_vmclear(u64 pa) { return vmclear(pa); }
static int op_vmptrld(u64 pa) { return vmptrld(pa); }
static int op_vmptrst(u64 unused) { u64 pa; (void)unused; return vmptrst(&pa); }
static int op_vmread(u64 field) { u64 v = 0; return vmread(field, &v); }
static int op_vmwrite(u64 field) { return vmwrite(field, 0); }

static int op_vmlaunch(u64 unused)
{
    u8 cf, zf;
    (void)unused;
    __asm__ __volatile__("vmlaunch\n\t" VMX_FLAGS_OUT : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

static int op_vmresume(u64 unused)
{
    u8 cf, zf;
    (void)unused;
    __asm__ __volatile__("vmresume\n\t" VMX_FLAGS_OUT : [cf] "=qm"(cf), [zf] "=qm"(zf) :: "cc", "memory");
    return vmx_flags(cf, zf);
}

static int op_invept(u64 type)
{
    struct invept_desc d = { 0, 0 };
    return invept(type, &d);
}

static int op_invvpid(u64 type)
{
    struct invvpid_desc d = { 1, 0 };
    return invvpid(type, &d);
}

static inline void write_cr0(unsigned long v) { __asm__ __volatile__("mov %0, %%cr0" :: "r"(v) : "memory"); }

static void do_write_cr4(void *arg)
{
    unsigned long v = *(unsigned long *)arg;
    __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory");
}

/* ---- capability MSRs (SDM Appendix A) ---- */

static bool subset(u64 fixed0, u64 fixed1) { return (fixed0 & ~fixed1) == 0; }

static bool ctls_consistent(u64 cap) { return (vmx_ctl_required(cap) & ~vmx_ctl_allowed(cap)) == 0; }

void caps_tests(void)
{
    const struct vmx_caps *c = &vmx_caps;
    u64 fc = 0;
    int vec;

    vec = rdmsr_safe(IA32_FEATURE_CONTROL, &fc);
    report(vec < 0 && (fc & (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) ==
           (FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX),
           "IA32_FEATURE_CONTROL locked with VMX enabled outside SMX");
    report(((c->basic & VMX_BASIC_VMCS_SIZE_MASK) >> VMX_BASIC_VMCS_SIZE_SHIFT) == PAGE_4K,
           "VMX_BASIC VMCS region size is 4096");
    report(((c->basic & VMX_BASIC_MEM_TYPE_MASK) >> VMX_BASIC_MEM_TYPE_SHIFT) == VMX_MT_WB,
           "VMX_BASIC VMCS memory type is write-back");
    report(!(c->basic & VMX_BASIC_32BIT_PHYS_ADDR_ONLY), "VMX_BASIC bit 48 clear (64-bit addresses)");
    report(c->basic & VMX_BASIC_TRUE_CTLS, "VMX_BASIC bit 55 set (TRUE controls)");
    report(c->revision != 0 && !(c->basic & BIT(31)), "VMX_BASIC revision non-zero, bit 31 clear");
    report(subset(c->cr0_fixed0, c->cr0_fixed1), "CR0 FIXED0 is a subset of FIXED1");
    report(subset(c->cr4_fixed0, c->cr4_fixed1), "CR4 FIXED0 is a subset of FIXED1");
    report((c->cr0_fixed0 & (X86_CR0_PE | X86_CR0_NE | X86_CR0_PG)) == (X86_CR0_PE | X86_CR0_NE | X86_CR0_PG),
           "CR0 FIXED0 requires PE NE PG");
    report(c->cr4_fixed0 & X86_CR4_VMXE, "CR4 FIXED0 requires VMXE");
    report(((c->vmcs_enum & VMCS_ENUM_MAX_INDEX_MASK) >> VMCS_ENUM_MAX_INDEX_SHIFT) >= VMCS_ENUM_MIN_INDEX,
           "VMCS_ENUM max index >= 0x19");
    report(c->misc & VMX_MISC_ACTIVITY_HLT, "VMX_MISC reports the HLT activity state");
    report(ctls_consistent(c->pin) && ctls_consistent(c->proc) && ctls_consistent(c->exit) &&
           ctls_consistent(c->entry) && ctls_consistent(c->proc2),
           "control MSRs: every must-be-1 bit may be 1");
    if (c->basic & VMX_BASIC_TRUE_CTLS) {
        /* The TRUE MSRs may only relax the default1 bits (SDM A.2). */
        report((vmx_ctl_required(c->pin) & ~rdmsr(IA32_VMX_PINBASED_CTLS)) == 0 &&
               (vmx_ctl_required(c->proc) & ~rdmsr(IA32_VMX_PROCBASED_CTLS)) == 0 &&
               (vmx_ctl_required(c->exit) & ~rdmsr(IA32_VMX_EXIT_CTLS)) == 0 &&
               (vmx_ctl_required(c->entry) & ~rdmsr(IA32_VMX_ENTRY_CTLS)) == 0,
               "TRUE control MSRs require no more than the plain ones");
    }
    report(vmx_has_exit(VM_EXIT_HOST_ADDR_SPACE_SIZE) && vmx_has_entry(VM_ENTRY_IA32E_MODE),
           "exit control host address-space size and entry control IA-32e mode guest allowed");
    report(wrmsr_safe(IA32_VMX_BASIC, c->basic) == X86_GP, "WRMSR to IA32_VMX_BASIC raises #GP");
    report(wrmsr_safe(IA32_VMX_CR0_FIXED0, c->cr0_fixed0) == X86_GP, "WRMSR to IA32_VMX_CR0_FIXED0 raises #GP");
}

/* ---- before VMXON ---- */

void outside_vmx_tests(void)
{
    /* The caller has not set CR4.VMXE yet. */
    expect_vector(try_insn(op_vmxon, vmx_pa(outside_page), NULL), X86_UD, "VMXON with CR4.VMXE clear raises #UD");
}

static void outside_vmx_root_tests(void)
{
    /* CR4.VMXE = 1 now, but no VMXON: every other VMX instruction is #UD. */
    expect_vector(try_insn(op_vmxoff, 0, NULL), X86_UD, "VMXOFF outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmclear, vmx_pa(outside_page), NULL), X86_UD,
                  "VMCLEAR outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmptrld, vmx_pa(outside_page), NULL), X86_UD,
                  "VMPTRLD outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmptrst, 0, NULL), X86_UD, "VMPTRST outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmread, GUEST_RIP, NULL), X86_UD, "VMREAD outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmwrite, GUEST_RIP, NULL), X86_UD, "VMWRITE outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmlaunch, 0, NULL), X86_UD, "VMLAUNCH outside VMX operation raises #UD");
    expect_vector(try_insn(op_vmresume, 0, NULL), X86_UD, "VMRESUME outside VMX operation raises #UD");
    expect_vector(try_insn(op_invept, VMX_EPT_EXTENT_GLOBAL, NULL), X86_UD, "INVEPT outside VMX operation raises #UD");
    expect_vector(try_insn(op_invvpid, VMX_VPID_EXTENT_ALL_CONTEXT, NULL), X86_UD,
                  "INVVPID outside VMX operation raises #UD");
}

/* ---- VMXON / VMXOFF (SDM 31.3 VMXON) ---- */

void vmxon_tests(void)
{
    u64 region = vmx_vmxon_region();
    u32 *rev = (u32 *)(uintptr_t)region;
    unsigned long cr0 = read_cr0(), cr4 = read_cr4();
    int st = -1;

    outside_vmx_root_tests();

    write_cr0(cr0 & ~X86_CR0_NE);
    expect_vector(try_insn(op_vmxon, region, &st), X86_GP, "VMXON with CR0.NE clear raises #GP");
    write_cr0(cr0);

    *rev = vmx_caps.revision + 1;
    expect_fail_invalid(vmxon(region), "VMXON with a wrong revision: VMfailInvalid");
    *rev = vmx_caps.revision | (u32)SHADOW_VMCS_INDICATOR;
    expect_fail_invalid(vmxon(region), "VMXON with revision bit 31 set: VMfailInvalid");
    *rev = vmx_caps.revision;
    expect_fail_invalid(vmxon(region + 0x800), "VMXON of an address not 4 KiB aligned: VMfailInvalid");
    expect_fail_invalid(vmxon(1ull << vmx_caps.maxphyaddr),
                        "VMXON beyond the physical-address width: VMfailInvalid");
    /* Bare Bochs reads all ones there: a revision mismatch. */
    expect_fail_invalid(vmxon(ADDR_BEYOND_RAM), "VMXON of an address beyond RAM: VMfailInvalid");

    if (!expect_ok(vmx_on(), "VMXON succeeds"))
        return;
    report(current_vmcs() == ~0ull, "VMPTRST after VMXON returns all ones");
    expect_fail_invalid(vmxon(region), "VMXON in VMX root operation without a current VMCS: VMfailInvalid");
    load_clean_vmcs(scratch_vmcs());
    expect_fail_valid(vmxon(region), VMXERR_VMXON_IN_VMX_ROOT_OPERATION,
                      "VMXON in VMX root operation: VMfailValid 15");

    unsigned long no_vmxe = cr4 & ~X86_CR4_VMXE;
    report(catch_fault(do_write_cr4, &no_vmxe, NULL) == X86_GP && (read_cr4() & X86_CR4_VMXE),
           "clearing CR4.VMXE in VMX operation raises #GP");

    /* VMXOFF with a VMCS current, then VMXON: no current VMCS any more. */
    expect_ok(vmxoff(), "VMXOFF succeeds");
    expect_vector(try_insn(op_vmptrst, 0, NULL), X86_UD, "VMPTRST after VMXOFF raises #UD");
    expect_ok(vmx_on(), "VMXON after VMXOFF succeeds");
    report(current_vmcs() == ~0ull, "VMXON leaves no current VMCS");
    vmclear(scratch_vmcs());
}

/* ---- VMCLEAR (SDM 31.3 VMCLEAR) ---- */

static void vmclear_tests(void)
{
    u64 a = scratch_vmcs(), b = vmx_test_vmcs();

    expect_fail_invalid(vmclear(a + 8), "VMCLEAR of an unaligned address without a current VMCS: VMfailInvalid");
    load_clean_vmcs(a);
    expect_fail_valid(vmclear(a + 8), VMXERR_VMCLEAR_INVALID_ADDRESS, "VMCLEAR of an unaligned address: VMfailValid 2");
    expect_fail_valid(vmclear(1ull << vmx_caps.maxphyaddr), VMXERR_VMCLEAR_INVALID_ADDRESS,
                      "VMCLEAR beyond the physical-address width: VMfailValid 2");
    expect_fail_valid(vmclear(vmx_vmxon_region()), VMXERR_VMCLEAR_VMXON_POINTER,
                      "VMCLEAR of the VMXON pointer: VMfailValid 3");
    report(current_vmcs() == a, "failed VMCLEARs leave the current VMCS");
    vmx_init_vmcs_region((void *)(uintptr_t)b);
    expect_ok(vmclear(b), "VMCLEAR of another VMCS succeeds");
    report(current_vmcs() == a, "VMCLEAR of another VMCS leaves the current VMCS");
    expect_ok(vmclear(a), "VMCLEAR of the current VMCS succeeds");
    report(current_vmcs() == ~0ull, "VMCLEAR of the current VMCS leaves no current VMCS");
}

/* ---- VMPTRLD / VMPTRST (SDM 31.3) ---- */

static void vmptrld_tests(void)
{
    u64 a = scratch_vmcs(), b = vmx_test_vmcs();
    u32 *brev = (u32 *)(uintptr_t)b;

    vmx_init_vmcs_region((void *)(uintptr_t)b);
    vmclear(b);
    *brev = vmx_caps.revision + 1;
    expect_fail_invalid(vmptrld(b), "VMPTRLD of a wrong revision without a current VMCS: VMfailInvalid");
    report(current_vmcs() == ~0ull, "VMPTRST with no current VMCS returns all ones");

    load_clean_vmcs(a);
    expect_fail_valid(vmptrld(b), VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID,
                      "VMPTRLD of a wrong revision: VMfailValid 11");
    *brev = vmx_caps.revision | (u32)SHADOW_VMCS_INDICATOR;
    if (vmx_has_proc2(SECONDARY_EXEC_SHADOW_VMCS)) {
        expect_ok(vmptrld(b), "VMPTRLD of a shadow VMCS follows the VMCS-shadowing capability");
        vmclear(b);
        vmptrld(a);
    } else {
        expect_fail_valid(vmptrld(b), VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID,
                          "VMPTRLD of a shadow VMCS follows the VMCS-shadowing capability");
    }
    *brev = vmx_caps.revision;
    expect_fail_valid(vmptrld(b + 0x80), VMXERR_VMPTRLD_INVALID_ADDRESS,
                      "VMPTRLD of an unaligned address: VMfailValid 9");
    expect_fail_valid(vmptrld(1ull << vmx_caps.maxphyaddr), VMXERR_VMPTRLD_INVALID_ADDRESS,
                      "VMPTRLD beyond the physical-address width: VMfailValid 9");
    expect_fail_valid(vmptrld(vmx_vmxon_region()), VMXERR_VMPTRLD_VMXON_POINTER,
                      "VMPTRLD of the VMXON pointer: VMfailValid 10");
    /* Beyond RAM the revision reads as all ones on bare Bochs. */
    expect_fail_valid(vmptrld(ADDR_BEYOND_RAM), VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID,
                      "VMPTRLD of an address beyond RAM: VMfailValid 11");
    report(current_vmcs() == a, "failed VMPTRLDs leave the current VMCS");
    expect_ok(vmptrld(b), "VMPTRLD succeeds");
    report(current_vmcs() == b, "VMPTRST returns the current VMCS");
    vmclear(b);
    vmclear(a);
}

/* ---- VMREAD / VMWRITE (SDM 31.3, 25.11.2) ---- */

/* Which fields exist depends on the controls a processor supports (SDM Appendix B). */
static bool f_posted(void) { return vmx_has_pin(PIN_BASED_POSTED_INTR); }
static bool f_preempt(void) { return vmx_has_pin(PIN_BASED_VMX_PREEMPTION_TIMER); }
static bool f_tpr(void) { return vmx_has_proc(CPU_BASED_TPR_SHADOW); }
static bool f_apic(void) { return vmx_has_proc2(SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES); }
static bool f_ept(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_EPT); }
static bool f_vpid(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_VPID); }
static bool f_vid(void) { return vmx_has_proc2(SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY); }
static bool f_vmfunc(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_VMFUNC); }
static bool f_eptp_list(void) { return f_vmfunc() && (vmx_caps.vmfunc & VMX_VMFUNC_EPTP_SWITCHING); }
static bool f_shadow(void) { return vmx_has_proc2(SECONDARY_EXEC_SHADOW_VMCS); }
static bool f_encls(void) { return vmx_has_proc2(SECONDARY_EXEC_ENCLS_EXITING); }
static bool f_pml(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_PML); }
static bool f_xsaves(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_XSAVES); }
static bool f_tsc_scaling(void) { return vmx_has_proc2(SECONDARY_EXEC_TSC_SCALING); }
static bool f_pat(void) { return vmx_has_entry(VM_ENTRY_LOAD_IA32_PAT) || vmx_has_exit(VM_EXIT_SAVE_IA32_PAT); }
static bool f_host_pat(void) { return vmx_has_exit(VM_EXIT_LOAD_IA32_PAT); }
static bool f_efer(void) { return vmx_has_entry(VM_ENTRY_LOAD_IA32_EFER) || vmx_has_exit(VM_EXIT_SAVE_IA32_EFER); }
static bool f_host_efer(void) { return vmx_has_exit(VM_EXIT_LOAD_IA32_EFER); }
static bool f_perf(void) { return vmx_has_entry(VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL); }
static bool f_host_perf(void) { return vmx_has_exit(VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL); }
static bool f_bndcfgs(void) { return vmx_has_entry(VM_ENTRY_LOAD_BNDCFGS) || vmx_has_exit(VM_EXIT_CLEAR_BNDCFGS); }
static bool f_cet(void) { return vmx_has_entry(VM_ENTRY_LOAD_CET_STATE); }
static bool f_host_cet(void) { return vmx_has_exit(VM_EXIT_LOAD_CET_STATE); }

/*
 * The writable fields of the vmcs12 layout (nested/vmcs12-layout.tsv less
 * the read-only exit-information fields), each with the capability that
 * makes it exist (NULL: every VT-x processor has it). A field whose
 * capability is advertised must round-trip; one whose capability is absent
 * may be refused with error 12 (bare Bochs refuses them; a nested
 * hypervisor may accept them: both pass).
 */
struct field {
    u32 enc;
    bool (*exists)(void);
};

static const struct field rw_fields[] = {
    /* 16-bit */
    { VIRTUAL_PROCESSOR_ID, f_vpid }, { POSTED_INTR_NV, f_posted },
    { GUEST_ES_SELECTOR, NULL }, { GUEST_CS_SELECTOR, NULL }, { GUEST_SS_SELECTOR, NULL },
    { GUEST_DS_SELECTOR, NULL }, { GUEST_FS_SELECTOR, NULL }, { GUEST_GS_SELECTOR, NULL },
    { GUEST_LDTR_SELECTOR, NULL }, { GUEST_TR_SELECTOR, NULL }, { GUEST_INTR_STATUS, f_vid },
    { GUEST_PML_INDEX, f_pml },
    { HOST_ES_SELECTOR, NULL }, { HOST_CS_SELECTOR, NULL }, { HOST_SS_SELECTOR, NULL },
    { HOST_DS_SELECTOR, NULL }, { HOST_FS_SELECTOR, NULL }, { HOST_GS_SELECTOR, NULL },
    { HOST_TR_SELECTOR, NULL },
    /* 64-bit */
    { IO_BITMAP_A, NULL }, { IO_BITMAP_B, NULL }, { MSR_BITMAP, NULL },
    { VM_EXIT_MSR_STORE_ADDR, NULL }, { VM_EXIT_MSR_LOAD_ADDR, NULL }, { VM_ENTRY_MSR_LOAD_ADDR, NULL },
    { PML_ADDRESS, f_pml }, { TSC_OFFSET, NULL }, { VIRTUAL_APIC_PAGE_ADDR, f_tpr },
    { APIC_ACCESS_ADDR, f_apic }, { POSTED_INTR_DESC_ADDR, f_posted }, { VM_FUNCTION_CONTROL, f_vmfunc },
    { EPT_POINTER, f_ept }, { EOI_EXIT_BITMAP0, f_vid }, { EOI_EXIT_BITMAP1, f_vid },
    { EOI_EXIT_BITMAP2, f_vid }, { EOI_EXIT_BITMAP3, f_vid }, { EPTP_LIST_ADDRESS, f_eptp_list },
    { VMREAD_BITMAP, f_shadow }, { VMWRITE_BITMAP, f_shadow }, { XSS_EXIT_BITMAP, f_xsaves },
    { ENCLS_EXITING_BITMAP, f_encls }, { TSC_MULTIPLIER, f_tsc_scaling },
    { VMCS_LINK_POINTER, NULL }, { GUEST_IA32_DEBUGCTL, NULL }, { GUEST_IA32_PAT, f_pat },
    { GUEST_IA32_EFER, f_efer }, { GUEST_IA32_PERF_GLOBAL_CTRL, f_perf },
    { GUEST_PDPTR0, f_ept }, { GUEST_PDPTR1, f_ept }, { GUEST_PDPTR2, f_ept }, { GUEST_PDPTR3, f_ept },
    { GUEST_BNDCFGS, f_bndcfgs },
    { HOST_IA32_PAT, f_host_pat }, { HOST_IA32_EFER, f_host_efer }, { HOST_IA32_PERF_GLOBAL_CTRL, f_host_perf },
    /* 32-bit */
    { PIN_BASED_VM_EXEC_CONTROL, NULL }, { CPU_BASED_VM_EXEC_CONTROL, NULL }, { EXCEPTION_BITMAP, NULL },
    { PAGE_FAULT_ERROR_CODE_MASK, NULL }, { PAGE_FAULT_ERROR_CODE_MATCH, NULL }, { CR3_TARGET_COUNT, NULL },
    { VM_EXIT_CONTROLS, NULL }, { VM_EXIT_MSR_STORE_COUNT, NULL }, { VM_EXIT_MSR_LOAD_COUNT, NULL },
    { VM_ENTRY_CONTROLS, NULL }, { VM_ENTRY_MSR_LOAD_COUNT, NULL }, { VM_ENTRY_INTR_INFO_FIELD, NULL },
    { VM_ENTRY_EXCEPTION_ERROR_CODE, NULL }, { VM_ENTRY_INSTRUCTION_LEN, NULL }, { TPR_THRESHOLD, f_tpr },
    { SECONDARY_VM_EXEC_CONTROL, NULL },
    { GUEST_ES_LIMIT, NULL }, { GUEST_CS_LIMIT, NULL }, { GUEST_SS_LIMIT, NULL }, { GUEST_DS_LIMIT, NULL },
    { GUEST_FS_LIMIT, NULL }, { GUEST_GS_LIMIT, NULL }, { GUEST_LDTR_LIMIT, NULL }, { GUEST_TR_LIMIT, NULL },
    { GUEST_GDTR_LIMIT, NULL }, { GUEST_IDTR_LIMIT, NULL },
    { GUEST_ES_AR_BYTES, NULL }, { GUEST_CS_AR_BYTES, NULL }, { GUEST_SS_AR_BYTES, NULL },
    { GUEST_DS_AR_BYTES, NULL }, { GUEST_FS_AR_BYTES, NULL }, { GUEST_GS_AR_BYTES, NULL },
    { GUEST_LDTR_AR_BYTES, NULL }, { GUEST_TR_AR_BYTES, NULL },
    { GUEST_INTERRUPTIBILITY_INFO, NULL }, { GUEST_ACTIVITY_STATE, NULL }, { GUEST_SYSENTER_CS, NULL },
    { HOST_IA32_SYSENTER_CS, NULL }, { VMX_PREEMPTION_TIMER_VALUE, f_preempt },
    /* natural width */
    { CR0_GUEST_HOST_MASK, NULL }, { CR4_GUEST_HOST_MASK, NULL }, { CR0_READ_SHADOW, NULL },
    { CR4_READ_SHADOW, NULL },
    { GUEST_CR0, NULL }, { GUEST_CR3, NULL }, { GUEST_CR4, NULL }, { GUEST_ES_BASE, NULL },
    { GUEST_CS_BASE, NULL }, { GUEST_SS_BASE, NULL }, { GUEST_DS_BASE, NULL }, { GUEST_FS_BASE, NULL },
    { GUEST_GS_BASE, NULL }, { GUEST_LDTR_BASE, NULL }, { GUEST_TR_BASE, NULL }, { GUEST_GDTR_BASE, NULL },
    { GUEST_IDTR_BASE, NULL }, { GUEST_DR7, NULL }, { GUEST_RSP, NULL }, { GUEST_RIP, NULL },
    { GUEST_RFLAGS, NULL }, { GUEST_PENDING_DBG_EXCEPTIONS, NULL }, { GUEST_SYSENTER_ESP, NULL },
    { GUEST_SYSENTER_EIP, NULL }, { GUEST_S_CET, f_cet }, { GUEST_SSP, f_cet }, { GUEST_INTR_SSP_TABLE, f_cet },
    { HOST_CR0, NULL }, { HOST_CR3, NULL }, { HOST_CR4, NULL }, { HOST_FS_BASE, NULL }, { HOST_GS_BASE, NULL },
    { HOST_TR_BASE, NULL }, { HOST_GDTR_BASE, NULL }, { HOST_IDTR_BASE, NULL },
    { HOST_IA32_SYSENTER_ESP, NULL }, { HOST_IA32_SYSENTER_EIP, NULL }, { HOST_RSP, NULL }, { HOST_RIP, NULL },
    { HOST_S_CET, f_host_cet }, { HOST_SSP, f_host_cet }, { HOST_INTR_SSP_TABLE, f_host_cet },
};

static const char *const width_names[4] = { "16-bit", "64-bit", "32-bit", "natural-width" };
static const u64 width_masks[4] = { 0xffff, ~0ull, 0xffffffff, ~0ull };

/* A value with every byte different and depending on the field. */
static u64 pattern(u32 enc) { return 0x8c7b6a5948372615ull ^ ((u64)enc << 20) ^ enc; }

static void round_trip_width(unsigned width)
{
    unsigned tested = 0, bad = 0, absent = 0;
    char absent_list[160] = "";

    for (size_t i = 0; i < ARRAY_SIZE(rw_fields); i++) {
        const struct field *f = &rw_fields[i];
        u64 want = pattern(f->enc) & width_masks[width], got = 0;
        int wst, rst;

        if (VMCS_FIELD_WIDTH(f->enc) != width)
            continue;
        wst = vmwrite(f->enc, pattern(f->enc));
        if (wst == VMX_FAIL_VALID && vmx_instruction_error() == VMXERR_UNSUPPORTED_VMCS_COMPONENT &&
            f->exists && !f->exists()) {
            /* The field does not exist here. */
            size_t len = strlen(absent_list);
            if (len + 8 < sizeof(absent_list))
                snprintf(absent_list + len, sizeof(absent_list) - len, " %#06x", f->enc);
            absent++;
            continue;
        }
        rst = vmread(f->enc, &got);
        tested++;
        if (wst != VMX_OK || rst != VMX_OK || got != want) {
            bad++;
            printf("  field %#06x: vmwrite %d vmread %d error %u: read %#lx want %#lx\n", f->enc, wst, rst,
                   vmx_instruction_error(), (unsigned long)got, (unsigned long)want);
        }
    }
    if (absent)
        printf("vmx_suite: %s fields absent with their capability:%s\n", width_names[width], absent_list);
    report(bad == 0 && tested > 0, "VMWRITE/VMREAD round trip of every %s field", width_names[width]);
}

static void vmread_vmwrite_tests(void)
{
    u64 a = scratch_vmcs(), v = 0, m = 0;

    expect_fail_invalid(vmread(GUEST_RIP, &v), "VMREAD without a current VMCS: VMfailInvalid");
    expect_fail_invalid(vmwrite(GUEST_RIP, 0), "VMWRITE without a current VMCS: VMfailInvalid");
    load_clean_vmcs(a);

    expect_fail_valid(vmread(UNSUPPORTED_FIELD, &v), VMXERR_UNSUPPORTED_VMCS_COMPONENT,
                      "VMREAD of an unsupported field: VMfailValid 12");
    expect_fail_valid(vmwrite(UNSUPPORTED_FIELD, 0), VMXERR_UNSUPPORTED_VMCS_COMPONENT,
                      "VMWRITE of an unsupported field: VMfailValid 12");
    expect_fail_valid(vmread(GUEST_ES_SELECTOR | 1, &v), VMXERR_UNSUPPORTED_VMCS_COMPONENT,
                      "VMREAD of a high access to a 16-bit field: VMfailValid 12");
    expect_fail_valid(vmread(BIT(32) | GUEST_RIP, &v), VMXERR_UNSUPPORTED_VMCS_COMPONENT,
                      "VMREAD with encoding bits 63:32 set: VMfailValid 12");

    /* Read-only exit-information fields (SDM 25.11.1, IA32_VMX_MISC bit 29). */
    if (vmx_caps.misc & VMX_MISC_VMWRITE_SHADOW_RO_FIELDS) {
        int st = vmwrite(VM_EXIT_REASON, 0x1234);
        report(st == VMX_OK && vmread(VM_EXIT_REASON, &v) == VMX_OK && v == 0x1234,
               "VMWRITE to a read-only field follows IA32_VMX_MISC bit 29");
    } else {
        expect_fail_valid(vmwrite(VM_EXIT_REASON, 0x1234), VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT,
                          "VMWRITE to a read-only field follows IA32_VMX_MISC bit 29");
    }
    expect_ok(vmread(VM_EXIT_REASON, &v), "VMREAD of a read-only field succeeds");

    for (unsigned w = 0; w < 4; w++)
        round_trip_width(w);

    /* Operand forms (SDM Vol. 2: VMREAD r/m64, r64 and VMWRITE r64, r/m64). */
    m = 0x00007fff12345678ull;
    v = 0;
    report(vmwrite_mem(GUEST_RSP, &m) == VMX_OK && vmread(GUEST_RSP, &v) == VMX_OK && v == m,
           "VMWRITE from a memory operand");
    m = 0;
    report(vmread_mem(GUEST_RSP, &m) == VMX_OK && m == 0x00007fff12345678ull, "VMREAD to a memory operand");
    m = ~0ull;
    report(vmread_mem(GUEST_ES_SELECTOR, &m) == VMX_OK && m == (pattern(GUEST_ES_SELECTOR) & 0xffff),
           "VMREAD of a 16-bit field to memory writes 64 bits, zero-extended");

    /* The high half of a 64-bit field (access type 1, SDM 25.11.2). */
    vmwrite(TSC_OFFSET, 0x1122334455667788ull);
    v = 0;
    report(vmread(TSC_OFFSET_HIGH, &v) == VMX_OK && v == 0x11223344,
           "VMREAD of a 64-bit field's high encoding returns bits 63:32");
    vmwrite(TSC_OFFSET_HIGH, 0xffffffffaabbccddull);
    report(vmread(TSC_OFFSET, &v) == VMX_OK && v == 0xaabbccdd55667788ull,
           "VMWRITE of a high encoding changes only bits 63:32");
    /* Narrow fields take the low bits of the source operand. */
    vmwrite(EXCEPTION_BITMAP, 0xffffffff12345678ull);
    report(vmread(EXCEPTION_BITMAP, &v) == VMX_OK && v == 0x12345678,
           "VMWRITE of a 32-bit field ignores bits 63:32");
    vmwrite(GUEST_ES_SELECTOR, 0x12345678);
    report(vmread(GUEST_ES_SELECTOR, &v) == VMX_OK && v == 0x5678, "VMWRITE of a 16-bit field keeps bits 15:0");

    /* VMCLEAR writes the data back; VMPTRLD of the same VMCS sees it. */
    vmwrite(GUEST_RIP, 0xfeedf00d);
    vmclear(a);
    vmptrld(a);
    report(vmread(GUEST_RIP, &v) == VMX_OK && v == 0xfeedf00d, "VMCS data survives VMCLEAR and VMPTRLD");
    vmclear(a);
}

const struct vmx_test instr_tests[] = {
    { .name = "VMCLEAR", .l1 = vmclear_tests },
    { .name = "VMPTRLD", .l1 = vmptrld_tests },
    { .name = "VMREAD/VMWRITE", .l1 = vmread_vmwrite_tests },
};
const size_t n_instr_tests = ARRAY_SIZE(instr_tests);
