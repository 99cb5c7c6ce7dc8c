/*
 * CRC-32C, table-driven, one byte per step (snapshot/crc32c.h). The table
 * is a constant computed at compile time from the polynomial, so there is
 * no init call and no writable state: turtle and the host tools can use it
 * from any context.
 */
#include "snapshot/crc32c.h"

#define CRC32C_POLY     0x82f63b78u     /* 0x1edc6f41 bit-reversed */

/* One step of the bitwise algorithm; eight of them give a table entry. */
#define S(c)    (((c) >> 1) ^ (((c) & 1u) ? CRC32C_POLY : 0u))
#define E(i)    S(S(S(S(S(S(S(S((u32)(i)))))))))
#define R4(i)   E(i), E((i) + 1), E((i) + 2), E((i) + 3)
#define R16(i)  R4(i), R4((i) + 4), R4((i) + 8), R4((i) + 12)
#define R64(i)  R16(i), R16((i) + 16), R16((i) + 32), R16((i) + 48)

static const u32 crc32c_table[256] = {
    R64(0), R64(64), R64(128), R64(192),
};

_Static_assert(E(1) == 0xf26b8303u, "CRC-32C table entry 1");
_Static_assert(E(128) == CRC32C_POLY, "CRC-32C table entry 128");

u32 crc32c_update(u32 c, const void *buf, u64 len)
{
    const u8 *p = buf;

    while (len--)
        c = crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

u32 crc32c(const void *buf, u64 len)
{
    return crc32c_final(crc32c_update(crc32c_init(), buf, len));
}
