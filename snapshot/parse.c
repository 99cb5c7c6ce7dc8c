/*
 * tsnap_parse(): the integrity checks of a snapshot file, in the order
 * docs/snapshot.md lists them ("The file, byte by byte": Checks).
 *
 *  1. the buffer is 8-aligned (a caller's bug, but refused, not trusted)
 *  2. magic; a file shorter than the header is "truncated" if what there
 *     is of it matches the magic
 *  3. version, header_size, header flags, reserved header fields
 *  4. total_size against the bytes given: truncation or trailing bytes
 *  5. the CRC-32C
 *  6. n_sections in 1..TSNAP_MAX_SECTIONS and the table inside the file
 *  7. each section: 8-aligned, inside the file, not overlapping the header,
 *     the table or another section; known type, known version (else
 *     refused by name, or skipped when TSNAP_SEC_F_OPTIONAL); instance in
 *     range; not a duplicate; its size rule
 *  8. cross-section rules: the machine section first in the table; required
 *     sections present; memory's mem_size equal to the machine's; nested
 *     sections and VMX capabilities exactly when the machine is nested
 *
 * Nothing here reads outside [buf, buf + len), whatever the file says:
 * every offset and size is checked against the file before it is used, in
 * u64 arithmetic that cannot wrap.
 */
#include "snapshot/crc32c.h"
#include "snapshot/parse.h"

/* ---- messages with numbers, into view->msg (no libc in turtle) -------- */

struct msgbuf {
    char *p;
    u32 len, cap;
};

static void put_str(struct msgbuf *m, const char *s)
{
    while (*s && m->len + 1 < m->cap)
        m->p[m->len++] = *s++;
    m->p[m->len] = 0;
}

static void put_u64(struct msgbuf *m, u64 v)
{
    char tmp[21];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && m->len + 1 < m->cap)
        m->p[m->len++] = tmp[--n];
    m->p[m->len] = 0;
}

static struct msgbuf msg_start(struct tsnap_view *view)
{
    struct msgbuf m = { view->msg, 0, sizeof(view->msg) };
    view->msg[0] = 0;
    return m;
}

/* "section N (name[, vCPU i]): " */
static struct msgbuf msg_section(struct tsnap_view *view, u32 idx, const struct tsnap_section *s)
{
    struct msgbuf m = msg_start(view);
    put_str(&m, "section ");
    put_u64(&m, idx);
    put_str(&m, " (");
    put_str(&m, tsnap_section_name(s->type));
    if (s->type >= TSNAP_SEC_REGS && s->type <= TSNAP_SEC_XCRS) {
        put_str(&m, ", vCPU ");
        put_u64(&m, s->instance);
    } else if (s->type == TSNAP_SEC_DEVICE) {
        put_str(&m, " ");
        put_u64(&m, s->instance);
    }
    put_str(&m, "): ");
    return m;
}

static const char *section_fail(struct tsnap_view *view, u32 idx, const struct tsnap_section *s,
                                const char *what)
{
    struct msgbuf m = msg_section(view, idx, s);
    put_str(&m, what);
    return view->msg;
}

static const char *size_fail(struct tsnap_view *view, u32 idx, const struct tsnap_section *s, u64 want)
{
    struct msgbuf m = msg_section(view, idx, s);
    put_str(&m, "size ");
    put_u64(&m, s->size);
    put_str(&m, ", expected ");
    put_u64(&m, want);
    return view->msg;
}

/* ---- names ----------------------------------------------------------- */

const char *tsnap_section_name(u32 type)
{
    switch (type) {
    case TSNAP_SEC_MACHINE:     return "machine";
    case TSNAP_SEC_CPUID:       return "cpuid";
    case TSNAP_SEC_VMX_CAPS:    return "vmx_caps";
    case TSNAP_SEC_MEMORY:      return "memory";
    case TSNAP_SEC_REGS:        return "regs";
    case TSNAP_SEC_SREGS:       return "sregs";
    case TSNAP_SEC_MSRS:        return "msrs";
    case TSNAP_SEC_XSAVE:       return "xsave";
    case TSNAP_SEC_EVENTS:      return "events";
    case TSNAP_SEC_DEBUGREGS:   return "debugregs";
    case TSNAP_SEC_MP_STATE:    return "mp_state";
    case TSNAP_SEC_LAPIC:       return "lapic";
    case TSNAP_SEC_NESTED:      return "nested";
    case TSNAP_SEC_VCPU_TURTLE: return "vcpu_turtle";
    case TSNAP_SEC_XCRS:        return "xcrs";
    case TSNAP_SEC_DEVICE:      return "device";
    default:                    return "unknown";
    }
}

