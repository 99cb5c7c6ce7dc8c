/*
 * The test guests' L1 hypervisor (lib/vmx.h): capabilities, entering VMX
 * operation, the default VMCS for a 64-bit L2 on L1's address space, and
 * the table runner. The entry/exit path itself is lib/vmx_stub.asm.
 */
#include "lib/vmx.h"

#define CPUID_1_ECX_VMX         BIT(5)
#define CPUID_EXT_MAX           0x80000000
#define CPUID_EXT_ADDR_SIZE     0x80000008
#define X86_CR4_VMXE            BIT(13)
#define VMX_MAX_EXITS_PER_TEST  1000

#define SEL_CODE64              0x08    /* lib/desc.c GDT */
#define SEL_DATA                0x10
#define SEL_TSS                 0x18
#define GUEST_RFLAGS_FIXED      0x2     /* bit 1 is always 1 */
#define DR7_INIT                0x400
#define IDT_GATE_INT64          0x8e

#define POOL_PAGES              56
#define L2_STACK_SIZE           16384
#define L2_IDT_VECTORS          256

struct vmx_caps vmx_caps;
u8 *vmx_io_bitmap_a, *vmx_io_bitmap_b, *vmx_msr_bitmap;

static u8 pool[POOL_PAGES][PAGE_4K] __attribute__((aligned(PAGE_4K)));
static unsigned pool_used;
static void *vmxon_page, *test_vmcs_page;
static bool test_vmcs_launched;
static unsigned access_errors;
static struct vmx_gprs l2_gprs;
static u8 l2_stack[L2_STACK_SIZE] __attribute__((aligned(16)));

struct desc_ptr {
    u16 limit;
    u64 base;
} __packed;

struct idt_gate {
    u16 offset_low, selector;
    u8 ist, type_attr;
    u16 offset_mid;
    u32 offset_high, reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");
_Static_assert(sizeof(struct vmx_gprs) == 15 * 8, "lib/vmx_stub.asm G_* offsets");
_Static_assert(__builtin_offsetof(struct l2_event, fixup_rip) == 40, "lib/vmx_stub.asm EV_* offsets");

static struct idt_gate l2_idt[L2_IDT_VECTORS] __attribute__((aligned(16)));
extern const u64 l2_isr_table[L2_IDT_VECTORS];         /* lib/vmx_stub.asm */
extern char vmx_l2_return[];

/* ---- checked VMCS access ---- */

u32 vmx_instruction_error(void)
{
    u64 v = 0;
    return vmread(VM_INSTRUCTION_ERROR, &v) == VMX_OK ? (u32)v : VMX_FIELD_NONE;
}

u64 vmcs_read(u32 field)
{
    u64 v = 0;
    int st = vmread(field, &v);
    if (st != VMX_OK) {
        access_errors++;
        printf("vmx: vmread(%#x) failed: status %d error %u\n", field, st,
               st == VMX_FAIL_VALID ? vmx_instruction_error() : 0);
    }
    return v;
}

void vmcs_write(u32 field, u64 val)
{
    int st = vmwrite(field, val);
    if (st != VMX_OK) {
        access_errors++;
        printf("vmx: vmwrite(%#x, %#lx) failed: status %d error %u\n", field, (unsigned long)val, st,
               st == VMX_FAIL_VALID ? vmx_instruction_error() : 0);
    }
}

void vmcs_set_bits(u32 field, u64 bits) { vmcs_write(field, vmcs_read(field) | bits); }
void vmcs_clear_bits(u32 field, u64 bits) { vmcs_write(field, vmcs_read(field) & ~bits); }

void vmcs_set_proc2(u32 bits)
{
    vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
    vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, bits);
}

void vmx_report_access_errors(const char *test)
{
    if (access_errors)
        report(false, "%s: %u VMCS accesses failed", test, access_errors);
    access_errors = 0;
}

/* ---- capabilities ---- */

