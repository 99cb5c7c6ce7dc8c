/* export-kvm / import-kvm: the KVM directory (kvm_dir.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/turtle-snap/builder.h"
#include "tools/turtle-snap/kvm_dir.h"

bool kvm_vmx_msr_writable(u32 index)
{
    return !(index >= 0x481 && index <= 0x484) && index != 0x487 && index != 0x489;
}

static void path_of(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

int kvm_dir_write(const char *dir, const char *name, const void *data, u64 len)
{
    char path[4096];
    path_of(path, sizeof(path), dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || (len && fwrite(data, 1, len, fp) != len) || fclose(fp)) {
        fprintf(stderr, "turtle-snap: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

void *kvm_dir_read(const char *dir, const char *name, u64 *len)
{
    char path[4096];
    path_of(path, sizeof(path), dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *buf = n >= 0 ? aligned_alloc(8, ALIGN_UP((u64)n + 1, 8)) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *len = (u64)n;
    return buf;
}

static int write_list(const char *dir, const char *name, const void *hdr, u64 entry_size)
{
    u32 n;
    memcpy(&n, hdr, 4);
    return kvm_dir_write(dir, name, hdr, 8 + entry_size * n);
}

int export_kvm(const struct tsnap_view *v, const char *dir)
{
    const struct tsnap_vcpu_view *c = &v->vcpu[0];
    u64 mem = v->n_pages * PAGE_SIZE;

    if (v->machine->n_vcpus != 1) {
        fprintf(stderr, "turtle-snap: export-kvm: %u vCPUs; the KVM directory holds one\n", v->machine->n_vcpus);
        return -1;
    }
    if (mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "turtle-snap: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    u8 *ram = calloc(1, mem);
    if (!ram || !tsnap_mem_read(v, 0, ram, mem)) {
        free(ram);
        fprintf(stderr, "turtle-snap: export-kvm: out of memory\n");
        return -1;
    }
    char version[17] = { 0 };
    memcpy(version, v->header->turtle_version, 16);
    int rc = kvm_dir_write(dir, "machine.bin", v->machine, sizeof(*v->machine)) ||
             kvm_dir_write(dir, "turtle_version", version, strlen(version)) ||
             write_list(dir, "cpuid.bin", v->cpuid, sizeof(struct tsnap_kvm_cpuid_entry2)) ||
             kvm_dir_write(dir, "sregs.bin", c->sregs, sizeof(*c->sregs)) ||
             write_list(dir, "msrs.bin", c->msrs, sizeof(struct tsnap_kvm_msr_entry)) ||
             kvm_dir_write(dir, "xsave.bin", c->xsave, sizeof(*c->xsave)) ||
             kvm_dir_write(dir, "events.bin", c->events, sizeof(*c->events)) ||
             kvm_dir_write(dir, "mp_state.bin", c->mp_state, sizeof(*c->mp_state)) ||
             kvm_dir_write(dir, "debugregs.bin", c->debugregs, sizeof(*c->debugregs)) ||
             kvm_dir_write(dir, "regs.bin", c->regs, sizeof(*c->regs)) ||
             kvm_dir_write(dir, "lapic.bin", c->lapic, sizeof(*c->lapic)) ||
             kvm_dir_write(dir, "memory.bin", ram, mem);
    free(ram);
    if (!rc && c->xcrs)
        rc = kvm_dir_write(dir, "xcrs.bin", c->xcrs, sizeof(*c->xcrs));
    if (!rc && c->nested)
        rc = kvm_dir_write(dir, "nested_state.bin", c->nested, c->nested_size);
    if (!rc && v->vmx_caps) {
        rc = write_list(dir, "vmx_caps.bin", v->vmx_caps, sizeof(struct tsnap_kvm_msr_entry));
        char path[4096];
        path_of(path, sizeof(path), dir, "vmx_msrs.txt");
        FILE *fp = rc ? NULL : fopen(path, "w");
        if (!rc && !fp)
            rc = -1;
        for (u32 i = 0; fp && i < v->vmx_caps->nmsrs; i++)
            if (kvm_vmx_msr_writable(v->vmx_cap_entries[i].index))
                fprintf(fp, "0x%x 0x%016" PRIx64 "\n", v->vmx_cap_entries[i].index, v->vmx_cap_entries[i].data);
        if (fp && fclose(fp))
            rc = -1;
    }
    return rc ? -1 : 0;
}

/* ---- import ---------------------------------------------------------- */

