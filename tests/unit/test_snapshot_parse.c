/*
 * Host tests of the snapshot file's integrity checks (snapshot/parse.c)
 * and its CRC-32C (snapshot/crc32c.c): every synthetic state is accepted;
 * each check refuses with its own message; truncation at every byte of
 * the header and at every section boundary is refused as truncation; and
 * single-bit flips anywhere are caught (by the CRC, or a structural check
 * when the CRC is recomputed) without a read outside the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapshot/crc32c.h"
#include "snapshot/parse.h"
#include "tests/unit/snap_fixture.h"

static struct tsnap_view view;

static u8 *copy_of(const u8 *f, u64 len)
{
    u8 *c = aligned_alloc(8, ALIGN_UP(len ? len : 1, 8));
    memcpy(c, f, len);
    return c;
}

/* The CRC over the len bytes given (whatever total_size now says). */
static void recrc_len(u8 *f, u64 len)
{
    struct tsnap_header *h = (void *)f;
    h->crc32c = tsnap_file_crc(f, len);
}

static void recrc(u8 *f)
{
    recrc_len(f, ((struct tsnap_header *)f)->total_size);
}

static struct tsnap_section *sec(u8 *f, u32 i)
{
    return (struct tsnap_section *)(f + sizeof(struct tsnap_header)) + i;
}

static u32 find(u8 *f, u32 type)
{
    struct tsnap_header *h = (void *)f;
    for (u32 i = 0; i < h->n_sections; i++)
        if (sec(f, i)->type == type)
            return i;
    fail_msg("no section of type %u", type);
    return 0;
}

#define EXPECT(f, len, text) do {                                              \
        const char *_e = tsnap_parse((f), (len), &view);                       \
        if (!_e || !strstr(_e, (text)))                                        \
            fail_msg("expected \"%s\", got \"%s\"", (text), _e ? _e : "OK");   \
    } while (0)

static void test_crc32c(void **state)
{
    (void)state;
    u8 buf[1000];
    assert_int_equal(crc32c("123456789", 9), CRC32C_CHECK_VALUE);
    for (u32 i = 0; i < sizeof(buf); i++)
        buf[i] = (u8)(i * 7 + 3);
    u32 whole = crc32c(buf, sizeof(buf));
    for (u32 cut = 0; cut <= sizeof(buf); cut++) {
        u32 c = crc32c_update(crc32c_init(), buf, cut);
        assert_int_equal(crc32c_final(crc32c_update(c, buf + cut, sizeof(buf) - cut)), whole);
    }
}

static void test_valid_states(void **state)
{
    (void)state;
    for (int st = 0; st < SNAPFIX_N; st++) {
        u64 len;
        u8 *f = snapfix_file(st, &len);
        const char *e = tsnap_parse(f, len, &view);
        if (e)
            fail_msg("%s: %s", snapfix_names[st], e);
        assert_non_null(view.vcpu[0].regs);
        assert_int_equal(view.vcpu[0].regs->rip, 0x100000);
        assert_int_equal(!!view.vcpu[0].nested, st != SNAPFIX_PLAIN);
        assert_int_equal(!!view.vmx_caps, st != SNAPFIX_PLAIN);
        /* Memory: stored pages read back; an elided page reads as zeros. */
        u8 b;
        assert_true(tsnap_mem_read(&view, 0x100000, &b, 1));
        assert_int_equal(b, 0xf4);
        assert_null(tsnap_mem_page(&view, 0));
        assert_true(tsnap_mem_read(&view, 0, &b, 1));
        assert_int_equal(b, 0);
        assert_false(tsnap_mem_read(&view, SNAPFIX_MEM - 1, &b, 2));
        free(f);
    }
}

