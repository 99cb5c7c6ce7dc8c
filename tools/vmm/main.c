/*
 * vmm [--mem SIZE] [--prefix TEXT] [--timeout SECONDS] [--verbose] [--cpu-like DIR]
 *     [--snapshot-at N [--snapshot-dir DIR] [--snapshot-serial DEV] [--snapshot-resume]]
 *     KERNEL [CMDLINE] [-m MODULE MODULE_CMDLINE]...
 * vmm [--prefix TEXT] [--timeout SECONDS] [--verbose] --restore DIR
 *
 * Loads the multiboot2 kernel KERNEL and its modules into guest RAM, builds
 * the boot information, then runs the guest under KVM until it writes its
 * status to port 0xf4. Every input is checked before /dev/kvm is opened, so
 * a bad file is reported (exit 2) on any machine. README.md has the rest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm.h"

#define MB2_BOOTLOADER_MAGIC    0x36d76289u /* EAX at the kernel's entry (Multiboot2 3.3) */
#define DEFAULT_MEM             (64 * MIB)

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static int usage(void)
{
    fprintf(stderr,
            "usage: vmm [--mem SIZE] [--prefix TEXT] [--timeout SECONDS] [--verbose] [--cpu-like DIR]\n"
            "           [--snapshot-at N [--snapshot-dir DIR] [--snapshot-serial DEV] [--snapshot-resume]]\n"
            "           KERNEL [CMDLINE] [-m MODULE MODULE_CMDLINE]...\n"
            "       vmm [--prefix TEXT] [--timeout SECONDS] [--verbose] --restore DIR\n"
            "  SIZE: bytes with a K, M or G suffix (default 64M, 4M to 3G)\n"
            "  --cpu-like DIR: the guest is shown DIR's CPUID and VMX capabilities (export-kvm's)\n"
            "  exit status: the guest's (its byte to port 0xf4); 2 bad usage or input file;\n"
            "  124 the guest stopped without a status; 125 KVM failed\n");
    return VMM_EXIT_BAD_INPUT;
}

/* "64M", "1G", "65536": bytes, or 0 when malformed. */
static uint64_t parse_size(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return 0;
    switch (*end) {
    case 'K': case 'k': v <<= 10; end++; break;
    case 'M': case 'm': v <<= 20; end++; break;
    case 'G': case 'g': v <<= 30; end++; break;
    default: break;
    }
    return *end ? 0 : v;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg)
{
    int i = 1;

    cfg->mem = DEFAULT_MEM;
    cfg->cmdline = "";
    cfg->prefix = "";
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--verbose")) {
            cfg->verbose = true;
            continue;
        }
        if (!strcmp(opt, "--snapshot-resume")) {
            cfg->snapshot_resume = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(opt, "--mem")) {
            cfg->mem = parse_size(argv[++i]);
            if (cfg->mem < GUEST_MEM_MIN || cfg->mem > GUEST_MEM_MAX || cfg->mem % PAGE_SIZE) {
                fprintf(stderr, "vmm: error: bad --mem '%s' (4M to 3G, whole pages)\n", argv[i]);
                return VMM_EXIT_BAD_INPUT;
            }
        } else if (!strcmp(opt, "--restore")) {
            cfg->restore_dir = argv[++i];
        } else if (!strcmp(opt, "--cpu-like")) {
            cfg->cpu_like_dir = argv[++i];
        } else if (!strcmp(opt, "--snapshot-dir")) {
            cfg->snapshot_dir = argv[++i];
        } else if (!strcmp(opt, "--snapshot-serial")) {
            cfg->snapshot_serial = argv[++i];
        } else if (!strcmp(opt, "--snapshot-at")) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (*end || n == 0 || n > 1000000) {
                fprintf(stderr, "vmm: error: bad --snapshot-at '%s' (1 to 1000000)\n", argv[i]);
                return VMM_EXIT_BAD_INPUT;
            }
            cfg->snapshot_at = (unsigned)n;
        } else if (!strcmp(opt, "--prefix")) {
            cfg->prefix = argv[++i];
        } else if (!strcmp(opt, "--timeout")) {
            char *end;
            unsigned long t = strtoul(argv[++i], &end, 10);
            if (*end || t > 86400) {
                fprintf(stderr, "vmm: error: bad --timeout '%s'\n", argv[i]);
                return VMM_EXIT_BAD_INPUT;
            }
            cfg->timeout = (unsigned)t;
        } else {
            fprintf(stderr, "vmm: error: unknown option '%s'\n", opt);
            return usage();
        }
    }
    if (!cfg->snapshot_dir)
        cfg->snapshot_dir = "/tmp/vmm-snapshot";
    if (cfg->restore_dir)
        return i < argc || cfg->snapshot_at ? usage() : 0;
    if (i >= argc)
        return usage();
    cfg->kernel_path = argv[i++];
    if (i < argc && strcmp(argv[i], "-m"))
        cfg->cmdline = argv[i++];
    while (i < argc) {
        if (strcmp(argv[i], "-m") || i + 2 >= argc) {
            fprintf(stderr, "vmm: error: expected '-m MODULE MODULE_CMDLINE' at '%s'\n", argv[i]);
            return usage();
        }
        if (cfg->n_modules == VMM_MAX_MODULES) {
            fprintf(stderr, "vmm: error: more than %d modules\n", VMM_MAX_MODULES);
            return VMM_EXIT_BAD_INPUT;
        }
        cfg->modules[cfg->n_modules].file.path = argv[i + 1];
        cfg->modules[cfg->n_modules].cmdline = argv[i + 2];
        cfg->n_modules++;
        i += 3;
    }
    return 0;
}

