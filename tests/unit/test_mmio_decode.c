/*
 * Host unit test of the MMIO instruction decoder and emulator
 * (vmx/mmio_decode.c, vmx/mmio_emulate.c, vmx/mmio_alu.c).
 *
 * - mmio_cases.h: real encodings from the host assembler with what each
 *   means; every one must decode to exactly that (length, operation,
 *   sizes, register, immediate, prefixes), must be refused as truncated
 *   when any byte is missing, and must execute on a fake CPU and device
 *   as an independent model says, with the flags the host CPU computes.
 * - The ALU alone against the host CPU: every operation, size, carry-in,
 *   edge values and random ones.
 * - Refusals: everything outside the supported set, with its reason.
 * - Width rules, STOS iterations, device refusals.
 * - A fuzz of random bytes: no crash, no read past the bytes given
 *   (exactly sized heap copies under ASan), accepted lengths <= 15 and
 *   consistent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmx/mmio_emulate.h"
#include "tests/unit/mmio_host_alu.h"

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

static u64 f_read_gpr(void *ctx, u32 reg)
{
    assert_true(reg < 16);
    return ((struct fake *)ctx)->gpr[reg];
}

static void f_write_gpr(void *ctx, u32 reg, u64 val)
{
    assert_true(reg < 16);
    ((struct fake *)ctx)->gpr[reg] = val;
}

static bool f_access(struct fake *f, bool write, u64 gpa, u32 size, u64 val)
{
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(f->nlog < 4);
    f->log[f->nlog++] = (struct access){ write, size, gpa, val };
    return write ? !f->refuse_write : !f->refuse_read;
}

static bool f_read(void *ctx, u64 gpa, u32 size, u64 *val)
{
    struct fake *f = ctx;

    *val = f->mem;              /* a device may drive more bits: the emulator masks */
    return f_access(f, false, gpa, size, f->mem);
}

static bool f_write(void *ctx, u64 gpa, u32 size, u64 val)
{
    struct fake *f = ctx;

    if (!f->refuse_write)
        f->mem = val;
    return f_access(f, true, gpa, size, val);
}

static struct mmio_ops fake_ops(struct fake *f)
{
    return (struct mmio_ops){ f_read_gpr, f_write_gpr, f_read, f_write, f };
}

static u64 rnd64(void)
{
    u64 v = 0;

    for (int i = 0; i < 4; i++)
        v = (v << 16) ^ (u64)(rand() & 0xffff);
    return v;
}

