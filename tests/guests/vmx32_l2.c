/*
 * vmx32: a 32-bit L2 run by the 32-bit L1 (VMLAUNCH/VMRESUME through
 * vmx32_enter in vmx32_asm.asm). The VMCS of a 32-bit host and a 32-bit
 * guest on L1's page tables; VM-entry failures that are about a 32-bit
 * host (host address-space size, IA-32e-mode guest) and invalid guest
 * state; CPUID and VMCALL exits, registers both ways, the host state after
 * an exit; the same L2 on PAE paging, and a PDPTE with a reserved bit
 * (entry-failure exit, qualification 2, the VMCS left clear).
 */
#include <stddef.h>

#include "nested/vmcs12.h"
#include "vmx32.h"

/* Access rights of L2's segments (SDM 25.4.1). */
#define AR_CODE32               0xc09b  /* P, S, type 11 (code, accessed), D, G */
#define AR_DATA32               0xc093  /* P, S, type 3 (data RW, accessed), B, G */
#define AR_TSS32_BUSY           0x008b  /* P, type 11 (busy 32-bit TSS) */

/* vmx32_asm.asm's L2 program. */
#define L2_CODE_REGS            0x600d
#define L2_CODE_ECHO            0x600e
#define L2_EBX                  0x2badc0de
#define L2_EBP                  0x0ddba11
#define L2_ECX                  0x12345678
#define L1_CPUID_EAX            0x4c314c32
#define L1_CPUID_EDX            0x76543210
#define L1_ECHO_EBX             0x51515151

static u64 pae_pdpt[4] __attribute__((aligned(32)));           /* L2's PAE paging */
static u64 pae_pd[512] __attribute__((aligned(PAGE_4K)));
static u8 l2_stack[PAGE_4K] __attribute__((aligned(16)));
static unsigned setup_errors;

/* Checked accessors for the VMCS setup (not themselves under test). */
static void vmcs_w(u32 field, u32 val)
{
    if (vmwrite32(field, val) != VMX_OK) {
        printf("vmx32: VMWRITE %#x = %#x failed\n", field, val);
        setup_errors++;
    }
}

static u32 vmcs_r(u32 field)
{
    u32 v = 0;
    if (vmread32(field, &v) != VMX_OK) {
        printf("vmx32: VMREAD %#x failed\n", field);
        setup_errors++;
    }
    return v;
}

/* ---- the 32-bit L2 ---- */
static struct vmx32_gprs l2_regs;
static bool launched;

static u32 gdt_base(void)
{
    struct desc_ptr32 p;
    __asm__ __volatile__("sgdt %0" : "=m"(p));
    return p.base;
}