static void *need(const char *dir, const char *name, u64 *len, u64 want, bool *ok)
{
    void *p = kvm_dir_read(dir, name, len);
    if (!p) {
        fprintf(stderr, "turtle-snap: import-kvm: %s/%s missing or unreadable\n", dir, name);
        *ok = false;
    } else if (want && *len != want) {
        fprintf(stderr, "turtle-snap: import-kvm: %s: %llu bytes, expected %llu\n", name,
                (unsigned long long)*len, (unsigned long long)want);
        *ok = false;
    }
    return p;
}

/* A kvm_msrs / kvm_cpuid2 file: the count must match the size. */
static bool list_ok(const char *name, const void *p, u64 len, u64 entry_size)
{
    u32 n;
    if (len < 8 || (memcpy(&n, p, 4), len != 8 + entry_size * n)) {
        fprintf(stderr, "turtle-snap: import-kvm: %s: count and size disagree\n", name);
        return false;
    }
    return true;
}

/* vmx_msrs.txt into a kvm_msrs list (when vmx_caps.bin is absent). */
static void *read_vmx_txt(const char *dir, u64 *len)
{
    char path[4096];
    path_of(path, sizeof(path), dir, "vmx_msrs.txt");
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    struct { struct tsnap_kvm_msrs h; struct tsnap_kvm_msr_entry e[TSNAP_VMX_CAPS_LAST - TSNAP_VMX_CAPS_FIRST + 1]; } *l;
    l = calloc(1, sizeof(*l));
    unsigned long long idx, val;
    while (l && fscanf(fp, "%llx %llx", &idx, &val) == 2 && l->h.nmsrs < ARRAY_SIZE(l->e))
        l->e[l->h.nmsrs++] = (struct tsnap_kvm_msr_entry){ (u32)idx, 0, val };
    fclose(fp);
    if (l)
        *len = 8 + 16ULL * l->h.nmsrs;
    return l;
}

/* The files of a KVM directory, REGS..LAPIC in section-type order. */
enum { MACHINE, CPUID, VMXCAPS, MEMORY, REGS, SREGS, MSRS, XSAVE, EVENTS, DEBUGREGS, MPSTATE, LAPIC, NESTED,
       VERSION, XCRS };

