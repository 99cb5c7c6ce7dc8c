/*
 * Host tests of tools/turtle-snap: export-kvm then import-kvm gives back
 * the same file byte for byte, for every nested state; the exported files
 * are exactly the KVM ioctl payloads (nested_state.bin is `size` bytes,
 * vmx_msrs.txt holds only the MSRs KVM lets userspace write); info and
 * check run over every state; check fails, naming the check, on a
 * snapshot KVM would refuse.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot/crc32c.h"
#include "tests/unit/snap_fixture.h"
#include "tools/turtle-snap/kvm_dir.h"
#include "tools/turtle-snap/snap.h"

static char tmpdir[256];

static void write_file(const char *path, const void *data, u64 len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_round_trip(void **state)
{
    (void)state;
    static struct tsnap_view view;
    char dir[300];
    for (int st = 0; st < SNAPFIX_N; st++) {
        u64 len, len2, n;
        u8 *f = snapfix_file(st, &len);
        assert_null(tsnap_parse(f, len, &view));
        snprintf(dir, sizeof(dir), "%s/%s", tmpdir, snapfix_names[st]);
        assert_int_equal(export_kvm(&view, dir), 0);
        /* nested_state.bin: exactly kvm_nested_state.size bytes. */
        void *ns = kvm_dir_read(dir, "nested_state.bin", &n);
        if (st == SNAPFIX_PLAIN) {
            assert_null(ns);
        } else {
            assert_non_null(ns);
            assert_int_equal(n, ((struct tsnap_kvm_nested_state_hdr *)ns)->size);
            assert_memory_equal(ns, view.vcpu[0].nested, n);
            free(ns);
        }
        void *regs = kvm_dir_read(dir, "regs.bin", &n);
        assert_int_equal(n, 144);
        assert_memory_equal(regs, view.vcpu[0].regs, 144);
        free(regs);
        void *memory = kvm_dir_read(dir, "memory.bin", &n);
        assert_int_equal(n, SNAPFIX_MEM);
        assert_int_equal(((u8 *)memory)[0x100000], 0xf4);
        free(memory);
        u8 *back = import_kvm(dir, &len2);
        assert_non_null(back);
        assert_int_equal(len2, len);
        assert_memory_equal(back, f, len);
        free(back);
        free(f);
    }
}

static void test_vmx_msrs_txt(void **state)
{
    (void)state;
    char dir[300];
    u64 n;
    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, snapfix_names[SNAPFIX_L2]);
    char *txt = kvm_dir_read(dir, "vmx_msrs.txt", &n);
    assert_non_null(txt);
    txt[n] = 0;
    assert_non_null(strstr(txt, "0x480 0x00d8100011e57ed0\n"));
    assert_non_null(strstr(txt, "0x48d "));
    assert_null(strstr(txt, "0x481 "));         /* derived by KVM: not writable */
    assert_null(strstr(txt, "0x487 "));
    free(txt);
    /* Without vmx_caps.bin, import takes vmx_msrs.txt. */
    char path[400];
    snprintf(path, sizeof(path), "%s/vmx_caps.bin", dir);
    assert_int_equal(unlink(path), 0);
    u64 len;
    u8 *f = import_kvm(dir, &len);
    assert_non_null(f);
    static struct tsnap_view view, orig;
    assert_null(tsnap_parse(f, len, &view));
    assert_int_equal(view.vmx_caps->nmsrs, 12);
    /* Every value as written, 64 bits wide (0x48e's top bit is set). */
    u64 olen;
    u8 *of = snapfix_file(SNAPFIX_L2, &olen);
    assert_null(tsnap_parse(of, olen, &orig));
    for (u32 i = 0, k = 0; i < orig.vmx_caps->nmsrs; i++) {
        if (!kvm_vmx_msr_writable(orig.vmx_cap_entries[i].index))
            continue;
        assert_int_equal(view.vmx_cap_entries[k].index, orig.vmx_cap_entries[i].index);
        assert_true(view.vmx_cap_entries[k].data == orig.vmx_cap_entries[i].data);
        k++;
    }
    free(of);
    free(f);
    /* A short regs.bin is refused by name. */
    snprintf(path, sizeof(path), "%s/regs.bin", dir);
    write_file(path, "short", 5);
    assert_null(import_kvm(dir, &len));
}

