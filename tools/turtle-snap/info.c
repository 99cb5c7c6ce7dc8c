/* turtle-snap info: everything in a snapshot, readable (snap.h). */
#include <string.h>

#include "tools/turtle-snap/snap.h"

static void print_seg(FILE *out, const char *name, const struct tsnap_kvm_segment *s)
{
    fprintf(out, "    %-4s sel 0x%04x base 0x%016llx limit 0x%08x type %u s %u dpl %u p %u db %u l %u g %u%s\n",
            name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl, s->present,
            s->db, s->l, s->g, s->unusable ? " unusable" : "");
}

static void print_regs(FILE *out, const struct tsnap_kvm_regs *r)
{
    static const char *const names[18] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
                                           "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags" };
    const u64 *v = (const u64 *)r;
    fprintf(out, "  regs:\n");
    for (int i = 0; i < 18; i++)
        fprintf(out, "    %-6s 0x%016llx%s", names[i], (unsigned long long)v[i], i % 3 == 2 ? "\n" : "  ");
}

static void print_sregs(FILE *out, const struct tsnap_kvm_sregs *s)
{
    fprintf(out, "  sregs:\n");
    print_seg(out, "cs", &s->cs);
    print_seg(out, "ds", &s->ds);
    print_seg(out, "es", &s->es);
    print_seg(out, "fs", &s->fs);
    print_seg(out, "gs", &s->gs);
    print_seg(out, "ss", &s->ss);
    print_seg(out, "tr", &s->tr);
    print_seg(out, "ldt", &s->ldt);
    fprintf(out, "    gdt  base 0x%016llx limit 0x%04x\n", (unsigned long long)s->gdt.base, s->gdt.limit);
    fprintf(out, "    idt  base 0x%016llx limit 0x%04x\n", (unsigned long long)s->idt.base, s->idt.limit);
    fprintf(out, "    cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx cr8 0x%llx efer 0x%llx apic_base 0x%llx\n",
            (unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
            (unsigned long long)s->cr4, (unsigned long long)s->cr8, (unsigned long long)s->efer,
            (unsigned long long)s->apic_base);
    for (int i = 0; i < 4; i++)
        if (s->interrupt_bitmap[i])
            fprintf(out, "    interrupt_bitmap[%d] 0x%016llx\n", i, (unsigned long long)s->interrupt_bitmap[i]);
}

static void print_msrs(FILE *out, const char *what, const struct tsnap_kvm_msrs *m, const struct tsnap_kvm_msr_entry *e)
{
    fprintf(out, "  %s: %u\n", what, m->nmsrs);
    for (u32 i = 0; i < m->nmsrs; i++)
        fprintf(out, "    0x%08x 0x%016llx\n", e[i].index, (unsigned long long)e[i].data);
}

static void print_events(FILE *out, const struct tsnap_kvm_vcpu_events *e)
{
    fprintf(out, "  events: flags 0x%x\n", e->flags);
    fprintf(out, "    exception injected %u nr %u has_error_code %u pending %u error_code 0x%x"
                 " has_payload %u payload 0x%llx\n",
            e->exception.injected, e->exception.nr, e->exception.has_error_code, e->exception.pending,
            e->exception.error_code, e->exception_has_payload, (unsigned long long)e->exception_payload);
    fprintf(out, "    interrupt injected %u nr %u soft %u shadow 0x%x\n", e->interrupt.injected,
            e->interrupt.nr, e->interrupt.soft, e->interrupt.shadow);
    fprintf(out, "    nmi injected %u pending %u masked %u; sipi_vector %u; smi smm %u pending %u"
                 " inside_nmi %u latched_init %u; triple_fault pending %u\n",
            e->nmi.injected, e->nmi.pending, e->nmi.masked, e->sipi_vector, e->smi.smm, e->smi.pending,
            e->smi.smm_inside_nmi, e->smi.latched_init, e->triple_fault.pending);
}

static void print_nested(FILE *out, const struct tsnap_kvm_nested_state_hdr *h, u32 size)
{
    const u8 *p = (const u8 *)h;
    fprintf(out, "  nested (struct kvm_nested_state, %u bytes):\n", size);
    fprintf(out, "    flags 0x%04x%s%s%s%s%s  format %u  size %u\n", h->flags,
            h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE ? " GUEST_MODE" : "",
            h->flags & TSNAP_KVM_STATE_NESTED_RUN_PENDING ? " RUN_PENDING" : "",
            h->flags & TSNAP_KVM_STATE_NESTED_EVMCS ? " EVMCS" : "",
            h->flags & TSNAP_KVM_STATE_NESTED_MTF_PENDING ? " MTF_PENDING" : "",
            h->flags & TSNAP_KVM_STATE_NESTED_GIF_SET ? " GIF_SET" : "", h->format, h->size);
    fprintf(out, "    vmxon_pa 0x%llx  vmcs12_pa 0x%llx  smm.flags 0x%x  vmx.flags 0x%x  deadline 0x%llx\n",
            (unsigned long long)h->vmxon_pa, (unsigned long long)h->vmcs12_pa, h->smm_flags, h->vmx_flags,
            (unsigned long long)h->preemption_timer_deadline);
    if (size >= TSNAP_NESTED_SIZE_VMCS12) {
        fprintf(out, "  vmcs12 (name, encoding, value):\n");
        print_vmcs12(out, p + TSNAP_NESTED_HDR_SIZE, "    ");
        decode_controls(out, p + TSNAP_NESTED_HDR_SIZE);
    }
    if (size >= TSNAP_NESTED_SIZE_MAX) {
        fprintf(out, "  shadow vmcs12 (name, encoding, value):\n");
        print_vmcs12(out, p + TSNAP_NESTED_SIZE_VMCS12, "    ");
    }
}

static u32 lapic_reg(const struct tsnap_kvm_lapic_state *l, unsigned off)
{
    u32 v;
    memcpy(&v, l->regs + off, 4);
    return v;
}

void info_view(const struct tsnap_view *v, FILE *out)
{
    const struct tsnap_header *h = v->header;
    const struct tsnap_machine *m = v->machine;

    fprintf(out, "header: version %u, written by turtle %.16s, flags 0x%x, %u sections, %llu bytes, crc32c 0x%08x\n",
            h->version, h->turtle_version, h->flags, h->n_sections, (unsigned long long)h->total_size, h->crc32c);
    fprintf(out, "sections (index type version instance flags offset size):\n");
    for (u32 i = 0; i < h->n_sections; i++) {
        const struct tsnap_section *s = &v->sections[i];
        fprintf(out, "  %3u %-12s %u %5u 0x%x %10llu %10llu\n", i, tsnap_section_name(s->type), s->version,
                s->instance, s->flags, (unsigned long long)s->offset, (unsigned long long)s->size);
    }
    fprintf(out, "machine: name \"%.16s\", %llu MiB, %u vCPU(s), %s, TSC %llu kHz\n", m->name,
            (unsigned long long)(m->mem_size >> 20), m->n_vcpus,
            m->flags & TSNAP_MACHINE_NESTED ? "nested" : "not nested", (unsigned long long)m->tsc_khz);
    fprintf(out, "memory: %llu of %llu pages stored\n", (unsigned long long)v->memory->n_present,
            (unsigned long long)v->n_pages);
    fprintf(out, "cpuid: %u entries\n", v->cpuid->nent);
    for (u32 i = 0; i < v->cpuid->nent; i++) {
        const struct tsnap_kvm_cpuid_entry2 *e = &v->cpuid_entries[i];
        fprintf(out, "  0x%08x.%u: eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n", e->function, e->index,
                e->eax, e->ebx, e->ecx, e->edx);
    }
    if (v->vmx_caps)
        print_msrs(out, "VMX capability MSRs", v->vmx_caps, v->vmx_cap_entries);
    for (u32 i = 0; i < m->n_vcpus; i++) {
        const struct tsnap_vcpu_view *c = &v->vcpu[i];
        fprintf(out, "vCPU %u:\n", i);
        print_regs(out, c->regs);
        print_sregs(out, c->sregs);
        print_msrs(out, "msrs", c->msrs, c->msr_entries);
        u32 mxcsr;
        u64 xstate_bv;
        memcpy(&mxcsr, (const u8 *)c->xsave + 24, 4);
        memcpy(&xstate_bv, (const u8 *)c->xsave + 512, 8);
        fprintf(out, "  xsave: mxcsr 0x%08x xstate_bv 0x%llx\n", mxcsr, (unsigned long long)xstate_bv);
        if (c->xcrs)
            for (u32 k = 0; k < c->xcrs->nr_xcrs; k++)
                fprintf(out, "  xcr%u 0x%llx\n", c->xcrs->xcrs[k].xcr, (unsigned long long)c->xcrs->xcrs[k].value);
        print_events(out, c->events);
        fprintf(out, "  debugregs: dr0-3 0x%llx 0x%llx 0x%llx 0x%llx dr6 0x%llx dr7 0x%llx flags 0x%llx\n",
                (unsigned long long)c->debugregs->db[0], (unsigned long long)c->debugregs->db[1],
                (unsigned long long)c->debugregs->db[2], (unsigned long long)c->debugregs->db[3],
                (unsigned long long)c->debugregs->dr6, (unsigned long long)c->debugregs->dr7,
                (unsigned long long)c->debugregs->flags);
        fprintf(out, "  mp_state: %u\n", c->mp_state->mp_state);
        fprintf(out, "  lapic: id 0x%08x version 0x%08x tpr 0x%x svr 0x%x lvt_timer 0x%x tmict 0x%x\n",
                lapic_reg(c->lapic, 0x20), lapic_reg(c->lapic, 0x30), lapic_reg(c->lapic, 0x80),
                lapic_reg(c->lapic, 0xf0), lapic_reg(c->lapic, 0x320), lapic_reg(c->lapic, 0x380));
        if (c->nested)
            print_nested(out, c->nested, c->nested_size);
        if (c->vcpu_turtle)
            fprintf(out, "  vcpu_turtle: version %u, %llu bytes\n", c->vcpu_turtle_version,
                    (unsigned long long)c->vcpu_turtle_size);
    }
    for (u32 i = 0; i < v->n_devices; i++)
        fprintf(out, "device %u: version %u, %llu bytes\n", v->device[i].instance, v->device[i].version,
                (unsigned long long)v->device[i].size);
    if (v->n_skipped)
        fprintf(out, "%u optional section(s) of a newer format skipped\n", v->n_skipped);
}

int cmd_info(const char *path, FILE *out)
{
    static struct snap_file f;
    if (snap_load(path, &f))
        return -1;
    info_view(&f.view, out);
    snap_free(&f);
    return 0;
}
