"""make bench: boots the benchmark cases in Bochs and tabulates their figures.

In Bochs, RDTSC advances by one per emulated instruction, so every figure here
is an exact count of emulated instructions ("cycles"). The same runs give the
same numbers. A benchmark guest prints lines `BENCH: <name> <cycles per op>`.
The bare case runs it directly on Bochs; the turtle case runs it as an L1;
a pair's optional trap case runs it as an L1 of turtle with apicv=off (every
local APIC access trapped and emulated) and its optional kvm case under Linux
KVM on bare Bochs (docs/linux.md).
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
import snapcase

BENCH_LINE = re.compile(r"^(?:\[[^\]]+\] )*BENCH: (\S+) (\d+)\s*$", re.M)
ROOTS_LINE = re.compile(r"^turtle: guest 'alternate': (\d+) EPT02 roots built$", re.M)
PROFILE_LINE = re.compile(r"^turtle: profile: exits (\d+) (.*)$", re.M)
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
    "l2_cpuid_tpr": "CPUID in L2 with a TPR shadow, L1 writing the TPR threshold before each VMRESUME",
    "xapic_read": "xAPIC register read (MMIO, version register)",
    "xapic_write": "xAPIC register write (MMIO, TPR)",
    "x2apic_rdmsr": "x2APIC register read (RDMSR 0x803)",
    "lapic_timer_irq": "LAPIC timer interrupt (one-shot, count 1) to handler and EOI",
    "idle_exits_per_sec": "VM exits per second of virtual time, guest idle in HLT, 100 Hz timer",
    "l0_exits_per_l2_exit": "L0 exits per L2 exit handled by L1",
    "l0_exits_64m_2m": "L0 exits while L2 writes each 4 KiB page of 64 MiB mapped with 2 MiB EPT12 pages",
    "l0_exits_per_switch": "L0 exits per switch of an L1 alternating between two L2s (two EPTP12s)",
    "ept02_roots_built": "EPT02s built for the L1 alternating between two L2s (200 switches)",
    "to_init": "Linux boot: first kernel instruction to /init",
    "to_end": "Linux boot: first kernel instruction to the end of /init's runs (KVM loaded, vmx_bench run)",
    "kvm_l2_cpuid": "vmx_bench's L2 CPUID under that Linux's KVM (bare: KVM on Bochs's VT-x)",
    "l0_exits": "L0 exits of the Linux L1, first instruction to power-off",
    "snap_build_per_mib": "snapshot: gather, zero-page scan and checksum pass, per MiB of L1 RAM",
    "snap_send_per_mib": "snapshot: the framed stream on COM2 (115200 baud), per MiB of L1 RAM",
    "snap_bytes": "snapshot file size in bytes",
    "restore_per_mib": "restore: checks, VM build and state load, per MiB of L1 RAM",
}
# vmx_bench as the guest of an L1 turtle: what its figures mean there.
DESCRIPTIONS_L3 = {
    "l2_cpuid": "CPUID in L3, handled by an L2 hypervisor (vmx_bench on turtle on turtle)",
    "l2_cpuid_tpr": "the same with a TPR shadow for L3, the L2 hypervisor writing the TPR threshold each time",
    "l0_exits_per_l2_exit": "exits into the L1 turtle per L3 exit",
}

# turtle's figures before the work of issue 10 (items 2-4), measured
# 2026-12-01 with the same cases: the "before" column.
BEFORE = {(title, key, cpu): value
          for cpu in ("tigerlake", "corei7_skylake_x")
          for (title, key), value in {
              ("L1", "cpuid"): 244, ("L1", "outb"): 364, ("L1", "rdmsr"): 244, ("L1", "vmcall"): 293,
              ("L1", "x2apic_rdmsr"): 418, ("L1", "xapic_read"): 1723, ("L1", "xapic_write"): 1969,
              ("L1", "lapic_timer_irq"): 5497, ("L1", "idle_exits_per_sec"): 205, ("L1", "loop"): 2,
              ("L1", "boot"): 22049829,
              ("L2", "l2_cpuid"): 9789, ("L2", "l0_exits_per_l2_exit"): 2,
              ("L3", "l2_cpuid"): 221695, ("L3", "l0_exits_per_l2_exit"): 6,
              ("EPT02", "l0_exits_64m_2m"): 16387, ("EPT02", "l0_exits_per_switch"): 8,
              # not printed then: every new EPTP12 dropped EPT02, so each of
              # the 203 entries of the alternating L1 built one
              ("EPT02", "ept02_roots_built"): 203,
          }.items()}
# The APIC-field row, before those fields became dirty fields (the tree
# just before, running the same vmx_bench): a full vmcs02 rebuild at every
# entry after the TPR-threshold write.
BEFORE.update({("L2", "l2_cpuid_tpr", "tigerlake"): 5138, ("L2", "l2_cpuid_tpr", "corei7_skylake_x"): 5138,
               ("L3", "l2_cpuid_tpr", "tigerlake"): 78864, ("L3", "l2_cpuid_tpr", "corei7_skylake_x"): 78667})

# The phases of one nested round trip (vmx/prof.h), in the order they
# run, and the profile build's counts for vmx_bench's timed loop before
# the work of issue 10 (ticks per phase, and the L0 exits they cover).
PHASES = ["guest", "exit_decide", "exit_sync", "exit_host", "exit_shadow", "entry_decode",
          "entry_copy", "entry_checks", "entry_vmcs02", "loop"]
PHASE_TEXT = {
    "guest": "in L2 and L1, and the CPU's exits and entries",
    "exit_decide": "exit: dispatch, does L1 want it?",
    "exit_sync": "exit: vmcs02 to vmcs12",
    "exit_host": "exit: vmcs12 host state to vmcs01",
    "exit_shadow": "exit: vmcs12 to L1's shadow VMCS",
    "entry_decode": "VMRESUME: L1's exit to nested_vmx_run()",
    "entry_copy": "VMRESUME: L1's shadow VMCS to vmcs12",
    "entry_checks": "VMRESUME: VM-entry checks",
    "entry_vmcs02": "VMRESUME: vmcs12 to vmcs02",
    "loop": "run loop: events, timer, to the entry",
}
PHASES_BEFORE = (403, {"guest": 52157, "exit_decide": 23316, "exit_sync": 284616, "exit_host": 365217,
                       "exit_shadow": 216075, "entry_decode": 44622, "entry_copy": 372855,
                       "entry_checks": 158388, "entry_vmcs02": 442200, "loop": 39360})
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
        rows.append((title, "snap_build_per_mib", None, round(build / mib), "tigerlake", None, None))
        rows.append((title, "snap_send_per_mib", None, round(send / mib), "tigerlake", None, None))
        rows.append((title, "snap_bytes", None, size, "tigerlake", None, None))
        rows.append((title, "restore_per_mib", None, round(int(r.group(1)) / mib), "tigerlake", None, None))
    return rows, failed


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
    rows = [(pair["title"], k, fig["bare"][k], fig["turtle"][k], pair["cpu"], None, None)
            for k in ("to_init", "to_end", "kvm_l2_cpuid", "l0_exits")]
    note = f"L0 exits of the Linux L1 by reason: {exits.group(2)}." if exits else ""
    return rows, note


def figures(text):
    out = {m.group(1): int(m.group(2)) for m in BENCH_LINE.finditer(text)}
    roots = ROOTS_LINE.search(text)
    if roots:
        out["ept02_roots_built"] = int(roots.group(1))
    return out


def round_trip_phases(exits, ticks):
    """Ticks per phase for one round trip (two L0 exits)."""
    return {p: round(ticks.get(p, 0) * 2 / exits) for p in PHASES}


def profile_phases(text):
    """The last profile line of a log (vmx_bench's timed loop), per round trip."""
    last = None
    for m in PROFILE_LINE.finditer(text):
        last = m
    if not last:
        return None
    words = last.group(2).split()
    ticks = {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
    return round_trip_phases(int(last.group(1)), ticks)


def phases_svg(before, after):
    """A horizontal bar chart: each phase's instructions per round trip,
    before and now."""
    bar_h, gap, left, width = 14, 10, 300, 420
    top = 50
    scale = width / max(max(before.values()), max(after.values()), 1)
    rows = []
    y = top
    for p in PHASES:
        rows.append(f'<text x="{left - 8}" y="{y + bar_h}" text-anchor="end">{PHASE_TEXT[p]}</text>')
        for value, colour, dy in ((before[p], "#c8c8c8", 0), (after[p], "#2a7a3a", bar_h)):
            w = max(1, round(value * scale))
            rows.append(f'<rect x="{left}" y="{y + dy}" width="{w}" height="{bar_h - 2}" fill="{colour}"/>')
            rows.append(f'<text x="{left + w + 4}" y="{y + dy + bar_h - 3}">{value}</text>')
        y += 2 * bar_h + gap
    total_b, total_a = sum(before.values()), sum(after.values())
    height = y + 20
    head = (f'<text x="10" y="20" font-weight="bold">One L2 CPUID handled by L1 (vmx_bench, tigerlake): '
            f'emulated instructions per phase</text>'
            f'<rect x="10" y="30" width="12" height="10" fill="#c8c8c8"/><text x="26" y="39">before: {total_b}</text>'
            f'<rect x="160" y="30" width="12" height="10" fill="#2a7a3a"/><text x="176" y="39">now: {total_a}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
            f'font-family="sans-serif" font-size="11">\n{head}\n' + "\n".join(rows) + "\n</svg>\n")


def main(doc_path=None):
    by_name = {c.name: c for c in case_list.cases()}
    rows, notes = [], []
    failed = False
    phases = None
    prof = by_name.get("bench-vmx-prof")
    if prof:
        r = harness.run_case(prof)
        phases = profile_phases(r.log)
        if not r.ok or not phases:
            print(f"bench: case {prof.name} failed: {'; '.join(r.reasons)}", file=sys.stderr)
            failed = True
    done = {}                           # a case two pairs share runs once
    for pair in case_list.bench_pairs():
        results = {}
        for role in ("bare", "turtle", "trap", "kvm"):
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
        trap = figures(results.get("trap", ""))
        kvm = figures(results.get("kvm", ""))
        for key in sorted(set(bare) | set(turtle)):
            rows.append((pair["title"], key, bare.get(key), turtle.get(key), pair["cpu"], trap.get(key),
                         kvm.get(key)))
        boot = BOOT_LINE.search(results.get("turtle", ""))
        if boot and pair.get("boot"):
            rows.append((pair["title"], "boot", None, int(boot.group(1)), pair["cpu"], None, None))

    snap_rows, snap_failed = snapshot_rows()
    rows += snap_rows
    failed |= snap_failed
    def cell(v):
        return v if v is not None else "-"

    lines = ["| benchmark | what | CPU model | bare Bochs | before | under turtle | ratio | turtle, apicv=off "
             "| under Linux KVM |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for title, key, b, t, cpu, tr, k in rows:
        texts = DESCRIPTIONS_L3 if title == "L3" else DESCRIPTIONS
        what = texts.get(key, "entry of turtle to the first L1 instruction" if key == "boot" else key)
        ratio = (f"{t / b:.1f}x" if t < 10 * b else f"{t / b:.0f}x") if b and t else ""
        before = BEFORE.get((title, key, cpu))
        lines.append(f"| {title}: {key} | {what} | {cpu} | {cell(b)} | {cell(before)} | {cell(t)} | {ratio} | "
                     f"{cell(tr)} | {cell(k)} |")
    table = "\n".join(lines + ([""] + notes if notes else []))
    print(table)
    if phases:
        before = round_trip_phases(PHASES_BEFORE[0], PHASES_BEFORE[1])
        print("bench: phases of one nested round trip (before, now): " +
              ", ".join(f"{p} {before[p]} {phases[p]}" for p in PHASES))
        if doc_path:
            svg = os.path.join(os.path.dirname(doc_path), "benchmarks-nested-phases.svg")
            with open(svg, "w") as f:
                f.write(phases_svg(before, phases))
            print(f"bench: wrote {svg}")
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
