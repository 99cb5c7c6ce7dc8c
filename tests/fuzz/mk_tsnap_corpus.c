/*
 * Writes the seed corpus of tests/fuzz/tsnap_fuzz.c into a directory: the
 * fixture snapshot of every nested state (tests/unit/snap_fixture.c) in
 * modes 0 and 1, its kvm_nested_state in mode 2, and the file framed in a
 * short stream in mode 3. The corpus is
 * committed (tests/fuzz/corpus/tsnap); `make fuzz-corpus` remakes it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "snapshot/crc32c.h"
#include "tests/unit/snap_fixture.h"

static int put(const char *dir, const char *name, int mode, const u8 *data, u64 len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-mode%d", dir, name, mode);
    FILE *fp = fopen(path, "wb");
    u8 m = (u8)mode;
    if (!fp || fwrite(&m, 1, 1, fp) != 1 || fwrite(data, 1, len, fp) != len || fclose(fp)) {
        fprintf(stderr, "mk_tsnap_corpus: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static u8 blob[TSNAP_NESTED_SIZE_MAX];
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: mk_tsnap_corpus DIR\n");
        return 2;
    }
    for (int st = 0; st < SNAPFIX_N; st++) {
        u64 len;
        u8 *f = snapfix_file(st, &len);
        rc |= put(argv[1], snapfix_names[st], 0, f, len) | put(argv[1], snapfix_names[st], 1, f, len);
        u8 *s = malloc(len + 48);
        struct tsnap_frame_head h = { .length = len };
        struct tsnap_frame_tail t = { .crc32c = crc32c(f, len) };
        memcpy(h.magic, TSNAP_FRAME_HEAD_MAGIC, 8);
        memcpy(t.magic, TSNAP_FRAME_TAIL_MAGIC, 8);
        memcpy(s, "boot\r\n\0\0", 8);
        memcpy(s + 8, &h, 16);
        memcpy(s + 24, f, len);
        memcpy(s + 24 + len, &t, 16);
        memcpy(s + 40 + len, "\r\ndone\r\n", 8);
        rc |= put(argv[1], snapfix_names[st], 3, s, len + 48);
        free(s);
        free(f);
        if (st != SNAPFIX_PLAIN) {
            u32 n = snapfix_nested(st, blob);
            rc |= put(argv[1], snapfix_names[st], 2, blob, n);
        }
    }
    return rc;
}
