#!/usr/bin/env python3
"""Generates tests/unit/mmio_cases.h, the table of real encodings that
tests/unit/test_mmio_decode.c decodes and
tests/unit/test_mmio_emulate.c executes.

Each case is an instruction in GNU as syntax, assembled here with the host's
`as` (64-, 32- and 16-bit code), together with what it means, written from
the instruction's definition: operation, operand form, sizes, register,
immediate, prefixes. The byte strings are committed; run this again only to
change the table:  python3 tests/unit/gen_mmio_cases.py tests/unit
It writes mmio_cases.h (the array, the hand-written byte strings of RAW) and
the rows it includes: mmio_cases_64.h (64-bit code), mmio_cases_legacy.h
(32- and 16-bit code).
"""
import os
import re
import subprocess
import sys
import tempfile

OPS = ["ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"]
SUF = {1: "b", 2: "w", 4: "l", 8: "q"}

REGS64 = {
    1: ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] + ["r%db" % i for i in range(8, 16)],
    2: ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] + ["r%dw" % i for i in range(8, 16)],
    4: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] + ["r%dd" % i for i in range(8, 16)],
    8: ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + ["r%d" % i for i in range(8, 16)],
}
HIGH8 = {"ah": 0, "ch": 1, "dh": 2, "bh": 3}

# Memory operands per mode: (text, address size in bytes).
MEMS = {
    64: [("(%rbx)", 8), ("0x10(%rax)", 8), ("-0x80(%rsp)", 8), ("0x1000(%rcx,%rdx,4)", 8),
         ("0x20(%rip)", 8), ("0x12345678", 8), ("(%r12)", 8), ("(%r13)", 8),
         ("0x7fffffff(%r9,%r10,8)", 8), ("%fs:0x8(%rax)", 8), ("%gs:(%rdi)", 8),
         ("(%ebx)", 4), ("0x10(%r8d)", 4), ("(,%r11,2)", 8), ("%ss:0x44(%rbp,%r14,1)", 8)],
    32: [("(%ebx)", 4), ("0x10(%eax)", 4), ("-0x80(%esp)", 4), ("0x1000(%ecx,%edx,4)", 4),
         ("0x12345678", 4), ("(%ebp)", 4), ("%es:0x8(%esi)", 4), ("(%bx,%si)", 2),
         ("0x1234(%bp)", 2), ("(,%edi,8)", 4)],
    16: [("(%bx,%si)", 2), ("0x10(%bp)", 2), ("0x1234", 2), ("-2(%di)", 2), ("(%bp,%di)", 2),
         ("%ss:0x1234(%bx)", 2), ("(%eax)", 4), ("0x10(%esp)", 4), ("0x100(%eax,%ebx,2)", 4)],
}

cases = []          # (mode, asm, meta)
counter = [0]


def mem(mode, r=None):
    """The next memory operand; AH-BH cannot be encoded with a REX prefix."""
    while True:
        m = MEMS[mode][counter[0] % len(MEMS[mode])]
        counter[0] += 1
        if not (r and r[2] and re.search(r"%r\d", m[0])):
            return m


def regs(mode, size):
    """Registers usable for size in mode: (name, number, high8)."""
    out = []
    if mode == 64:
        out = [(n, i, False) for i, n in enumerate(REGS64[size])]
        if size == 1:
            out += [(n, i, True) for n, i in HIGH8.items()]
    else:
        if size == 8:
            return []
        names = REGS64[size][:8] if size != 1 else REGS64[1][:4]
        out = [(n, i, False) for i, n in enumerate(names)]
        if size == 1:
            out += [(n, i, True) for n, i in HIGH8.items()]
    return out


def sizes(mode):
    return [1, 2, 4, 8] if mode == 64 else [1, 2, 4]


