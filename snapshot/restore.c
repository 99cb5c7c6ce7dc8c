/*
 * Restoring a snapshot (docs/snapshot.md, "Restoring a snapshot"): every
 * check first, in this order, each refusal naming it —
 *   1. the file (snapshot/parse.c: magic, version, sizes, truncation,
 *      checksum, section table, known sections and their sizes);
 *   2. the machine this turtle can build: RAM size, vCPU count;
 *   3. the VMX capabilities L1 was shown, against those this turtle shows
 *      (KVM's vmx_set_vmx_msr rules: only narrower), naming the MSR;
 *   4. the nested state, with KVM_SET_NESTED_STATE's checks
 *      (snapshot/nested_check.c), the vCPU's values as KVM's KVM_SET_*
 *      ioctls judge them (snapshot/vcpu_check.c), and turtle's own: vmxon_pa and vmcs12_pa
 *      inside RAM; in guest mode the SDM's VM-entry checks on vmcs12
 *      (nested/state.c, as the VM is built);
 *   5. the CPUID L1 saw, against what this turtle shows it: a feature it
 *      cannot offer is refused naming the leaf and register;
 * then the VM is built (RAM, vCPU and vmcs01, devices, nested state) and
 * its state loaded. A refused snapshot leaves nothing allocated.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "nested/nested.h"
#include "nested/state.h"
#include "snapshot/nested_check.h"
#include "snapshot/parse.h"
#include "snapshot/snapshot.h"
#include "snapshot/vcpu_check.h"
#include "snapshot/take_int.h"
#include "vmx/exit.h"
#include "vmx/loader.h"
#include "vmx/xsave.h"

static char why[160];

static const char *refuse(const char *fmt, ...) __printf(1, 2);
static const char *refuse(const char *fmt, ...)
{
    va_list ap;
    int n = ksnprintf(why, sizeof(why), "snapshot: ");

    va_start(ap, fmt);
    kvsnprintf(why + n, sizeof(why) - n, fmt, ap);
    va_end(ap);
    return why;
}

static void host_caps(struct nested_check_caps *h, const struct nested_check_caps *want)
{
    u64 v = 0;

    *h = *want;                         /* CPUID-derived fields: the snapshot's */
#define CAP(field, msr) (nested_vmx_msr_read(NULL, msr, &v) ? (h->field = v) : (h->field = 0))
    CAP(basic, IA32_VMX_BASIC);
    CAP(pinbased, IA32_VMX_TRUE_PINBASED_CTLS);
    CAP(procbased, IA32_VMX_TRUE_PROCBASED_CTLS);
    CAP(exit, IA32_VMX_TRUE_EXIT_CTLS);
    CAP(entry, IA32_VMX_TRUE_ENTRY_CTLS);
    CAP(misc, IA32_VMX_MISC);
    CAP(cr0_fixed0, IA32_VMX_CR0_FIXED0);
    CAP(cr0_fixed1, IA32_VMX_CR0_FIXED1);
    CAP(cr4_fixed0, IA32_VMX_CR4_FIXED0);
    CAP(cr4_fixed1, IA32_VMX_CR4_FIXED1);
    CAP(procbased2, IA32_VMX_PROCBASED_CTLS2);
    CAP(ept_vpid_cap, IA32_VMX_EPT_VPID_CAP);
    CAP(vmfunc, IA32_VMX_VMFUNC);
#undef CAP
}

/* A restored L1 reads exactly the capability MSRs its snapshot recorded
 * (KVM: the VMM restores them with KVM_SET_MSRS), and turtle's checks of
 * what it may use read them too. check_machine() has held the TRUE
 * controls, BASIC, MISC, FIXED0, EPT/VPID and VMFUNC to KVM's rules; the
 * rest must narrow turtle's as well. An MSR the snapshot does not record
 * reads as #GP, as it did; the TRUE controls without BASIC[55] are the
 * plain ones (SDM A.2). */