void vmx_read_caps(void)
{
    struct vmx_caps *c = &vmx_caps;
    bool true_ctls;

    c->basic = rdmsr(IA32_VMX_BASIC);
    c->revision = (u32)(c->basic & VMX_BASIC_REVISION_MASK);
    true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
    c->pin = rdmsr(true_ctls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS);
    c->proc = rdmsr(true_ctls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS);
    c->exit = rdmsr(true_ctls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS);
    c->entry = rdmsr(true_ctls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS);
    c->misc = rdmsr(IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(IA32_VMX_CR4_FIXED1);
    c->vmcs_enum = rdmsr(IA32_VMX_VMCS_ENUM);
    /* The secondary-control MSR exists only with "activate secondary controls" (SDM A.3.3). */
    c->proc2 = vmx_ctl_allows(c->proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ?
               rdmsr(IA32_VMX_PROCBASED_CTLS2) : 0;
    /* EPT/VPID capabilities exist with either control (SDM A.10). */
    c->ept_vpid = (u32)(c->proc2 >> 32) & (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID) ?
                  rdmsr(IA32_VMX_EPT_VPID_CAP) : 0;
    c->vmfunc = (u32)(c->proc2 >> 32) & SECONDARY_EXEC_ENABLE_VMFUNC ? rdmsr(IA32_VMX_VMFUNC) : 0;
    c->maxphyaddr = 36;
    if (cpuid(CPUID_EXT_MAX).eax >= CPUID_EXT_ADDR_SIZE)
        c->maxphyaddr = cpuid(CPUID_EXT_ADDR_SIZE).eax & 0xff;
}

bool vmx_ctl_allows(u64 cap_msr, u32 bits) { return (vmx_ctl_allowed(cap_msr) & bits) == bits; }
bool vmx_has_pin(u32 bits) { return vmx_ctl_allows(vmx_caps.pin, bits); }
bool vmx_has_proc(u32 bits) { return vmx_ctl_allows(vmx_caps.proc, bits); }
bool vmx_has_exit(u32 bits) { return vmx_ctl_allows(vmx_caps.exit, bits); }
bool vmx_has_entry(u32 bits) { return vmx_ctl_allows(vmx_caps.entry, bits); }

bool vmx_has_proc2(u32 bits)
{
    return vmx_has_proc(CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) && vmx_ctl_allows(vmx_caps.proc2, bits);
}

bool vmx_has_ept(void)
{
    u64 need = VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_WB_BIT | VMX_EPT_2MB_PAGE_BIT;
    return vmx_has_proc2(SECONDARY_EXEC_ENABLE_EPT) && (vmx_caps.ept_vpid & need) == need;
}

bool vmx_has_vpid(void) { return vmx_has_proc2(SECONDARY_EXEC_ENABLE_VPID); }

/* ---- entering VMX operation ---- */

static inline void write_cr0(unsigned long v) { __asm__ __volatile__("mov %0, %%cr0" :: "r"(v) : "memory"); }
static inline void write_cr4(unsigned long v) { __asm__ __volatile__("mov %0, %%cr4" :: "r"(v) : "memory"); }

bool vmx_enable(void)
{
    u64 fc;

    if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
        printf("vmx: CPUID.1:ECX.VMX is clear: no VT-x here\n");
        return false;
    }
    if (rdmsr_safe(IA32_FEATURE_CONTROL, &fc) >= 0) {
        printf("vmx: IA32_FEATURE_CONTROL is not readable\n");
        return false;
    }
    if (!(fc & FEAT_CTL_LOCKED)) {
        fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
        if (wrmsr_safe(IA32_FEATURE_CONTROL, fc) >= 0) {
            printf("vmx: cannot lock IA32_FEATURE_CONTROL\n");
            return false;
        }
    }
    if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
        printf("vmx: IA32_FEATURE_CONTROL is locked with VMX disabled (%#lx)\n", (unsigned long)fc);
        return false;
    }
    vmx_read_caps();
    write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
    write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | X86_CR4_VMXE) & vmx_caps.cr4_fixed1);
    if (!vmxon_page) {
        vmxon_page = vmx_alloc_page();
        test_vmcs_page = vmx_alloc_page();
        vmx_io_bitmap_a = vmx_alloc_page();
        vmx_io_bitmap_b = vmx_alloc_page();
        vmx_msr_bitmap = vmx_alloc_page();
    }
    vmx_init_vmcs_region(vmxon_page);
    return true;
}

void *vmx_alloc_page(void)
{
    if (pool_used >= POOL_PAGES) {
        printf("vmx: page pool exhausted\n");
        return NULL;
    }
    memset(pool[pool_used], 0, PAGE_4K);
    return pool[pool_used++];
}

void vmx_init_vmcs_region(void *page)
{
    memset(page, 0, PAGE_4K);
    *(u32 *)page = vmx_caps.revision;
}

u64 vmx_vmxon_region(void) { return vmx_pa(vmxon_page); }

int vmx_on(void)
{
    vmx_init_vmcs_region(vmxon_page);
    return vmxon(vmx_pa(vmxon_page));
}

/* ---- the default VMCS ---- */

static u32 adjust(u64 cap, u32 want) { return (want | vmx_ctl_required(cap)) & vmx_ctl_allowed(cap); }

