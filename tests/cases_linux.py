"""The Linux cases (docs/linux.md): Debian's kernel on bare Bochs with KVM
(group `linux`), as an L1 of turtle (group `linux-l1`), and the Linux
benchmarks (group `bench`). tests/cases.py lists them with the others.
"""
import os
import re

from cases import CPUS, finished, fixture, guest
from harness import BUILD, Case, KvmDiffCase

LINUX_DIR = os.path.join(BUILD, "linux")
LINUX_KERNEL = os.path.join(LINUX_DIR, "vmlinuz")
LINUX_INITRD = os.path.join(LINUX_DIR, "initrd.cpio")
# docs/linux.md: the crypto self-tests dominate the boot; tigerlake's CPUID
# shows FSRM while Bochs reads IA32_MISC_ENABLE as 0, and 6.1's memmove
# then hangs unless FSRM is cleared.
LINUX_CMDLINE = "console=ttyS0 quiet nokaslr cryptomgr.notests"
LINUX_EXTRA = {"corei7_skylake_x": "", "tigerlake": " clearcpuid=fsrm"}
# What a Linux boot must not print on its console. /init's dump of the
# kernel log ("linux-dmesg: " lines) is not the console: on bare Bochs it
# holds Bochs's own XSAVE warnings with their call traces (docs/linux.md).
LINUX_FORBID = [r"Kernel panic", r"^\[ *[0-9.]+\] (BUG|WARNING):", r"^(?!linux-dmesg: ).*Call Trace:",
                r"^vmm: error: "]
# Under turtle the dump is judged by linux_log_explained() below.
LINUX_L1_FORBID = [r"Kernel panic", r"^(?!\[linux\] linux-dmesg: ).*\] (BUG|WARNING):",
                   r"^(?!\[linux\] linux-dmesg: ).*Call Trace:", r"vmm: error: "]
KVM_GUESTS = ("hello", "cpuid_msr", "vmx_suite")
# Where a guest's outcome under Linux KVM (on Bochs's VT-x) legitimately
# differs from bare Bochs: KVM's behaviour or this setting's, not a guest bug.
# Each entry: (guest, regex on the test name) -> why. The harness reports
# an entry that no longer differs.
KVM_PREEMPTION_TIMER = ("kvm_intel runs with preemption_timer=N on Bochs and emulates L2's timer with a "
                        "host timer; it did not cause exit 52 while L2 ran (value 0 included): L2 reached "
                        "its VMCALL (exit 0x12). The HLT-state timer test agrees")
KVM_DEPARTURES = {
    ("vmx_suite", r"VMWRITE/VMREAD round trip of every 32-bit field$"):
        "KVM keeps only the defined bits (mask 0x1f0ff) of the guest access-rights fields "
        "0x4814-0x4822, as hardware may; Bochs reads back all 32 bits written",
    ("vmx_suite", r"VMX preemption timer 0: exit 52 before L2's first instruction$"): KVM_PREEMPTION_TIMER,
    ("vmx_suite", r"VMX preemption timer: exit 52 while L2 spins$"): KVM_PREEMPTION_TIMER,
    ("vmx_suite", r"preemption timer( 0)?: unexpected exit 0x12 "): KVM_PREEMPTION_TIMER,
    ("vmx_suite", r"guest in HLT with blocking by (STI|MOV SS): VM-entry failure 0x80000021$"):
        "KVM lets an L2 entered in the HLT state halt without a hardware entry and does not check "
        "that blocking by STI or MOV SS needs the active state (SDM 27.3.1.5): L2 waited until its "
        "preemption timer (exit 52), where bare Bochs fails the entry",
    ("vmx_suite", r"^EPT violation in an IRET that ends virtual-NMI blocking: qualification bit 12$"):
        "KVM does not set bit 12 (NMI unblocking due to IRET) in the EPT-violation qualification it gives "
        "its L1 for an L2 whose IRET ended virtual-NMI blocking (SDM 28.2.1); Bochs's VT-x does",
    ("vmx_suite", r"^virtual-interrupt delivery: RVI 0x40 delivered to L2, its EOI: exit 45, qualification 0x40"
                  r"(: unexpected exit 0x12 .*)?$"):
        "KVM's nested virtual-interrupt delivery (kvm_intel has APICv off on Bochs, which has no posted "
        "interrupts): L2 ran to its end (VMCALL, exit 18) without the virtualized-EOI exit 45 its EOI "
        "of the vector RVI delivered must cause with the vector's EOI-exit bit set (SDM 30.1.4)",
    ("cpuid_msr", r"IA32_DEBUGCTL"):
        "KVM's virtual CPU has IA32_DEBUGCTL (reads 0, accepts LBR/BTF); Bochs's CPUs have no such "
        "MSR, so the guest's DEBUGCTL tests take their other branch",
}