static u64 mask(u32 size)
{
    return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static u64 sext(u64 v, u32 size)
{
    return size >= 8 ? v : (u64)(((s64)(v << (64 - 8 * size))) >> (64 - 8 * size));
}

static enum mmio_cpu_mode mode_of(int bits)
{
    return bits == 64 ? MMIO_MODE_64 : bits == 32 ? MMIO_MODE_32 : MMIO_MODE_16;
}

/* --- the independent model ------------------------------------------------ */

static u64 model_get(const u64 *gpr, u32 reg, bool high8, u32 size)
{
    return ((high8 ? gpr[reg] >> 8 : gpr[reg])) & mask(size);
}

static void model_set(u64 *gpr, u32 reg, bool high8, u32 size, u64 v)
{
    switch (size) {
    case 1:
        if (high8)
            gpr[reg] = (gpr[reg] & ~0xff00ULL) | ((v & 0xff) << 8);
        else
            gpr[reg] = (gpr[reg] & ~0xffULL) | (v & 0xff);
        break;
    case 2: gpr[reg] = (gpr[reg] & ~0xffffULL) | (v & 0xffff); break;
    case 4: gpr[reg] = (u32)v; break;
    default: gpr[reg] = v; break;
    }
}

/* The host's result and defined flags; for the flags the SDM leaves
 * undefined, turtle's choice: AF cleared by the logical operations, OF SF
 * AF PF left alone by BT*, nothing changed by NOT. */
static u64 model_alu(u32 op, u32 size, u64 d, u64 s, u64 *fl)
{
    u64 in = *fl, def = host_defined_flags(op), keep;
    u64 r = host_alu(op, size, d, s, fl);

    keep = (op >= MMIO_OP_BT && op <= MMIO_OP_BTC) || op == MMIO_OP_NOT ? ARITH & ~def : 0;
    *fl = (in & ~ARITH) | (*fl & def) | (in & keep);
    return r;
}

/* What case c does to state *f and *fl: updates them and fills the
 * expected device log; returns the expected status and RIP advance. */
static int model(const struct mmio_case *c, struct fake *f, u64 *fl, u32 *adv)
{
    u32 sz = c->size, op = c->op;
    u64 mem = f->mem & mask(sz), src = 0, res;
    bool bit = op >= MMIO_OP_BT && op <= MMIO_OP_BTC;

    f->nlog = 0;
    *adv = c->len;
    if (op == MMIO_OP_STOS) {
        u64 cnt = f->gpr[1] & mask(c->addr_size), di = f->gpr[7];

        if (c->rep && cnt == 0)
            return MMIO_OK;
        f->log[f->nlog++] = (struct access){ true, sz, GPA, f->gpr[0] & mask(sz) };
        f->mem = f->gpr[0] & mask(sz);
        model_set(f->gpr, 7, false, c->addr_size, (*fl & DF) ? di - sz : di + sz);
        if (c->rep) {
            model_set(f->gpr, 1, false, c->addr_size, cnt - 1);
            if (cnt - 1)
                *adv = 0;
        }
        return MMIO_OK;
    }
    if (c->form == MMIO_FORM_MEM_REG)
        src = model_get(f->gpr, c->reg, c->high8, c->reg_size);
    else if (c->form == MMIO_FORM_MEM_IMM)
        src = c->imm;
    if (bit && c->form == MMIO_FORM_MEM_REG && (s64)sext(src, sz) != (s64)(src & (8 * sz - 1))) {
        *adv = 0;
        return MMIO_ERR_BIT_OFFSET;
    }
    if (bit)
        src &= 8 * sz - 1;
    if (op == MMIO_OP_MOV && c->form != MMIO_FORM_REG_MEM) {
        f->log[f->nlog++] = (struct access){ true, sz, GPA, src };
        f->mem = src;
        return MMIO_OK;
    }
    f->log[f->nlog++] = (struct access){ false, sz, GPA, f->mem };
    if (c->form == MMIO_FORM_REG_MEM) {
        if (op == MMIO_OP_MOV || op == MMIO_OP_MOVZX)
            model_set(f->gpr, c->reg, c->high8, c->reg_size, mem);
        else if (op == MMIO_OP_MOVSX)
            model_set(f->gpr, c->reg, c->high8, c->reg_size, sext(mem, sz));
        else {
            res = model_alu(op, sz, model_get(f->gpr, c->reg, c->high8, c->reg_size), mem, fl);
            if (op != MMIO_OP_CMP)
                model_set(f->gpr, c->reg, c->high8, c->reg_size, res);
        }
        return MMIO_OK;
    }
    if (op == MMIO_OP_XCHG) {
        res = src;
        model_set(f->gpr, c->reg, c->high8, c->reg_size, mem);
    } else {
        res = model_alu(op, sz, mem, src, fl);
    }
    if (op != MMIO_OP_CMP && op != MMIO_OP_TEST && op != MMIO_OP_BT) {
        f->log[f->nlog++] = (struct access){ true, sz, GPA, res & mask(sz) };
        f->mem = res & mask(sz);
    }
    return MMIO_OK;
}

/* --- the table ------------------------------------------------------------ */

static void test_table_decodes(void **state)
{
    (void)state;
    for (u32 i = 0; i < ARRAY_SIZE(mmio_cases); i++) {
        const struct mmio_case *c = &mmio_cases[i];
        struct mmio_insn in, again;
        u8 buf[MMIO_INSN_MAX], *exact;
        int r = mmio_decode((const u8 *)c->bytes, c->len, mode_of(c->mode), &in);

        if (r != MMIO_OK)
            fail_msg("case %u (%d-bit, %u bytes): %s", i, c->mode, c->len, mmio_status_str(r));
        if (in.len != c->len || in.op != c->op || in.form != c->form || in.size != c->size ||
            in.reg_size != c->reg_size || in.reg != c->reg || in.reg_high8 != c->high8 ||
            in.lock != c->lock || in.rep != c->rep || in.addr_size != c->addr_size ||
            in.imm != c->imm)
            fail_msg("case %u: got len %u op %u form %u size %u reg %u/%u/%d lock %d rep %d "
                     "asz %u imm %#llx", i, in.len, in.op, in.form, in.size, in.reg, in.reg_size,
                     in.reg_high8, in.lock, in.rep, in.addr_size, (unsigned long long)in.imm);
        /* Any byte missing: truncated, read from an exactly sized copy. */
        for (u32 n = 0; n < c->len; n++) {
            exact = malloc(n ? n : 1);
            memcpy(exact, c->bytes, n);
            assert_int_equal(mmio_decode(exact, n, mode_of(c->mode), &again), MMIO_ERR_TRUNCATED);
            free(exact);
        }
        /* Bytes after the instruction change nothing. */
        memset(buf, 0xcc, sizeof(buf));
        memcpy(buf, c->bytes, c->len);
        assert_int_equal(mmio_decode(buf, sizeof(buf), mode_of(c->mode), &again), MMIO_OK);
        assert_memory_equal(&in, &again, sizeof(in));
    }
}

static void test_table_executes(void **state)
{
    (void)state;
    srand(1);
    for (u32 i = 0; i < ARRAY_SIZE(mmio_cases); i++) {
        const struct mmio_case *c = &mmio_cases[i];
        struct mmio_insn in;

        assert_int_equal(mmio_decode((const u8 *)c->bytes, c->len, mode_of(c->mode), &in),
                         MMIO_OK);
        for (int k = 0; k < 64; k++) {
            struct fake got = { 0 }, want;
            struct mmio_ops ops = fake_ops(&got);
            u64 fl = (rnd64() & (ARITH | DF)) | 0x202, want_fl = fl;
            u32 adv, want_adv;
            int r, want_r;

            for (int g = 0; g < 16; g++)
                got.gpr[g] = rnd64();
            got.mem = rnd64();
            if (k & 1)                  /* small values: in-range bit offsets, short counts */
                for (int g = 0; g < 16; g++)
                    got.gpr[g] = (got.gpr[g] & ~0xffffffffULL) | (rand() % 5);
            want = got;
            want_r = model(c, &want, &want_fl, &want_adv);
            r = mmio_emulate(&in, GPA, &ops, &fl, &adv);
            if (r != want_r || adv != want_adv || fl != want_fl ||
                memcmp(got.gpr, want.gpr, sizeof(got.gpr)) || got.nlog != want.nlog)
                fail_msg("case %u iteration %d: status %d/%d advance %u/%u flags %#llx/%#llx "
                         "accesses %u/%u", i, k, r, want_r, adv, want_adv,
                         (unsigned long long)fl, (unsigned long long)want_fl, got.nlog, want.nlog);
            for (u32 a = 0; a < got.nlog; a++) {
                assert_int_equal(got.log[a].write, want.log[a].write);
                assert_int_equal(got.log[a].size, want.log[a].size);
                assert_int_equal(got.log[a].gpa, GPA);
                if (got.log[a].write)
                    assert_int_equal(got.log[a].val, want.log[a].val);
            }
        }
    }
}

/* --- the ALU against the host CPU ----------------------------------------- */

static void test_alu_matches_host(void **state)
{
    static const u64 edges[] = {
        0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
        0x80000000, 0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
    };
    static const u32 sizes[] = { 1, 2, 4, 8 };
    u32 checked = 0;

    (void)state;
    srand(2);
    for (u32 op = MMIO_OP_ADD; op <= MMIO_OP_BTC; op++) {
        for (u32 si = 0; si < 4; si++) {
            u32 size = sizes[si];
            bool bit = op >= MMIO_OP_BT;

            if (bit && size == 1)
                continue;               /* no byte form of BT */
            for (u32 k = 0; k < 2000; k++) {
                u64 a = k < 18 * 18 ? edges[k % 18] : rnd64();
                u64 b = k < 18 * 18 ? edges[k / 18] : rnd64();
                u64 fl_in = (rnd64() & ARITH) | 2, fl_t = fl_in, fl_h = fl_in, r_t, r_h;
                u64 def = host_defined_flags(op);

                if (k >= 18 * 18 && (k & 3) == 0) {     /* near-equal operands */
                    b = a + (rand() % 3) - 1;
                }
                a &= mask(size);
                b &= mask(size);
                if (bit)
                    b &= 8 * size - 1;
                r_t = mmio_alu(op, size, a, b, &fl_t);
                r_h = host_alu(op, size, a, b, &fl_h);
                if (r_t != r_h || (fl_t & def) != (fl_h & def))
                    fail_msg("op %u size %u a %#llx b %#llx cf %d: result %#llx/%#llx "
                             "flags %#llx/%#llx", op, size, (unsigned long long)a,
                             (unsigned long long)b, (int)(fl_in & 1), (unsigned long long)r_t,
                             (unsigned long long)r_h, (unsigned long long)(fl_t & def),
                             (unsigned long long)(fl_h & def));
                /* Bits outside the defined flags: only the documented choices. */
                if (op == MMIO_OP_NOT || bit)
                    assert_int_equal(fl_t & ~def, fl_in & ~def);
                else
                    assert_int_equal(fl_t & ~ARITH, fl_in & ~ARITH);
                checked++;
            }
        }
    }
    assert_true(checked > 100000);
}

/* --- refusals ------------------------------------------------------------- */

struct refusal {
    int mode;
    const char *hex;
    int status;
    const char *what;
};

static const struct refusal refusals[] = {
    { 64, "89 c3", MMIO_ERR_NO_MEMORY, "mov %eax,%ebx" },
    { 64, "88 c4", MMIO_ERR_NO_MEMORY, "mov %al,%ah" },
    { 64, "0f b6 c0", MMIO_ERR_NO_MEMORY, "movzbl %al,%eax" },
    { 64, "f6 c0 01", MMIO_ERR_NO_MEMORY, "test $1,%al" },
    { 64, "c7 f8 00 00 00 00", MMIO_ERR_NO_MEMORY, "xbegin" },
    { 64, "f0 89 03", MMIO_ERR_LOCK, "lock mov" },
    { 64, "f0 c7 03 01 00 00 00", MMIO_ERR_LOCK, "lock mov imm" },
    { 64, "f0 39 03", MMIO_ERR_LOCK, "lock cmp" },
    { 64, "f0 85 03", MMIO_ERR_LOCK, "lock test" },
    { 64, "f0 f7 03 01 00 00 00", MMIO_ERR_LOCK, "lock test imm" },
    { 64, "f0 03 03", MMIO_ERR_LOCK, "lock add to a register" },
    { 64, "f0 0f a3 03", MMIO_ERR_LOCK, "lock bt" },
    { 64, "f0 0f ba 23 01", MMIO_ERR_LOCK, "lock bt imm" },
    { 64, "f0 0f b6 03", MMIO_ERR_LOCK, "lock movzx" },
    { 64, "f0 aa", MMIO_ERR_LOCK, "lock stos" },
    { 64, "f0 8b 03", MMIO_ERR_LOCK, "lock mov load" },
    { 64, "f3 89 03", MMIO_ERR_REP, "xrelease mov" },
    { 64, "f2 f0 01 03", MMIO_ERR_REP, "xacquire lock add" },
    { 64, "f2 aa", MMIO_ERR_REP, "repne stos" },
    { 64, "f3 0f b6 03", MMIO_ERR_REP, "rep movzx" },
    { 64, "f3 a4", MMIO_ERR_OPCODE, "rep movsb" },
    { 64, "a5", MMIO_ERR_OPCODE, "movs" },
    { 64, "ac", MMIO_ERR_OPCODE, "lods" },
    { 64, "a6", MMIO_ERR_OPCODE, "cmps" },
    { 64, "ae", MMIO_ERR_OPCODE, "scas" },
    { 64, "0f b1 0b", MMIO_ERR_OPCODE, "cmpxchg" },
    { 64, "0f c1 03", MMIO_ERR_OPCODE, "xadd" },
    { 64, "f7 23", MMIO_ERR_OPCODE, "mul" },
    { 64, "f7 3b", MMIO_ERR_OPCODE, "idiv" },
    { 64, "f7 0b 01 00 00 00", MMIO_ERR_OPCODE, "test /1 alias" },
    { 64, "ff 10", MMIO_ERR_OPCODE, "call *(%rax)" },
    { 64, "ff 20", MMIO_ERR_OPCODE, "jmp *(%rax)" },
    { 64, "ff 30", MMIO_ERR_OPCODE, "push (%rax)" },
    { 64, "8f 00", MMIO_ERR_OPCODE, "pop (%rax)" },
    { 64, "c6 08 00", MMIO_ERR_OPCODE, "c6 /1" },
    { 64, "0f ba 03 01", MMIO_ERR_OPCODE, "0f ba /0" },
    { 64, "82 03 01", MMIO_ERR_OPCODE, "82 (invalid in 64-bit mode)" },
    { 32, "82 03 01", MMIO_ERR_OPCODE, "82 (alias of 80, not emulated)" },
    { 64, "d3 23", MMIO_ERR_OPCODE, "shl %cl,(%rbx)" },
    { 64, "0f 28 03", MMIO_ERR_OPCODE, "movaps" },
    { 64, "c5 f9 6f 03", MMIO_ERR_OPCODE, "vmovdqa (VEX)" },
    { 64, "62 f1 fe 48 6f 03", MMIO_ERR_OPCODE, "vmovdqu64 (EVEX)" },
    { 64, "8d 03", MMIO_ERR_OPCODE, "lea" },
    { 64, "0f 0b", MMIO_ERR_OPCODE, "ud2" },
    { 64, "f4", MMIO_ERR_OPCODE, "hlt" },
    { 64, "0f 01 00", MMIO_ERR_OPCODE, "sgdt" },
    { 64, "05 01 00 00 00", MMIO_ERR_OPCODE, "add $1,%eax" },
    { 32, "40", MMIO_ERR_OPCODE, "inc %eax" },
    { 16, "48", MMIO_ERR_OPCODE, "dec %ax" },
    { 64, "", MMIO_ERR_TRUNCATED, "nothing" },
    { 64, "40", MMIO_ERR_TRUNCATED, "a lone REX" },
    { 64, "89", MMIO_ERR_TRUNCATED, "no ModRM" },
    { 64, "0f", MMIO_ERR_TRUNCATED, "a lone escape" },
    { 64, "8b 04", MMIO_ERR_TRUNCATED, "no SIB" },
    { 64, "8b 05 00 00", MMIO_ERR_TRUNCATED, "short RIP-relative displacement" },
    { 64, "c7 03 11 22", MMIO_ERR_TRUNCATED, "short immediate" },
    { 64, "a1 00 00 00 00", MMIO_ERR_TRUNCATED, "64-bit moffs cut at 4 bytes" },
    { 16, "c7 06 34", MMIO_ERR_TRUNCATED, "16-bit: short displacement" },
    { 64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66", MMIO_ERR_TOO_LONG, "15 prefixes" },
    { 64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 03", MMIO_ERR_TOO_LONG, "16 bytes" },
    { 64, "66 66 66 66 66 66 66 66 66 66 66 66 c7 03 34 12", MMIO_ERR_TOO_LONG, "16 bytes" },
};

static u32 parse_hex(const char *hex, u8 *out)
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

static void test_refusals(void **state)
{
    (void)state;
    for (u32 i = 0; i < ARRAY_SIZE(refusals); i++) {
        const struct refusal *rf = &refusals[i];
        u8 buf[32], *exact;
        struct mmio_insn in;
        u32 n = parse_hex(rf->hex, buf);
        int r;

        exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        r = mmio_decode(exact, n, mode_of(rf->mode), &in);
        free(exact);
        if (r != rf->status)
            fail_msg("%s (%s): got \"%s\", want \"%s\"", rf->what, rf->hex,
                     mmio_status_str(r), mmio_status_str(rf->status));
        assert_string_not_equal(mmio_status_str(r), "unknown status");
    }
    assert_string_equal(mmio_status_str(-1), "unknown status");
    assert_string_equal(mmio_status_str(MMIO_STATUS_COUNT), "unknown status");
}

/* --- width rules, STOS, device refusals ----------------------------------- */

/* Runs hex (64-bit code unless mode says otherwise) on f; returns status. */
static int run(struct fake *f, int mode, const char *hex, u64 *fl, u32 *adv)
{
    u8 buf[16];
    u32 n = parse_hex(hex, buf);
    struct mmio_ops ops = fake_ops(f);
    struct mmio_insn in;

    f->nlog = 0;
    return mmio_run(buf, n, mode_of(mode), GPA, &ops, fl, adv, &in);
}

static void test_register_widths(void **state)
{
    struct fake f = { 0 };
    u64 fl = 2;
    u32 adv;

    (void)state;
    f.mem = 0x1122334455667788ULL;
    f.gpr[0] = 0xaaaaaaaaaaaaaaaaULL;
    assert_int_equal(run(&f, 64, "8b 03", &fl, &adv), MMIO_OK);      /* mov (%rbx),%eax */
    assert_int_equal(f.gpr[0], 0x55667788ULL);                       /* zero-extended */
    assert_int_equal(adv, 2);
    f.gpr[0] = 0xaaaaaaaaaaaaaaaaULL;
    assert_int_equal(run(&f, 64, "66 8b 03", &fl, &adv), MMIO_OK);   /* mov (%rbx),%ax */
    assert_int_equal(f.gpr[0], 0xaaaaaaaaaaaa7788ULL);
    assert_int_equal(run(&f, 64, "8a 23", &fl, &adv), MMIO_OK);      /* mov (%rbx),%ah */
    assert_int_equal(f.gpr[0], 0xaaaaaaaaaaaa8888ULL);
    f.gpr[4] = 0x1234;
    assert_int_equal(run(&f, 64, "40 8a 23", &fl, &adv), MMIO_OK);   /* mov (%rbx),%spl */
    assert_int_equal(f.gpr[4], 0x1288);
    assert_int_equal(run(&f, 64, "48 0f be 0b", &fl, &adv), MMIO_OK); /* movsbq (%rbx),%rcx */
    assert_int_equal(f.gpr[1], 0xffffffffffffff88ULL);
    assert_int_equal(run(&f, 64, "0f b7 0b", &fl, &adv), MMIO_OK);   /* movzwl (%rbx),%ecx */
    assert_int_equal(f.gpr[1], 0x7788);
    f.gpr[15] = 0x0102030405060708ULL;
    assert_int_equal(run(&f, 64, "4c 89 3b", &fl, &adv), MMIO_OK);   /* mov %r15,(%rbx) */
    assert_int_equal(f.nlog, 1);                                     /* a store never reads */
    assert_true(f.log[0].write);
    assert_int_equal(f.log[0].size, 8);
    assert_int_equal(f.mem, 0x0102030405060708ULL);
    f.gpr[3] = 0xff00;                                               /* xchg %bh,(%rax) */
    f.mem = 0x42;
    assert_int_equal(run(&f, 32, "86 38", &fl, &adv), MMIO_OK);
    assert_int_equal(f.gpr[3], 0x4200);
    assert_int_equal(f.mem, 0xff);
}

static void test_stos(void **state)
{
    struct fake f = { 0 };
    u64 fl = 2;
    u32 adv;

    (void)state;
    f.gpr[0] = 0xdeadbeef;
    f.gpr[1] = 3;
    f.gpr[7] = 0x1000;
    assert_int_equal(run(&f, 64, "f3 ab", &fl, &adv), MMIO_OK);      /* rep stosl */
    assert_int_equal(adv, 0);                                        /* more to do */
    assert_int_equal(f.gpr[1], 2);
    assert_int_equal(f.gpr[7], 0x1004);
    assert_int_equal(f.mem, 0xdeadbeef);
    f.gpr[1] = 1;
    assert_int_equal(run(&f, 64, "f3 ab", &fl, &adv), MMIO_OK);
    assert_int_equal(adv, 2);                                        /* last iteration */
    assert_int_equal(f.gpr[1], 0);
    f.gpr[1] = 0;
    assert_int_equal(run(&f, 64, "f3 ab", &fl, &adv), MMIO_OK);      /* count 0: nothing */
    assert_int_equal(f.nlog, 0);
    assert_int_equal(adv, 2);
    fl |= DF;
    f.gpr[7] = 0xffffffff00000002ULL;
    assert_int_equal(run(&f, 64, "67 aa", &fl, &adv), MMIO_OK);      /* addr32 stosb, DF=1 */
    assert_int_equal(f.gpr[7], 1);                                   /* EDI, zero-extended */
    f.gpr[7] = 0xabcd0000;
    assert_int_equal(run(&f, 16, "ab", &fl, &adv), MMIO_OK);         /* 16-bit: DI wraps */
    assert_int_equal(f.gpr[7], 0xabcdfffe);
    assert_int_equal(f.log[0].size, 2);
}

static void test_device_refuses(void **state)
{
    struct fake f = { 0 }, before;
    u64 fl = 2 | 0x8d5, fl0 = fl;
    u32 adv;

    (void)state;
    f.gpr[1] = 5;
    f.refuse_read = true;
    before = f;
    assert_int_equal(run(&f, 64, "03 0b", &fl, &adv), MMIO_ERR_DEVICE);  /* add (%rbx),%ecx */
    assert_memory_equal(f.gpr, before.gpr, sizeof(f.gpr));
    assert_int_equal(fl, fl0);
    assert_int_equal(adv, 0);
    f.refuse_read = false;
    f.refuse_write = true;
    f.mem = 7;
    assert_int_equal(run(&f, 64, "87 0b", &fl, &adv), MMIO_ERR_DEVICE);  /* xchg %ecx,(%rbx) */
    assert_int_equal(f.gpr[1], 5);
    assert_int_equal(run(&f, 64, "f0 01 0b", &fl, &adv), MMIO_ERR_DEVICE); /* lock add */
    assert_int_equal(fl, fl0);
    assert_int_equal(adv, 0);
    f.gpr[1] = 40;                                                   /* bt %ecx,(%rbx): bit 40 */
    assert_int_equal(run(&f, 64, "0f a3 0b", &fl, &adv), MMIO_ERR_BIT_OFFSET);
    f.gpr[1] = (u64)-1;
    assert_int_equal(run(&f, 64, "0f a3 0b", &fl, &adv), MMIO_ERR_BIT_OFFSET);
    assert_int_equal(f.nlog, 0);                                     /* refused before any access */
}

/* --- fuzz ------------------------------------------------------------------ */

static const u8 interesting[] = {
    0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67, 0x40, 0x41, 0x44, 0x48,
    0x4c, 0x4f, 0x0f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86,
    0x87, 0xa0, 0xa1, 0xa2, 0xa3, 0xaa, 0xab, 0xb6, 0xb7, 0xbe, 0xbf, 0xba, 0xbb, 0xf6, 0xf7,
    0xfe, 0xff, 0x01, 0x03, 0x04, 0x05, 0x0b, 0x24, 0x25, 0x44, 0x84, 0x94, 0xc0,
};

static void test_fuzz(void **state)
{
    u32 accepted = 0;

    (void)state;
    srand(3);
    for (u32 iter = 0; iter < 300000; iter++) {
        u8 buf[MMIO_INSN_MAX], *exact;
        u32 n = 1 + rand() % MMIO_INSN_MAX;
        int mode = (int[]){ 64, 32, 16 }[rand() % 3];
        struct mmio_insn in, again;
        int r;

        for (u32 i = 0; i < MMIO_INSN_MAX; i++)
            buf[i] = rand() & 1 ? interesting[rand() % sizeof(interesting)] : (u8)rand();
        exact = malloc(n);
        memcpy(exact, buf, n);
        r = mmio_decode(exact, n, mode_of(mode), &in);
        free(exact);
        assert_true(r >= MMIO_OK && r < MMIO_STATUS_COUNT && r != MMIO_ERR_BIT_OFFSET &&
                    r != MMIO_ERR_DEVICE);
        if (r != MMIO_OK)
            continue;
        accepted++;
        assert_true(in.len >= 1 && in.len <= n && in.len <= MMIO_INSN_MAX);
        assert_true(in.size == 1 || in.size == 2 || in.size == 4 || in.size == 8);
        assert_true(in.reg < 16 && (!in.reg_high8 || in.reg < 4));
        /* Consistent: the same bytes with anything after them decode the same. */
        for (u32 i = in.len; i < MMIO_INSN_MAX; i++)
            buf[i] = (u8)rand();
        assert_int_equal(mmio_decode(buf, MMIO_INSN_MAX, mode_of(mode), &again), MMIO_OK);
        assert_memory_equal(&in, &again, sizeof(in));
        assert_int_equal(mmio_decode(buf, in.len - 1, mode_of(mode), &again), MMIO_ERR_TRUNCATED);
        /* And it executes without touching anything but its operand. */
        {
            struct fake f = { 0 };
            struct mmio_ops ops = fake_ops(&f);
            u64 fl = (rnd64() & (ARITH | DF)) | 2;
            u32 adv;

            for (int g = 0; g < 16; g++)
                f.gpr[g] = rnd64() >> (rand() % 64);
            f.mem = rnd64();
            r = mmio_emulate(&in, GPA, &ops, &fl, &adv);
            assert_true(r == MMIO_OK || r == MMIO_ERR_BIT_OFFSET);
            assert_true(adv == 0 || adv == in.len);
            assert_true(f.nlog <= 2);
            for (u32 a = 0; a < f.nlog; a++) {
                assert_int_equal(f.log[a].gpa, GPA);
                assert_int_equal(f.log[a].size, in.size);
            }
        }
    }
    printf("fuzz: %u of 300000 random instructions accepted\n", accepted);
    assert_true(accepted > 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_decodes),
        cmocka_unit_test(test_table_executes),
        cmocka_unit_test(test_alu_matches_host),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_register_widths),
        cmocka_unit_test(test_stos),
        cmocka_unit_test(test_device_refuses),
        cmocka_unit_test(test_fuzz),
    };

    printf("mmio: %zu encodings in the table\n", ARRAY_SIZE(mmio_cases));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
