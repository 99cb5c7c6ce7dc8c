"""XSAVE, XCR0, AVX, PCID and INVPCID for guests (docs/guests.md, "Extended
state"): the xsave guest on bare Bochs and under turtle (with its nested L2
tests), and two of them side by side under turtle with different AVX
values, so every switch between them must keep each one's registers."""
from harness import Case, DiffCase


def xsave_cases(cpus, guest, finished):
    out = []
    for cpu in cpus:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(DiffCase(
            f"diff-xsave-{tag}", "vmx",
            bare=Case(f"bare-xsave-{tag}", "vmx", cpu=cpu, timeout=180, kernel=guest("xsave"),
                      cmdline="nested", end="summary"),
            nested=Case(f"l1-xsave-{tag}", "vmx", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                        modules=[(guest("xsave"), "name=xsave mem=32M nested -- nested")],
                        expect=[r"^turtle: vmx: guest XSAVE: XCR0 up to 0x"]),
            guest="xsave", min_tests=25, strip_details=True))
        out.append(Case(f"vmx-xsave-pair-{tag}", "vmx", cpu=cpu, timeout=300, verdict=(2, 2, 0),
                        modules=[(guest("xsave"), "name=xa mem=16M -- val=1 rounds=60"),
                                 (guest("xsave"), "name=xb mem=16M -- val=2 rounds=60")],
                        expect=[r"^\[xa\] PASS: AVX(-512)? registers keep their values across 60 rounds",
                                r"^\[xb\] PASS: AVX(-512)? registers keep their values across 60 rounds",
                                r"^\[xa\] SUMMARY: \d+ tests, 0 failures$",
                                r"^\[xb\] SUMMARY: \d+ tests, 0 failures$", finished("xa"), finished("xb")]))
    return out