static const char *load_vmx_caps(struct vcpu *vcpu, const struct tsnap_view *v)
{
    const struct nested_caps *host = &nested_max_caps;
    struct nested_caps c = { 0 };

    for (u32 i = 0; i < v->vmx_caps->nmsrs; i++) {
        const struct tsnap_kvm_msr_entry *e = &v->vmx_cap_entries[i];
        u32 k = e->index - IA32_VMX_BASIC;      /* parse.c: 0x480-0x491, each once */
        c.msr[k] = e->data;
        c.readable |= BIT(k);
    }
    static const u32 plain[] = { IA32_VMX_PINBASED_CTLS, IA32_VMX_PROCBASED_CTLS,
                                 IA32_VMX_EXIT_CTLS, IA32_VMX_ENTRY_CTLS };
    for (u32 i = 0; i < ARRAY_SIZE(plain); i++) {
        u32 k = plain[i] - IA32_VMX_BASIC, t = k + (IA32_VMX_TRUE_PINBASED_CTLS - IA32_VMX_PINBASED_CTLS);
        if ((c.readable & BIT(k)) && ((c.msr[k] >> 32) & ~(host->msr[k] >> 32)))
            return refuse("VMX capabilities this host cannot offer: MSR %x allows controls this host lacks",
                          plain[i]);
        if (!(c.readable & BIT(t)) && (c.readable & BIT(k)))
            c.msr[t] = c.msr[k];
    }
    u32 fixed1[] = { IA32_VMX_CR0_FIXED1, IA32_VMX_CR4_FIXED1 };
    for (u32 i = 0; i < ARRAY_SIZE(fixed1); i++) {
        u32 k = fixed1[i] - IA32_VMX_BASIC;
        if (!(c.readable & BIT(k)))
            c.msr[k] = host->msr[k];
        else if (c.msr[k] & ~host->msr[k])
            return refuse("VMX capabilities this host cannot offer: MSR %x allows CR bits this host does not",
                          fixed1[i]);
    }
    u32 e = IA32_VMX_VMCS_ENUM - IA32_VMX_BASIC;
    if ((c.readable & BIT(e)) && c.msr[e] > host->msr[e])
        return refuse("VMX capabilities this host cannot offer: IA32_VMX_VMCS_ENUM %lx above this host's %lx",
                      c.msr[e], host->msr[e]);
    vcpu->nvmx->caps = c;
    return NULL;
}

static bool page_in_ram(u64 gpa, u64 mem)
{
    return gpa == TSNAP_INVALID_GPA || (!(gpa & (PAGE_SIZE - 1)) && gpa < mem && mem - gpa >= PAGE_SIZE);
}

/* Checks 2-4: nothing is allocated yet. */
static const char *check_machine(const struct tsnap_view *v)
{
    const struct tsnap_machine *m = v->machine;
    const char *e;

    if (m->mem_size < VM_MEM_MIN || m->mem_size > VM_MEM_MAX || (m->mem_size & (PAGE_SIZE - 1)))
        return refuse("RAM size %lu bytes is not one this turtle gives (%lu MiB to %lu MiB)",
                      m->mem_size, (u64)(VM_MEM_MIN >> 20), (u64)(VM_MEM_MAX >> 20));
    u32 len = 0;
    while (len < sizeof(m->name) && m->name[len])
        len++;
    if (!len || len >= VM_NAME_MAX)
        return refuse("machine name empty or not NUL-terminated within %u bytes", VM_NAME_MAX - 1);
    for (u32 i = 0; i < len; i++) {
        char c = m->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return refuse("machine name has a character outside [A-Za-z0-9_.-]");
    }
    if (m->n_vcpus != VM_MAX_VCPUS)
        return refuse("%u vCPUs (this turtle gives a VM %u)", m->n_vcpus, VM_MAX_VCPUS);
    if (!(m->flags & TSNAP_MACHINE_NESTED))
        return (e = tsnap_check_vcpu(v, 0)) ? refuse("vCPU 0: %s", e) : NULL;
    if (!nested_ops)
        return refuse("nested VMX is not available here");
    struct nested_check_caps want, host;
    nested_check_caps_from_view(&want, v, 0);
    host_caps(&host, &want);
    if ((e = nested_check_caps_allowed(&want, &host)))
        return refuse("VMX capabilities this host cannot offer: %s", e);
    if ((e = nested_check_vcpu(v, 0)))
        return refuse("nested state: %s", e);
    if ((e = tsnap_check_vcpu(v, 0)))
        return refuse("vCPU 0: %s", e);
    const struct tsnap_kvm_nested_state_hdr *h = v->vcpu[0].nested;
    if (!page_in_ram(h->vmxon_pa, m->mem_size))
        return refuse("nested state: vmxon_pa %lx outside RAM", h->vmxon_pa);
    if (!page_in_ram(h->vmcs12_pa, m->mem_size))
        return refuse("nested state: vmcs12_pa %lx outside RAM", h->vmcs12_pa);
    return NULL;
}

