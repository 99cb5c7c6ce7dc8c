/*
 * Host unit test of the MMIO emulator, vmx/mmio_emulate.c and
 * vmx/mmio_alu.c.
 *
 * - Every encoding of mmio_cases.h runs on a fake CPU and device from
 *   random states and must do what an independent model says: registers
 *   with their width rules, the device accesses (a store never reads, CMP,
 *   TEST and BT never write), RIP advance, and flags as the host CPU
 *   computes them for the same operation.
 * - The ALU alone against the host CPU: every operation, size, carry-in,
 *   edge values and random ones.
 * - Width rules, STOS iterations, device and bit-offset refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/mmio_fake.h"
#include "tests/unit/mmio_host_alu.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_executes),
        cmocka_unit_test(test_alu_matches_host),
        cmocka_unit_test(test_register_widths),
        cmocka_unit_test(test_stos),
        cmocka_unit_test(test_device_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