/* ---- helpers --------------------------------------------------------- */

u32 tsnap_file_crc(const void *buf, u64 len)
{
    const u8 *p = buf;
    static const u8 zero[4];
    u64 at = __builtin_offsetof(struct tsnap_header, crc32c);
    u32 c = crc32c_init();

    c = crc32c_update(c, p, at);
    c = crc32c_update(c, zero, sizeof(zero));
    c = crc32c_update(c, p + at + 4, len - at - 4);
    return crc32c_final(c);
}

/* Without POPCNT in the kernel's flags, __builtin_popcountll would be a
 * libgcc call, which turtle does not link. */
static u32 popcount64(u64 v)
{
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (u32)((v * 0x0101010101010101ULL) >> 56);
}

static u64 bitmap_words(u64 pages)
{
    return (pages + 63) / 64;
}

/* Fixed payload sizes of the per-vCPU sections; 0 = variable. */
static u64 fixed_size(u32 type)
{
    switch (type) {
    case TSNAP_SEC_MACHINE:     return sizeof(struct tsnap_machine);
    case TSNAP_SEC_REGS:        return sizeof(struct tsnap_kvm_regs);
    case TSNAP_SEC_SREGS:       return sizeof(struct tsnap_kvm_sregs);
    case TSNAP_SEC_XSAVE:       return sizeof(struct tsnap_kvm_xsave);
    case TSNAP_SEC_EVENTS:      return sizeof(struct tsnap_kvm_vcpu_events);
    case TSNAP_SEC_DEBUGREGS:   return sizeof(struct tsnap_kvm_debugregs);
    case TSNAP_SEC_MP_STATE:    return sizeof(struct tsnap_kvm_mp_state);
    case TSNAP_SEC_LAPIC:       return sizeof(struct tsnap_kvm_lapic_state);
    case TSNAP_SEC_XCRS:        return sizeof(struct tsnap_kvm_xcrs);
    default:                    return 0;
    }
}

static bool known_type(u32 type)
{
    return (type >= TSNAP_SEC_MACHINE && type <= TSNAP_SEC_MEMORY) ||
           (type >= TSNAP_SEC_REGS && type <= TSNAP_SEC_XCRS) || type == TSNAP_SEC_DEVICE;
}

static bool known_device(u32 instance, u32 n_vcpus)
{
    if (instance >= TSNAP_DEV_PIC && instance < TSNAP_DEV_LAPIC_TIMER)
        return true;
    return (instance & 0xff) == TSNAP_DEV_LAPIC_TIMER && (instance >> 8) < n_vcpus;
}

/* ---- per-section rules ----------------------------------------------- */

static const char *check_list(struct tsnap_view *view, u32 idx, const struct tsnap_section *s,
                              const u8 *p, u64 entry_size, u32 max)
{
    if (s->size < 8)
        return size_fail(view, idx, s, 8);
    u32 n = *(const u32 *)p;
    if (n > max)
        return section_fail(view, idx, s, "too many entries");
    if (s->size != 8 + entry_size * n)
        return size_fail(view, idx, s, 8 + entry_size * n);
    return NULL;
}