static void test_info_and_check(void **state)
{
    (void)state;
    char path[300];
    FILE *out = fopen("/dev/null", "w");
    for (int st = 0; st < SNAPFIX_N; st++) {
        u64 len;
        u8 *f = snapfix_file(st, &len);
        snprintf(path, sizeof(path), "%s/%s.tsnap", tmpdir, snapfix_names[st]);
        write_file(path, f, len);
        assert_int_equal(cmd_info(path, out), 0);
        assert_int_equal(cmd_check(path, out), 0);
        free(f);
    }
    /* A vmcs12 KVM would refuse in L2: check fails and names KVM 6.3.13. */
    u64 len;
    u8 *f = snapfix_file(SNAPFIX_L2, &len);
    static struct tsnap_view view;
    assert_null(tsnap_parse(f, len, &view));
    u8 *nested = (u8 *)view.vcpu[0].nested;
    u32 shutdown = 2;
    memcpy(nested + 128 + 916, &shutdown, 4);       /* guest_activity_state */
    struct tsnap_header *h = (void *)f;
    h->crc32c = tsnap_file_crc(f, len);
    snprintf(path, sizeof(path), "%s/bad.tsnap", tmpdir);
    write_file(path, f, len);
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    assert_int_equal(cmd_check(path, mem), 1);
    fclose(mem);
    assert_non_null(strstr(text, "FAIL vCPU 0 KVM_SET_NESTED_STATE"));
    assert_non_null(strstr(text, "KVM 6.3.13"));
    free(text);
    free(f);
    /* A corrupt file: integrity fails first. */
    f = snapfix_file(SNAPFIX_VMCS, &len);
    f[len / 2] ^= 1;
    write_file(path, f, len);
    mem = open_memstream(&text, &tlen);
    assert_int_equal(cmd_check(path, mem), 1);
    fclose(mem);
    assert_non_null(strstr(text, "FAIL integrity"));
    assert_non_null(strstr(text, "checksum mismatch"));
    free(text);
    free(f);
    fclose(out);
}

/* A frame in a noisy stream is found; a torn or corrupt one is not. */
static void test_unframe(void **state)
{
    (void)state;
    u64 len, at, n;
    u8 *f = snapfix_file(SNAPFIX_L2, &len);
    u64 total = 100 + 16 + len + 16 + 50;
    u8 *s = calloc(1, total);
    memset(s, 'x', 100);
    memcpy(s + 40, "TSNAPFRM", 8);                  /* a false start */
    struct tsnap_frame_head h = { .length = len };
    struct tsnap_frame_tail t = { .crc32c = crc32c(f, len) };
    memcpy(h.magic, TSNAP_FRAME_HEAD_MAGIC, 8);
    memcpy(t.magic, TSNAP_FRAME_TAIL_MAGIC, 8);
    memcpy(s + 100, &h, 16);
    memcpy(s + 116, f, len);
    memcpy(s + 116 + len, &t, 16);
    assert_true(snap_find_frame(s, total, &at, &n));
    assert_int_equal(at, 116);
    assert_int_equal(n, len);
    assert_false(snap_find_frame(s, 116 + len + 8, &at, &n));  /* tail cut */
    s[116 + len / 2] ^= 4;                                       /* a flipped bit */
    assert_false(snap_find_frame(s, total, &at, &n));
    free(s);
    free(f);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/turtle-snap-test-XXXXXX", t ? t : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_vmx_msrs_txt),
        cmocka_unit_test(test_info_and_check),
        cmocka_unit_test(test_unframe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