def add(mode, asm, op, form, size, reg=0, high8=False, reg_size=None, imm=0,
        lock=False, rep=False, asz=None):
    if asz is None:
        asz = {64: 8, 32: 4, 16: 2}[mode]
    if reg_size is None:
        reg_size = size if form != "MEM" and form != "MEM_IMM" else 0
    imm &= (1 << (8 * size)) - 1
    cases.append((mode, asm, dict(op=op, form=form, size=size, reg=reg, high8=high8,
                                  reg_size=reg_size, imm=imm, lock=lock, rep=rep, asz=asz)))


def pick(lst, k):
    return lst[k % len(lst)]


def gen(mode):
    k = 0
    imms = {1: [0x5a, -1, 0x7f, -128], 2: [0x1234, -2, 0x7fff, 0x8000],
            4: [0x89abcdef, -5, 0x7fffffff, 0x80], 8: [-2, 0x7fffffff, -0x80000000, 0x12]}
    for size in sizes(mode):
        rs = regs(mode, size)
        for r in (rs if mode == 64 else rs[::3]):       # registers, both directions
            m, a = mem(mode, r)
            add(mode, "mov%s %%%s,%s" % (SUF[size], r[0], m), "MOV", "MEM_REG", size,
                r[1], r[2], asz=a)
            m, a = mem(mode, r)
            add(mode, "mov%s %s,%%%s" % (SUF[size], m, r[0]), "MOV", "REG_MEM", size,
                r[1], r[2], asz=a)
        for v in imms[size]:
            m, a = mem(mode, r)
            add(mode, "mov%s $%d,%s" % (SUF[size], v, m), "MOV", "MEM_IMM", size, imm=v, asz=a)
        for op in OPS:
            for lock in ((False, True) if mode == 64 else (op == "ADD",)):
                r = pick(rs, k); k += 1
                m, a = mem(mode, r)
                add(mode, "%s%s%s %%%s,%s" % ("lock " if lock else "", op.lower(), SUF[size],
                                              r[0], m), op, "MEM_REG", size, r[1], r[2],
                    lock=lock and op != "CMP", asz=a)
                if lock and op == "CMP":
                    cases.pop()
                v = pick(imms[size], k)
                m, a = mem(mode, r)
                add(mode, "%s%s%s $%d,%s" % ("lock " if lock else "", op.lower(), SUF[size], v, m),
                    op, "MEM_IMM", size, imm=v, lock=lock, asz=a)
                if lock and op == "CMP":
                    cases.pop()
                if size > 1:                            # 83: imm8 sign-extended
                    v = pick([-3, 0x7f, -128, 1], k)
                    m, a = mem(mode, r)
                    add(mode, "%s%s $%d,%s" % (op.lower(), SUF[size], v, m), op, "MEM_IMM",
                        size, imm=v, asz=a)
            r = pick(rs, k + 3)
            m, a = mem(mode, r)
            add(mode, "%s%s %s,%%%s" % (op.lower(), SUF[size], m, r[0]), op, "REG_MEM", size,
                r[1], r[2], asz=a)
        for j in range(2):
            r = pick(rs, k + 5 * j + 1)
            m, a = mem(mode, r)
            add(mode, "test%s %%%s,%s" % (SUF[size], r[0], m), "TEST", "MEM_REG", size, r[1],
                r[2], asz=a)
            m, a = mem(mode, r)
            v = pick(imms[size], j)
            add(mode, "test%s $%d,%s" % (SUF[size], v, m), "TEST", "MEM_IMM", size, imm=v, asz=a)
            r = pick(rs, k + 7 * j + 2)
            m, a = mem(mode, r)
            add(mode, "%sxchg%s %%%s,%s" % ("lock " if j else "", SUF[size], r[0], m), "XCHG",
                "MEM_REG", size, r[1], r[2], lock=bool(j), asz=a)
        for op in ("INC", "DEC", "NOT", "NEG"):
            for lock in (False, True):
                m, a = mem(mode, r)
                add(mode, "%s%s%s %s" % ("lock " if lock else "", op.lower(), SUF[size], m), op,
                    "MEM", size, lock=lock, asz=a)
        if size > 1:
            for i, op in enumerate(("BT", "BTS", "BTR", "BTC")):
                r = pick(rs, k + i)
                m, a = mem(mode, r)
                add(mode, "%s%s%s %%%s,%s" % ("lock " if i and i % 2 else "", op.lower(),
                                              SUF[size], r[0], m),
                    op, "MEM_REG", size, r[1], r[2], lock=bool(i % 2), asz=a)
                for v in (i, 8 * size - 1, 8 * size + 3, 0xff):
                    m, a = mem(mode, r)
                    add(mode, "%s%s $%d,%s" % (op.lower(), SUF[size], v, m), op, "MEM_IMM",
                        size, imm=v, asz=a)
            for src in (1, 2):
                if src == size:
                    continue
                for ext in ("z", "s"):
                    r = pick(regs(mode, size), k + src)
                    m, a = mem(mode, r)
                    add(mode, "mov%s%s%s %s,%%%s" % (ext, SUF[src], SUF[size], m, r[0]),
                        "MOVZX" if ext == "z" else "MOVSX", "REG_MEM", src, r[1], False,
                        reg_size=size, asz=a)
        # STOS, plain and REP, both address sizes.
        for rep in (False, True):
            for a in ({64: (8, 4), 32: (4, 2), 16: (2, 4)}[mode]):
                native = {64: 8, 32: 4, 16: 2}[mode]
                pfx = ("addr32 " if a == 4 else "addr16 ") if a != native else ""
                add(mode, "%s%sstos%s" % (pfx, "rep " if rep else "", SUF[size]), "STOS",
                    "MEM_REG", size, 0, rep=rep, asz=a)
        # moffs
        addr = {64: "0x1122334455667788", 32: "0x12345678", 16: "0x1234"}[mode]
        acc = {1: "al", 2: "ax", 4: "eax", 8: "rax"}[size]
        mov = "movabs" if mode == 64 else "mov"
        add(mode, "%s %s,%%%s" % (mov, addr, acc), "MOV", "REG_MEM", size, 0)
        add(mode, "%s %%%s,%s" % (mov, acc, addr), "MOV", "MEM_REG", size, 0)
        if mode == 64:
            add(mode, "addr32 mov 0x12345678,%%%s" % acc, "MOV", "REG_MEM", size, 0, asz=4)
            add(mode, "addr32 mov %%%s,0x12345678" % acc, "MOV", "MEM_REG", size, 0, asz=4)