static void test_header_checks(void **state)
{
    (void)state;
    u64 len;
    u8 *f = snapfix_file(SNAPFIX_L2, &len), *c;
    struct tsnap_header *h;

#define FRESH() (free(c), c = copy_of(f, len), h = (void *)c)
    c = copy_of(f, len);
    h = (void *)c;
    c[0] = 'X';
    EXPECT(c, len, "bad magic");
    FRESH();
    h->version = 2;
    EXPECT(c, len, "unsupported version 2");
    FRESH();
    h->header_size = 72;
    EXPECT(c, len, "bad header_size");
    FRESH();
    h->flags |= BIT(5);
    EXPECT(c, len, "unknown header flags");
    FRESH();
    h->reserved1 = 1;
    EXPECT(c, len, "reserved header fields");
    FRESH();
    h->crc32c ^= 1;
    EXPECT(c, len, "checksum mismatch");
    FRESH();
    h->n_sections = 0;
    recrc(c);
    EXPECT(c, len, "n_sections out of range");
    FRESH();
    h->n_sections = 257;
    recrc(c);
    EXPECT(c, len, "n_sections out of range");
    /* Trailing bytes after total_size. */
    u8 *longer = aligned_alloc(8, len + 8);
    memcpy(longer, f, len);
    memset(longer + len, 0, 8);
    EXPECT(longer, len + 8, "trailing bytes: 8 after total_size");
    free(longer);
    /* A misaligned buffer is refused, not read. */
    u8 *mis = malloc(len + 1);
    memcpy(mis + 1, f, len);
    EXPECT(mis + 1, len, "buffer not 8-aligned");
    free(mis);
    /* Truncation at every byte of the header, and at every section boundary. */
    char want[64];
    for (u64 cut = 0; cut < sizeof(struct tsnap_header); cut++) {
        snprintf(want, sizeof(want), "truncated: %llu of 64 header bytes", (unsigned long long)cut);
        EXPECT(f, cut, want);
    }
    h = (void *)f;
    for (u32 i = 0; i < h->n_sections; i++) {
        u64 cuts[] = { sec(f, i)->offset, sec(f, i)->offset + sec(f, i)->size - 1 };
        for (int k = 0; k < 2; k++) {
            snprintf(want, sizeof(want), "truncated: %llu of %llu bytes", (unsigned long long)cuts[k],
                     (unsigned long long)len);
            EXPECT(f, cuts[k], want);
        }
    }
    free(c);
    free(f);
#undef FRESH
}

/* Mutate a fresh copy of the L2 fixture, re-CRC it, expect a message. */
struct mutation {
    const char *what;
    void (*mutate)(u8 *f);
    const char *expect;
};