static const char *take_memory(struct tsnap_view *view, u32 idx, const struct tsnap_section *s, const u8 *p)
{
    if (s->size < sizeof(struct tsnap_memory))
        return size_fail(view, idx, s, sizeof(struct tsnap_memory));
    const struct tsnap_memory *mem = (const void *)p;
    if (!mem->mem_size || !IS_ALIGNED(mem->mem_size, PAGE_SIZE))
        return section_fail(view, idx, s, "mem_size not a non-zero multiple of 4096");
    u64 pages = mem->mem_size / PAGE_SIZE;
    u64 words = bitmap_words(pages);
    /* The bitmap must fit before n_present is believed. */
    if (words > (s->size - sizeof(*mem)) / 8)
        return section_fail(view, idx, s, "bitmap beyond the section");
    if (mem->n_present > pages)
        return section_fail(view, idx, s, "n_present exceeds mem_size's pages");
    const u64 *bm = (const u64 *)(p + sizeof(*mem));
    u64 count = 0;
    for (u64 w = 0; w < words; w++)
        count += popcount64(bm[w]);
    if (pages % 64 && (bm[words - 1] >> (pages % 64)))
        return section_fail(view, idx, s, "bitmap bit beyond mem_size");
    if (count != mem->n_present)
        return section_fail(view, idx, s, "bitmap popcount differs from n_present");
    u64 want = sizeof(*mem) + 8 * words + PAGE_SIZE * mem->n_present;
    if (s->size != want)
        return size_fail(view, idx, s, want);
    view->memory = mem;
    view->mem_bitmap = bm;
    view->mem_pages = p + sizeof(*mem) + 8 * words;
    view->n_pages = pages;
    return NULL;
}

static const char *take_nested(struct tsnap_view *view, u32 idx, const struct tsnap_section *s,
                               const u8 *p, struct tsnap_vcpu_view *v)
{
    if (s->size != TSNAP_NESTED_HDR_SIZE && s->size != TSNAP_NESTED_SIZE_VMCS12 &&
        s->size != TSNAP_NESTED_SIZE_MAX)
        return section_fail(view, idx, s, "size not 128, 4224 or 8320");
    const struct tsnap_kvm_nested_state_hdr *h = (const void *)p;
    if (h->size != s->size)
        return section_fail(view, idx, s, "kvm_nested_state.size differs from the section size");
    if (h->format != TSNAP_KVM_STATE_NESTED_FORMAT_VMX)
        return section_fail(view, idx, s, "kvm_nested_state.format not VMX (0)");
    v->nested = h;
    v->nested_size = (u32)s->size;
    return NULL;
}