# Hand-written encodings `as` would not produce: prefix orders and oddities.
RAW = [
    # (mode, bytes, comment, meta)
    (64, "66 48 89 03", "66 with REX.W: REX.W wins (movq %rax,(%rbx))",
     dict(op="MOV", form="MEM_REG", size=8, reg=0, reg_size=8)),
    (64, "48 66 89 03", "REX before 66 is ignored (movw %ax,(%rbx))",
     dict(op="MOV", form="MEM_REG", size=2, reg=0, reg_size=2)),
    (64, "4c 40 89 03", "two REX: only the last counts (movl %eax,(%rbx))",
     dict(op="MOV", form="MEM_REG", size=4, reg=0, reg_size=4)),
    (64, "40 88 23", "empty REX: spl, not ah (movb %spl,(%rbx))",
     dict(op="MOV", form="MEM_REG", size=1, reg=4, reg_size=1)),
    (64, "2e 3e 26 64 65 36 89 03", "six segment overrides",
     dict(op="MOV", form="MEM_REG", size=4, reg=0, reg_size=4)),
    (64, "f0 f0 01 03", "LOCK twice", dict(op="ADD", form="MEM_REG", size=4, reg=0,
                                            reg_size=4, lock=True)),
    (64, "66 66 66 66 66 66 66 66 66 66 66 c7 03 34 12", "15 bytes exactly",
     dict(op="MOV", form="MEM_IMM", size=2, imm=0x1234)),
    (64, "48 c7 80 00 00 00 80 ff ff ff ff", "movq $-1,-0x80000000(%rax)",
     dict(op="MOV", form="MEM_IMM", size=8, imm=(1 << 64) - 1)),
    (32, "66 67 c7 00 34 12", "movw $0x1234,(%bx,%si) in 32-bit code",
     dict(op="MOV", form="MEM_IMM", size=2, imm=0x1234, asz=2)),
]


