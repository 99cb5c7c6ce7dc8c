/*
 * Taking a snapshot of a paused L1 (docs/snapshot.md, "Taking a
 * snapshot"): its state is gathered at an instruction boundary, the
 * section table laid out, the file checksummed in a first pass and sent
 * as a framed stream in a second (zero pages elided), optionally kept.
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "kernel/tsc.h"
#include "kernel/version.h"
#include "nested/state.h"
#include "nested/vmcs12.h"
#include "snapshot/crc32c.h"
#include "snapshot/snapshot.h"
#include "snapshot/take_int.h"
#include "vmx/vmx.h"

static const u8 zeros[TSNAP_ALIGN];

static void add(struct snap_work *w, u32 type, u32 instance, const void *payload, u64 size)
{
    w->end = ALIGN_UP(w->end, TSNAP_ALIGN);
    w->sec[w->n_sections] = (struct tsnap_section){
        .type = type, .version = 1, .instance = instance, .offset = w->end, .size = size,
    };
    w->payload[w->n_sections++] = payload;
    w->end += size;
}

static bool page_is_zero(const u64 *p)
{
    for (u32 i = 0; i < PAGE_SIZE / 8; i++)
        if (p[i])
            return false;
    return true;
}

static const u64 *guest_page(const struct vm *vm, u64 pfn)
{
    return phys_to_virt(guest_gpa_to_hpa(vm, pfn * PAGE_SIZE));
}

/* The memory section's bitmap: which pages are stored (not all zero). */
static void scan_memory(struct snap_work *w)
{
    u64 pages = w->vm->mem_size / PAGE_SIZE;

    w->memory.mem_size = w->vm->mem_size;
    w->memory.n_present = 0;
    for (u64 pfn = 0; pfn < pages; pfn++) {
        if (page_is_zero(guest_page(w->vm, pfn)))
            continue;
        w->bitmap[pfn / 64] |= 1ULL << (pfn % 64);
        w->memory.n_present++;
    }
}

/* Everything but memory, from a paused vCPU whose VMCS is current here. */
static const char *gather(struct snap_work *w, struct vcpu *vcpu)
{
    const struct vm *vm = w->vm;
    const char *why;

    memcpy(w->machine.name, vm->name, sizeof(w->machine.name));
    w->machine.mem_size = vm->mem_size;
    w->machine.n_vcpus = vm->n_vcpus;
    w->machine.flags = vm->nested ? TSNAP_MACHINE_NESTED : 0;
    w->machine.tsc_khz = tsc_khz;
    w->cpuid.nent = snap_cpuid_collect(vcpu, w->cpuid_entry, SNAP_MAX_CPUID);
    w->vmx_caps.nmsrs = snap_vmx_caps_collect(vcpu, w->vmx_cap, SNAP_MAX_VMX_CAPS);
    snap_vcpu_save(vcpu, &w->vcpu);
    if (vm->nested) {
        struct nested_extra x;
        w->nested_size = nested_get_state(vcpu, w->vcpu.nested, &x, &why);
        if (!w->nested_size)
            return why;
        w->vcpu.turtle.l1_timer_on = x.l1_timer_on;
        w->vcpu.turtle.l1_timer_left = x.l1_timer_left;
        /* In L2, kvm_sregs holds L2's architectural CR0/CR4 (vmcs12's
         * guest fields after the sync), not what L2 reads through the
         * read shadows. */
        if (vcpu->guest_mode) {
            const struct vmcs12 *v12 = (const void *)(w->vcpu.nested + TSNAP_NESTED_HDR_SIZE);
            w->vcpu.sregs.cr0 = v12->guest_cr0;
            w->vcpu.sregs.cr4 = v12->guest_cr4;
        }
    }
    snap_devices_save(vm, w->vcpu.host_now, &w->dev);
    return NULL;
}