# /init runs that redo a guest through a snapshot, {run: guest}, and what the
# vmm must say about it.
KVM_SNAPSHOT_RUNS = {"vmx_snap_resume": "vmx_snap", "vmx_snap_restore": "vmx_snap"}
KVM_SNAPSHOT_LINES = [r"^vmm: snapshot: taken in L2 \(seen 20 times\), nested state (4224|8320) bytes, flags 0x[0-9a-f]+; "
                      r"/tmp/snap/snapshot.tsnap: \d+ bytes, turtle's checks and KVM's nested-state checks pass$",
                      r"^vmm: snapshot: the run goes on in a fresh VM restored from /tmp/snap/export$",
                      r"^linux-init: vmx_snap_restore: starting: vmm --restore /tmp/snap/export$"]


def kvm_references(prefix, group, cpu, tag, guests):
    """KvmDiffCase's references: each guest directly on bare Bochs."""
    bare = {"hello": Case(f"{prefix}-hello-{tag}", group, cpu=cpu, timeout=120, kernel=guest("hello"),
                          cmdline="id=kvm", end="summary"),
            "cpuid_msr": Case(f"{prefix}-cpuid_msr-{tag}", group, cpu=cpu, timeout=120,
                              kernel=guest("cpuid_msr"), end="summary"),
            "vmx_suite": Case(f"{prefix}-vmx_suite-{tag}", group, cpu=cpu, timeout=180,
                              kernel=guest("vmx_suite"), end="summary",
                              expect=[r"^SUMMARY: \d+ tests, 0 failures$"]),
            "vmx_snap": Case(f"{prefix}-vmx_snap-{tag}", group, cpu=cpu, timeout=120, kernel=guest("vmx_snap"),
                             end="summary", expect=[r"^SUMMARY: 2 tests, 0 failures$"])}
    return {g: bare[g] for g in guests}


# KVM_DEPARTURES that also hold under the KVM of Linux as an L1 of turtle.
# Not the preemption-timer ones: under turtle kvm_intel runs with
# preemption_timer=Y (docs/linux.md), and vmx_suite's timer tests pass.
KVM_L1_DEPARTURES = {k: v for k, v in KVM_DEPARTURES.items() if v is not KVM_PREEMPTION_TIMER}


def linux_case(name, cpu, runs, timeout, mem=256, **kw):
    """Debian's kernel + the test image on bare Bochs, /init running `runs`."""
    return Case(name, "linux", cpu=cpu, mem=mem, timeout=timeout, kernel=LINUX_KERNEL, protocol="linux",
                cmdline=f"{LINUX_CMDLINE}{LINUX_EXTRA[cpu]} turtle.run={','.join(runs)}",
                modules=[(LINUX_INITRD, "")], ignore_bad_msrs=True, end="poweroff",
                forbid=LINUX_FORBID, **kw)


