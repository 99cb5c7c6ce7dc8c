"""The `snapshot` group (docs/snapshot.md) and make bench's snapshot rows.

snap_l1 snapshots itself in each state, turtle sends the file on COM2 and
powers off, a second boot restores it: the taken run's lines and then the
restored run's must be the uninterrupted run's. turtle on turtle the same
way (snapself=N). Corrupt files are refused by name next to a guest that
passes. Golden snapshots committed under tests/golden/ restore to the same
end.
"""
import glob
import os
import re

from harness import BUILD, Case
from snapcase import SnapBadCase, SnapCase

CPUS = ("corei7_skylake_x", "tigerlake")
TURTLE = os.path.join(BUILD, "turtle.elf")


def guest(name):
    return os.path.join(BUILD, "guests", f"{name}.elf")


def finished(name):
    return rf"^turtle: guest '{name}' finished: exit status 0$"


SNAP_STATES = {
    "l1": "in L1 before VMXON",
    "vmxon": "VMXON without a current VMCS",
    "vmcs": "a current VMCS in L1 (launched, L2 half done)",
    "l2": "L2 running (GUEST_MODE)",
    "shadow": "L2 running with VMCS shadowing for L2 (GUEST_MODE, nested state 8320 bytes)",
}
# Tests snap_l1 reports in each state (state=shadow checks L2's shadow VMCS too).
SNAP_TESTS = {"shadow": 4}
# What the taken run's turtle says of the nested state, where it is fixed.
SNAP_NESTED_SIZE = {"shadow": 8320}


SNAP_L1_END = [r"^\[snap\] snap_l1: L1 sum 1d275d765b400000, L2 sum b9e23369c6300000, L2 CPUID exits 400$",
               r"^\[snap\] SUMMARY: 3 tests, 0 failures$"]
SNAP_SHADOW_END = [SNAP_L1_END[0],
                   r"^\[snap\] PASS: snap_l1: L2's 400 shadow-VMCS writes read back \(0 bad\), the last one "
                   r"in the shadow VMCS \(0x5eed018f\)$",
                   r"^\[snap\] SUMMARY: 4 tests, 0 failures$"]
GOLDEN = {"l1": SNAP_L1_END, "vmxon": SNAP_L1_END, "vmcs": SNAP_L1_END, "l2": SNAP_L1_END,
          "shadow": SNAP_SHADOW_END,
          "turtle": [r"^\[l1\] \[l2\] SUMMARY: \d+ tests, 0 failures$",
                     r"^\[l1\] turtle: done: 1 guests, 1 passed, 0 failed$"]}