static void m_unaligned(u8 *f) { sec(f, find(f, TSNAP_SEC_REGS))->offset += 4; }
static void m_outside(u8 *f) { sec(f, find(f, TSNAP_SEC_LAPIC))->offset = ((struct tsnap_header *)f)->total_size; }
static void m_overlap(u8 *f) { sec(f, find(f, TSNAP_SEC_SREGS))->offset = sec(f, find(f, TSNAP_SEC_REGS))->offset; }
static void m_into_table(u8 *f) { sec(f, find(f, TSNAP_SEC_REGS))->offset = 64; }
static void m_unknown_type(u8 *f) { sec(f, find(f, TSNAP_SEC_DEBUGREGS))->type = 99; }
static void m_version(u8 *f) { sec(f, find(f, TSNAP_SEC_XSAVE))->version = 2; }
static void m_sec_flags(u8 *f) { sec(f, find(f, TSNAP_SEC_XSAVE))->flags = 2; }
static void m_dup(u8 *f) { sec(f, find(f, TSNAP_SEC_SREGS))->type = TSNAP_SEC_REGS; }
static void m_instance(u8 *f) { sec(f, find(f, TSNAP_SEC_REGS))->instance = 1; }
static void m_drop_regs(u8 *f)
{
    struct tsnap_section *s = sec(f, find(f, TSNAP_SEC_REGS));
    s->type = 99;
    s->flags = TSNAP_SEC_F_OPTIONAL;
}
static void m_drop_nested(u8 *f)
{
    struct tsnap_section *s = sec(f, find(f, TSNAP_SEC_NESTED));
    s->version = 7;
    s->flags = TSNAP_SEC_F_OPTIONAL;
}
static void m_drop_caps(u8 *f) { sec(f, find(f, TSNAP_SEC_VMX_CAPS))->type = 99; sec(f, find(f, 99))->flags = 1; }
static void m_regs_size(u8 *f) { sec(f, find(f, TSNAP_SEC_REGS))->size -= 8; }
static void m_lapic_size(u8 *f) { sec(f, find(f, TSNAP_SEC_LAPIC))->size += 8; }
static void m_msrs_count(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_MSRS))->offset) += 1; }
static void m_msrs_many(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_MSRS))->offset) = 5000; }
static void m_cpuid_count(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_CPUID))->offset) -= 1; }
static void m_caps_index(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_VMX_CAPS))->offset + 8) = 0x10; }
static void m_caps_twice(u8 *f)
{
    u8 *p = f + sec(f, find(f, TSNAP_SEC_VMX_CAPS))->offset + 8;
    memcpy(p + 16, p, 4);
}
static struct tsnap_memory *mem(u8 *f) { return (void *)(f + sec(f, find(f, TSNAP_SEC_MEMORY))->offset); }
static void m_mem_size(u8 *f) { struct tsnap_memory *m = mem(f); m->mem_size += 4096; }
static void m_mem_unaligned(u8 *f) { mem(f)->mem_size += 1; }
static void m_mem_popcount(u8 *f) { ((u64 *)(mem(f) + 1))[0] ^= BIT(1); }
static void m_mem_present(u8 *f) { mem(f)->n_present += 1; }
static void m_machine_mem(u8 *f) { ((struct tsnap_machine *)(f + sec(f, 0)->offset))->mem_size *= 2; }
static void m_machine_vcpus(u8 *f) { ((struct tsnap_machine *)(f + sec(f, 0)->offset))->n_vcpus = 9; }
static void m_machine_vcpus2(u8 *f) { ((struct tsnap_machine *)(f + sec(f, 0)->offset))->n_vcpus = 2; }
static void m_machine_flags(u8 *f) { ((struct tsnap_machine *)(f + sec(f, 0)->offset))->flags |= 2; }
static void m_machine_plain(u8 *f) { ((struct tsnap_machine *)(f + sec(f, 0)->offset))->flags = 0; }
static void m_machine_first(u8 *f)
{
    struct tsnap_section t = *sec(f, 0);
    *sec(f, 0) = *sec(f, 1);
    *sec(f, 1) = t;
}
static void m_nested_size(u8 *f) { sec(f, find(f, TSNAP_SEC_NESTED))->size = 4096; }
static void m_nested_hdr_size(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_NESTED))->offset + 4) = 8320; }
static void m_nested_format(u8 *f) { *(u16 *)(f + sec(f, find(f, TSNAP_SEC_NESTED))->offset + 2) = 1; }
static void m_device_unknown(u8 *f) { struct tsnap_section *s = sec(f, find(f, TSNAP_SEC_LAPIC)); s->type = TSNAP_SEC_DEVICE; s->instance = 99; }

static void m_xcrs_count(u8 *f) { *(u32 *)(f + sec(f, find(f, TSNAP_SEC_XCRS))->offset) = 17; }

static const struct mutation mutations[] = {
    { "unaligned offset", m_unaligned, "offset not 8-aligned" },
    { "section outside the file", m_outside, "outside the file" },
    { "overlapping sections", m_overlap, "overlaps section" },
    { "section over the table", m_into_table, "overlaps the header or section table" },
    { "unknown type", m_unknown_type, "unknown section type 99" },
    { "unknown version", m_version, "unsupported section version 2" },
    { "unknown section flags", m_sec_flags, "unknown section flags" },
    { "duplicate", m_dup, "duplicate of section" },
    { "instance beyond n_vcpus", m_instance, "instance out of range" },
    { "optional unknown skipped, regs missing", m_drop_regs, "missing section: regs of vCPU 0" },
    { "nested missing", m_drop_nested, "missing section: nested of vCPU 0" },
    { "vmx_caps missing", m_drop_caps, "missing section: vmx_caps" },
    { "regs size", m_regs_size, "(regs, vCPU 0): size 136, expected 144" },
    { "lapic size", m_lapic_size, "(lapic, vCPU 0): size 1032, expected 1024" },
    { "msr count vs size", m_msrs_count, "(msrs, vCPU 0): size" },
    { "msr count bound", m_msrs_many, "too many entries" },
    { "cpuid count vs size", m_cpuid_count, "(cpuid): size" },
    { "vmx_caps index", m_caps_index, "MSR index outside 0x480-0x491" },
    { "vmx_caps twice", m_caps_twice, "MSR listed twice" },
    { "memory size vs machine", m_mem_size, "size" },
    { "memory size unaligned", m_mem_unaligned, "mem_size not a non-zero multiple of 4096" },
    { "memory popcount", m_mem_popcount, "bitmap popcount differs from n_present" },
    { "memory n_present", m_mem_present, "n_present" },
    { "machine mem_size", m_machine_mem, "memory: mem_size differs from the machine's" },
    { "machine n_vcpus", m_machine_vcpus, "n_vcpus out of range" },
    { "machine n_vcpus 2", m_machine_vcpus2, "missing section: regs of vCPU 1" },
    { "machine flags", m_machine_flags, "machine: unknown flags" },
    { "not nested but nested sections", m_machine_plain, "vmx_caps present, but the machine is not nested" },
    { "machine not first", m_machine_first, "first section is not the machine" },
    { "nested size", m_nested_size, "size not 128, 4224 or 8320" },
    { "nested header size", m_nested_hdr_size, "kvm_nested_state.size differs" },
    { "nested format", m_nested_format, "format not VMX" },
    { "unknown device", m_device_unknown, "unknown device" },
    { "xcrs count", m_xcrs_count, "nr_xcrs above 16" },
};