def assemble(mode, lines):
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "c.s")
        obj = os.path.join(d, "c.o")
        binf = os.path.join(d, "c.bin")
        with open(src, "w") as f:
            f.write(".code%d\n" % mode)
            for i, l in enumerate(lines):
                f.write("case%d:\n\t%s\n" % (i, l))
            f.write("case%d:\n" % len(lines))
        subprocess.run(["as", "--32" if mode != 64 else "--64", "-o", obj, src], check=True)
        subprocess.run(["objcopy", "-O", "binary", "-j", ".text", obj, binf], check=True)
        data = open(binf, "rb").read()
        nm = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
        off = {}
        for l in nm.split("\n"):
            p = l.split()
            if len(p) == 3 and p[2].startswith("case"):
                off[int(p[2][4:])] = int(p[0], 16)
        return [data[off[i]:off[i + 1]] for i in range(len(lines))]


def c_bytes(b):
    return '"' + "".join("\\x%02x" % x for x in b) + '"'


def row(mode, b, text, m):
    return ('{%d,%d,%s,OP(%s),FORM(%s),%d,%d,%d,%d,%d,%d,%d,0x%x}, /* %s */'
            % (mode, len(b), c_bytes(b), m["op"], m["form"], m["size"],
               m.get("reg_size", 0), m.get("reg", 0), int(m.get("high8", False)),
               int(m.get("lock", False)), int(m.get("rep", False)), m["asz"], m.get("imm", 0), text))


GENERATED = ("/* Generated by tests/unit/gen_mmio_cases.py from the host assembler's\n"
             " * encodings; edit the generator, not this file. */\n")


def write(path, text):
    with open(path, "w") as f:
        f.write(GENERATED + text)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_mmio_cases.py DIR   (writes DIR/mmio_cases*.h)")
    for mode in (64, 32, 16):
        gen(mode)
    out = {}
    for mode in (64, 32, 16):
        sel = [c for c in cases if c[0] == mode]
        bins = assemble(mode, [c[1] for c in sel])
        out[mode] = []
        for (md, text, m), b in zip(sel, bins):
            assert 0 < len(b) <= 15, text
            out[mode].append(row(md, b, text, m))
    raw = []
    for mode, hexs, text, m in RAW:
        m.setdefault("asz", {64: 8, 32: 4, 16: 2}[mode])
        raw.append(row(mode, bytes(int(x, 16) for x in hexs.split()), text, m))
    d = sys.argv[1]
    write(os.path.join(d, "mmio_cases_64.h"), "/* Rows of mmio_cases[] (mmio_cases.h): 64-bit code. */\n"
          + "\n".join(out[64]) + "\n")
    write(os.path.join(d, "mmio_cases_legacy.h"), "/* Rows of mmio_cases[] (mmio_cases.h): 32-bit, then 16-bit code. */\n"
          + "\n".join(out[32] + out[16]) + "\n")
    write(os.path.join(d, "mmio_cases.h"), "static const struct mmio_case mmio_cases[] = {\n"
          '#include "tests/unit/mmio_cases_64.h"\n'
          '#include "tests/unit/mmio_cases_legacy.h"\n'
          "/* Byte strings no assembler writes (RAW) */\n"
          + "\n".join(raw) + "\n};\n")


if __name__ == "__main__":
    main()