static void layout(struct snap_work *w)
{
    const struct snap_vcpu *v = &w->vcpu;
    u32 id = 0;

    w->end = sizeof(struct tsnap_header);
    /* The table's place is known before its size: count first. */
    add(w, TSNAP_SEC_MACHINE, 0, &w->machine, sizeof(w->machine));
    add(w, TSNAP_SEC_CPUID, 0, &w->cpuid, sizeof(w->cpuid) + w->cpuid.nent * sizeof(w->cpuid_entry[0]));
    if (w->vm->nested)
        add(w, TSNAP_SEC_VMX_CAPS, 0, &w->vmx_caps, sizeof(w->vmx_caps) + w->vmx_caps.nmsrs * sizeof(w->vmx_cap[0]));
    add(w, TSNAP_SEC_MEMORY, 0, NULL,
        sizeof(w->memory) + w->bitmap_words * 8 + w->memory.n_present * PAGE_SIZE);
    add(w, TSNAP_SEC_REGS, id, &v->regs, sizeof(v->regs));
    add(w, TSNAP_SEC_SREGS, id, &v->sregs, sizeof(v->sregs));
    add(w, TSNAP_SEC_MSRS, id, &v->msrs, sizeof(v->msrs) + snap_msr_count(v) * sizeof(v->msr[0]));
    add(w, TSNAP_SEC_XSAVE, id, &v->xsave, sizeof(v->xsave));
    add(w, TSNAP_SEC_XCRS, id, &v->xcrs, sizeof(v->xcrs));
    add(w, TSNAP_SEC_EVENTS, id, &v->events, sizeof(v->events));
    add(w, TSNAP_SEC_DEBUGREGS, id, &v->debugregs, sizeof(v->debugregs));
    add(w, TSNAP_SEC_MP_STATE, id, &v->mp_state, sizeof(v->mp_state));
    add(w, TSNAP_SEC_LAPIC, id, &v->lapic, sizeof(v->lapic));
    if (w->vm->nested)
        add(w, TSNAP_SEC_NESTED, id, v->nested, w->nested_size);
    add(w, TSNAP_SEC_VCPU_TURTLE, id, &v->turtle, sizeof(v->turtle));
    for (u32 i = 0; i < snap_n_devices; i++) {
        const struct snap_device *t = &snap_device_table[i];
        add(w, TSNAP_SEC_DEVICE, t->instance, (const u8 *)&w->dev + t->offset, t->size);
    }
    add(w, TSNAP_SEC_DEVICE, TSNAP_DEV_LAPIC_TIMER + 256 * id, &v->lapic_timer, sizeof(v->lapic_timer));

    /* Now shift every payload past the table. */
    u64 table = ALIGN_UP(w->n_sections * sizeof(struct tsnap_section), TSNAP_ALIGN);
    for (u32 i = 0; i < w->n_sections; i++)
        w->sec[i].offset += table;
    w->end += table;

    memcpy(w->header.magic, TSNAP_MAGIC, TSNAP_MAGIC_LEN);
    w->header.version = TSNAP_VERSION;
    w->header.header_size = sizeof(w->header);
    memset(w->header.turtle_version, 0, sizeof(w->header.turtle_version));
    memcpy(w->header.turtle_version, TURTLE_VERSION, MIN(sizeof(TURTLE_VERSION) - 1, sizeof(w->header.turtle_version)));
    w->header.flags = TSNAP_F_ZERO_PAGES_ELIDED;
    w->header.n_sections = w->n_sections;
    w->header.total_size = w->end;
    w->header.crc32c = 0;
}

static void pad_to(struct snap_sink *s, u64 off)
{
    while (s->pos < off)
        s->put(s, zeros, MIN(off - s->pos, (u64)sizeof(zeros)));
}

void snap_emit(const struct snap_work *w, struct snap_sink *s)
{
    s->put(s, &w->header, sizeof(w->header));
    s->put(s, w->sec, w->n_sections * sizeof(w->sec[0]));
    for (u32 i = 0; i < w->n_sections; i++) {
        pad_to(s, w->sec[i].offset);
        if (w->payload[i]) {
            s->put(s, w->payload[i], w->sec[i].size);
            continue;
        }
        s->put(s, &w->memory, sizeof(w->memory));
        s->put(s, w->bitmap, w->bitmap_words * 8);
        for (u64 pfn = 0; pfn < w->memory.mem_size / PAGE_SIZE; pfn++)
            if (w->bitmap[pfn / 64] & (1ULL << (pfn % 64)))
                s->put(s, guest_page(w->vm, pfn), PAGE_SIZE);
    }
    pad_to(s, w->header.total_size);
}

void snap_sink_account(struct snap_sink *s, const void *p, u64 len)
{
    s->crc = crc32c_update(s->crc, p, len);
    if (s->keep)
        memcpy(s->keep + s->pos, p, len);
    s->pos += len;
}

static void crc_put(struct snap_sink *s, const void *p, u64 len)
{
    snap_sink_account(s, p, len);
}

/* ---- the kept copy ---------------------------------------------------- */

/* At most this much of turtle's free memory holds a kept snapshot. */
#define SNAP_KEEP_BUDGET_DIV    4
static u64 kept_pa, kept_pages;