/* The feature words a restored L1 relies on: each bit it was shown must be
 * one this turtle shows the new vCPU too. */
static const struct { u32 leaf, subleaf; u8 reg; const char *name; } feature_words[] = {
    { 0x1, 0, 2, "CPUID.1:ECX" },
    { 0x1, 0, 3, "CPUID.1:EDX" },
    { 0x7, 0, 1, "CPUID.7.0:EBX" },
    { 0x7, 0, 2, "CPUID.7.0:ECX" },
    { 0x7, 0, 3, "CPUID.7.0:EDX" },
    { 0x80000001, 0, 2, "CPUID.80000001H:ECX" },
    { 0x80000001, 0, 3, "CPUID.80000001H:EDX" },
};
#define CPUID1_EDX_APIC     BIT(9)      /* follows IA32_APIC_BASE.EN, restored later */
#define CPUID1_ECX_OSXSAVE  BIT(27)

static u32 reg_of(const struct cpuid_regs *r, u8 i)
{
    return i == 0 ? r->eax : i == 1 ? r->ebx : i == 2 ? r->ecx : r->edx;
}

static const char *check_cpuid(struct vcpu *vcpu, const struct tsnap_view *v)
{
    for (u32 i = 0; i < v->cpuid->nent; i++) {
        const struct tsnap_kvm_cpuid_entry2 *e = &v->cpuid_entries[i];
        for (u32 k = 0; k < ARRAY_SIZE(feature_words); k++) {
            if (e->function != feature_words[k].leaf || e->index != feature_words[k].subleaf)
                continue;
            struct cpuid_regs now, was = { e->eax, e->ebx, e->ecx, e->edx };
            vcpu_cpuid(vcpu, e->function, e->index, &now);
            u32 lack = reg_of(&was, feature_words[k].reg) & ~reg_of(&now, feature_words[k].reg);
            if (e->function == 1 && feature_words[k].reg == 3)
                lack &= ~(u32)CPUID1_EDX_APIC;
            if (e->function == 1 && feature_words[k].reg == 2)
                lack &= ~(u32)CPUID1_ECX_OSXSAVE;       /* follows the guest's CR4 */
            if (lack)
                return refuse("CPUID this host cannot offer: %s bits %x", feature_words[k].name, lack);
        }
    }
    return NULL;
}

/* Beyond the feature words: the vendor L1 saw must be this CPU's, and its
 * physical-address width no wider (turtle's EPT01 and checks use this
 * CPU's); then the VM answers CPUID as recorded (vmx/exit_cpuid.c). */