/* Type-specific size rules, and the view's pointers. */
static const char *take_section(struct tsnap_view *view, u32 idx, const struct tsnap_section *s, const u8 *p)
{
    struct tsnap_vcpu_view *v = &view->vcpu[s->instance < TSNAP_VIEW_MAX_VCPUS ? s->instance : 0];
    u64 want = fixed_size(s->type);
    const char *err;

    if (want && s->size != want)
        return size_fail(view, idx, s, want);
    switch (s->type) {
    case TSNAP_SEC_MACHINE:     view->machine = (const void *)p; return NULL;
    case TSNAP_SEC_MEMORY:      return take_memory(view, idx, s, p);
    case TSNAP_SEC_CPUID:
        if ((err = check_list(view, idx, s, p, sizeof(struct tsnap_kvm_cpuid_entry2), TSNAP_MAX_CPUID_ENTRIES)))
            return err;
        view->cpuid = (const void *)p;
        view->cpuid_entries = (const void *)(p + 8);
        return NULL;
    case TSNAP_SEC_VMX_CAPS:
        if ((err = check_list(view, idx, s, p, sizeof(struct tsnap_kvm_msr_entry),
                              TSNAP_VMX_CAPS_LAST - TSNAP_VMX_CAPS_FIRST + 1)))
            return err;
        view->vmx_caps = (const void *)p;
        view->vmx_cap_entries = (const void *)(p + 8);
        for (u32 i = 0; i < view->vmx_caps->nmsrs; i++) {
            u32 msr = view->vmx_cap_entries[i].index;
            if (msr < TSNAP_VMX_CAPS_FIRST || msr > TSNAP_VMX_CAPS_LAST)
                return section_fail(view, idx, s, "MSR index outside 0x480-0x491");
            for (u32 j = 0; j < i; j++)
                if (view->vmx_cap_entries[j].index == msr)
                    return section_fail(view, idx, s, "MSR listed twice");
        }
        return NULL;
    case TSNAP_SEC_REGS:        v->regs = (const void *)p; return NULL;
    case TSNAP_SEC_SREGS:       v->sregs = (const void *)p; return NULL;
    case TSNAP_SEC_XSAVE:       v->xsave = (const void *)p; return NULL;
    case TSNAP_SEC_XCRS:
        v->xcrs = (const void *)p;
        if (v->xcrs->nr_xcrs > TSNAP_KVM_MAX_XCRS)
            return section_fail(view, idx, s, "nr_xcrs above 16");
        return NULL;
    case TSNAP_SEC_EVENTS:      v->events = (const void *)p; return NULL;
    case TSNAP_SEC_DEBUGREGS:   v->debugregs = (const void *)p; return NULL;
    case TSNAP_SEC_MP_STATE:    v->mp_state = (const void *)p; return NULL;
    case TSNAP_SEC_LAPIC:       v->lapic = (const void *)p; return NULL;
    case TSNAP_SEC_MSRS:
        if ((err = check_list(view, idx, s, p, sizeof(struct tsnap_kvm_msr_entry), TSNAP_MAX_MSRS)))
            return err;
        v->msrs = (const void *)p;
        v->msr_entries = (const void *)(p + 8);
        return NULL;
    case TSNAP_SEC_NESTED:      return take_nested(view, idx, s, p, v);
    case TSNAP_SEC_VCPU_TURTLE:
        v->vcpu_turtle = p;
        v->vcpu_turtle_size = s->size;
        v->vcpu_turtle_version = s->version;
        return NULL;
    case TSNAP_SEC_DEVICE:
        if (view->n_devices == TSNAP_MAX_DEVICES)
            return section_fail(view, idx, s, "too many device sections");
        view->device[view->n_devices++] = (struct tsnap_device_view){ s->instance, s->version, p, s->size };
        return NULL;
    }
    return section_fail(view, idx, s, "unknown type");
}

/* ---- the table ------------------------------------------------------- */

static bool per_vcpu(u32 type)
{
    return type >= TSNAP_SEC_REGS && type <= TSNAP_SEC_XCRS;
}

/* Placement: aligned, inside the file, clear of header, table and every
 * earlier section (O(n^2) over at most 256 sections). */
static const char *check_place(struct tsnap_view *view, u32 i, u64 table_end, u64 total)
{
    const struct tsnap_section *s = &view->sections[i];

    if (!IS_ALIGNED(s->offset, TSNAP_ALIGN))
        return section_fail(view, i, s, "offset not 8-aligned");
    if (s->offset > total || s->size > total - s->offset) {
        struct msgbuf m = msg_section(view, i, s);
        put_str(&m, "bytes ");
        put_u64(&m, s->offset);
        put_str(&m, "+");
        put_u64(&m, s->size);
        put_str(&m, " outside the file of ");
        put_u64(&m, total);
        return view->msg;
    }
    if (s->offset < table_end)
        return section_fail(view, i, s, "overlaps the header or section table");
    for (u32 j = 0; j < i; j++) {
        const struct tsnap_section *t = &view->sections[j];
        if (s->size && t->size && s->offset < t->offset + t->size && t->offset < s->offset + s->size) {
            struct msgbuf m = msg_section(view, i, s);
            put_str(&m, "overlaps section ");
            put_u64(&m, j);
            return view->msg;
        }
    }
    return NULL;
}

/* Type, version, instance, duplicates. *skip is set for an optional
 * section this reader does not know. */