def linux_cases():
    out = []
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        init_lines = [r"^linux-init: insmod kvm-intel nested=1: ok$", r"^linux-init: kvm_intel: nested=Y ",
                      r"^linux-init: /dev/kvm: present$"]
        # turtle's test guests under KVM vs directly on Bochs: same outcomes.
        # On skylake-x, vmx_snap, then vmx_snap again snapshotted in L2 by
        # the vmm, through turtle's format and its checks, finished in a
        # fresh VM (docs/snapshot.md): both must end as on bare Bochs.
        snap = KVM_SNAPSHOT_RUNS if tag == "skx" else {}
        guests = KVM_GUESTS + (tuple(sorted(set(snap.values()))) if snap else ())
        runs = guests + tuple(snap)
        bare = kvm_references("kvmref", "linux", cpu, tag, guests)
        out.append(KvmDiffCase(
            f"kvm-guests-{tag}", "linux",
            linux=linux_case(f"linux-kvm-guests-{tag}", cpu, runs, timeout=420 + 90 * len(snap),
                             allow_fail_lines=True,
                             expect=init_lines + [r"^\[kvm:hello\] kvm: goodbye$",
                                                  rf"^linux-init: done: {len(runs)} runs, "] +
                                    (KVM_SNAPSHOT_LINES if snap else [])),
            bare=bare, departures=KVM_DEPARTURES, reruns=snap,
            min_tests={"cpuid_msr": 20, "vmx_suite": 200, "vmx_snap": 2}))
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        # turtle as a KVM guest: KVM's nested VT-x is turtle's hardware.
        out.append(linux_case(
            f"turtle-on-kvm-{tag}", cpu, ["turtle"], timeout=480, mem=512,
            expect=[r"^\[kvm:turtle\] turtle: vmx: revision [0-9a-f]+, EPT",
                    r"^\[kvm:turtle\] \[hello\] hello: goodbye$",
                    r"^\[kvm:turtle\] \[vmx_bench\] BENCH: l2_cpuid \d+",
                    r"^\[kvm:turtle\] turtle: done: 2 guests, 2 passed, 0 failed$",
                    r"^linux-init: turtle: exit status 0$", r"^linux-init: done: 1 runs, 1 passed, 0 failed$"]))
    return out


# The warning and error lines (kernel log levels 0-4) Linux may print as an
# L1 of turtle, each with its reason (docs/linux.md, "Linux's log under
# turtle and on bare Bochs"). /init dumps those levels of the kernel log
# before it powers off; any other line there fails the case, so a new
# warning turtle causes cannot slip in unexplained.
LINUX_L1_EXPLAINED = {
    r"RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!$":
        "skylake-x: Bochs's model has no IA32_SPEC_CTRL, so the guest has no IBRS either; bare Bochs prints "
        "the same line",
    r"^unchecked MSR access error: RDMSR from 0x1d9 at rIP: \S+ \(native_read_msr\+":
        "KVM reads IA32_DEBUGCTL on every KVM_RUN. Bochs's CPU models have no such MSR (an SDM departure: "
        "it is architectural since the P6), turtle gives the guest the CPU's MSRs, so the read faults and "
        "Linux fixes it up to 0 (printed once, with a call trace). On bare Bochs the same read faults too, "
        "but ignore_bad_msrs=1, which Linux needs there, makes Bochs return 0 silently",
    r"^kvm \[\d+\]: vcpu0, guest rIP: 0x[0-9a-f]+ Unhandled WRMSR\(0x1d9\) = 0x[12]$":
        "KVM reporting cpuid_msr's own test writes of BTF (2) and LBR (1) to its guest's IA32_DEBUGCTL "
        "(linux-l1-kvm-guests); the KVM of Linux on bare Bochs prints the same two lines",
}
LINUX_DMESG = re.compile(r"^\[linux\] linux-dmesg: <([0-7])>\[ *[0-9.]+\] (.*)$", re.M)
# The lines that belong to the report above them: the call trace and the
# registers of an "unchecked MSR access" or a WARN.
TRACE_LINE = re.compile(r"^(Call Trace:| <TASK>| </TASK>|  ?\S.*\+0x|RIP: |Code: |RSP: |R[A-Z0-9]{2}: |"
                        r"FS: |CS: |CR2: |PKRU: |Modules linked in:)")


def linux_log_explained(text):
    """The linux-l1 check: every warning/error line of the kernel log is
    in LINUX_L1_EXPLAINED (a call trace with the line it belongs to), and
    /init did dump the log."""
    if not re.search(r"^\[linux\] linux-init: kernel log: \d+ lines at levels 0-4$", text, re.M):
        return ["no 'linux-init: kernel log:' line (the image's /init is older than the case?)"]
    reasons, explained = [], False
    for m in LINUX_DMESG.finditer(text):
        level, line = int(m.group(1)), m.group(2)
        if level > 4:
            continue
        if TRACE_LINE.match(line):
            if not explained:
                reasons.append(f"unexplained kernel log line (level {level}): {line}")
            continue
        explained = any(re.search(rx, line) for rx in LINUX_L1_EXPLAINED)
        if not explained:
            reasons.append(f"unexplained kernel log line (level {level}): {line}")
    return reasons