def snapshot_cases():
    """Group `snapshot` (docs/snapshot.md): snap_l1 snapshots itself in each
    state; a second boot restores the file and must print what an
    uninterrupted run prints after the snapshot point. Corrupt files are
    refused by name next to a guest that passes."""
    out = []
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        for state in SNAP_STATES:
            name = f"snap-{state}-{tag}"
            mod = f"name=snap nested mem=16M -- state={state}"
            path = os.path.join(BUILD, "cases", name, "snap.tsnap")
            summary = rf"^\[snap\] SUMMARY: {SNAP_TESTS.get(state, 3)} tests, 0 failures$"
            size = SNAP_NESTED_SIZE.get(state)
            taken = r"^turtle: guest 'snap': snapshot taken: \d+ bytes, \d+ of 4096 pages"
            if size:
                taken += rf".*nested state {size} bytes"
            out.append(SnapCase(
                name, "snapshot", guest="snap", snapshot=path,
                plain=Case(f"{name}-plain", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                           modules=[(guest("snap_l1"), mod)],
                           expect=[summary]),
                take=Case(f"{name}-take", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0), com2=True,
                          modules=[(guest("snap_l1"), mod + " snap")],
                          expect=[taken, r"^turtle: guest 'snap': passed, stopped after its snapshot"]),
                restore=Case(f"{name}-restore", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                             modules=[(path, "restore")],
                             expect=[r"^turtle: guest 'snap': restored from a snapshot", summary])))
        # turtle on turtle: the L1 is turtle itself, its L2 a test guest;
        # L1-turtle asks the turtle below for a snapshot of itself while
        # its L2 runs (snapself=N), then a second boot restores it.
        name = f"snap-turtle-{tag}"
        path = os.path.join(BUILD, "cases", name, "snap.tsnap")
        l2 = (guest("cpuid_msr"), "for=l1 -- name=l2 mem=8M")
        bench = r"turtle: bench: |run-time pool|; \d+ exits \(|snapself: |^turtle: boot loader "
        out.append(SnapCase(
            name, "snapshot", guest="l1", snapshot=path, point=r"^\[l2\] ", ignore=[bench], min_after=10,
            plain=Case(f"{name}-plain", "snapshot", cpu=cpu, timeout=400, verdict=(1, 1, 0),
                       modules=[(TURTLE, "name=l1 nested mem=64M"), l2],
                       expect=[r"^\[l1\] \[l2\] SUMMARY: \d+ tests, 0 failures$"]),
            take=Case(f"{name}-take", "snapshot", cpu=cpu, timeout=400, verdict=(1, 1, 0), com2=True,
                      modules=[(TURTLE, "name=l1 nested mem=64M -- snapself=3000"), l2],
                      # The snapshot is taken in L2 with vmcs12's APIC virtualization on.
                      expect=[r"^\[l1\] turtle: vmx: APIC virtualization: TPR shadow, APIC accesses, .*; in use$",
                              r"^\[l1\] turtle: snapself: snapshot of this turtle asked for at exit 3000 .*: armed$",
                              r"^turtle: guest 'l1': snapshot taken: .*nested state 4224 bytes"]),
            restore=Case(f"{name}-restore", "snapshot", cpu=cpu, timeout=400, verdict=(1, 1, 0),
                         modules=[(path, "restore")],
                         expect=[r"^turtle: guest 'l1': restored from a snapshot",
                                 r"^\[l1\] \[l2\] SUMMARY: \d+ tests, 0 failures$"])))
    # Golden snapshots (docs/snapshot.md, "The compatibility rule"): taken by
    # a released turtle, committed, restored by every later one to the same end.
    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
    for state, end in GOLDEN.items():
        for path in sorted(glob.glob(os.path.join(golden, f"*-{state}-tgl.tsnap"))):
            version = os.path.basename(path).split("-")[0]
            out.append(Case(f"golden-{version}-{state}", "snapshot", timeout=400, verdict=(1, 1, 0),
                            modules=[(path, "restore")],
                            expect=[r"^turtle: guest '\w+': restored from a snapshot"] + end))
    take = Case("snap-bad-take", "snapshot", timeout=240, verdict=(1, 1, 0), com2=True,
                modules=[(guest("snap_l1"), "name=snap nested mem=16M -- state=vmcs snap")])
    out.append(SnapBadCase(
        "snap-bad", "snapshot", take=take,
        restore=Case("snap-bad-restore", "snapshot", timeout=240,
                     modules=[(guest("hello"), "name=hello -- id=hello")], expect=[finished("hello")]),
        refusals={"magic": r"snapshot: .*magic.*",
                  "checksum": r"snapshot: .*(checksum|CRC|crc).*",
                  "truncated": r"snapshot: .*truncated.*",
                  "vmcs12-outside-ram": r"snapshot: .*vmcs12_pa.*",
                  "guest-mode-bad-vmcs12": r"snapshot: nested state: .*activity.*"},
        duplicate="snap"))
    return out


def snap_bench_cases():
    """make bench's snapshot rows: {title: (take case, restore case, file)}."""
    out = {}
    for title, mod in (("snapshot, zero pages elided", "name=snap nested mem=16M -- state=l1 snap"),
                       ("snapshot, 2 MiB filled", "name=snap nested mem=16M -- state=l1 snap fill=2"),
                       ("snapshot, turtle as L1", None)):
        name = "bench-" + re.sub(r"[^a-z0-9]+", "-", title)
        path = os.path.join(BUILD, "cases", name, "snap.tsnap")
        if mod:
            modules = [(guest("snap_l1"), mod)]
        else:
            modules = [(TURTLE, "name=l1 nested mem=64M -- snapself=3000"),
                       (guest("cpuid_msr"), "for=l1 -- name=l2 mem=8M")]
        out[title] = (Case(f"{name}-take", "bench", timeout=900, verdict=(1, 1, 0), com2=True, modules=modules),
                      Case(f"{name}-restore", "bench", timeout=400, verdict=(1, 1, 0), modules=[(path, "restore")]),
                      path)
    return out