static void test_structural_checks(void **state)
{
    (void)state;
    u64 len;
    u8 *f = snapfix_file(SNAPFIX_L2, &len);
    for (u32 i = 0; i < ARRAY_SIZE(mutations); i++) {
        u8 *c = copy_of(f, len);
        mutations[i].mutate(c);
        recrc(c);
        const char *e = tsnap_parse(c, len, &view);
        if (!e || !strstr(e, mutations[i].expect))
            fail_msg("%s: expected \"%s\", got \"%s\"", mutations[i].what, mutations[i].expect, e ? e : "OK");
        free(c);
    }
    /* An unknown type, or a newer version, marked optional is skipped and
     * the file accepted: a fixture section turned into one, plus its own
     * copy kept (the fixture has no spare; make the device a new version). */
    u8 *c = copy_of(f, len);
    struct tsnap_section *s = sec(c, find(c, TSNAP_SEC_VMX_CAPS));
    s->type = TSNAP_SEC_DEVICE;
    s->instance = TSNAP_DEV_PIT;
    s->version = 2;
    s->flags = TSNAP_SEC_F_OPTIONAL;
    ((struct tsnap_machine *)(c + sec(c, 0)->offset))->flags = 0;
    s = sec(c, find(c, TSNAP_SEC_NESTED));
    s->type = 200;
    s->flags = TSNAP_SEC_F_OPTIONAL;
    recrc(c);
    const char *e = tsnap_parse(c, len, &view);
    if (e)
        fail_msg("optional sections: %s", e);
    assert_int_equal(view.n_skipped, 2);
    assert_int_equal(view.n_devices, 0);
    free(c);
    free(f);
}

/* Every bit of the header and table, and one bit of every fourth byte
 * of the payloads (the CRC catches any single-bit error; this is about the
 * structural checks never reading outside the file):
 * the CRC catches the flip; with the CRC recomputed the structural checks
 * either refuse or accept a still-consistent file, never crash. */
static void test_bit_flips(void **state)
{
    (void)state;
    for (int st = SNAPFIX_L2_SHADOW; st < SNAPFIX_N; st++) {
        u64 len;
        u8 *f = snapfix_file(st, &len);
        u8 *c = copy_of(f, len);
        u64 table_end = 64 + 32 * ((struct tsnap_header *)f)->n_sections;
        for (u64 i = 0; i < len; i++) {
            for (u32 bit = 0; bit < 8; bit++) {
                if (i >= table_end && (bit != i % 8 || i % 4))
                    continue;
                c[i] ^= (u8)(1 << bit);
                const char *e = tsnap_parse(c, len, &view);
                if (!e)
                    fail_msg("%s: flip of byte %llu bit %u accepted", snapfix_names[st], (unsigned long long)i, bit);
                if (i < table_end) {
                    recrc_len(c, len);
                    tsnap_parse(c, len, &view);     /* must not crash */
                }
                memcpy(c, f, table_end);
                c[i] = f[i];
            }
        }
        free(c);
        free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_valid_states),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_structural_checks),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
