"""make bench: boots the benchmark cases in Bochs and tabulates their figures.

In Bochs, RDTSC advances by one per emulated instruction, so every figure here
is an exact count of emulated instructions ("cycles"). The same runs give the
same numbers. A benchmark guest prints lines `BENCH: <name> <cycles per op>`.
The bare case runs it directly on Bochs; the turtle case runs it as an L1;
a pair's optional trap case runs it as an L1 of turtle with apicv=off (every
local APIC access trapped and emulated) and its optional kvm case under Linux
KVM on bare Bochs (docs/linux.md).
"""
import datetime
import re
import sys

import cases as case_list
import harness

BENCH_LINE = re.compile(r"^(?:\[[^\]]+\] )?BENCH: (\S+) (\d+)\s*$", re.M)
BOOT_LINE = re.compile(r"^turtle: bench: boot to first L1 entry: (\d+) cycles$", re.M)

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
}


def figures(text):
    return {m.group(1): int(m.group(2)) for m in BENCH_LINE.finditer(text)}


def main(doc_path=None):
    by_name = {c.name: c for c in case_list.cases()}
    rows = []
    failed = False
    for pair in case_list.bench_pairs():
        results = {}
        for role in ("bare", "turtle", "trap", "kvm"):
            c = by_name.get(pair.get(role))
            if c is None:
                continue
            r = harness.run_case(c)
            if not r.ok:
                print(f"bench: case {c.name} failed: {'; '.join(r.reasons)}", file=sys.stderr)
                failed = True
            results[role] = r.log
        bare = figures(results.get("bare", ""))
        turtle = figures(results.get("turtle", ""))
        trap = figures(results.get("trap", ""))
        kvm = figures(results.get("kvm", ""))
        for key in sorted(set(bare) | set(turtle)):
            rows.append((pair["title"], key, bare.get(key), turtle.get(key), pair["cpu"], trap.get(key),
                         kvm.get(key)))
        boot = BOOT_LINE.search(results.get("turtle", ""))
        if boot and pair.get("boot"):
            rows.append((pair["title"], "boot", None, int(boot.group(1)), pair["cpu"], None, None))

    def cell(v):
        return v if v is not None else "-"

    lines = ["| benchmark | what | CPU model | bare Bochs | under turtle | ratio | turtle, apicv=off "
             "| under Linux KVM |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for title, key, b, t, cpu, tr, k in rows:
        what = DESCRIPTIONS.get(key, "entry of turtle to the first L1 instruction" if key == "boot" else key)
        ratio = f"{t / b:.0f}x" if b and t else ""
        lines.append(f"| {title}: {key} | {what} | {cpu} | {cell(b)} | {cell(t)} | {ratio} | {cell(tr)} | "
                     f"{cell(k)} |")
    table = "\n".join(lines)
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
