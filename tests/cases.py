"""The case list: what to boot, where, and what the console must show.

Groups: boot (issue: boot foundation), demo (make run), bench (make bench),
and the VMX groups added as the hypervisor grows. `tests/run.py --list`
prints them.
"""
import os
import re

import cases_console
import cases_xsave
import refusals
from harness import BUILD, Case, DiffCase, KvmDiffCase
from snapshot_cases import snap_bench_cases, snapshot_cases  # noqa: F401 (bench.py uses the first)

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
                        expect=[BANNER, MEMORY, SELF_CHECK, PAGING_CHECK, r"^turtle: vmx: revision [0-9a-f]+, EPT"]))
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
    # CPU models turtle must refuse (docs/architecture.md, "CPUs"): VT-x
    # without EPT, and EPT without unrestricted guest. The reason is printed,
    # the guest counts as failed and turtle powers Bochs off by itself.
    for cpu, why in (("core2_penryn_t9600", "this CPU has no EPT"),
                     ("corei5_lynnfield_750", "this CPU has no unrestricted guest")):
        out.append(Case(f"refuse-{cpu}", "boot", cpu=cpu, timeout=60, end="poweroff",
                        modules=[(os.path.join(BUILD, "guests", "hello.elf"), "name=hello -- id=hello")],
                        expect=[rf"^turtle: error: VT-x not available: {why}$",
                                r"^turtle: done: 1 guests, 0 passed, 1 failed$"],
                        forbid=[r"^turtle: vmx: revision", r"^\[hello\]"]))
    junk = fixture("junk.bin", b"this is not a kernel image\n" * 40)
    empty = fixture("empty.bin", b"")
    trunc = fixture("truncated.elf", b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    # A module file GRUB cannot find never reaches turtle; guests= names it.
    out.append(Case("missing-module", "boot", platform="qemu", timeout=60,
                    cmdline="guests=present,absent",
                    modules=[(fixture("present.bin", b"junk\n" * 8), "name=present"),
                             (os.path.join(FIXTURES, "no-such-file.elf"), "name=absent")],
                    verdict=(2, 0, 2),
                    expect=[r"^turtle: error: module 'absent': missing \(listed in guests= but not loaded\)$",
                            r"^turtle: boot loader .*, 1 modules"]))
    out.append(Case("bad-modules", "boot", platform="qemu", timeout=60,
                    modules=[(junk, "name=junk"), (empty, "name=nothing"), (trunc, "name=cut")],
                    verdict=(3, 0, 3),
                    expect=[r"^turtle: error: module 'junk': not an ELF file and no multiboot header$",
                            r"^turtle: error: module 'nothing': empty module \(missing file\?\)$",
                            r"^turtle: error: module 'cut': ELF header truncated$"]))
    return out


GUESTS = os.path.join(BUILD, "guests")
CPUS = ("corei7_skylake_x", "tigerlake")
# The smallest Bochs model turtle runs on (Westmere: EPT and unrestricted
# guest, but no VMCS shadowing, no 1 GiB or A/D EPT, no PML, no VMFUNC, no
# IA32_DEBUGCTL): turtle must use only what it has and show L1 only that.
SMALL_CPU = "corei5_arrandale_m520"


def guest(name):
    return os.path.join(GUESTS, f"{name}.elf")


def finished(name):
    return rf"^turtle: guest '{name}' finished: exit status 0$"


def interleaved(text):
    """The three chatter guests must share the CPU: some guest's line must
    come between two lines of another (preemption, not run-to-completion)."""
    import re
    order = [m.group(1) for m in re.finditer(r"^\[(c\d)\] chatter \S+ line \d+$", text, re.M)]
    if len(order) != 60:
        return [f"expected 60 chatter lines, got {len(order)}"]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    return [] if switches >= 6 else [f"guests did not interleave (only {switches} switches)"]


def vmx_cases():
    out = []
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        # Three guests, one CPU: all finish, the verdict counts them.
        out.append(Case(f"vmx-basic-{tag}", "vmx", cpu=cpu, timeout=180, verdict=(3, 3, 0),
                        modules=[(guest("hello"), "name=hello -- id=hello"),
                                 (guest("cpuid_msr"), "name=cpuid"),
                                 (guest("uart_exit"), "name=uart mem=4M")],
                        expect=[r"^turtle: vmx: revision [0-9a-f]+, EPT", finished("hello"),
                                r"^\[uart\] rep outsb ok$",
                                finished("cpuid"), finished("uart"),
                                r"^\[cpuid\] SUMMARY: \d+ tests, 0 failures$",
                                r"^turtle: guest 'cpuid': passed, exit status 0; \d+ exits \(.*cpuid \d+"]))
        # The same guests on bare Bochs and under turtle must agree.
        for g, extra in (("cpuid_msr", ""), ("uart_exit", ""), ("mb1", "mb1-hello")):
            proto = "multiboot" if g == "mb1" else "multiboot2"
            out.append(DiffCase(
                f"diff-{g}-{tag}", "vmx",
                bare=Case(f"bare-{g}-{tag}", "vmx", cpu=cpu, timeout=120, kernel=guest(g),
                          cmdline=extra, end="summary", protocol=proto),
                nested=Case(f"l1-{g}-{tag}", "vmx", cpu=cpu, timeout=180, verdict=(1, 1, 0),
                            modules=[(guest(g), f"name={g} -- {extra}")]),
                guest=g, min_tests=5))
    out.append(Case("vmx-basic-wsm", "vmx", cpu=SMALL_CPU, timeout=180, verdict=(3, 3, 0),
                    modules=[(guest("hello"), "name=hello -- id=hello"),
                             (guest("cpuid_msr"), "name=cpuid"),
                             (guest("uart_exit"), "name=uart mem=4M")],
                    expect=[r"^turtle: vmx: revision [0-9a-f]+, EPT 2M x-only, VPID, unrestricted guest, preemption",
                            r"^turtle: vmx: guest XSAVE: none \(FXSAVE\)$",
                            finished("hello"), finished("cpuid"), finished("uart"),
                            r"^\[cpuid\] SUMMARY: \d+ tests, 0 failures$"]))
    out.append(DiffCase(
        "diff-cpuid_msr-wsm", "vmx",
        bare=Case("bare-cpuid_msr-wsm", "vmx", cpu=SMALL_CPU, timeout=120, kernel=guest("cpuid_msr"),
                  end="summary"),
        nested=Case("l1-cpuid_msr-wsm", "vmx", cpu=SMALL_CPU, timeout=180, verdict=(1, 1, 0),
                    modules=[(guest("cpuid_msr"), "name=cpuid_msr")]),
        guest="cpuid_msr", min_tests=5))
    out.append(bootinfo_case())
    out += [
        Case("vmx-failing-guest", "vmx", timeout=180, verdict=(2, 1, 1),
             modules=[(guest("uart_exit"), "name=bad mem=4M -- status=3"),
                      (guest("hello"), "name=good -- id=good")],
             expect=[r"^turtle: guest 'bad' stopped: exit status 3$", finished("good"),
                     r"^turtle: guest 'bad': FAILED, exit status 3;"]),
        Case("vmx-isolation", "vmx", timeout=240, verdict=(3, 2, 1),
             modules=[(guest("isolation"), "name=prober mem=8M -- magic=0x1111aaaa other=0x2222bbbb probe=0x900000"),
                      (guest("isolation"), "name=scanner mem=8M -- magic=0x2222bbbb other=0x1111aaaa"),
                      (guest("hello"), "name=bystander -- id=bystander")],
             expect=[r"^turtle: guest 'prober' stopped: read of guest-physical 900000 outside its RAM \(8 MiB\) at rip [0-9a-f]+$",
                     finished("scanner"), finished("bystander"),
                     r"^\[scanner\] PASS: turtle isolation"],
             forbid=[r"still running after probe"]),
        Case("vmx-isolation-high", "vmx", timeout=180, verdict=(2, 1, 1),
             modules=[(guest("isolation"), "name=prober mem=4M -- magic=0x3333cccc other=0x4444dddd probe=0xfd000000"),
                      (guest("hello"), "name=bystander -- id=bystander")],
             expect=[r"^turtle: guest 'prober' stopped: read of guest-physical fd000000 outside its RAM",
                     finished("bystander")],
             forbid=[r"still running after probe"]),
        Case("vmx-triple-fault", "vmx", timeout=180, verdict=(3, 2, 1),
             modules=[(guest("hello"), "name=first -- id=first"),
                      (guest("triple"), "name=crasher mem=4M"),
                      (guest("hello"), "name=second -- id=second")],
             expect=[r"^turtle: guest 'crasher' stopped: triple fault at rip [0-9a-f]+$",
                     finished("first"), finished("second")],
             forbid=[r"triple: still running"]),
        Case("vmx-hlt-cli", "vmx", timeout=180, verdict=(2, 1, 1),
             modules=[(guest("triple"), "name=sleeper mem=4M -- hang"),
                      (guest("hello"), "name=awake -- id=awake")],
             expect=[r"^turtle: guest 'sleeper' stopped: halted with interrupts disabled at rip [0-9a-f]+$",
                     finished("awake")],
             forbid=[r"still running after cli; hlt"]),
        Case("vmx-interleave", "vmx", timeout=300, verdict=(3, 3, 0), cmdline="slice=2000",
             modules=[(guest("chatter"), f"name=c{i} mem=4M -- id=c{i}") for i in range(3)],
             check=interleaved),
        # EPT01 with 4 KiB frames: turtle's test knob, and a guest whose RAM
        # is not a multiple of 2 MiB (its last chunk is 4 KiB frames).
        Case("vmx-4k-frames", "vmx", timeout=240, cmdline="small_frames", verdict=(4, 3, 1),
             modules=[(guest("cpuid_msr"), "name=cpuid mem=6M"),
                      (guest("isolation"), "name=prober mem=5M -- magic=0x5555eeee other=0x6666ffff probe=0x500000"),
                      (guest("vmx_suite"), "name=vmx_suite nested mem=24M"),
                      (guest("elf64"), "name=e64 mem=3M -- elf64-hello")],
             expect=[finished("cpuid"), finished("vmx_suite"), finished("e64"),
                     r"^\[prober\] PASS: turtle isolation own pattern intact after yields$",
                     r"^turtle: guest 'prober' stopped: read of guest-physical 500000 outside its RAM \(5 MiB\)"],
             forbid=[r"still running after probe"]),
        Case("vmx-partial-chunk", "vmx", timeout=180, verdict=(1, 1, 0),
             modules=[(guest("cpuid_msr"), "name=cpuid mem=5M")],
             expect=[r"^turtle: guest 'cpuid': multiboot2 image, 5 MiB", finished("cpuid")]),
        Case("vmx-elf64", "vmx", timeout=180, verdict=(2, 2, 0),
             modules=[(guest("elf64"), "name=e64 -- elf64-hello"),
                      (os.path.join(GUESTS, "cpuid_msr.elf64.elf"), "name=cpuid64")],
             expect=[r"^turtle: guest 'e64': ELF64 image, 16 MiB, entry [0-9a-f]+ \(64-bit\)$",
                     r"^\[e64\] SUMMARY: \d+ tests, 0 failures$", finished("e64"), finished("cpuid64")]),
        Case("vmx-mb1", "vmx", timeout=180, verdict=(1, 1, 0),
             modules=[(guest("mb1"), "name=mb1 -- mb1-hello")],
             expect=[r"^turtle: guest 'mb1': multiboot1 image, 16 MiB, entry [0-9a-f]+ \(32-bit, paging off\)$",
                     r"^\[mb1\] SUMMARY: \d+ tests, 0 failures$"]),
        Case("vmx-bad-modules", "vmx", timeout=180, verdict=(5, 1, 4),
             modules=[(fixture("junk.bin", b"not a kernel\n" * 50), "name=junk"),
                      (guest("hello"), "name=toobig mem=4G"),
                      (guest("hello"), "name=bad!name"),
                      (guest("hello"), "name=ok -- id=ok"),
                      (guest("hello"), "name=ok")],
             expect=[r"^turtle: error: module 'junk': not an ELF file and no multiboot header$",
                     r"^turtle: error: module1: bad option 'mem=4G'$",
                     r"^turtle: error: module2: bad option 'name=bad!name'$",
                     r"^turtle: error: module 'ok': a guest of that name already exists$",
                     finished("ok")]),
    ]
    return out


def bootinfo_pattern(seed, size):
    """A module's bytes as tests/guests/bootinfo.c checks them."""
    return bytes(((i * 131 + seed * 29 + (i >> 9)) ^ (seed >> 3)) & 0xff for i in range(size))


def bootinfo_case():
    """Where the loader puts the boot information and the modules (docs/guests.md):
    a small module (fits below 1 MiB) and one too big for low memory, the
    multiboot2 guest on bare Bochs (GRUB) and under turtle, where the same
    guest through the 64-bit entry also checks the page tables and GDT."""
    mods = []
    for seed, size in ((1, 20000), (2, 700 * 1024)):
        path = fixture(f"bootinfo-{seed}.bin", bootinfo_pattern(seed, size))
        mods.append((path, f"bootinfo-module size={size} seed={seed}"))

    def for_guest(name):
        return [(path, f"for={name} -- {cl}") for path, cl in mods]

    return DiffCase(
        "diff-bootinfo-tgl", "vmx",
        bare=Case("bare-bootinfo-tgl", "vmx", timeout=120, kernel=guest("bootinfo"), modules=mods,
                  end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
        nested=Case("l1-bootinfo-tgl", "vmx", timeout=180, verdict=(2, 2, 0),
                    modules=[(guest("bootinfo"), "name=bootinfo mem=8M")] + for_guest("bootinfo")
                    + [(os.path.join(GUESTS, "bootinfo.elf64.elf"), "name=bi64 mem=8M")] + for_guest("bi64"),
                    expect=[r"^\[bootinfo\] PASS: turtle boot information in a reserved range",
                            r"^\[bootinfo\] PASS: turtle modules intact after using the RAM after the image$",
                            r"^\[bi64\] PASS: turtle 64-bit entry page tables and GDT outside the image",
                            r"^\[bi64\] PASS: turtle modules intact after using the RAM after the image$",
                            r"^\[bi64\] SUMMARY: 14 tests, 0 failures$", finished("bootinfo"), finished("bi64")]),
        guest="bootinfo", min_tests=7)


TURTLE = os.path.join(BUILD, "turtle.elf")
PROFILE_TURTLE = os.path.join(BUILD, "profile", "turtle.elf")


def nested_cases():
    out = []
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        # turtle as an L1 of turtle, running an L2 test guest to completion.
        out.append(Case(f"turtle-on-turtle-{tag}", "nested", cpu=cpu, timeout=300, verdict=(1, 1, 0),
                        modules=[(TURTLE, "name=l1 nested mem=64M"),
                                 (guest("cpuid_msr"), "for=l1 -- name=l2 mem=8M")],
                        # L1-turtle uses APIC virtualization for its L2 (vmcs12).
                        expect=[r"^\[l1\] turtle: vmx: revision 11e57ed0, EPT",
                                r"^\[l1\] turtle: vmx: APIC virtualization: TPR shadow, APIC accesses, .*; in use$",
                                r"^\[l1\] \[l2\] PASS: turtle cpuid 0x40000000 signature",
                                r"^\[l1\] \[l2\] SUMMARY: \d+ tests, 0 failures$",
                                r"^\[l1\] turtle: done: 1 guests, 1 passed, 0 failed$",
                                r"^turtle: guest 'l1' finished: exit status 0 \(VMCALL\)$",
                                r"^turtle: guest 'l1': passed, .*vmlaunch \d+.*vmresume \d+"]))
        # A nested guest sees VT-x: CPUID.1:ECX.VMX and FEATURE_CONTROL locked on.
        out.append(Case(f"nested-cpuid-{tag}", "nested", cpu=cpu, timeout=180, verdict=(1, 1, 0),
                        modules=[(guest("cpuid_msr"), "name=n nested -- nested")],
                        expect=[r"^\[n\] PASS: turtle cpuid 1 ECX shows VMX",
                                r"^\[n\] SUMMARY: \d+ tests, 0 failures$"]))
    # The VMX test suite (an L1 hypervisor) on bare Bochs and as a nested L1
    # under turtle: every test must have the same outcome.
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(DiffCase(
            f"diff-vmx_suite-{tag}", "nested",
            bare=Case(f"bare-vmx_suite-{tag}", "nested", cpu=cpu, timeout=180, kernel=guest("vmx_suite"),
                      end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
            nested=Case(f"l1-vmx_suite-{tag}", "nested", cpu=cpu, timeout=300, verdict=(1, 1, 0),
                        modules=[(guest("vmx_suite"), "name=vmx_suite nested mem=32M")],
                        # Bochs 2.7 refuses the vmcs02 of a real-mode unrestricted
                        # guest with CS RPL 3 that the SDM (and turtle) accept: L1
                        # gets the CPU's entry failure, and turtle says so.
                        expect=[r"^\[vmx_suite\] PASS: turtle VMX_BASIC revision is 0x11e57ed0$",
                                r"^\[vmx_suite\] PASS: turtle EPT12 mapping beyond L1 RAM",
                                r"^\[vmx_suite\] PASS: turtle APIC-access page beyond L1 RAM behind EPT12: ",
                                r"^turtle: nested: 'vmx_suite': hardware refused vmcs02 \(reason 33\), passed to L1$",
                                r"^\[vmx_suite\] PASS: turtle unrestricted guest with CS RPL 3, CS/SS DPL 0: "]),
            guest="vmx_suite", min_tests=200))
    # The suite and turtle on turtle on the small CPU: no VMCS shadowing
    # underneath L1, fewer controls and EPT features shown to it.
    out.append(DiffCase(
        "diff-vmx_suite-wsm", "nested",
        bare=Case("bare-vmx_suite-wsm", "nested", cpu=SMALL_CPU, timeout=180, kernel=guest("vmx_suite"),
                  end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
        nested=Case("l1-vmx_suite-wsm", "nested", cpu=SMALL_CPU, timeout=300, verdict=(1, 1, 0),
                    modules=[(guest("vmx_suite"), "name=vmx_suite nested mem=32M")],
                    expect=[r"^\[vmx_suite\] PASS: turtle VMX_BASIC revision is 0x11e57ed0$"]),
        guest="vmx_suite", min_tests=200))
    out.append(Case("turtle-on-turtle-wsm", "nested", cpu=SMALL_CPU, timeout=300, verdict=(1, 1, 0),
                    modules=[(TURTLE, "name=l1 nested mem=64M"),
                             (guest("cpuid_msr"), "for=l1 -- name=l2 mem=8M")],
                    expect=[r"^\[l1\] turtle: vmx: revision 11e57ed0, EPT",
                            r"^\[l1\] turtle: vmx: APIC virtualization: TPR shadow, APIC accesses, x2APIC mode; in use$",
                            r"^\[l1\] \[l2\] SUMMARY: \d+ tests, 0 failures$",
                            r"^\[l1\] turtle: done: 1 guests, 1 passed, 0 failed$",
                            r"^turtle: guest 'l1' finished: exit status 0 \(VMCALL\)$"]))
    # The oldest CPU models turtle runs on (arrandale, sandy and ivy bridge)
    # have no VMCS shadowing (nor EPT A/D bits or 1G pages): every VMREAD and
    # VMWRITE of L1 exits and turtle emulates it. Sandy Bridge keeps that
    # path tested with both nested suites.
    SNB = "corei7_sandy_bridge_2600k"
    out.append(DiffCase(
        "diff-vmx_suite-snb", "nested",
        bare=Case("bare-vmx_suite-snb", "nested", cpu=SNB, timeout=180, kernel=guest("vmx_suite"),
                  end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
        nested=Case("l1-vmx_suite-snb", "nested", cpu=SNB, timeout=300, verdict=(1, 1, 0),
                    modules=[(guest("vmx_suite"), "name=vmx_suite nested mem=32M")],
                    expect=[r"^turtle: vmx: revision [0-9a-f]+, EPT 2M x-only, VPID, unrestricted guest, preemption",
                            r"^\[vmx_suite\] PASS: turtle VMX_BASIC revision is 0x11e57ed0$"],
                    forbid=[r"^turtle: vmx: .*VMCS shadowing"]),
        guest="vmx_suite", min_tests=200))
    out.append(DiffCase(
        "diff-vmx32-snb", "nested",
        bare=Case("bare-vmx32-snb", "nested", cpu=SNB, timeout=180, kernel=guest("vmx32"),
                  protocol="multiboot", end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
        nested=Case("l1-vmx32-snb", "nested", cpu=SNB, timeout=300, verdict=(1, 1, 0),
                    modules=[(guest("vmx32"), "name=vmx32 nested mem=16M")], forbid=[r"^turtle: vmx: .*VMCS shadowing"]),
        guest="vmx32", min_tests=90))
    # The same kind of suite with the L1 hypervisor in 32-bit protected mode:
    # operand decoding with 32/16-bit addressing, segments, PAE L2.
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(DiffCase(
            f"diff-vmx32-{tag}", "nested",
            bare=Case(f"bare-vmx32-{tag}", "nested", cpu=cpu, timeout=180, kernel=guest("vmx32"),
                      protocol="multiboot", end="summary", expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
            nested=Case(f"l1-vmx32-{tag}", "nested", cpu=cpu, timeout=300, verdict=(1, 1, 0),
                        modules=[(guest("vmx32"), "name=vmx32 nested mem=16M")]),
            guest="vmx32", min_tests=90))
    # Two nested L1s grow and drop EPT02 in turns, yielding after every page
    # turtle fills, so their EPT02 pages interleave in turtle's allocator; each
    # drop returns ~180 pages lying between the other's (3600 over the
    # run). The range-list allocator panicked here ("mm: bad free"); both
    # must finish. The same guest on bare Bochs is the reference.
    churn = "rounds=10 pages=180"
    out.append(DiffCase(
        "diff-ept02_churn-tgl", "nested",
        bare=Case("bare-ept02_churn-tgl", "nested", cpu="tigerlake", timeout=120, kernel=guest("ept02_churn"),
                  cmdline=churn, end="summary", expect=[r"^SUMMARY: 10 tests, 0 failures$"]),
        nested=Case("l1-ept02_churn-tgl", "nested", cpu="tigerlake", mem=512, timeout=300, verdict=(2, 2, 0),
                    modules=[(guest("ept02_churn"), f"name=a nested mem=128M -- {churn}"),
                             (guest("ept02_churn"), f"name=b nested mem=128M -- {churn}")],
                    expect=[r"^\[a\] PASS: turtle ept02_churn: \d+ L0 exits for 1800 region fills",
                            r"^\[b\] PASS: turtle ept02_churn: \d+ L0 exits for 1800 region fills",
                            r"^\[a\] SUMMARY: 11 tests, 0 failures$", r"^\[b\] SUMMARY: 11 tests, 0 failures$",
                            r"^turtle: guest 'a' finished: exit status 0", r"^turtle: guest 'b' finished: exit status 0"],
                    forbid=[r"turtle: panic"]),
        guest="a", min_tests=10))
    # Memory fairness (docs/architecture.md, Memory): each VM's EPT02 comes
    # from a pool reserved at load. 'hog' fills its EPT02 to the budget again
    # and again (200 regions per round > the 96-page budget of a 32 MiB L1)
    # and then holds it while 'b' (another nested L1) runs to its end; both
    # pass, and hog's pool was used to the budget and no further.
    out.append(Case("fair-ept02-pools-tgl", "nested", cpu="tigerlake", mem=96, timeout=60, verdict=(2, 2, 0),
                    modules=[(guest("ept02_churn"), "name=hog nested mem=32M -- rounds=3 pages=200 hold=100"),
                             (guest("ept02_churn"), "name=b nested mem=32M -- rounds=3 pages=40")],
                    expect=[r"^\[b\] SUMMARY: 4 tests, 0 failures$", r"^\[hog\] SUMMARY: 4 tests, 0 failures$",
                            r"^turtle: guest 'b' finished: exit status 0",
                            r"^turtle: guest 'hog': run-time pool of 98 pages, 9[68] used at most$",
                            r"^turtle: guest 'b': run-time pool of 98 pages, \d+ used at most$"],
                    forbid=[r"turtle: panic", r"out of memory for EPT02"]))
    # A VM whose reservation (RAM, its tables, its run-time pool) cannot be
    # met on a 64 MiB machine is refused at load, by name; the other runs.
    out.append(Case("fair-refuse-reservation", "nested", cpu="tigerlake", mem=64, timeout=60, verdict=(2, 1, 1),
                    modules=[(guest("ept02_churn"), "name=huge nested mem=1G -- rounds=1"),
                             (guest("hello"), "name=ok -- id=ok")],
                    expect=[r"^turtle: error: module 'huge': not enough memory for its reservation of 264262 pages$",
                            finished("ok")],
                    forbid=[r"turtle: panic", r"guest 'huge': multiboot2 image"]))
    # A hostile L1: hundreds of vmcs12s with random control and guest-state
    # fields, L2 sandboxed by EPT12. Every answer must be architectural, and
    # turtle must neither stop the L1 nor need the hardware to refuse vmcs02
    # (but where the CPU departs from the SDM: tests/refusals.py).
    # Seeds 1 and 2, and what make fuzz found: 302545471 on skylake-x injected
    # #CP with an error code, which a CPU without CET refuses (turtle's check
    # now follows the CPU's CET support); 161780747 on skylake-x (iteration
    # 157) had SS selector 0xc3df (RPL 3) with SS DPL 0 and no unrestricted
    # guest, which turtle did not refuse (SDM 27.3.1.2: SS DPL equals its RPL).
    # 8689 on tigerlake (iteration 63) has CS selector 0xb (RPL 3) with CS and
    # SS DPL 0 and unrestricted guest: the SDM allows it, turtle enters it,
    # Bochs 2.7 refuses vmcs02 (rule 43); the guest announces it, so the
    # refusal is known for the departure it is and the case passes.
    cs_departure = [r"^\[fuzz\] vmx_fuzz: iteration 63: CS DPL unlike CS RPL with unrestricted guest",
                    r"^turtle: nested: 'fuzz': hardware refused vmcs02 \(reason 33\), passed to L1$",
                    r"^\[fuzz\] vmx_fuzz: iteration 63: entry failure 33: reason 0x80000021 qualification 0x0 "]
    for name, cpu, seed, more in (("vmx-fuzz-tgl", "tigerlake", 1, []), ("vmx-fuzz-skx", "corei7_skylake_x", 2, []),
                                  ("vmx-fuzz-skx-cp", "corei7_skylake_x", 302545471, []),
                                  ("vmx-fuzz-skx-ss", "corei7_skylake_x", 161780747, []),
                                  ("vmx-fuzz-tgl-cs", "tigerlake", 8689, cs_departure)):
        out.append(Case(name, "nested", cpu=cpu, timeout=300, verdict=(1, 1, 0),
                        modules=[(guest("vmx_fuzz"), f"name=fuzz nested mem=32M -- seed={seed} iters=400")],
                        expect=[r"^\[fuzz\] PASS: turtle fuzz: \d+ iterations completed",
                                r"^\[fuzz\] SUMMARY: \d+ tests, 0 failures$"] + more,
                        check=refusals.check))
    # vmx_suite under turtle on turtle: its guests are L3s, and the L1
    # turtle runs it with VMCS shadowing (shown by L0) for its own L1.
    out.append(Case("turtle-on-turtle-vmx_suite", "nested", timeout=1500, verdict=(1, 1, 0),
                    modules=[(TURTLE, "name=l1 nested mem=96M"),
                             (guest("vmx_suite"), "for=l1 -- name=vmx_suite nested mem=32M")],
                    expect=[r"^\[l1\] \[vmx_suite\] SUMMARY: \d+ tests, 0 failures$"]))
    # turtle on turtle on turtle: three levels of turtle, L3 guest.
    out.append(Case("turtle-on-turtle-on-turtle", "nested", timeout=600, verdict=(1, 1, 0),
                    modules=[(TURTLE, "name=l1 nested mem=96M"),
                             (TURTLE, "for=l1 -- name=l2 nested mem=48M"),
                             (guest("hello"), "for=l1 -- for=l2 -- name=l3 mem=4M -- id=l3")],
                    expect=[r"^\[l1\] \[l2\] \[l3\] l3: goodbye$",
                            r"^\[l1\] \[l2\] turtle: done: 1 guests, 1 passed, 0 failed$",
                            r"^\[l1\] turtle: done: 1 guests, 1 passed, 0 failed$"]))
    return out


def demo_modules():
    return [(guest("hello"), "name=alpha -- id=alpha"),
            (guest("chatter"), "name=beta mem=4M -- id=beta"),
            (guest("cpuid_msr"), "name=gamma")]


BENCH_CPUS = (("tigerlake", "tgl"), ("corei7_skylake_x", "skx"))


def bench_pairs():
    """make bench's rows: each pair's figures side by side (bare Bochs, under
    turtle, under Linux KVM), for both CPU models."""
    out = []
    for cpu, tag in BENCH_CPUS:
        sfx = "" if tag == "tgl" else f"-{tag}"
        out.append({"title": "L1", "cpu": cpu, "bare": f"bench-bare{sfx}", "turtle": f"bench-l1{sfx}",
                    "trap": f"bench-l1-trap{sfx}", "boot": True})
        out.append({"title": "L2", "cpu": cpu, "bare": f"bench-vmx-bare{sfx}", "turtle": f"bench-vmx-l1{sfx}",
                    "kvm": "bench-vmx-kvm" if tag == "tgl" else None})
        # vmx_bench as the guest of an L1 turtle: its L2 is an L3, and the
        # exits it counts are the L1 turtle's (VMCALL 4 goes to its L0).
        out.append({"title": "L3", "cpu": cpu, "turtle": f"bench-vmx-l2{sfx}"})
        # EPT02: an L2 touching 64 MiB of 2 MiB EPT12 pages; an L1
        # alternating between two L2s with their own EPTP12s.
        out.append({"title": "EPT02", "cpu": cpu, "bare": f"bench-ept-bare{sfx}", "turtle": f"bench-ept-l1{sfx}"})
        if tag == "tgl":
            # Debian's kernel booted on bare Bochs and as an L1 of turtle.
            out.append({"title": "Linux", "cpu": cpu, "bare": "bench-vmx-kvm", "turtle": "bench-linux-l1",
                        "linux": True})
    return out


def bench_cases():
    out = []
    for cpu, tag in BENCH_CPUS:
        sfx = "" if tag == "tgl" else f"-{tag}"
        out += [
            Case(f"bench-bare{sfx}", "bench", cpu=cpu, timeout=120, kernel=guest("bench"), end="summary"),
            Case(f"bench-l1{sfx}", "bench", cpu=cpu, timeout=180, verdict=(1, 1, 0),
                 modules=[(guest("bench"), "name=bench")]),
            # The same with APIC virtualization off: every LAPIC access trapped and emulated.
            Case(f"bench-l1-trap{sfx}", "bench", cpu=cpu, timeout=180, verdict=(1, 1, 0), cmdline="apicv=off",
                 modules=[(guest("bench"), "name=bench")]),
            Case(f"bench-vmx-bare{sfx}", "bench", cpu=cpu, timeout=120, kernel=guest("vmx_bench"), end="summary"),
            Case(f"bench-vmx-l1{sfx}", "bench", cpu=cpu, timeout=300, verdict=(1, 1, 0),
                 modules=[(guest("vmx_bench"), "name=vmx_bench nested mem=32M")]),
            Case(f"bench-ept-bare{sfx}", "bench", cpu=cpu, timeout=120, kernel=guest("vmx_bench"),
                 cmdline="mode=ept2m", end="summary", expect=[r"^SUMMARY: 0 tests, 0 failures$"]),
            Case(f"bench-ept-l1{sfx}", "bench", cpu=cpu, timeout=300, verdict=(2, 2, 0),
                 modules=[(guest("vmx_bench"), "name=ept2m nested mem=160M -- mode=ept2m"),
                          (guest("vmx_bench"), "name=alternate nested mem=32M -- mode=alternate")],
                 expect=[r"^\[ept2m\] BENCH: l0_exits_64m_2m \d+", r"^\[alternate\] BENCH: l0_exits_per_switch \d+",
                         r"^turtle: guest 'alternate': \d+ EPT02 roots built$"]),
            Case(f"bench-vmx-l2{sfx}", "bench", cpu=cpu, timeout=600, verdict=(1, 1, 0),
                 modules=[(TURTLE, "name=l1 nested mem=96M"),
                          (guest("vmx_bench"), "for=l1 -- name=vmx_bench nested mem=32M")],
                 expect=[r"^\[l1\] \[vmx_bench\] BENCH: l2_cpuid \d+",
                         r"^\[l1\] turtle: done: 1 guests, 1 passed, 0 failed$"]),
        ]
    # The profile build (vmx/prof.h): where one nested round trip's
    # instructions go, phase by phase (docs/benchmarks-nested-phases.svg).
    out.append(Case("bench-vmx-prof", "bench", timeout=300, verdict=(1, 1, 0), kernel=PROFILE_TURTLE,
                    modules=[(guest("vmx_bench"), "name=vmx_bench nested mem=32M")],
                    expect=[r"^turtle: profile: exits \d+ "]))
    return out


APICV_IN_USE = (r"^turtle: vmx: APIC virtualization: TPR shadow, APIC accesses, APIC registers, "
                r"virtual interrupts, x2APIC mode; in use$")


def platform_cases():
    """The PC platform an L1 sees (vmx/platform.c): the device guests on bare
    Bochs (whose own devices are the reference) and under turtle."""
    out = []
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        departures = {"lapic": {"re-enabled APIC is in its reset state":
                                "Bochs ignores IA32_APIC_BASE writes once EN was cleared"}}
        for g, n in (("lapic", 30), ("pc_legacy", 20), ("uart16550", 12)):
            out.append(DiffCase(
                f"diff-{g}-{tag}", "platform",
                bare=Case(f"bare-{g}-{tag}", "platform", cpu=cpu, timeout=180, kernel=guest(g), end="summary"),
                nested=Case(f"l1-{g}-{tag}", "platform", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                            modules=[(guest(g), f"name={g} mem=16M")],
                            # Both models have every APIC virtualization control: used.
                            expect=[APICV_IN_USE, r"^turtle: guest 'lapic': passed, .* apic-write \d+"]
                            if g == "lapic" else []),
                guest=g, min_tests=n, strip_details=True, bochs_departures=departures.get(g, {})))
        # The same LAPIC guest with APIC virtualization forced off: the
        # trap-and-emulate path must answer exactly as the virtualized one.
        out.append(DiffCase(
            f"diff-lapic-trap-{tag}", "platform",
            bare=Case(f"bare-lapic-trap-{tag}", "platform", cpu=cpu, timeout=180, kernel=guest("lapic"),
                      end="summary"),
            nested=Case(f"l1-lapic-trap-{tag}", "platform", cpu=cpu, timeout=240, verdict=(1, 1, 0),
                        cmdline="apicv=off", modules=[(guest("lapic"), "name=lapic mem=16M")],
                        expect=[r"^turtle: vmx: APIC virtualization: .*; off \(apicv=off\)$"]),
            guest="lapic", min_tests=30, strip_details=True, bochs_departures=departures["lapic"]))
        out += platform_irq_cases(cpu, tag)
    # A CPU with TPR shadow but neither APIC-register virtualization nor
    # virtual-interrupt delivery: CR8 without exits, TPR-threshold exits,
    # every other APIC access an APIC-access exit. Bare Bochs's arrandale
    # has no x2APIC or TSC-deadline timer (turtle's LAPIC has both), so the
    # guests run under turtle only and must pass every test.
    for g, extra in (("lapic", []), ("apic_irq", [r"^turtle: guest 'apic_irq': passed, .* tpr \d+, apic-access \d+"])):
        out.append(Case(f"platform-apicv-tpr-{g}-wsm", "platform", cpu=SMALL_CPU, timeout=240, verdict=(1, 1, 0),
                        modules=[(guest(g), f"name={g} mem=16M")],
                        expect=[r"^turtle: vmx: APIC virtualization: TPR shadow, APIC accesses, x2APIC mode; in use$",
                                rf"^\[{g}\] SUMMARY: \d+ tests, 0 failures$"] + extra))
    return out


def platform_irq_cases(cpu, tag):
    """Interrupts taken through an IDT (apic_irq), HLT, floods, ACPI and the
    nested interplay: each guest alone on bare Bochs, and under turtle
    (where the scheduling cases add the guests it must not starve)."""
    out = []

    def diff(name, g, cmdline, n, modules, verdict, timeout=240, expect=(), departures=None, mem="16M",
             forbid=(), case=None, turtle=""):
        own = (guest(g), f"name={name} mem={mem} -- {cmdline}".rstrip(" -"))
        case = case or name
        return DiffCase(
            f"diff-{case}-{tag}", "platform",
            bare=Case(f"bare-{case}-{tag}", "platform", cpu=cpu, timeout=180, kernel=guest(g), cmdline=cmdline,
                      end="summary", forbid=list(forbid)),
            nested=Case(f"l1-{case}-{tag}", "platform", cpu=cpu, timeout=timeout, verdict=verdict,
                        cmdline=turtle, modules=[own] + modules, expect=list(expect)),
            guest=name, min_tests=n, strip_details=True, bochs_departures=departures or {})

    # Timer modes, TPR, priority, and a 100-tick sleep in HLT (its exit count under turtle).
    out.append(diff("apic_irq", "apic_irq", "", 14, [], (1, 1, 0),
                    expect=[r"^\[apic_irq\] PASS: turtle sleeping 100 ticks in HLT costs at most", APICV_IN_USE]))
    # The same through the trap-and-emulate LAPIC (apicv=off).
    out.append(diff("apic_irq", "apic_irq", "", 14, [], (1, 1, 0), case="apic_irq-trap", turtle="apicv=off",
                    expect=[r"^\[apic_irq\] PASS: turtle sleeping 100 ticks in HLT costs at most",
                            r"^turtle: vmx: APIC virtualization: .*; off \(apicv=off\)$"]))
    # Two sleepers and a busy guest: all finish, the sleepers wake on time.
    # turtle prints a guest's console line synchronously (about 870 TSC
    # ticks a character at Bochs's serial speed), so a wake-up may wait for
    # one line: the periods make a quarter period longer than that.
    out.append(diff("sleeper", "apic_irq", "sleep=25 period=250000", 3,
                    [(guest("apic_irq"), "name=sleeper2 mem=16M -- sleep=20 period=300000"),
                     (guest("chatter"), "name=busy mem=4M -- id=busy")], (3, 3, 0),
                    expect=[r"^\[sleeper2\] PASS: sleeper: every wake-up within a quarter period",
                            r"^\[busy\] chatter busy line 19$", finished("busy"), finished("sleeper2")]))
    # Interrupt floods beside a guest that must still finish.
    for kind in ("ipi", "timer"):
        out.append(diff(f"flood_{kind}", "apic_irq", f"flood={kind}", 3,
                        [(guest("hello"), "name=bystander -- id=bystander")], (2, 2, 0),
                        expect=[finished("bystander"), r"^\[bystander\] "]))
    # Garbage in every APIC, IOAPIC, PIC and PIT register: turtle survives,
    # answers the guest afterwards, and the bystander finishes.
    out.append(Case(f"platform-garbage-{tag}", "platform", cpu=cpu, timeout=240, verdict=(2, 2, 0),
                    modules=[(guest("apic_irq"), "name=garbage mem=16M -- garbage"),
                             (guest("hello"), "name=bystander -- id=bystander")],
                    expect=[r"^\[garbage\] PASS: turtle garbage: turtle answers VMCALL 4 afterwards",
                            r"^\[garbage\] PASS: turtle garbage: turtle answers VMCALL 3 afterwards",
                            r"^\[garbage\] SUMMARY: 3 tests, 0 failures$",
                            finished("garbage"), finished("bystander")]))
    # ACPI: RSDP -> XSDT/RSDT -> MADT/FADT/DSDT, then S5. Bare Bochs powers
    # off after the summary; turtle ends the guest with status 0.
    out.append(diff("acpi", "acpi", "", 10, [], (1, 1, 0),
                    expect=[r"^turtle: guest 'acpi' finished: powered off \(ACPI S5\)", r"^turtle: guest 'acpi': passed, "],
                    forbid=[r"still running after S5"]))
    # L1's LAPIC timer while its L2 runs: external-interrupt exit with and
    # without acknowledge-on-exit, or delivery through L2's IDT.
    out.append(diff("vmx_irq", "vmx_irq", "", 9, [], (1, 1, 0), mem="32M nested"))
    out.append(diff("vmx_irq", "vmx_irq", "", 9, [], (1, 1, 0), mem="32M nested", case="vmx_irq-trap",
                    turtle="apicv=off"))
    # L2 on L1's APIC and IOAPIC pages through EPT12, with and without APICv.
    out.append(diff("vmx_apic_l2", "vmx_apic_l2", "", 10, [], (1, 1, 0), mem="32M nested"))
    out.append(diff("vmx_apic_l2", "vmx_apic_l2", "", 10, [], (1, 1, 0), mem="32M nested",
                    case="vmx_apic_l2-trap", turtle="apicv=off"))
    return out


def cases():
    from cases_linux import linux_bench_cases, linux_cases, linux_l1_cases   # it imports this module
    # vmx_bench under Linux KVM on bare Bochs (make bench's "under Linux
    # KVM" column, and the bare half of the Linux boot benchmark) and under
    # the KVM of Linux as an L1 of turtle.
    return boot_cases() + vmx_cases() + cases_xsave.xsave_cases(CPUS, guest, finished) + platform_cases() + cases_console.console_cases() + linux_l1_cases() + nested_cases() + bench_cases() + \
        linux_cases() + linux_bench_cases() + snapshot_cases() + [
        Case("demo", "demo", timeout=600, modules=demo_modules(), verdict=(3, 3, 0),
             expect=[BANNER, finished("alpha"), finished("beta"), finished("gamma")]),
    ]
