"""The case list: what to boot, where, and what the console must show.

Groups: boot (issue: boot foundation), demo (make run), bench (make bench),
and the VMX groups added as the hypervisor grows. `tests/run.py --list`
prints them.
"""
import os

from harness import BUILD, Case

BANNER = r"^turtle (\d|v)\S*$"
SELF_CHECK = r"^turtle: allocator self-check: ok$"
PAGING_CHECK = r"^turtle: paging self-check: ok$"
MEMORY = r"^turtle: memory: \d+ regions, \d+ MiB usable"
NO_VTX = r"^turtle: error: VT-x not available: .+"
FIXTURES = os.path.join(BUILD, "fixtures")


def fixture(name, data):
    """A small file the cases boot as a module (written at import time)."""
    os.makedirs(FIXTURES, exist_ok=True)
    path = os.path.join(FIXTURES, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def boot_cases():
    out = []
    for cpu in ("corei7_skylake_x", "tigerlake"):
        out.append(Case(f"boot-bochs-{cpu}", "boot", cpu=cpu, timeout=60, verdict=(0, 0, 0),
                        expect=[BANNER, MEMORY, SELF_CHECK, PAGING_CHECK, r"^turtle: VT-x available"]))
    for platform in ("qemu", "qemu-uefi"):
        out.append(Case(f"boot-{platform}", "boot", platform=platform, timeout=60,
                        verdict=(0, 0, 0), expect=[BANNER, MEMORY, SELF_CHECK, PAGING_CHECK, NO_VTX]))
    faults = {"ud": (6, "#UD"), "pf": (14, "#PF"), "gp": (13, "#GP"), "de": (0, "#DE")}
    for name, (vector, mnemonic) in faults.items():
        out.append(Case(f"fault-{name}", "boot", platform="qemu", timeout=60, cmdline=f"fault={name}",
                        end="panic",
                        expect=[rf"^turtle: exception: vector {vector} \({mnemonic}[^)]*\) error [0-9a-f]+ "
                                r"at rip ffffffff8[0-9a-f]{7}$",
                                r"^  rax=[0-9a-f]{16} ", r"^backtrace:$",
                                rf"^turtle: panic: unhandled exception {vector} in turtle$"]))
    out.append(Case("fault-ud-bochs", "boot", timeout=60, cmdline="fault=ud", end="panic",
                    expect=[r"^turtle: exception: vector 6 \(#UD invalid opcode\) error 0 at rip ffffffff8"]))
    out.append(Case("bad-cmdline", "boot", platform="qemu", timeout=60,
                    cmdline="frobnicate slice=banana fault=xx",
                    expect=[r"^turtle: error: command line: unknown option 'frobnicate'$",
                            r"^turtle: error: command line: bad slice .* 'slice=banana'$",
                            r"^turtle: error: command line: unknown fault .* 'fault=xx'$", SELF_CHECK],
                    verdict=(0, 0, 0)))
    junk = fixture("junk.bin", b"this is not a kernel image\n" * 40)
    empty = fixture("empty.bin", b"")
    trunc = fixture("truncated.elf", b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    out.append(Case("bad-modules", "boot", platform="qemu", timeout=60,
                    modules=[(junk, "name=junk"), (empty, "name=nothing"), (trunc, "name=cut")],
                    verdict=(3, 0, 3),
                    expect=[r"^turtle: error: module 'junk': not an ELF file and no multiboot header$",
                            r"^turtle: error: module 'nothing': empty module \(missing file\?\)$",
                            r"^turtle: error: module 'cut': ELF header truncated$"]))
    return out


def cases():
    return boot_cases() + [
        Case("demo", "demo", timeout=600, expect=[BANNER]),
    ]