static const char *load_cpuid(struct vcpu *vcpu, const struct tsnap_view *v)
{
    struct vm *vm = vcpu->vm;
    struct cpuid_regs now;

    for (u32 i = 0; i < v->cpuid->nent; i++) {
        const struct tsnap_kvm_cpuid_entry2 *e = &v->cpuid_entries[i];
        bool later = false;             /* as under KVM, the first entry of a leaf counts */
        for (u32 j = 0; j < i && !later; j++)
            later = v->cpuid_entries[j].function == e->function && v->cpuid_entries[j].index == e->index;
        if (later)
            continue;
        vcpu_cpuid(vcpu, e->function, e->index, &now);
        if (e->function == 0 && (e->ebx != now.ebx || e->ecx != now.ecx || e->edx != now.edx))
            return refuse("CPUID this host cannot offer: another vendor (leaf 0)");
        if (e->function == 0x80000008 && (e->eax & 0xff) > (now.eax & 0xff))
            return refuse("CPUID this host cannot offer: %u physical-address bits (this host %u)",
                          e->eax & 0xff, now.eax & 0xff);
    }
    if (v->cpuid->nent > VM_CPUID_MAX)
        return refuse("%u CPUID entries (this turtle keeps %u)", v->cpuid->nent, VM_CPUID_MAX);
    if (!v->cpuid->nent)
        return NULL;
    u64 pa = alloc_pages(VM_CPUID_PAGES, PAGE_SIZE);
    if (!pa)
        return refuse("out of memory for its CPUID");
    struct vm_cpuid_entry *t = phys_to_virt(pa);
    for (u32 i = 0; i < v->cpuid->nent; i++) {
        const struct tsnap_kvm_cpuid_entry2 *e = &v->cpuid_entries[i];
        t[i] = (struct vm_cpuid_entry){ e->function, e->index,
                                        !!(e->flags & TSNAP_KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
                                        e->eax, e->ebx, e->ecx, e->edx };
    }
    vm->cpuid_pa = pa;
    vm->cpuid_n = v->cpuid->nent;
    vm_cpuid_installed(vm);
    return NULL;
}

static void load_memory(struct vm *vm, const struct tsnap_view *v)
{
    for (u64 pfn = 0; pfn < vm->mem_size / PAGE_SIZE; pfn++) {
        const u8 *page = tsnap_mem_page(v, pfn);
        if (page)
            guest_copy_to(vm, pfn * PAGE_SIZE, page, PAGE_SIZE);
        else
            guest_zero(vm, pfn * PAGE_SIZE, PAGE_SIZE);
    }
}

static const struct tsnap_device_view *device(const struct tsnap_view *v, u32 instance, u64 size)
{
    for (u32 i = 0; i < v->n_devices; i++)
        if (v->device[i].instance == instance && v->device[i].version == 1 && v->device[i].size == size)
            return &v->device[i];
    return NULL;
}

/* Written by KVM's side: neither turtle's vCPU section nor any device. */
static bool kvm_made(const struct tsnap_view *v)
{
    return !v->vcpu[0].vcpu_turtle && !v->n_devices;
}

/* The per-vCPU sections into turtle's layout (one struct, as taken). */
static const char *gather_vcpu(const struct tsnap_view *v, struct snap_vcpu *s, struct snap_devices *d)
{
    const struct tsnap_vcpu_view *c = &v->vcpu[0];
    const struct tsnap_device_view *dv;
    const char *e;

    if (c->msrs->nmsrs > SNAP_MAX_MSRS && !kvm_made(v))
        return refuse("%u MSRs in vCPU 0's list (this turtle knows %u)", c->msrs->nmsrs, SNAP_MAX_MSRS);
    if (!kvm_made(v) &&
        (!c->vcpu_turtle || c->vcpu_turtle_version != 1 || c->vcpu_turtle_size != sizeof(s->turtle)))
        return refuse("vCPU 0: turtle's section missing or of another version");
    s->regs = *c->regs;
    s->sregs = *c->sregs;
    s->msrs = *c->msrs;
    if (kvm_made(v))
        s->msrs_left_out = snap_kvm_made_msrs(s, c->msr_entries, c->msrs->nmsrs);
    else
        memcpy(s->msr, c->msr_entries, c->msrs->nmsrs * sizeof(s->msr[0]));
    s->xsave = *c->xsave;
    /* XCR0 (KVM_GET_XCRS): 1, its reset value, when the section is absent. */
    s->xcrs = (struct tsnap_kvm_xcrs){ .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = 1 } };
    for (u32 i = 0; c->xcrs && i < c->xcrs->nr_xcrs; i++) {
        if (c->xcrs->xcrs[i].xcr != 0)
            return refuse("vCPU 0: XCR%u (turtle has XCR0 only)", c->xcrs->xcrs[i].xcr);
        s->xcrs.xcrs[0].value = c->xcrs->xcrs[i].value;
    }
    s->events = *c->events;
    s->debugregs = *c->debugregs;
    s->mp_state = *c->mp_state;
    s->lapic = *c->lapic;
    if (c->nested)
        memcpy(s->nested, c->nested, c->nested_size);
    if (s->mp_state.mp_state != TSNAP_KVM_MP_STATE_RUNNABLE && s->mp_state.mp_state != TSNAP_KVM_MP_STATE_HALTED)
        return refuse("vCPU 0: mp_state %u (turtle restores runnable or halted)", s->mp_state.mp_state);
    if (kvm_made(v)) {
        memset(&s->lapic_timer, 0, sizeof(s->lapic_timer));
        s->lapic_timer.next_rel = TSNAP_NO_DEADLINE_REL;
        s->lapic_timer.tsc_deadline_rel = TSNAP_NO_DEADLINE_REL;
        return (e = snap_kvm_made_vcpu(s, c->nested ? (u32)c->nested_size : 0)) ? refuse("vCPU 0: %s", e) : NULL;
    }
    memcpy(&s->turtle, c->vcpu_turtle, sizeof(s->turtle));
    for (u32 i = 0; i < snap_n_devices; i++) {
        const struct snap_device *t = &snap_device_table[i];
        if (!(dv = device(v, t->instance, t->size)))
            return refuse("device %u (%s): missing or of another version", t->instance, t->name);
        memcpy((u8 *)d + t->offset, dv->data, t->size);
    }
    if (!(dv = device(v, TSNAP_DEV_LAPIC_TIMER, sizeof(s->lapic_timer))))
        return refuse("device %u (LAPIC timer of vCPU 0): missing or of another version",
                      TSNAP_DEV_LAPIC_TIMER);
    memcpy(&s->lapic_timer, dv->data, sizeof(s->lapic_timer));
    return NULL;
}