static const char *check_identity(struct tsnap_view *view, u32 i, u32 n_vcpus, bool *skip)
{
    const struct tsnap_section *s = &view->sections[i];
    bool optional = s->flags & TSNAP_SEC_F_OPTIONAL;

    *skip = false;
    if (s->flags & ~(u32)TSNAP_SEC_F_OPTIONAL)
        return section_fail(view, i, s, "unknown section flags");
    if (!known_type(s->type) || (s->type == TSNAP_SEC_DEVICE && !known_device(s->instance, n_vcpus))) {
        if (optional) {
            *skip = true;
            return NULL;
        }
        struct msgbuf m = msg_section(view, i, s);
        put_str(&m, s->type == TSNAP_SEC_DEVICE ? "unknown device" : "unknown section type ");
        if (s->type != TSNAP_SEC_DEVICE)
            put_u64(&m, s->type);
        return view->msg;
    }
    if (s->version != 1) {
        if (optional) {
            *skip = true;
            return NULL;
        }
        struct msgbuf m = msg_section(view, i, s);
        put_str(&m, "unsupported section version ");
        put_u64(&m, s->version);
        return view->msg;
    }
    if (per_vcpu(s->type) ? s->instance >= n_vcpus : s->type != TSNAP_SEC_DEVICE && s->instance != 0)
        return section_fail(view, i, s, "instance out of range");
    for (u32 j = 0; j < i; j++) {
        const struct tsnap_section *t = &view->sections[j];
        if (t->type == s->type && t->instance == s->instance) {
            struct msgbuf m = msg_section(view, i, s);
            put_str(&m, "duplicate of section ");
            put_u64(&m, j);
            return view->msg;
        }
    }
    return NULL;
}

static const char *check_required(struct tsnap_view *view)
{
    const struct tsnap_machine *mc = view->machine;
    bool nested = mc->flags & TSNAP_MACHINE_NESTED;
    struct msgbuf m = msg_start(view);

    if (!view->memory)
        return "missing section: memory";
    if (!view->cpuid)
        return "missing section: cpuid";
    if (view->memory->mem_size != mc->mem_size)
        return "memory: mem_size differs from the machine's";
    if (nested && !view->vmx_caps)
        return "missing section: vmx_caps (the machine is nested)";
    if (!nested && view->vmx_caps)
        return "vmx_caps present, but the machine is not nested";
    for (u32 i = 0; i < mc->n_vcpus; i++) {
        const struct tsnap_vcpu_view *v = &view->vcpu[i];
        const char *missing = !v->regs ? "regs" : !v->sregs ? "sregs" : !v->msrs ? "msrs" :
                              !v->xsave ? "xsave" : !v->events ? "events" :
                              !v->debugregs ? "debugregs" : !v->mp_state ? "mp_state" :
                              !v->lapic ? "lapic" : (nested && !v->nested) ? "nested" : NULL;
        if (missing) {
            put_str(&m, "missing section: ");
            put_str(&m, missing);
            put_str(&m, " of vCPU ");
            put_u64(&m, i);
            return view->msg;
        }
        if (!nested && v->nested) {
            put_str(&m, "nested section of vCPU ");
            put_u64(&m, i);
            put_str(&m, ", but the machine is not nested");
            return view->msg;
        }
    }
    return NULL;
}

static const char *check_header(const struct tsnap_header *h, u64 len, struct tsnap_view *view)
{
    struct msgbuf m = msg_start(view);

    if (h->version != TSNAP_VERSION) {
        put_str(&m, "unsupported version ");
        put_u64(&m, h->version);
        put_str(&m, " (this reader knows 1)");
        return view->msg;
    }
    if (h->header_size != sizeof(struct tsnap_header))
        return "bad header_size (not 64)";
    if (h->flags & ~(u32)TSNAP_F_KNOWN)
        return "unknown header flags";
    if (h->reserved0 || h->reserved1)
        return "reserved header fields not zero";
    if (h->total_size > len) {
        put_str(&m, "truncated: ");
        put_u64(&m, len);
        put_str(&m, " of ");
        put_u64(&m, h->total_size);
        put_str(&m, " bytes");
        return view->msg;
    }
    if (h->total_size < len) {
        put_str(&m, "trailing bytes: ");
        put_u64(&m, len - h->total_size);
        put_str(&m, " after total_size ");
        put_u64(&m, h->total_size);
        return view->msg;
    }
    if (h->total_size < sizeof(*h))
        return "total_size smaller than the header";
    if (tsnap_file_crc(h, len) != h->crc32c)
        return "checksum mismatch";
    if (h->n_sections == 0 || h->n_sections > TSNAP_MAX_SECTIONS)
        return "n_sections out of range (1..256)";
    if ((u64)h->n_sections * sizeof(struct tsnap_section) > len - sizeof(*h))
        return "section table outside the file";
    return NULL;
}

