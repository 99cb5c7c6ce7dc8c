"""The `snapshot` group (docs/snapshot.md) and make bench's snapshot rows.

snap_l1 snapshots itself in each state, turtle sends the file on COM2 and
powers off, a second boot restores it: the taken run's lines and then the
restored run's must be the uninterrupted run's. turtle on turtle the same
way (snapself=N). Corrupt files are refused by name next to a guest that
passes. Golden snapshots committed under tests/golden/ restore to the same
end.
"""
import dataclasses
import glob
import os
import re

from harness import BUILD, Case
from snapcase import SnapBadCase, SnapCase
from snapcross import SnapFromKvmCase, SnapToKvmCase

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
    "launch": "VMLAUNCH emulated, L2 not entered yet (GUEST_MODE | RUN_PENDING)",
    "vmfunc": "L2 running with EPT and VMFUNC EPTP switching (GUEST_MODE)",
}
# Tests snap_l1 reports in each state (state=shadow checks L2's shadow VMCS too,
# state=vmfunc the EPT pointer L2's VMFUNCs left).
SNAP_TESTS = {"shadow": 4, "vmfunc": 4}
# What the taken run's turtle says of the nested state, where it is fixed.
SNAP_NESTED_SIZE = {"shadow": 8320}
# ... and of its flags (KVM's: 0x1 GUEST_MODE, 0x2 RUN_PENDING).
SNAP_NESTED_FLAGS = {"l2": "0x1", "shadow": "0x1", "launch": "0x3", "vmfunc": "0x1"}


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
            if size or state in SNAP_NESTED_FLAGS:
                taken += r".*nested state " + (str(size) if size else r"\d+") + " bytes"
            if state in SNAP_NESTED_FLAGS:
                taken += rf", flags {SNAP_NESTED_FLAGS[state]}"
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
    out += snap_kvm_cases()
    # Restored on another CPU model: snap_l1 snapshotted mid-L2 on
    # arrandale (fewer VMX and CPUID features), restored on tigerlake,
    # must still be shown arrandale's CPUID and VMX capabilities (its
    # "shown" lines after the snapshot point are the uninterrupted
    # arrandale run's).
    name, mod = "snap-caps-wsm-tgl", "name=snap nested mem=16M -- state=l2"
    path = os.path.join(BUILD, "cases", name, "snap.tsnap")
    small = "corei5_arrandale_m520"
    out.append(SnapCase(
        name, "snapshot", guest="snap", snapshot=path,
        plain=Case(f"{name}-plain", "snapshot", cpu=small, timeout=240, verdict=(1, 1, 0),
                   modules=[(guest("snap_l1"), mod)], expect=[r"^\[snap\] SUMMARY: 3 tests, 0 failures$"]),
        take=Case(f"{name}-take", "snapshot", cpu=small, timeout=240, verdict=(1, 1, 0), com2=True,
                  modules=[(guest("snap_l1"), mod + " snap")],
                  expect=[r"^turtle: guest 'snap': snapshot taken: "]),
        restore=Case(f"{name}-restore", "snapshot", cpu="tigerlake", timeout=240, verdict=(1, 1, 0),
                     modules=[(path, "restore")],
                     expect=[r"^turtle: guest 'snap': restored from a snapshot",
                             r"^\[snap\] snap_l1: shown VMX 480:",
                             r"^\[snap\] SUMMARY: 3 tests, 0 failures$"])))
    out.append(bad_case("snap-bad", "vmcs", duplicate="snap",
                        refusals={"magic": r"snapshot: .*magic.*",
                                  "checksum": r"snapshot: .*(checksum|CRC|crc).*",
                                  "truncated": r"snapshot: .*truncated.*",
                                  "vmcs12-outside-ram": r"snapshot: .*vmcs12_pa.*",
                                  "guest-mode-bad-vmcs12": r"snapshot: nested state: .*activity.*"}))
    # What a restored L1 would be shown, wider than this turtle can honour
    # (docs/snapshot.md, "What a restored L1 is shown"): refused by name.
    out.append(bad_case("snap-bad-caps", "l1",
                        refusals={"cpuid-vendor": r"snapshot: CPUID this host cannot offer: another vendor \(leaf 0\)",
                                  "vmx-cr4-fixed1": r"snapshot: VMX capabilities this host cannot offer: MSR 489 "
                                                    r"allows CR bits this host does not"}))
    return out