def linux_l1_module(cpu, runs, mem="256M", extra=""):
    """The module line of Debian's kernel as an L1 of turtle (docs/guests.md)."""
    return (LINUX_KERNEL, f"name=linux nested mem={mem} -- {LINUX_CMDLINE}{LINUX_EXTRA[cpu]}{extra} "
                          f"turtle.run={','.join(runs)}")


def bzimage_fixtures():
    """Broken bzImages made from the real kernel: cut short, an old
    protocol version, no 64-bit entry; and an initrd too big for the RAM
    a 64 MiB guest has left above the kernel's init_size."""
    with open(LINUX_KERNEL, "rb") as f:
        head = f.read(1 << 20)
    old = bytearray(head[:0x10000])
    old[0x206:0x208] = (0x020b).to_bytes(2, "little")
    no64 = bytearray(head[:0x10000])
    no64[0x236] &= 0xfe
    return {"cut": fixture("bzimage-cut.bin", head),
            "old": fixture("bzimage-old.bin", bytes(old)),
            "no64": fixture("bzimage-no64.bin", bytes(no64)),
            "bigrd": fixture("initrd-12M.bin", b"\0" * (12 << 20))}


def linux_l1_cases():
    """Debian's kernel as an L1 of turtle (vmx/loader_linux.c)."""
    out = []
    if os.path.exists(LINUX_KERNEL):
        fx = bzimage_fixtures()
        out.append(Case(
            "linux-l1-bad-input", "linux-l1", cpu="tigerlake", mem=512, timeout=240, verdict=(6, 1, 5),
            modules=[(fx["cut"], "name=cut mem=128M"),
                     (fx["old"], "name=old mem=128M"),
                     (fx["no64"], "name=no64 mem=128M"),
                     (LINUX_KERNEL, "name=small mem=32M -- console=ttyS0"),
                     (LINUX_KERNEL, "name=bigrd mem=64M -- console=ttyS0"),
                     (fx["bigrd"], "for=bigrd initrd"),
                     (guest("hello"), "name=hello -- id=hello")],
            expect=[r"^turtle: error: module 'cut': bzImage protected-mode kernel runs past the end of the file "
                    r"\(truncated\?\)$",
                    r"^turtle: error: module 'old': bzImage boot protocol older than 2.12 ",
                    r"^turtle: error: module 'no64': bzImage has no 64-bit entry point ",
                    r"^turtle: error: module 'small': bzImage needs more RAM than mem= gives .*raise mem=",
                    r"^turtle: error: module 'bigrd': initrd does not fit in RAM above the kernel's init_size",
                    finished("hello")]))
    # The real boot: Debian's kernel as a nested L1 of turtle, to /init,
    # kvm_intel (nested=1) and hello under that KVM (an L2), then /init's
    # ACPI power-off ends the guest with status 0. Beside it, on skylake-x
    # two well-behaved test guests, which must pass; on tigerlake two
    # hostile ones: a triple fault (turtle stops that guest) and a 1 us
    # periodic LAPIC timer flood of 8000 interrupts, which must pass its
    # own checks. Linux must reach the same end either way.
    side = {
        "corei7_skylake_x": (
            [(guest("hello"), "name=hello -- id=hello"), (guest("chatter"), "name=chatter mem=4M -- id=chatter")],
            [finished("hello"), finished("chatter"), r"^\[chatter\] chatter chatter line 19$"], (3, 3, 0)),
        "tigerlake": (
            [(guest("triple"), "name=crasher mem=4M"),
             (guest("apic_irq"), "name=flood mem=16M -- flood=timer n=8000")],
            [r"^turtle: guest 'crasher' stopped: triple fault at rip [0-9a-f]+$",
             r"^\[flood\] PASS: 1 us periodic timer: 8000 interrupts taken", finished("flood")], (3, 2, 1)),
    }
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(Case(
            f"linux-l1-{tag}", "linux-l1", cpu=cpu, mem=512, timeout=480, verdict=side[cpu][2],
            modules=[linux_l1_module(cpu, ["hello"]), (LINUX_INITRD, "for=linux initrd")] + side[cpu][0],
            expect=[r"^turtle: guest 'linux': Linux boot protocol 2\.\d+, kernel at 1000000 ",
                    r"^\[linux\] linux-init: kernel 6\.\d+\.\d+-\S+, 1 CPU\(s\)",
                    r"^\[linux\] linux-init: insmod kvm-intel nested=1: ok$",
                    r"^\[linux\] linux-init: kvm_intel: nested=Y ept=Y unrestricted_guest=Y vpid=Y ",
                    r"^\[linux\] \[kvm:hello\] kvm: goodbye$",
                    r"^\[linux\] linux-init: done: 1 runs, 1 passed, 0 failed$",
                    r"^turtle: guest 'linux' finished: powered off \(ACPI S5\)$"] + side[cpu][1],
            forbid=LINUX_L1_FORBID, check=linux_log_explained))
    # The same guests as kvm-guests-*, under the KVM of Linux as an L1 of
    # turtle: cpuid_msr is an L2, vmx_suite an L2 hypervisor whose guests
    # are L3s. Outcomes as on bare Bochs, but for KVM_L1_DEPARTURES.
    runs = ("cpuid_msr", "vmx_suite")
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(KvmDiffCase(
            f"linux-l1-kvm-guests-{tag}", "linux-l1",
            linux=Case(f"linux-l1-kvm-guests-linux-{tag}", "linux-l1", cpu=cpu, mem=512, timeout=900,
                       verdict=(1, 1, 0), allow_fail_lines=True,
                       modules=[linux_l1_module(cpu, runs), (LINUX_INITRD, "for=linux initrd")],
                       expect=[r"^\[linux\] linux-init: kvm_intel: nested=Y .* preemption_timer=Y$",
                               rf"^\[linux\] linux-init: done: {len(runs)} runs, ",
                               r"^turtle: guest 'linux' finished: powered off \(ACPI S5\)$"],
                       forbid=LINUX_L1_FORBID, check=linux_log_explained),
            bare=kvm_references("l1ref", "linux-l1", cpu, tag, runs), departures=KVM_L1_DEPARTURES,
            min_tests={"cpuid_msr": 20, "vmx_suite": 200}, console_prefix="[linux] "))
    return out