static void setup_vmcs(void)
{
    u32 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();

    /* Controls: only what the capability MSRs force. 32-bit host, 32-bit guest. */
    vmcs_w(PIN_BASED_VM_EXEC_CONTROL, ctl_adjust(caps.pin, 0));
    vmcs_w(CPU_BASED_VM_EXEC_CONTROL, ctl_adjust(caps.proc, 0));
    vmcs_w(VM_EXIT_CONTROLS, ctl_adjust(caps.exit, 0) & ~VM_EXIT_HOST_ADDR_SPACE_SIZE);
    vmcs_w(VM_ENTRY_CONTROLS, ctl_adjust(caps.entry, 0) & ~VM_ENTRY_IA32E_MODE);
    vmcs_w(EXCEPTION_BITMAP, 0);
    vmcs_w(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_w(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmcs_w(CR3_TARGET_COUNT, 0);
    vmcs_w(VM_EXIT_MSR_STORE_COUNT, 0);
    vmcs_w(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_w(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_w(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmcs_w(CR0_GUEST_HOST_MASK, 0);
    vmcs_w(CR4_GUEST_HOST_MASK, 0);
    vmcs_w(CR0_READ_SHADOW, cr0);
    vmcs_w(CR4_READ_SHADOW, cr4);
    vmcs_w(TSC_OFFSET, 0);
    vmcs_w(TSC_OFFSET_HIGH, 0);

    /* Host: this code, 32-bit. HOST_RSP/HOST_RIP: vmx32_enter. */
    vmcs_w(HOST_CR0, cr0);
    vmcs_w(HOST_CR3, cr3);
    vmcs_w(HOST_CR4, cr4);
    vmcs_w(HOST_CS_SELECTOR, SEL_CODE);
    vmcs_w(HOST_SS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_DS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_ES_SELECTOR, SEL_DATA);
    vmcs_w(HOST_FS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_GS_SELECTOR, SEL_DATA);
    vmcs_w(HOST_TR_SELECTOR, SEL_TSS);
    vmcs_w(HOST_FS_BASE, 0);
    vmcs_w(HOST_GS_BASE, 0);
    vmcs_w(HOST_TR_BASE, (u32)(uintptr_t)&vmx32_tss);
    vmcs_w(HOST_GDTR_BASE, gdt_base());
    vmcs_w(HOST_IDTR_BASE, (u32)(uintptr_t)vmx32_idt);
    vmcs_w(HOST_IA32_SYSENTER_CS, (u32)rdmsr(MSR_IA32_SYSENTER_CS));
    vmcs_w(HOST_IA32_SYSENTER_ESP, (u32)rdmsr(MSR_IA32_SYSENTER_ESP));
    vmcs_w(HOST_IA32_SYSENTER_EIP, (u32)rdmsr(MSR_IA32_SYSENTER_EIP));

    /* Guest: 32-bit protected mode on L1's page tables, GDT and TSS; no IDT
     * (an exception in L2 becomes a triple-fault exit). */
    vmcs_w(GUEST_CR0, cr0);
    vmcs_w(GUEST_CR3, cr3);
    vmcs_w(GUEST_CR4, cr4);
    vmcs_w(GUEST_DR7, 0x400);
    vmcs_w(GUEST_RSP, (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)));
    vmcs_w(GUEST_RIP, (u32)(uintptr_t)vmx32_l2_main);
    vmcs_w(GUEST_RFLAGS, 0x2);
    static const u32 data_fields[][4] = {
        { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
        { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
        { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
        { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
        { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
    };
    for (size_t i = 0; i < ARRAY_SIZE(data_fields); i++) {
        vmcs_w(data_fields[i][0], SEL_DATA);
        vmcs_w(data_fields[i][1], 0);
        vmcs_w(data_fields[i][2], 0xffffffff);
        vmcs_w(data_fields[i][3], AR_DATA32);
    }
    vmcs_w(GUEST_CS_SELECTOR, SEL_CODE);
    vmcs_w(GUEST_CS_BASE, 0);
    vmcs_w(GUEST_CS_LIMIT, 0xffffffff);
    vmcs_w(GUEST_CS_AR_BYTES, AR_CODE32);
    vmcs_w(GUEST_LDTR_SELECTOR, 0);
    vmcs_w(GUEST_LDTR_BASE, 0);
    vmcs_w(GUEST_LDTR_LIMIT, 0);
    vmcs_w(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
    vmcs_w(GUEST_TR_SELECTOR, SEL_TSS);
    vmcs_w(GUEST_TR_BASE, (u32)(uintptr_t)&vmx32_tss);
    vmcs_w(GUEST_TR_LIMIT, sizeof(vmx32_tss) - 1);
    vmcs_w(GUEST_TR_AR_BYTES, AR_TSS32_BUSY);
    vmcs_w(GUEST_GDTR_BASE, gdt_base());
    vmcs_w(GUEST_GDTR_LIMIT, sizeof(vmx32_gdt) - 1);
    vmcs_w(GUEST_IDTR_BASE, 0);
    vmcs_w(GUEST_IDTR_LIMIT, 0);
    vmcs_w(GUEST_IA32_DEBUGCTL, 0);
    vmcs_w(GUEST_IA32_DEBUGCTL_HIGH, 0);
    vmcs_w(GUEST_SYSENTER_CS, 0);
    vmcs_w(GUEST_SYSENTER_ESP, 0);
    vmcs_w(GUEST_SYSENTER_EIP, 0);
    vmcs_w(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs_w(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
    vmcs_w(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_w(VMCS_LINK_POINTER, 0xffffffff);
    vmcs_w(VMCS_LINK_POINTER_HIGH, 0xffffffff);
}

/* turtle's vmcs12 is Linux KVM's layout (nested/vmcs12.h pins it). */
#define VMCS12_HOST_FS_BASE     offsetof(struct vmcs12, host_fs_base)
#define CPUID_1_ECX_HYPERVISOR  BIT(31)
#define CPUID_HV_BASE           0x40000000
#define NONCANONICAL_HIGH       0x00008000u     /* bits 63:32 of 0x0000800000000000 */

static bool on_turtle32(void)
{
    if (!(cpuid(1).ecx & CPUID_1_ECX_HYPERVISOR))
        return false;
    struct cpuid_regs r = cpuid(CPUID_HV_BASE);
    u32 sig[3] = { r.ebx, r.ecx, r.edx };
    return memcmp(sig, "TurtleTurtle", 12) == 0;
}

/* VMLAUNCH/VMRESUME; returns the status, the exit reason in *reason. */
static int enter_l2(bool resume, u32 *reason)
{
    int st = vmx32_enter(&l2_regs, resume);
    *reason = st == VMX_OK ? vmcs_r(VM_EXIT_REASON) : 0xffffffff;
    return st;
}

static void skip_instruction(void)
{
    vmcs_w(GUEST_RIP, vmcs_r(GUEST_RIP) + vmcs_r(VM_EXIT_INSTRUCTION_LEN));
}

/* VM-entry failures that are about a 32-bit host. */
static void test_entry_failures(void)
{
    u32 reason;
    int st;

    st = enter_l2(true, &reason);
    check(failed_valid(st, VMXERR_VMRESUME_NONLAUNCHED_VMCS), "vmx32 VMRESUME of a clear VMCS: VMfailValid 5",
          "%s, error %u", status_name(st), instr_error());

    u32 exit_ctls = vmcs_r(VM_EXIT_CONTROLS);
    if (ctl_allows(caps.exit, VM_EXIT_HOST_ADDR_SPACE_SIZE)) {
        vmcs_w(VM_EXIT_CONTROLS, exit_ctls | VM_EXIT_HOST_ADDR_SPACE_SIZE);
        st = enter_l2(false, &reason);
        check(failed_valid(st, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
              "vmx32 VMLAUNCH with host address-space size 1 outside IA-32e mode: VMfailValid 8",
              "%s, error %u", status_name(st), instr_error());
        vmcs_w(VM_EXIT_CONTROLS, exit_ctls);
    }
    u32 entry_ctls = vmcs_r(VM_ENTRY_CONTROLS);
    if (ctl_allows(caps.entry, VM_ENTRY_IA32E_MODE)) {
        vmcs_w(VM_ENTRY_CONTROLS, entry_ctls | VM_ENTRY_IA32E_MODE);
        st = enter_l2(false, &reason);
        check(failed_valid(st, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
              "vmx32 VMLAUNCH of an IA-32e-mode guest outside IA-32e mode: VMfailValid 8", "%s, error %u",
              status_name(st), instr_error());
        vmcs_w(VM_ENTRY_CONTROLS, entry_ctls);
    }

    /* Invalid guest state (RFLAGS bit 1 clear): an entry-failure exit back to the 32-bit host. */
    vmcs_w(GUEST_RFLAGS, 0);
    st = enter_l2(false, &reason);
    u32 qual = st == VMX_OK ? vmcs_r(EXIT_QUALIFICATION) : 0xffffffff;
    check(st == VMX_OK && reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE) && qual == 0,
          "vmx32 VMLAUNCH with GUEST_RFLAGS bit 1 clear: entry-failure exit 33", "%s, reason %#x, qual %#x",
          status_name(st), reason, qual);
    vmcs_w(GUEST_RFLAGS, 0x2);
    /* An entry failure leaves the VMCS clear: VMLAUNCH still applies (SDM 27.8). */

    /* The host's FS/GS/GDTR/IDTR/TR bases must be canonical for a 32-bit
     * host too (SDM 27.2.3). VMWRITE outside IA-32e mode writes only bits
     * 31:0 of them, so only an L1 that writes the VMCS region's bytes gets
     * there: a test of turtle's vmcs12 (KVM's layout), turtle only. */
    if (on_turtle32()) {
        static u64 p;
        volatile u32 *high = (volatile u32 *)(uintptr_t)(vmcs_ptr + VMCS12_HOST_FS_BASE + 4);
        p = vmcs_ptr;
        vmclear_at(&p);
        *high = NONCANONICAL_HIGH;
        vmptrld_at(&p);
        st = enter_l2(false, &reason);
        check(failed_valid(st, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD),
              "turtle vmx32 VMLAUNCH with a non-canonical HOST_FS_BASE (a 32-bit host): VMfailValid 8",
              "%s, error %u", status_name(st), instr_error());
        vmclear_at(&p);
        *high = 0;
        vmptrld_at(&p);
    }
}

void test_l2(void)
{
    static u64 p;
    struct desc_ptr32 gdtr, idtr;
    u32 reason, len;
    int st;

    p = vmcs_ptr;
    st = vmclear_at(&p) | vmptrld_at(&p);
    if (!report(st == VMX_OK, "vmx32 VMCLEAR + VMPTRLD of the L2 VMCS"))
        return;
    setup_vmcs();
    test_entry_failures();
    if (setup_errors) {
        report(false, "vmx32 VMCS setup (%u VMREAD/VMWRITE failures)", setup_errors);
        return;
    }

    memset(&l2_regs, 0, sizeof(l2_regs));
    vmx32_l2_echo = 0;
    vmx32_l2_esp_seen = 0;
    unsigned long cr0 = read_cr0(), cr4 = read_cr4();
    st = enter_l2(false, &reason);
    launched = st == VMX_OK;
    check(st == VMX_OK && reason == EXIT_REASON_CPUID, "vmx32 VMLAUNCH of a 32-bit L2: CPUID exit",
          "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason);
    if (!launched || reason != EXIT_REASON_CPUID)
        return;

    /* Back in L1: 32-bit mode, the host state of the VMCS. */
    __asm__ __volatile__("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    u64 efer = rdmsr(MSR_IA32_EFER);
    check(read_cs() == SEL_CODE && read_cr0() == cr0 && read_cr4() == cr4 && !(efer & EFER_LMA) &&
          gdtr.base == gdt_base() && gdtr.limit == 0xffff && idtr.base == (u32)(uintptr_t)vmx32_idt &&
          idtr.limit == 0xffff,
          "vmx32 VM exit to a 32-bit host: CS, CR0, CR4, EFER.LMA, GDTR/IDTR (limits 0xffff)",
          "CS %#x, GDTR limit %#x, IDTR limit %#x, EFER %#x", read_cs(), gdtr.limit, idtr.limit, (u32)efer);
    load_gdt();
    load_idt();

    len = vmcs_r(VM_EXIT_INSTRUCTION_LEN);
    check(vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_cpuid && len == 2,
          "vmx32 CPUID exit: GUEST_RIP at the CPUID, instruction length 2", "%#x, %u", vmcs_r(GUEST_RIP), len);
    report(l2_regs.eax == 0 && l2_regs.ecx == 0, "vmx32 CPUID exit: L2's EAX/ECX (leaf 0) in the exit stub");
    l2_regs.eax = L1_CPUID_EAX;
    l2_regs.ebx = l2_regs.ecx = 0;
    l2_regs.edx = L1_CPUID_EDX;
    skip_instruction();

    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL, "vmx32 VMRESUME after CPUID: VMCALL exit", "%s, reason %#x",
          status_name(st), reason);
    if (st != VMX_OK || reason != EXIT_REASON_VMCALL)
        return;
    u32 rsp = vmcs_r(GUEST_RSP);
    len = vmcs_r(VM_EXIT_INSTRUCTION_LEN);
    check(vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_vmcall1 && len == 3 &&
          rsp == (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)),
          "vmx32 VMCALL exit: GUEST_RIP, instruction length 3, GUEST_RSP", "%#x, %u, %#x", vmcs_r(GUEST_RIP), len,
          rsp);
    check(l2_regs.eax == L2_CODE_REGS && l2_regs.ebx == L2_EBX && l2_regs.ecx == L2_ECX && l2_regs.ebp == L2_EBP &&
          l2_regs.edx == rsp,
          "vmx32 VMCALL exit: L2's EAX, EBX, ECX, EDX, EBP reach L1", "%#x %#x %#x %#x %#x", l2_regs.eax,
          l2_regs.ebx, l2_regs.ecx, l2_regs.edx, l2_regs.ebp);
    check(l2_regs.esi == L1_CPUID_EAX && l2_regs.edi == L1_CPUID_EDX, "vmx32 L1's CPUID answer reached L2",
          "ESI %#x, EDI %#x", l2_regs.esi, l2_regs.edi);
    l2_regs.ebx = L1_ECHO_EBX;
    skip_instruction();

    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_ECHO &&
          vmcs_r(GUEST_RIP) == (u32)(uintptr_t)vmx32_l2_vmcall2,
          "vmx32 VMRESUME after VMCALL: second VMCALL exit", "%s, reason %#x, EAX %#x", status_name(st), reason,
          l2_regs.eax);
    check(vmx32_l2_echo == L1_ECHO_EBX && vmx32_l2_esp_seen == (u32)(uintptr_t)(l2_stack + sizeof(l2_stack)),
          "vmx32 L1's EBX and GUEST_RSP reached L2", "%#x, ESP %#x", vmx32_l2_echo, vmx32_l2_esp_seen);

    st = enter_l2(false, &reason);
    check(failed_valid(st, VMXERR_VMLAUNCH_NONCLEAR_VMCS), "vmx32 VMLAUNCH of a launched VMCS: VMfailValid 4",
          "%s, error %u", status_name(st), instr_error());
}

/* VMCLEAR + VMPTRLD + the default VMCS with L2 on PAE paging. */
static bool setup_pae_vmcs(void)
{
    static u64 p;

    p = vmcs_ptr;
    if (vmclear_at(&p) != VMX_OK || vmptrld_at(&p) != VMX_OK)
        return false;
    setup_vmcs();
    vmcs_w(GUEST_CR3, (u32)(uintptr_t)pae_pdpt);
    vmcs_w(GUEST_CR4, read_cr4() | X86_CR4_PAE);
    memset(&l2_regs, 0, sizeof(l2_regs));
    vmx32_l2_echo = 0;
    return true;
}

/*
 * The same L2 program under PAE paging (CR4.PAE, no EPT): the PDPTEs come
 * from L2's CR3 at VM entry. Then a PDPTE with a reserved bit set: the
 * entry fails (exit reason 33, qualification 2: PDPTE loading, SDM 27.8)
 * and leaves the VMCS clear, so the next VMLAUNCH is still a launch.
 */
void test_l2_pae(void)
{
    u32 reason, qual;
    int st;

    for (u32 i = 0; i < 512; i++)
        pae_pd[i] = ((u64)i << 21) | 0x83;          /* P, R/W, PS: 2 MiB pages, 1 GiB */
    pae_pdpt[0] = (u32)(uintptr_t)pae_pd | 1;
    pae_pdpt[1] = pae_pdpt[2] = pae_pdpt[3] = 0;

    if (!report(setup_pae_vmcs(), "vmx32 VMCLEAR + VMPTRLD for a PAE L2"))
        return;
    st = enter_l2(false, &reason);
    if (!check(st == VMX_OK && reason == EXIT_REASON_CPUID, "vmx32 VMLAUNCH of a PAE L2: CPUID exit",
               "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason))
        return;
    l2_regs.eax = L1_CPUID_EAX;
    l2_regs.edx = L1_CPUID_EDX;
    skip_instruction();
    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_REGS && l2_regs.ebx == L2_EBX &&
          l2_regs.esi == L1_CPUID_EAX && l2_regs.edi == L1_CPUID_EDX,
          "vmx32 PAE L2: VMCALL exit with L2's registers", "%s, reason %#x, EAX %#x EBX %#x ESI %#x EDI %#x",
          status_name(st), reason, l2_regs.eax, l2_regs.ebx, l2_regs.esi, l2_regs.edi);
    if (st != VMX_OK || reason != EXIT_REASON_VMCALL)
        return;
    l2_regs.ebx = L1_ECHO_EBX;
    skip_instruction();
    st = enter_l2(true, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_VMCALL && l2_regs.eax == L2_CODE_ECHO &&
          vmx32_l2_echo == L1_ECHO_EBX, "vmx32 PAE L2: L1's EBX reached L2 and its store", "%s, reason %#x, %#x",
          status_name(st), reason, vmx32_l2_echo);

    pae_pdpt[3] = (u32)(uintptr_t)pae_pd | 1 | BIT(1);    /* bits 2:1 are reserved */
    if (!setup_pae_vmcs())
        return;
    st = enter_l2(false, &reason);
    qual = st == VMX_OK ? vmcs_r(EXIT_QUALIFICATION) : 0xffffffff;
    check(st == VMX_OK && reason == (VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE) && qual == 2,
          "vmx32 VMLAUNCH of a PAE L2 with a reserved PDPTE bit: entry-failure exit 33, qualification 2",
          "%s, reason %#x, qual %#x", status_name(st), reason, qual);
    pae_pdpt[3] = 0;
    st = enter_l2(false, &reason);
    check(st == VMX_OK && reason == EXIT_REASON_CPUID,
          "vmx32 VMLAUNCH after the PDPTE entry failure: the VMCS is still clear (CPUID exit)",
          "%s, error %u, reason %#x", status_name(st), st == VMX_FAIL_VALID ? instr_error() : 0, reason);
}