const char *tsnap_parse(const void *buf, u64 len, struct tsnap_view *view)
{
    const struct tsnap_header *h = buf;
    const u8 *base = buf;
    const char *err;

    __builtin_memset(view, 0, sizeof(*view));
    if (!IS_ALIGNED((u64)(uintptr_t)buf, TSNAP_ALIGN))
        return "buffer not 8-aligned";
    if (len < sizeof(*h)) {
        if (__builtin_memcmp(buf, TSNAP_MAGIC, MIN(len, (u64)TSNAP_MAGIC_LEN)))
            return "bad magic";
        struct msgbuf m = msg_start(view);
        put_str(&m, "truncated: ");
        put_u64(&m, len);
        put_str(&m, " of 64 header bytes");
        return view->msg;
    }
    if (__builtin_memcmp(h->magic, TSNAP_MAGIC, TSNAP_MAGIC_LEN))
        return "bad magic";
    if ((err = check_header(h, len, view)))
        return err;
    view->header = h;
    view->sections = (const void *)(base + sizeof(*h));
    u64 table_end = sizeof(*h) + (u64)h->n_sections * sizeof(struct tsnap_section);

    /* The machine section comes first: it bounds every vCPU instance. */
    const struct tsnap_section *s0 = &view->sections[0];
    if (s0->type != TSNAP_SEC_MACHINE)
        return "first section is not the machine";
    if ((err = check_place(view, 0, table_end, len)))
        return err;
    if (s0->version != 1 || s0->instance != 0 || s0->flags)
        return section_fail(view, 0, s0, "unsupported version, instance or flags");
    if ((err = take_section(view, 0, s0, base + s0->offset)))
        return err;
    u32 n_vcpus = view->machine->n_vcpus;
    if (n_vcpus == 0 || n_vcpus > TSNAP_VIEW_MAX_VCPUS)
        return "machine: n_vcpus out of range (1..8)";
    if (!view->machine->mem_size || !IS_ALIGNED(view->machine->mem_size, PAGE_SIZE))
        return "machine: mem_size not a non-zero multiple of 4096";
    if (view->machine->flags & ~(u32)TSNAP_MACHINE_NESTED)
        return "machine: unknown flags";

    for (u32 i = 1; i < h->n_sections; i++) {
        const struct tsnap_section *s = &view->sections[i];
        bool skip;
        if ((err = check_place(view, i, table_end, len)) || (err = check_identity(view, i, n_vcpus, &skip)))
            return err;
        if (skip) {
            view->n_skipped++;
            continue;
        }
        if ((err = take_section(view, i, s, base + s->offset)))
            return err;
    }
    return check_required(view);
}

/* ---- guest memory ---------------------------------------------------- */

const u8 *tsnap_mem_page(const struct tsnap_view *view, u64 pfn)
{
    if (pfn >= view->n_pages || !(view->mem_bitmap[pfn / 64] & BIT(pfn % 64)))
        return NULL;
    u64 rank = 0;
    for (u64 w = 0; w < pfn / 64; w++)
        rank += popcount64(view->mem_bitmap[w]);
    rank += popcount64(view->mem_bitmap[pfn / 64] & (BIT(pfn % 64) - 1));
    return view->mem_pages + rank * PAGE_SIZE;
}

bool tsnap_mem_read(const struct tsnap_view *view, u64 gpa, void *dst, u64 len)
{
    u64 mem = view->n_pages * PAGE_SIZE;
    u8 *d = dst;

    if (gpa > mem || len > mem - gpa)
        return false;
    while (len) {
        u64 off = gpa % PAGE_SIZE, n = MIN(len, PAGE_SIZE - off);
        const u8 *page = tsnap_mem_page(view, gpa / PAGE_SIZE);
        if (page)
            __builtin_memcpy(d, page + off, n);
        else
            __builtin_memset(d, 0, n);
        d += n;
        gpa += n;
        len -= n;
    }
    return true;
}