void snapshot_kept(const void **file, u64 *size)
{
    *file = kept_pa ? phys_to_virt(kept_pa) : NULL;
    *size = kept_pa ? ((const struct tsnap_header *)phys_to_virt(kept_pa))->total_size : 0;
}

static const char *keep_alloc(u64 size, u8 **dst)
{
    static char why[96];
    u64 pages = ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE;

    if (kept_pa)
        free_pages(kept_pa, kept_pages);
    kept_pa = 0;
    if (pages > mm_free_pages() / SNAP_KEEP_BUDGET_DIV || !(kept_pa = alloc_pages(pages, PAGE_SIZE))) {
        ksnprintf(why, sizeof(why), "%lu KiB do not fit turtle's budget for a kept snapshot (%lu KiB)",
                  size >> 10, (mm_free_pages() / SNAP_KEEP_BUDGET_DIV) << 2);
        return why;
    }
    kept_pages = pages;
    *dst = phys_to_virt(kept_pa);
    return NULL;
}

/* ---- taking one -------------------------------------------------------- */

const char *snapshot_take(struct vm *vm, u32 flags)
{
    u64 t0 = rdtsc();
    const char *why = NULL;

    if (flags & ~SNAPSHOT_FLAGS)
        return "unknown flags";
    if (vm->stopped)
        return "the VM has stopped";
    if (vm->n_vcpus != 1)
        return "only a VM with one vCPU can be snapshotted";
    struct vcpu *vcpu = vm->vcpus[0];
    if (!sched_vcpu_sync_here(vcpu))
        return "its vCPU is not paused on this CPU";

    u64 work_pages = ALIGN_UP(sizeof(struct snap_work), PAGE_SIZE) / PAGE_SIZE;
    u64 work_pa = alloc_pages(work_pages, PAGE_SIZE);
    if (!work_pa)
        return "out of memory for its state";
    struct snap_work *w = phys_to_virt(work_pa);
    w->vm = vm;
    w->bitmap_words = ALIGN_UP(vm->mem_size / PAGE_SIZE, 64) / 64;
    u64 bitmap_pages = ALIGN_UP(w->bitmap_words * 8, PAGE_SIZE) / PAGE_SIZE;
    u64 bitmap_pa = alloc_pages(bitmap_pages, PAGE_SIZE);
    if (!bitmap_pa) {
        free_pages(work_pa, work_pages);
        return "out of memory for its page bitmap";
    }
    w->bitmap = phys_to_virt(bitmap_pa);

    if ((why = gather(w, vcpu)))
        goto out;
    scan_memory(w);
    layout(w);

    struct snap_sink crc = { .put = crc_put, .crc = crc32c_init() };
    snap_emit(w, &crc);
    w->header.crc32c = crc32c_final(crc.crc);

    u8 *keep = NULL;
    if ((flags & SNAPSHOT_KEEP) && (why = keep_alloc(w->header.total_size, &keep)))
        goto out;
    struct snap_sink out = { .put = snap_stream_put, .crc = crc32c_init(), .keep = keep };
    u64 t1 = rdtsc();
    if (flags & SNAPSHOT_NO_STREAM)
        out.put = crc_put;
    else
        snap_stream_begin(w->header.total_size);
    snap_emit(w, &out);
    if (!(flags & SNAPSHOT_NO_STREAM))
        snap_stream_end(crc32c_final(out.crc));
    u64 t2 = rdtsc();
    const struct tsnap_kvm_nested_state_hdr *nh = (const void *)w->vcpu.nested;
    char nflags[24] = "";
    if (vm->nested)
        ksnprintf(nflags, sizeof(nflags), ", flags 0x%x", nh->flags);
    kprintf("turtle: guest '%s': snapshot taken: %lu bytes, %lu of %lu pages stored, "
            "nested state %u bytes%s%s%s\n", vm->name, w->header.total_size, w->memory.n_present,
            vm->mem_size / PAGE_SIZE, vm->nested ? w->nested_size : 0, nflags,
            (flags & SNAPSHOT_NO_STREAM) ? "" : ", sent on the snapshot port",
            keep ? ", kept" : "");
    /* Building = gathering, the zero-page scan and the checksum pass;
     * sending = the second pass (the stream, or the kept copy). */
    kprintf("turtle: bench: snapshot of '%s': %lu cycles to build, %lu to send, %lu bytes, "
            "%lu KiB of RAM, %lu pages stored\n", vm->name, t1 - t0, t2 - t1, w->header.total_size,
            vm->mem_size >> 10, w->memory.n_present);
out:
    free_pages(bitmap_pa, bitmap_pages);
    free_pages(work_pa, work_pages);
    return why;
}
