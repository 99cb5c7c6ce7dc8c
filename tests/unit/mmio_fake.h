/*
 * What the MMIO decoder/emulator tests share: the table of real encodings
 * (mmio_cases.h), a fake CPU and device that log every access, and small
 * helpers.
 */
#ifndef TURTLE_TEST_MMIO_FAKE_H
#define TURTLE_TEST_MMIO_FAKE_H

#include <stdlib.h>
#include <string.h>

#include "vmx/mmio_emulate.h"

struct mmio_case {
    int mode;                   /* 64, 32, 16 */
    u32 len;
    const char *bytes;
    u8 op, form, size, reg_size, reg, high8, lock, rep, addr_size;
    u64 imm;
};
#define OP(x)       MMIO_OP_##x
#define FORM(x)     MMIO_FORM_##x
#include "tests/unit/mmio_cases.h"

#define GPA         0xfee00300ULL
#define ARITH       0x8d5ULL
#define DF          0x400ULL

/* --- a fake CPU and device ------------------------------------------------ */

struct access {
    bool write;
    u32 size;
    u64 gpa, val;
};

struct fake {
    u64 gpr[16];
    u64 mem;                    /* the device register */
    bool refuse_read, refuse_write;
    struct access log[4];
    u32 nlog;
};

static inline u64 f_read_gpr(void *ctx, u32 reg)
{
    assert_true(reg < 16);
    return ((struct fake *)ctx)->gpr[reg];
}

static inline void f_write_gpr(void *ctx, u32 reg, u64 val)
{
    assert_true(reg < 16);
    ((struct fake *)ctx)->gpr[reg] = val;
}

static inline bool f_access(struct fake *f, bool write, u64 gpa, u32 size, u64 val)
{
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(f->nlog < 4);
    f->log[f->nlog++] = (struct access){ write, size, gpa, val };
    return write ? !f->refuse_write : !f->refuse_read;
}

static inline bool f_read(void *ctx, u64 gpa, u32 size, u64 *val)
{
    struct fake *f = ctx;

    *val = f->mem;              /* a device may drive more bits: the emulator masks */
    return f_access(f, false, gpa, size, f->mem);
}

static inline bool f_write(void *ctx, u64 gpa, u32 size, u64 val)
{
    struct fake *f = ctx;

    if (!f->refuse_write)
        f->mem = val;
    return f_access(f, true, gpa, size, val);
}

static inline struct mmio_ops fake_ops(struct fake *f)
{
    return (struct mmio_ops){ f_read_gpr, f_write_gpr, f_read, f_write, f };
}

static inline u64 rnd64(void)
{
    u64 v = 0;

    for (int i = 0; i < 4; i++)
        v = (v << 16) ^ (u64)(rand() & 0xffff);
    return v;
}

static inline u64 mask(u32 size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static inline u64 sext(u64 v, u32 size)
{
    return size >= 8 ? v : (u64)(((s64)(v << (64 - 8 * size))) >> (64 - 8 * size));
}

static inline enum mmio_cpu_mode mode_of(int bits)
{
    return bits == 64 ? MMIO_MODE_64 : bits == 32 ? MMIO_MODE_32 : MMIO_MODE_16;
}


static inline u32 parse_hex(const char *hex, u8 *out)
{
    u32 n = 0;
    char *end;

    while (*hex) {
        out[n++] = (u8)strtoul(hex, &end, 16);
        hex = end;
        while (*hex == ' ')
            hex++;
    }
    return n;
}


#endif