/*
 * Puts the kernel, then each module on its own pages, then the boot
 * information into ram. Returns the boot information's address, or 0 after
 * a message when something is unusable or does not fit.
 */
static uint64_t load_guest(struct vmm_config *cfg, uint8_t *ram, struct kernel_image *k)
{
    struct file_buf kf;
    uint64_t at, mbi;

    if (read_file(cfg->kernel_path, &kf) < 0 || load_kernel(&kf, ram, cfg->mem, k) < 0)
        return 0;
    at = align_up(k->load_end, PAGE_SIZE);
    for (unsigned i = 0; i < cfg->n_modules; i++) {
        struct module *m = &cfg->modules[i];
        if (read_file(m->file.path, &m->file) < 0)
            return 0;
        if (at > cfg->mem || m->file.size > cfg->mem - at) {
            fprintf(stderr, "vmm: error: %s: module does not fit in %llu MiB of guest RAM\n",
                    m->file.path, (unsigned long long)(cfg->mem / MIB));
            return 0;
        }
        memcpy(ram + at, m->file.data, m->file.size);
        m->start = at;
        m->end = at + m->file.size;
        at = align_up(m->end, PAGE_SIZE);
    }
    mbi = at;
    if (!build_mbi(ram, cfg->mem, mbi, cfg)) {
        fprintf(stderr, "vmm: error: the boot information does not fit in %llu MiB of guest RAM\n",
                (unsigned long long)(cfg->mem / MIB));
        return 0;
    }
    return mbi;
}

int main(int argc, char **argv)
{
    static struct vmm_config cfg;
    struct kernel_image k;
    struct vm vm;
    uint64_t mbi;
    uint8_t *ram;
    int rc = parse_args(argc, argv, &cfg);

    if (rc)
        return rc;
    setvbuf(stderr, NULL, _IONBF, 0);
    if (cfg.restore_dir)
        return vmm_restore_run(&cfg);
    ram = mmap(NULL, cfg.mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        fprintf(stderr, "vmm: error: cannot map %llu MiB of guest RAM\n", (unsigned long long)(cfg.mem / MIB));
        return VMM_EXIT_KVM_FAILED;
    }
    mbi = load_guest(&cfg, ram, &k);
    if (!mbi)
        return VMM_EXIT_BAD_INPUT;
    if (cfg.verbose)
        fprintf(stderr, "vmm: %s: entry %#llx, %u modules, boot information at %#llx\n", cfg.kernel_path,
                (unsigned long long)k.entry, cfg.n_modules, (unsigned long long)mbi);
    if (vm_create(&vm, ram, cfg.mem, cfg.verbose) < 0 ||
        vm_setup_vcpu(&vm, k.entry, MB2_BOOTLOADER_MAGIC, (uint32_t)mbi, cfg.verbose) < 0 ||
        (cfg.cpu_like_dir && vmm_cpu_like(&vm, cfg.cpu_like_dir) < 0) ||
        vmm_snapshot_arm(&cfg) < 0)
        return VMM_EXIT_KVM_FAILED;
    return vm_run(&vm, &cfg);
}
