"""make bench: boots the benchmark cases in Bochs and tabulates their figures.

In Bochs, RDTSC advances by one per emulated instruction, so every figure here
is an exact count of emulated instructions ("cycles"). The same runs give the
same numbers. A benchmark guest prints lines `BENCH: <name> <cycles per op>`.
The bare case runs it directly on Bochs; the turtle case runs it as an L1;
a pair's optional kvm case runs it under Linux KVM on bare Bochs (docs/linux.md).

The Linux pair (a "linux" pair) boots Debian's kernel on bare Bochs and as
an L1 of turtle, and counts emulated instructions from the kernel's first
instruction to /init and to the end of /init's runs (docs/benchmarks.md,
"Linux boot"): /init prints the TSC; on bare Bochs the debugger's ptime at
the bzImage's entry gives the first instruction's TSC, under turtle its
"first L1 entry" line. turtle's exits by reason come from its summary line.
"""
import datetime
import os
import re
import sys

import cases as case_list
import harness

BENCH_LINE = re.compile(r"^(?:\[[^\]]+\] )*BENCH: (\S+) (\d+)\s*$", re.M)
INIT_TSC = re.compile(r"linux-init: tsc at /init: (\d+)$", re.M)
END_TSC = re.compile(r"linux-init: tsc after the runs: (\d+)$", re.M)
EXITS_LINE = re.compile(r"^turtle: guest 'linux': passed, .*; (\d+) exits \((.*)\)$", re.M)
# The debugger's stops at physical 0x1000000 (cases_linux.BZIMAGE_ENTRY_BREAK):
# "ptime: N" then the bytes there; the bzImage's entry is "cld; cli".
PTIME_STOP = re.compile(r"^ptime: (\d+)\n.*?<bogus\+\s*0>:\s+0x([0-9a-f]{2})\s+0x([0-9a-f]{2})", re.M | re.S)
BOOT_LINE = re.compile(r"^turtle: bench: boot to first L1 entry: (\d+) cycles \(TSC (\d+)\)$", re.M)

DESCRIPTIONS = {
    "cpuid": "CPUID leaf 0 (L1 round trip)",
    "vmcall": "VMCALL yield-free call (read time)",
    "outb": "port write to an emulated port (0x80)",
    "rdmsr": "RDMSR of IA32_EFER (emulated)",
    "loop": "the empty measuring loop (subtracted from the others)",
    "l2_cpuid": "CPUID in L2, handled by the L1 hypervisor",
    "xapic_read": "xAPIC register read (MMIO, version register)",
    "xapic_write": "xAPIC register write (MMIO, TPR)",
    "x2apic_rdmsr": "x2APIC register read (RDMSR 0x803)",
    "lapic_timer_irq": "LAPIC timer interrupt (one-shot, count 1) to handler and EOI",
    "idle_exits_per_sec": "VM exits per second of virtual time, guest idle in HLT, 100 Hz timer",
    "l0_exits_per_l2_exit": "L0 exits per L2 exit handled by L1",
    "to_init": "Linux boot: first kernel instruction to /init",
    "to_end": "Linux boot: first kernel instruction to the end of /init's runs (KVM loaded, vmx_bench run)",
    "kvm_l2_cpuid": "vmx_bench's L2 CPUID under that Linux's KVM (bare: KVM on Bochs's VT-x)",
    "l0_exits": "L0 exits of the Linux L1, first instruction to power-off",
}


def bzimage_entry_tsc(case):
    """The TSC at the bare kernel's first instruction (emulator.out), or None."""
    path = os.path.join(harness.case_dir(case), "emulator.out")
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        out = f.read()
    for m in PTIME_STOP.finditer(out):
        if (m.group(2), m.group(3)) == ("fc", "fa"):
            return int(m.group(1))
    return None


def linux_rows(pair, by_name, results):
    """The Linux boot rows and the exit-reason note of a linux pair."""
    bare_log, l1_log = results.get("bare", ""), results.get("turtle", "")
    entry = {"bare": bzimage_entry_tsc(by_name[pair["bare"]])}
    boot = BOOT_LINE.search(l1_log)
    entry["turtle"] = int(boot.group(2)) if boot else None
    fig = {}
    for role, log in (("bare", bare_log), ("turtle", l1_log)):
        init, end = INIT_TSC.search(log), END_TSC.search(log)
        e = entry[role]
        fig[role] = {"to_init": int(init.group(1)) - e if init and e else None,
                     "to_end": int(end.group(1)) - e if end and e else None,
                     "kvm_l2_cpuid": figures(log).get("l2_cpuid")}
    exits = EXITS_LINE.search(l1_log)
    fig["turtle"]["l0_exits"] = int(exits.group(1)) if exits else None
    fig["bare"]["l0_exits"] = None
    rows = [(pair["title"], k, fig["bare"][k], fig["turtle"][k], pair["cpu"], None)
            for k in ("to_init", "to_end", "kvm_l2_cpuid", "l0_exits")]
    note = f"L0 exits of the Linux L1 by reason: {exits.group(2)}." if exits else ""
    return rows, note


def figures(text):
    return {m.group(1): int(m.group(2)) for m in BENCH_LINE.finditer(text)}


def main(doc_path=None):
    by_name = {c.name: c for c in case_list.cases()}
    rows, notes = [], []
    failed = False
    done = {}                           # a case two pairs share runs once
    for pair in case_list.bench_pairs():
        results = {}
        for role in ("bare", "turtle", "kvm"):
            c = by_name.get(pair.get(role))
            if c is None:
                continue
            if c.name not in done:
                r = harness.run_case(c)
                if not r.ok:
                    print(f"bench: case {c.name} failed: {'; '.join(r.reasons)}", file=sys.stderr)
                    failed = True
                done[c.name] = r.log
            results[role] = done[c.name]
        if pair.get("linux"):
            linux, note = linux_rows(pair, by_name, results)
            rows += linux
            notes += [note] if note else []
            continue
        bare = figures(results.get("bare", ""))
        turtle = figures(results.get("turtle", ""))
        kvm = figures(results.get("kvm", ""))
        for key in sorted(set(bare) | set(turtle)):
            rows.append((pair["title"], key, bare.get(key), turtle.get(key), pair["cpu"], kvm.get(key)))
        boot = BOOT_LINE.search(results.get("turtle", ""))
        if boot and pair.get("boot"):
            rows.append((pair["title"], "boot", None, int(boot.group(1)), pair["cpu"], None))

    lines = ["| benchmark | what | CPU model | bare Bochs | under turtle | ratio | under Linux KVM |",
             "|---|---|---|---:|---:|---:|---:|"]
    for title, key, b, t, cpu, k in rows:
        what = DESCRIPTIONS.get(key, "entry of turtle to the first L1 instruction" if key == "boot" else key)
        ratio = (f"{t / b:.1f}x" if t < 10 * b else f"{t / b:.0f}x") if b and t else ""
        lines.append(f"| {title}: {key} | {what} | {cpu} | {b if b is not None else '-'} | "
                     f"{t if t is not None else '-'} | {ratio} | {k if k is not None else '-'} |")
    table = "\n".join(lines + ([""] + notes if notes else []))
    print(table)
    if doc_path:
        with open(doc_path) as f:
            doc = f.read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        stamp = datetime.date.today().isoformat()
        block = f"{start}\nMeasured {stamp} with `make bench`.\n\n{table}\n{end}"
        if start in doc:
            doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
        else:
            doc += "\n" + block + "\n"
        with open(doc_path, "w") as f:
            f.write(doc)
        print(f"bench: wrote {doc_path}")
    return 1 if failed else 0
