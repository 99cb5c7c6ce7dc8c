/*
 * Basic types and helpers shared by every layer. Freestanding: only the
 * compiler's own headers (stdint, stddef, stdbool) are used, so the same
 * pure-logic sources also compile for the host unit tests.
 */
#ifndef TURTLE_TYPES_H
#define TURTLE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define BIT(n)              ((u64)1 << (n))
#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)      (((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a)    ((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a)    (((x) & ((u64)(a) - 1)) == 0)
#define MIN(a, b)           ((a) < (b) ? (a) : (b))
#define MAX(a, b)           ((a) > (b) ? (a) : (b))

#define PAGE_SIZE           ((u64)4096)
#define PAGE_SHIFT          12
#define LARGE_PAGE_SIZE     ((u64)2 << 20)      /* 2 MiB */

#define __packed            __attribute__((packed))
#define __aligned(n)        __attribute__((aligned(n)))
#define __noreturn          __attribute__((noreturn))
#define __unused            __attribute__((unused))
#define __printf(a, b)      __attribute__((format(printf, a, b)))

#endif