static struct tsnap_view view;

static const char *restore(struct vm *vm, const void *file, u64 size, const char *name)
{
    const char *e;

    if ((e = tsnap_parse(file, size, &view)))
        return refuse("%s", e);
    if ((e = check_machine(&view)))
        return e;

    u64 work_pages = ALIGN_UP(sizeof(struct snap_vcpu) + sizeof(struct snap_devices), PAGE_SIZE) / PAGE_SIZE;
    u64 work_pa = alloc_pages(work_pages, PAGE_SIZE);
    if (!work_pa)
        return refuse("out of memory for its state");
    struct snap_vcpu *s = phys_to_virt(work_pa);
    struct snap_devices *d = (struct snap_devices *)(s + 1);
    if ((e = gather_vcpu(&view, s, d)))
        goto out;

    /* Build it. */
    memset(vm->name, 0, sizeof(vm->name));
    memcpy(vm->name, name ? name : view.machine->name, VM_NAME_MAX - 1);
    /* The guests already built (vms[] below this one) must not share it. */
    for (u32 k = 0; k < vm->index; k++) {
        if (!strcmp(vms[k].name, vm->name)) {
            e = refuse("a guest named '%s' already exists (rename it with name=)", vm->name);
            goto out;
        }
    }
    vm->nested = view.machine->flags & TSNAP_MACHINE_NESTED;
    vm->cmdline = "";
    if ((e = vm_alloc_memory(vm, view.machine->mem_size)))
        goto out;
    struct guest_boot_state boot = { 0 };
    struct vcpu *vcpu = vcpu_create(vm);
    if (!vcpu || !vmcs01_setup(vcpu, &boot)) {
        e = "could not build its VMCS";
        goto free_vm;
    }
    if (vm->nested && !nested_ops->vcpu_init(vcpu)) {
        e = "out of memory for its nested VMX state";
        goto free_vm;
    }
    if (vm->nested && (e = load_vmx_caps(vcpu, &view)))
        goto free_vm;
    if ((e = platform_init(vm)))
        goto free_vm;
    if ((e = check_cpuid(vcpu, &view)) || (e = load_cpuid(vcpu, &view)))
        goto free_vm;
    if ((e = xsave_area_check((const u8 *)s->xsave.region, s->xcrs.xcrs[0].value))) {
        e = refuse("vCPU 0: %s", e);
        goto free_vm;
    }

    load_memory(vm, &view);
    /* L1's TSC continues from the snapshot's: vmcs01 offsets it. */
    u64 now = rdtsc();
    vm->tsc_offset = s->turtle.tsc - now;
    vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_TSC_OFFSETTING);
    vmcs_write64(TSC_OFFSET, vm->tsc_offset);
    snap_vcpu_load(vcpu, s);
    snap_lapic_load(vcpu, now, &s->lapic, &s->lapic_timer);
    if (kvm_made(&view))
        snap_kvm_made_lapic_timer(vcpu, now, s);   /* the devices stay at reset */
    else
        snap_devices_load(vm, now, d);
    struct nested_extra x = { s->turtle.l1_timer_on, s->turtle.l1_timer_left };
    if (vm->nested && (e = nested_set_state(vcpu, s->nested, &x))) {
        e = refuse("nested state: %s", e);
        goto free_vm;
    }
    char writer[sizeof(view.header->turtle_version) + 1] = { 0 };
    memcpy(writer, view.header->turtle_version, sizeof(view.header->turtle_version));
    kprintf("turtle: guest '%s': restored from a snapshot (turtle %s), %lu MiB, rip %lx%s\n",
            vm->name, writer, vm->mem_size >> 20, s->regs.rip,
            vm->nested ? ", nested VMX" : "");
    if (kvm_made(&view))
        kprintf("turtle: guest '%s': a snapshot KVM's side wrote: devices at reset, %u of its MSRs not "
                "modelled here left out\n", vm->name, s->msrs_left_out);
    e = NULL;
    goto out;
free_vm:
    vm_free(vm);
out:
    free_pages(work_pa, work_pages);
    return e;
}

const char *snapshot_restore_module(struct vm *vm, const struct boot_module *m, const char *name)
{
    u64 t0 = rdtsc();
    const char *e = restore(vm, phys_to_virt(m->start), m->end - m->start, name);

    if (!e)
        kprintf("turtle: bench: restore of '%s': %lu cycles, %lu bytes, %lu KiB of RAM\n", vm->name,
                rdtsc() - t0, m->end - m->start, vm->mem_size >> 10);
    return e;
}

const char *snapshot_restore_kept(const char *name)
{
    const void *file;
    u64 size;

    snapshot_kept(&file, &size);
    if (!file)
        return "no snapshot is kept";
    if (n_vms == MAX_VMS)
        return "no free VM slot";
    struct vm *vm = &vms[n_vms];
    memset(vm, 0, sizeof(*vm));
    vm->index = n_vms;
    const char *e = restore(vm, file, size, name);
    if (e) {
        memset(vm, 0, sizeof(*vm));
        return e;
    }
    n_vms++;
    return NULL;
}
