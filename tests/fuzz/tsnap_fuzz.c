/*
 * libFuzzer target over the snapshot reader: tsnap_parse(), the vCPU value
 * checks, KVM's nested-state checks and turtle-snap info's decoding, under
 * ASan/UBSan (tests/fuzz/fuzz.mk; `make test` runs it for a bounded time,
 * `make fuzz` for longer).
 *
 * The first input byte picks what the rest is:
 *   mode 0  a snapshot file, as is (the CRC guards everything: this
 *           explores the header checks and truncation)
 *   mode 1  a snapshot file whose CRC is fixed up before parsing, so that
 *           mutations reach the section and per-section checks, and accepted
 *           files reach the value checks, the nested checks and info
 *   mode 2  a bare struct kvm_nested_state, checked against the seed
 *           fixture's vCPU (KVM-like capabilities, 2 MiB of RAM)
 *   mode 3  a serial stream: turtle-snap unframe's search, then the file
 *           it finds, as in mode 0
 * The seed corpus (tests/fuzz/corpus/tsnap, made by mk_tsnap_corpus.c) has
 * every nested state in each mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/nested_check.h"
#include "snapshot/vcpu_check.h"
#include "tests/unit/snap_fixture.h"
#include "tools/turtle-snap/snap.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static FILE *sink;
static struct nested_check_caps caps;
static struct tsnap_view view;

static void run_file(u8 *buf, u64 len)
{
    if (tsnap_parse(buf, len, &view))
        return;
    for (u32 i = 0; i < view.machine->n_vcpus; i++) {
        (void)tsnap_check_vcpu(&view, i);
        (void)nested_check_vcpu(&view, i);
    }
    info_view(&view, sink);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
    if (!sink) {
        sink = fopen("/dev/null", "w");
        snapfix_caps(&caps);
        snapfix_nested(SNAPFIX_L2_SHADOW, (u8[TSNAP_NESTED_SIZE_MAX]){ 0 });   /* RAM with a link page */
    }
    if (size < 1)
        return 0;
    u8 mode = data[0] % 4;
    u64 len = size - 1;
    /* An exact-size copy (malloc is 16-aligned), so ASan sees any read
     * past the end. */
    u8 *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    u64 at, n;
    if (mode == 2) {
        (void)nested_check_state(buf, len, &caps, snapfix_read, NULL);
    } else if (mode == 3) {
        if (snap_find_frame(buf, len, &at, &n)) {
            u8 *file = malloc(n ? n : 1);
            memcpy(file, buf + at, n);
            run_file(file, n);
            free(file);
        }
    } else {
        if (mode == 1 && len >= sizeof(struct tsnap_header)) {
            u32 crc = tsnap_file_crc(buf, len);
            memcpy(buf + offsetof(struct tsnap_header, crc32c), &crc, 4);
        }
        run_file(buf, len);
    }
    free(buf);
    return 0;
}