u32 vmx_default_pin(void) { return adjust(vmx_caps.pin, 0); }

u32 vmx_default_proc(void)
{
    /* MSR bitmaps (all zero): L2's RDMSR/WRMSR do not exit unless a test asks. */
    return adjust(vmx_caps.proc, CPU_BASED_USE_MSR_BITMAPS);
}

u32 vmx_default_exit(void)
{
    return adjust(vmx_caps.exit, VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER);
}

u32 vmx_default_entry(void)
{
    return adjust(vmx_caps.entry, VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER);
}

static u64 gdt_desc_base(u64 gdt_base, u16 sel)
{
    const u64 *d = (const u64 *)(uintptr_t)(gdt_base + (sel & ~7u));
    u64 base = ((d[0] >> 16) & 0xffffff) | ((d[0] >> 56) & 0xff) << 24;
    if (!(d[0] & BIT(44)))                      /* system descriptor: 16 bytes */
        base |= d[1] << 32;
    return base;
}

static void build_l2_idt(void)
{
    for (int v = 0; v < L2_IDT_VECTORS; v++) {
        u64 a = l2_isr_table[v];
        l2_idt[v] = (struct idt_gate){
            .offset_low = (u16)a, .selector = SEL_CODE64, .type_attr = IDT_GATE_INT64,
            .offset_mid = (u16)(a >> 16), .offset_high = (u32)(a >> 32),
        };
    }
}

void l2_event_reset(void)
{
    l2_event.count = 0;
    l2_event.vector = l2_event.error = l2_event.rip = l2_event.cr2 = ~0ull;
    l2_event.fixup_rip = 0;
}

