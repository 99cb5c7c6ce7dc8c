/*
 * turtle-snap unframe STREAM FILE: the first snapshot framed in a byte
 * stream (a serial log: struct tsnap_frame_head, the file, struct
 * tsnap_frame_tail, format.h) written out as FILE. The frame's own CRC and
 * magic must hold; the file's checks are `check`'s business.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/crc32c.h"
#include "tools/turtle-snap/snap.h"

/* Offset and length of the first valid frame's payload in s; false if none. */
bool snap_find_frame(const u8 *s, u64 len, u64 *at, u64 *n)
{
    const u64 hs = sizeof(struct tsnap_frame_head), ts = sizeof(struct tsnap_frame_tail);

    for (u64 i = 0; len >= hs + ts && i <= len - hs - ts; i++) {
        struct tsnap_frame_head h;
        struct tsnap_frame_tail t;
        if (memcmp(s + i, TSNAP_FRAME_HEAD_MAGIC, 8))
            continue;
        memcpy(&h, s + i, hs);
        if (h.length > len - i - hs - ts)
            continue;
        memcpy(&t, s + i + hs + h.length, ts);
        if (memcmp(t.magic, TSNAP_FRAME_TAIL_MAGIC, 8) || t.reserved || t.crc32c != crc32c(s + i + hs, h.length))
            continue;
        *at = i + hs;
        *n = h.length;
        return true;
    }
    return false;
}

int cmd_unframe(const char *stream, const char *path)
{
    struct snap_file f;
    u64 at, n;

    if (snap_read_file(stream, &f))
        return -1;
    if (!snap_find_frame(f.data, f.len, &at, &n)) {
        fprintf(stderr, "turtle-snap: %s: no complete snapshot frame (head, bytes, tail with a matching CRC-32C)\n",
                stream);
        snap_free(&f);
        return -1;
    }
    FILE *fp = fopen(path, "wb");
    int rc = fp && fwrite(f.data + at, 1, n, fp) == n ? 0 : -1;
    if (fp && fclose(fp))
        rc = -1;
    if (rc)
        fprintf(stderr, "turtle-snap: %s: %s\n", path, strerror(errno));
    snap_free(&f);
    return rc;
}