def linux_bench_cases():
    """make bench's Linux boot (tests/bench.py): the same kernel and
    command line on bare Bochs (the debugger's ptime at the bzImage's entry
    gives the first kernel instruction's TSC) and as an L1 of turtle; /init
    reads the TSC, and vmx_bench runs under that Linux's KVM in both."""
    expect = [r"BENCH: l2_cpuid \d+", r"linux-init: vmx_bench: exit status 0$", r"linux-init: tsc at /init: \d+$"]
    bare = linux_case("bench-vmx-kvm", "tigerlake", ["vmx_bench"], timeout=900,
                      expect=[r"^\[kvm:vmx_bench\] " + expect[0], r"^" + expect[1], r"^" + expect[2]],
                      bochs_debug=BZIMAGE_ENTRY_BREAK)
    bare.group = "bench"
    l1 = Case("bench-linux-l1", "bench", cpu="tigerlake", mem=512, timeout=600, verdict=(1, 1, 0),
              modules=[linux_l1_module("tigerlake", ["vmx_bench"]), (LINUX_INITRD, "for=linux initrd")],
              expect=[r"^\[linux\] (\[kvm:vmx_bench\] )?" + e for e in expect], forbid=LINUX_L1_FORBID)
    return [bare, l1]


# Bochs debugger commands for the bare Linux benchmark: stop at each
# execution of physical 0x1000000, where GRUB loads this relocatable kernel
# (its pref_address) and jumps to its 32-bit entry, and print the tick
# count (= the TSC) and the bytes there. The decompressed kernel later runs
# at the same address: tests/bench.py takes the first stop whose bytes are
# the bzImage entry's "cld; cli".
BZIMAGE_ENTRY_BREAK = ["pb 0x1000000"] + ["c", "ptime", "x /2bx 0x1000000"] * 3 + ["d 1", "c"]
