"""make bench: boots the benchmark cases in Bochs and tabulates their figures.

In Bochs, RDTSC advances by one per emulated instruction, so every figure here
is an exact count of emulated instructions ("cycles"). The same runs give the
same numbers. A benchmark guest prints lines `BENCH: <name> <cycles per op>`.
The bare case runs it directly on Bochs; the turtle case runs it as an L1;
a pair's optional kvm case runs it under Linux KVM on bare Bochs (docs/linux.md).
"""
import datetime
import os
import re
import sys

import cases as case_list
import harness
import snapcase

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
    "snap_build_per_mib": "snapshot: gather, zero-page scan and checksum pass, per MiB of L1 RAM",
    "snap_send_per_mib": "snapshot: the framed stream on COM2 (115200 baud), per MiB of L1 RAM",
    "snap_bytes": "snapshot file size in bytes",
    "restore_per_mib": "restore: checks, VM build and state load, per MiB of L1 RAM",
}
SNAP_LINE = re.compile(r"^turtle: bench: snapshot of '[^']+': (\d+) cycles to build, (\d+) to send, "
                       r"(\d+) bytes, (\d+) KiB of RAM, (\d+) pages stored$", re.M)
RESTORE_LINE = re.compile(r"^turtle: bench: restore of '[^']+': (\d+) cycles, (\d+) bytes, (\d+) KiB of RAM$", re.M)


def snapshot_rows():
    """Snapshot and restore cost of the snapshot test L1 (16 MiB), with most
    pages zero (elided) and with 2 MiB of them filled; and of turtle as an
    L1 (64 MiB) with its L2 running."""
    rows, failed = [], False
    for title, (take, restore, path) in case_list.snap_bench_cases().items():
        rt = harness.run_case(take)
        reasons = list(rt.reasons)
        blob = snapcase.captured(take, reasons)
        if blob is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(blob)
            rr = harness.run_case(restore)
            reasons += rr.reasons
        m, r = SNAP_LINE.search(rt.log), RESTORE_LINE.search(rr.log) if blob is not None else None
        if reasons or not m or not r:
            print(f"bench: {title}: {'; '.join(reasons) or 'no bench line'}", file=sys.stderr)
            failed = True
            continue
        build, send, size, kib, pages = (int(x) for x in m.groups())
        mib = kib / 1024
        title = f"{title} ({kib >> 10} MiB, {pages} pages stored)"
        rows.append((title, "snap_build_per_mib", None, round(build / mib), "tigerlake", None))
        rows.append((title, "snap_send_per_mib", None, round(send / mib), "tigerlake", None))
        rows.append((title, "snap_bytes", None, size, "tigerlake", None))
        rows.append((title, "restore_per_mib", None, round(int(r.group(1)) / mib), "tigerlake", None))
    return rows, failed


def figures(text):
    return {m.group(1): int(m.group(2)) for m in BENCH_LINE.finditer(text)}


def main(doc_path=None):
    by_name = {c.name: c for c in case_list.cases()}
    rows = []
    failed = False
    for pair in case_list.bench_pairs():
        results = {}
        for role in ("bare", "turtle", "kvm"):
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
        kvm = figures(results.get("kvm", ""))
        for key in sorted(set(bare) | set(turtle)):
            rows.append((pair["title"], key, bare.get(key), turtle.get(key), pair["cpu"], kvm.get(key)))
        boot = BOOT_LINE.search(results.get("turtle", ""))
        if boot and pair.get("boot"):
            rows.append((pair["title"], "boot", None, int(boot.group(1)), pair["cpu"], None))

    snap_rows, snap_failed = snapshot_rows()
    rows += snap_rows
    failed |= snap_failed
    lines = ["| benchmark | what | CPU model | bare Bochs | under turtle | ratio | under Linux KVM |",
             "|---|---|---|---:|---:|---:|---:|"]
    for title, key, b, t, cpu, k in rows:
        what = DESCRIPTIONS.get(key, "entry of turtle to the first L1 instruction" if key == "boot" else key)
        ratio = f"{t / b:.0f}x" if b and t else ""
        lines.append(f"| {title}: {key} | {what} | {cpu} | {b if b is not None else '-'} | "
                     f"{t if t is not None else '-'} | {ratio} | {k if k is not None else '-'} |")
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