static void write_host_state(void)
{
    struct desc_ptr gdtr, idtr;
    u16 tr;

    __asm__ __volatile__("sgdt %0; sidt %1; str %2" : "=m"(gdtr), "=m"(idtr), "=r"(tr));
    vmcs_write(HOST_CR0, read_cr0());
    vmcs_write(HOST_CR3, read_cr3());
    vmcs_write(HOST_CR4, read_cr4());
    vmcs_write(HOST_ES_SELECTOR, SEL_DATA);
    vmcs_write(HOST_CS_SELECTOR, read_cs());
    vmcs_write(HOST_SS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_DS_SELECTOR, SEL_DATA);
    vmcs_write(HOST_FS_SELECTOR, 0);
    vmcs_write(HOST_GS_SELECTOR, 0);
    vmcs_write(HOST_TR_SELECTOR, tr);
    vmcs_write(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmcs_write(HOST_TR_BASE, gdt_desc_base(gdtr.base, tr));
    vmcs_write(HOST_GDTR_BASE, gdtr.base);
    vmcs_write(HOST_IDTR_BASE, idtr.base);
    vmcs_write(HOST_IA32_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
    vmcs_write(HOST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
    vmcs_write(HOST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
    if (vmx_default_exit() & VM_EXIT_LOAD_IA32_EFER)
        vmcs_write(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
    /* HOST_RSP and HOST_RIP: vmx_enter() writes them before every entry. */
}

static void write_guest_state(void (*guest)(void))
{
    struct desc_ptr gdtr;
    u64 *sp = (u64 *)(uintptr_t)(l2_stack + sizeof(l2_stack));

    __asm__ __volatile__("sgdt %0" : "=m"(gdtr));
    *--sp = (u64)(uintptr_t)vmx_l2_return;      /* the L2 function returns into it */

    vmcs_write(GUEST_CR0, read_cr0());
    vmcs_write(GUEST_CR3, read_cr3());
    vmcs_write(GUEST_CR4, read_cr4());
    vmcs_write(GUEST_DR7, DR7_INIT);
    vmcs_write(GUEST_RSP, (u64)(uintptr_t)sp);
    vmcs_write(GUEST_RIP, (u64)(uintptr_t)guest);
    vmcs_write(GUEST_RFLAGS, GUEST_RFLAGS_FIXED);

    static const u32 data_sel[] = { GUEST_ES_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR };
    static const u32 data_base[] = { GUEST_ES_BASE, GUEST_SS_BASE, GUEST_DS_BASE };
    static const u32 data_limit[] = { GUEST_ES_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT };
    static const u32 data_ar[] = { GUEST_ES_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES };
    for (size_t i = 0; i < ARRAY_SIZE(data_sel); i++) {
        vmcs_write(data_sel[i], SEL_DATA);
        vmcs_write(data_base[i], 0);
        vmcs_write(data_limit[i], 0xffffffff);
        vmcs_write(data_ar[i], AR_DATA);
    }
    vmcs_write(GUEST_CS_SELECTOR, SEL_CODE64);
    vmcs_write(GUEST_CS_BASE, 0);
    vmcs_write(GUEST_CS_LIMIT, 0xffffffff);
    vmcs_write(GUEST_CS_AR_BYTES, AR_CODE64);
    /* FS, GS (null in L1) and LDTR: unusable. */
    static const u32 null_sel[] = { GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR };
    static const u32 null_base[] = { GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE };
    static const u32 null_limit[] = { GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT };
    static const u32 null_ar[] = { GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES };
    for (size_t i = 0; i < ARRAY_SIZE(null_sel); i++) {
        vmcs_write(null_sel[i], 0);
        vmcs_write(null_base[i], 0);
        vmcs_write(null_limit[i], 0);
        vmcs_write(null_ar[i], AR_UNUSABLE);
    }
    vmcs_write(GUEST_TR_SELECTOR, SEL_TSS);
    vmcs_write(GUEST_TR_BASE, gdt_desc_base(gdtr.base, SEL_TSS));
    vmcs_write(GUEST_TR_LIMIT, 0x67);
    vmcs_write(GUEST_TR_AR_BYTES, AR_TSS_BUSY);
    vmcs_write(GUEST_GDTR_BASE, gdtr.base);
    vmcs_write(GUEST_GDTR_LIMIT, gdtr.limit);
    vmcs_write(GUEST_IDTR_BASE, (u64)(uintptr_t)l2_idt);
    vmcs_write(GUEST_IDTR_LIMIT, sizeof(l2_idt) - 1);

    vmcs_write(GUEST_IA32_DEBUGCTL, 0);
    vmcs_write(GUEST_SYSENTER_CS, 0);
    vmcs_write(GUEST_SYSENTER_ESP, 0);
    vmcs_write(GUEST_SYSENTER_EIP, 0);
    if (vmx_default_entry() & VM_ENTRY_LOAD_IA32_EFER)
        vmcs_write(GUEST_IA32_EFER, rdmsr(MSR_IA32_EFER));
    vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
    vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmcs_write(VMCS_LINK_POINTER, ~0ull);
}

static void write_controls(void)
{
    vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_default_pin());
    vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx_default_proc());
    if (vmx_has_proc(CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
        vmcs_write(SECONDARY_VM_EXEC_CONTROL, 0);
    vmcs_write(EXCEPTION_BITMAP, 0);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmcs_write(CR3_TARGET_COUNT, 0);
    vmcs_write(CR0_GUEST_HOST_MASK, 0);
    vmcs_write(CR4_GUEST_HOST_MASK, 0);
    vmcs_write(CR0_READ_SHADOW, read_cr0());
    vmcs_write(CR4_READ_SHADOW, read_cr4());
    vmcs_write(IO_BITMAP_A, vmx_pa(vmx_io_bitmap_a));
    vmcs_write(IO_BITMAP_B, vmx_pa(vmx_io_bitmap_b));
    vmcs_write(MSR_BITMAP, vmx_pa(vmx_msr_bitmap));
    vmcs_write(TSC_OFFSET, 0);
    vmcs_write(VM_EXIT_CONTROLS, vmx_default_exit());
    vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
    vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write(VM_ENTRY_CONTROLS, vmx_default_entry());
    vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
    vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
    vmcs_write(VM_ENTRY_INSTRUCTION_LEN, 0);
}

u64 vmx_test_vmcs(void) { return vmx_pa(test_vmcs_page); }

static bool current_is_test_vmcs(void)
{
    u64 cur = 0;
    return vmptrst(&cur) == VMX_OK && cur == vmx_test_vmcs();
}

void vmx_vmcs_setup(void (*guest)(void))
{
    vmx_vmcs_setup_page(test_vmcs_page, guest);
    test_vmcs_launched = false;
}

void vmx_vmcs_setup_page(void *page, void (*guest)(void))
{
    static bool idt_built;

    if (!idt_built) {
        build_l2_idt();
        idt_built = true;
    }
    memset(vmx_io_bitmap_a, 0, PAGE_4K);
    memset(vmx_io_bitmap_b, 0, PAGE_4K);
    memset(vmx_msr_bitmap, 0, PAGE_4K);
    memset(&l2_gprs, 0, sizeof(l2_gprs));
    l2_event_reset();
    vmx_init_vmcs_region(page);
    if (vmclear(vmx_pa(page)) != VMX_OK || vmptrld(vmx_pa(page)) != VMX_OK) {
        access_errors++;
        printf("vmx: VMCLEAR/VMPTRLD of the test VMCS failed\n");
    }
    write_controls();
    write_host_state();
    write_guest_state(guest);
}

void vmx_vmcs_teardown(void)
{
    if (vmclear(vmx_test_vmcs()) != VMX_OK) {
        access_errors++;
        printf("vmx: VMCLEAR of the test VMCS failed\n");
    }
    test_vmcs_launched = false;
}

int vmx_run_l2(struct vmx_exit *e)
{
    return vmx_run_l2_mode(e, test_vmcs_launched ? VMX_ENTER_RESUME : VMX_ENTER_LAUNCH);
}

int vmx_run_l2_mode(struct vmx_exit *e, enum vmx_enter_mode mode)
{
    int count = e->count;

    memset(e, 0, sizeof(*e));
    e->count = count;
    e->regs = &l2_gprs;
    e->status = vmx_enter(&l2_gprs, mode);
    if (e->status != VMX_OK) {
        if (e->status == VMX_FAIL_VALID)
            e->error = vmx_instruction_error();
        return e->status;
    }
    e->reason = (u32)vmcs_read(VM_EXIT_REASON);
    /* VMLAUNCH marks the VMCS launched only when VM entry succeeds (SDM 27.8). */
    if (!(e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY) && current_is_test_vmcs())
        test_vmcs_launched = true;
    e->qual = vmcs_read(EXIT_QUALIFICATION);
    e->intr_info = (u32)vmcs_read(VM_EXIT_INTR_INFO);
    e->intr_error = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
    e->instr_len = (u32)vmcs_read(VM_EXIT_INSTRUCTION_LEN);
    e->instr_info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
    e->guest_rip = vmcs_read(GUEST_RIP);
    e->guest_rsp = vmcs_read(GUEST_RSP);
    e->guest_rflags = vmcs_read(GUEST_RFLAGS);
    return VMX_OK;
}

void vmx_skip_instruction(struct vmx_exit *e)
{
    e->guest_rip += e->instr_len;
    vmcs_write(GUEST_RIP, e->guest_rip);
}

bool vmx_is_l2_done(const struct vmx_exit *e)
{
    return e->status == VMX_OK && e->reason == EXIT_REASON_VMCALL && e->regs->rax == VMX_L2_DONE;
}

void vmx_report_unexpected(const char *test, const struct vmx_exit *e)
{
    if (e->status != VMX_OK)
        report(false, "%s: VM entry failed: status %d error %u", test, e->status, e->error);
    else
        report(false, "%s: unexpected exit %#x qualification %#lx rip %#lx rax %#lx intr %#x",
               test, e->reason, (unsigned long)e->qual, (unsigned long)e->guest_rip,
               (unsigned long)e->regs->rax, e->intr_info);
}

static void run_one(const struct vmx_test *t)
{
    u64 cur = 0;

    if (t->supported && !t->supported()) {
        printf("SKIP: %s (not supported by the capability MSRs)\n", t->name);
        return;
    }
    if (t->l1) {
        t->l1();
    } else {
        struct vmx_exit e = { 0 };
        vmx_vmcs_setup(t->guest);
        if (t->init)
            t->init();
        for (e.count = 0;; e.count++) {
            if (e.count == VMX_MAX_EXITS_PER_TEST) {
                report(false, "%s: more than %d exits", t->name, VMX_MAX_EXITS_PER_TEST);
                break;
            }
            vmx_run_l2(&e);
            if (t->exit_handler(&e) == VMX_STOP)
                break;
        }
        vmx_vmcs_teardown();
    }
    /* Every test leaves no current VMCS behind. */
    if (vmptrst(&cur) == VMX_OK && cur != ~0ull) {
        printf("vmx: %s left VMCS %#lx current; clearing it\n", t->name, (unsigned long)cur);
        vmclear(cur);
    }
    vmx_report_access_errors(t->name);
}

void vmx_run_tests(const struct vmx_test *tests, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_one(&tests[i]);
}

void vmx_test_main(const char *name, const struct vmx_test *tests, size_t n)
{
    if (!report(cpuid(1).ecx & BIT(5), "CPUID.1:ECX.VMX is set"))
        guest_exit(report_summary() ? 1 : 0);
    vmx_read_caps();
    if (!vmx_enable() || vmx_on() != VMX_OK) {
        report(false, "VMX can be enabled and VMXON succeeds");
        guest_exit(report_summary() ? 1 : 0);
    }
    vmx_run_tests(tests, n);
    vmx_report_access_errors(name);
    report(vmxoff() == VMX_OK, "VMXOFF");
    guest_exit(report_summary() ? 1 : 0);
}