u8 *import_kvm(const char *dir, u64 *len)
{
    struct tsnap_builder *b = malloc(sizeof(*b));
    void *p[XCRS + 1] = { 0 };
    u64 n[XCRS + 1] = { 0 };
    bool ok = b != NULL;
    u8 *file = NULL;

    p[CPUID] = need(dir, "cpuid.bin", &n[CPUID], 0, &ok);
    p[MEMORY] = need(dir, "memory.bin", &n[MEMORY], 0, &ok);
    p[REGS] = need(dir, "regs.bin", &n[REGS], sizeof(struct tsnap_kvm_regs), &ok);
    p[SREGS] = need(dir, "sregs.bin", &n[SREGS], sizeof(struct tsnap_kvm_sregs), &ok);
    p[MSRS] = need(dir, "msrs.bin", &n[MSRS], 0, &ok);
    p[XSAVE] = need(dir, "xsave.bin", &n[XSAVE], sizeof(struct tsnap_kvm_xsave), &ok);
    p[EVENTS] = need(dir, "events.bin", &n[EVENTS], sizeof(struct tsnap_kvm_vcpu_events), &ok);
    p[DEBUGREGS] = need(dir, "debugregs.bin", &n[DEBUGREGS], sizeof(struct tsnap_kvm_debugregs), &ok);
    p[MPSTATE] = need(dir, "mp_state.bin", &n[MPSTATE], sizeof(struct tsnap_kvm_mp_state), &ok);
    p[LAPIC] = need(dir, "lapic.bin", &n[LAPIC], sizeof(struct tsnap_kvm_lapic_state), &ok);
    p[NESTED] = kvm_dir_read(dir, "nested_state.bin", &n[NESTED]);
    p[XCRS] = kvm_dir_read(dir, "xcrs.bin", &n[XCRS]);
    p[VMXCAPS] = kvm_dir_read(dir, "vmx_caps.bin", &n[VMXCAPS]);
    if (!p[VMXCAPS])
        p[VMXCAPS] = read_vmx_txt(dir, &n[VMXCAPS]);
    p[MACHINE] = kvm_dir_read(dir, "machine.bin", &n[MACHINE]);
    p[VERSION] = kvm_dir_read(dir, "turtle_version", &n[VERSION]);
    if (!ok)
        goto out;
    ok = list_ok("cpuid.bin", p[CPUID], n[CPUID], sizeof(struct tsnap_kvm_cpuid_entry2)) &&
         list_ok("msrs.bin", p[MSRS], n[MSRS], sizeof(struct tsnap_kvm_msr_entry)) &&
         (!p[VMXCAPS] || list_ok("vmx_caps.bin", p[VMXCAPS], n[VMXCAPS], sizeof(struct tsnap_kvm_msr_entry)));
    if (!ok)
        goto out;
    struct tsnap_machine m = { .mem_size = n[MEMORY], .n_vcpus = 1,
                               .flags = p[NESTED] ? TSNAP_MACHINE_NESTED : 0 };
    memcpy(m.name, "kvm", 3);
    if (p[MACHINE] && n[MACHINE] == sizeof(m))
        memcpy(&m, p[MACHINE], sizeof(m));
    char version[17] = "kvm-import";
    if (p[VERSION]) {
        memset(version, 0, sizeof(version));
        memcpy(version, p[VERSION], MIN(n[VERSION], (u64)16));
    }
    tsnap_builder_init(b, version);
    tsnap_add(b, TSNAP_SEC_MACHINE, 0, &m, sizeof(m));
    tsnap_add(b, TSNAP_SEC_CPUID, 0, p[CPUID], n[CPUID]);
    if (p[VMXCAPS] && p[NESTED])
        tsnap_add(b, TSNAP_SEC_VMX_CAPS, 0, p[VMXCAPS], n[VMXCAPS]);
    tsnap_add_memory(b, p[MEMORY], n[MEMORY]);
    for (int i = REGS; i <= LAPIC; i++)
        tsnap_add(b, TSNAP_SEC_REGS + (u32)(i - REGS), 0, p[i], n[i]);
    if (p[NESTED])
        tsnap_add(b, TSNAP_SEC_NESTED, 0, p[NESTED], n[NESTED]);
    if (p[XCRS])
        tsnap_add(b, TSNAP_SEC_XCRS, 0, p[XCRS], n[XCRS]);
    file = tsnap_build(b, len);
    if (!file) {
        fprintf(stderr, "turtle-snap: import-kvm: cannot build the file\n");
        goto out;
    }
    struct tsnap_view *view = malloc(sizeof(*view));
    const char *err = view ? tsnap_parse(file, *len, view) : "out of memory";
    free(view);
    if (err) {
        fprintf(stderr, "turtle-snap: import-kvm: %s: the result is refused: %s\n", dir, err);
        free(file);
        file = NULL;
    }
out:
    for (unsigned i = 0; i < ARRAY_SIZE(p); i++)
        free(p[i]);
    free(b);
    return file;
}
