"""XSAVE, XCR0, AVX, PCID and INVPCID for guests (docs/guests.md, "Extended
state"): the xsave guest on bare Bochs and under turtle (with its nested L2
tests), and two of them side by side under turtle with different AVX
values, so every switch between them must keep each one's registers."""
import os

from harness import BUILD, Case, DiffCase
from snapcase import SnapBadCase, SnapCase


SNB = "corei7_sandy_bridge_2600k"     # XSAVE and AVX, no AVX-512, PCID without INVPCID


def xsave_cases(cpus, guest, finished):
    out = []
    for cpu in cpus + (SNB,):
        tag = {"corei7_skylake_x": "skx", "tigerlake": "tgl", SNB: "snb"}[cpu]
        out.append(DiffCase(
            f"diff-xsave-{tag}", "vmx",
            bare=Case(f"bare-xsave-{tag}", "vmx", cpu=cpu, timeout=180, kernel=guest("xsave"),
                      cmdline="nested", end="summary"),
            nested=Case(f"l1-xsave-{tag}", "vmx", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                        modules=[(guest("xsave"), "name=xsave mem=32M nested -- nested")],
                        expect=[r"^turtle: vmx: guest XSAVE: XCR0 up to 0x[0-9a-f]+ \(\d+ bytes\)"],
                        forbid=[r"^turtle: vmx: guest XSAVE: none"]),
            guest="xsave", min_tests=25, strip_details=True))
        if cpu == SNB:
            continue
        out.append(Case(f"vmx-xsave-pair-{tag}", "vmx", cpu=cpu, timeout=300, verdict=(2, 2, 0),
                        modules=[(guest("xsave"), "name=xa mem=16M -- val=1 rounds=60"),
                                 (guest("xsave"), "name=xb mem=16M -- val=2 rounds=60")],
                        expect=[r"^\[xa\] PASS: AVX(-512)? registers keep their values across 60 rounds",
                                r"^\[xb\] PASS: AVX(-512)? registers keep their values across 60 rounds",
                                r"^\[xa\] SUMMARY: \d+ tests, 0 failures$",
                                r"^\[xb\] SUMMARY: \d+ tests, 0 failures$", finished("xa"), finished("xb")]))
        # A snapshot taken with live AVX(-512) registers and XCR0 restores
        # them: the restored guest's lines equal an uninterrupted run's.
        name = f"snap-xsave-{tag}"
        path = os.path.join(BUILD, "cases", name, "snap.tsnap")
        mod = "name=xsave mem=16M -- val=3 rounds=5 snappoint"
        summary = r"^\[xsave\] SUMMARY: \d+ tests, 0 failures$"
        out.append(SnapCase(
            name, "snapshot", guest="xsave", snapshot=path, point=r"^xsave: snapshot point$",
            plain=Case(f"{name}-plain", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                       modules=[(guest("xsave"), mod)], expect=[summary]),
            take=Case(f"{name}-take", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0), com2=True,
                      modules=[(guest("xsave"), mod + " snap")],
                      expect=[r"^turtle: guest 'xsave': snapshot taken: ",
                              r"^turtle: guest 'xsave': passed, stopped after its snapshot"]),
            restore=Case(f"{name}-restore", "snapshot", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                         modules=[(path, "restore")],
                         expect=[r"^turtle: guest 'xsave': restored from a snapshot",
                                 r"^\[xsave\] PASS: AVX(-512)? registers and XCR0 0x\w+ kept after the snapshot",
                                 summary])))
    # An XSAVE area or XCR0 turtle's XRSTOR would fault on is refused by
    # name, beside a guest that passes.
    take = Case("snap-bad-xsave-take", "snapshot", timeout=240, verdict=(1, 1, 0), com2=True,
                modules=[(guest("xsave"), "name=xsave mem=16M -- rounds=2 snappoint snap")])
    out.append(SnapBadCase(
        "snap-bad-xsave", "snapshot", take=take,
        restore=Case("snap-bad-xsave-restore", "snapshot", timeout=240,
                     modules=[(guest("hello"), "name=hello -- id=hello")], expect=[finished("hello")]),
        refusals={"xsave-compacted": r"snapshot: vCPU 0: XSAVE header: XCOMP_BV or reserved bytes not 0",
                  "xsave-mxcsr": r"snapshot: vCPU 0: MXCSR has bits this CPU reserves",
                  "xcr0-pkru": r"snapshot: vCPU 0: XCR0 not one this turtle offers"}))
    return out
