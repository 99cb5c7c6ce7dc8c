/*
 * CRC-32C (Castagnoli; reflected polynomial 0x82f63b78, initial value and
 * final XOR 0xffffffff), the checksum of the snapshot file and of its
 * serial frame (snapshot/format.h). Freestanding and incremental, so turtle
 * can checksum a stream in pieces:
 *
 *     u32 c = crc32c_init();
 *     c = crc32c_update(c, a, na);
 *     c = crc32c_update(c, b, nb);
 *     u32 crc = crc32c_final(c);          == crc32c(ab, na + nb)
 *
 * Check value: crc32c("123456789", 9) == 0xe3069283 (RFC 3720 B.4).
 */
#ifndef TURTLE_SNAPSHOT_CRC32C_H
#define TURTLE_SNAPSHOT_CRC32C_H

#include "kernel/types.h"

#define CRC32C_CHECK_VALUE  0xe3069283u   /* of the nine bytes "123456789" */

static inline u32 crc32c_init(void)
{
    return 0xffffffffu;
}

/* Folds len bytes at buf into the running state c (not yet finalised). */
u32 crc32c_update(u32 c, const void *buf, u64 len);

static inline u32 crc32c_final(u32 c)
{
    return c ^ 0xffffffffu;
}

/* The whole thing in one call. */
u32 crc32c(const void *buf, u64 len);

#endif