def bad_case(name, state, refusals, duplicate=""):
    """snap_l1 snapshotted in `state`, then copies broken in the named ways
    restored next to hello: each refused by its message (SnapBadCase)."""
    take = Case(f"{name}-take", "snapshot", timeout=240, verdict=(1, 1, 0), com2=True,
                modules=[(guest("snap_l1"), f"name=snap nested mem=16M -- state={state} snap")])
    return SnapBadCase(name, "snapshot", take=take, refusals=refusals, duplicate=duplicate,
                       restore=Case(f"{name}-restore", "snapshot", timeout=240,
                                    modules=[(guest("hello"), "name=hello -- id=hello")],
                                    expect=[finished("hello")]))


def snap_kvm_cases():
    """Across hypervisors (docs/snapshot.md, "Between turtle and KVM"), on
    skylake-x: snap_l1 snapshotted mid-L2 by turtle finishes under Linux KVM
    on bare Bochs; vmx_snap snapshotted mid-L2 under KVM (shown turtle's
    VMX capabilities) finishes under turtle. Each needs the Linux image."""
    from cases_linux import linux_case
    cpu, tag = "corei7_skylake_x", "skx"
    mod = "name=snap nested mem=16M -- state=l2"
    name = f"snap-to-kvm-{tag}"
    to_kvm = SnapToKvmCase(
        name, "snapshot", guest="snap", point=r"^snap_l1: snapshot point",
        plain=Case(f"{name}-plain", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                   modules=[(guest("snap_l1"), mod)], expect=[r"^\[snap\] SUMMARY: 3 tests, 0 failures$"]),
        take=Case(f"{name}-take", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0), com2=True,
                  modules=[(guest("snap_l1"), mod + " snap")],
                  expect=[r"^turtle: guest 'snap': snapshot taken: .*nested state 4224 bytes"]),
        linux=dataclasses.replace(
            linux_case(f"{name}-linux", cpu, ["restore"], timeout=600,
                       expect=[r"^linux-init: restore: exit status 0$",
                               r"^linux-init: done: 1 runs, 1 passed, 0 failed$"]),
            group="snapshot"))
    name = f"snap-from-kvm-{tag}"
    path = os.path.join(BUILD, "cases", name, "kvm.tsnap")
    from_kvm = SnapFromKvmCase(
        name, "snapshot", guest="vmx_snap", snapshot=path,
        caps=Case(f"{name}-caps", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0), com2=True,
                  modules=[(guest("snap_l1"), "name=snap nested mem=16M -- state=l1 snap")]),
        linux=dataclasses.replace(
            linux_case(f"{name}-linux", cpu, ["vmx_snap_turtle"], timeout=600, com2=True,
                       expect=[r"^vmm: snapshot: taken in L2 \(seen 20 times\), nested state 4224 bytes, "
                               r"flags 0x1; .* turtle's checks and KVM's nested-state checks pass$",
                               r"^linux-init: vmx_snap_turtle: exit status 0$"]),
            group="snapshot"),
        restore=Case(f"{name}-restore", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                     modules=[(path, "restore name=vmx_snap")],
                     expect=[r"^turtle: guest 'vmx_snap': restored from a snapshot \(turtle kvm-vmm\)",
                             r"^\[vmx_snap\] SUMMARY: 2 tests, 0 failures$"]),
        bare=Case(f"{name}-bare", "snapshot", cpu=cpu, timeout=120, kernel=guest("vmx_snap"), end="summary",
                  expect=[r"^SUMMARY: 2 tests, 0 failures$"]))
    return [to_kvm, from_kvm]


def snap_bench_cases():
    """make bench's snapshot rows: {title: (take case, restore case, file)}."""
    out = {}
    for title, mod in (("snapshot, zero pages elided", "name=snap nested mem=16M -- state=l1 snap"),
                       ("snapshot, 2 MiB filled", "name=snap nested mem=16M -- state=l1 snap fill=2"),
                       ("snapshot, L2 running", "name=snap nested mem=16M -- state=l2 snap"),
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
