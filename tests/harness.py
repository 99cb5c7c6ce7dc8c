"""Boots one case in Bochs or QEMU and captures its serial console.

A case names the images to boot and what the console must show. The
runner (tests/run.py) builds the ISO, starts exactly one emulator in its
own process group, follows the serial log until a terminal line or the
timeout, kills that process group, and judges the log.

A case that types (send=[(regex, bytes), ...]) gets its COM1 on a TCP
socket instead of a file (Bochs com1 mode=socket-server, QEMU -serial
tcp:...,server): the harness connects, writes everything that comes out
to the same serial log, and sends each bytes once its regex matches a
complete console line after the previous send's match, one byte at a
time (SEND_GAP apart, so that neither the emulated UART's 16-byte FIFO
nor turtle's polling can drop any). tests/run.py --run connects a
terminal the same way (keyboard=).
"""
import dataclasses
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

from serial_link import SerialLink, clean, complete_lines, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
TURTLE = os.path.join(BUILD, "turtle.elf")

# Lines that end a run: turtle's verdict, its panic, a bare guest's summary.
TERMINAL = re.compile(r"^(turtle: done: .*|turtle: panic: .*|SUMMARY: .*)$", re.M)
VERDICT = re.compile(r"^turtle: done: (\d+) guests, (\d+) passed, (\d+) failed\s*$", re.M)
@dataclass
class Case:
    name: str
    group: str
    platform: str = "bochs"            # bochs | qemu | qemu-uefi | qemu-kvm
    cpu: str = "tigerlake"             # Bochs CPU model
    mem: int = 256                     # MiB
    cpus: int = 1
    timeout: int = 120                 # wall-clock seconds
    kernel: str = TURTLE               # the multiboot2 image GRUB boots
    cmdline: str = ""
    modules: list = field(default_factory=list)   # [(path, module cmdline)]
    verdict: tuple = None              # (guests, passed, failed) expected
    expect: list = field(default_factory=list)    # regexes that must match a line
    forbid: list = field(default_factory=list)    # regexes that must not
    allow_fail_lines: bool = False     # FAIL: lines are part of the expectation
    end: str = "done"                  # done | panic | summary | poweroff
    protocol: str = "multiboot2"       # how GRUB boots kernel: multiboot2 | multiboot | linux (modules[0] = initrd)
    ignore_bad_msrs: bool = False      # Bochs: unknown MSRs read 0 instead of #GP (Linux needs it, docs/linux.md)
    check: object = None               # callable(log text) -> list of reasons, for what regexes cannot say
    # Typing at the console: (regex, bytes) in order; each is sent once its
    # regex matches a complete line after the previous one's match.
    send: list = field(default_factory=list)
    until: str = None                  # with send: the run ends when this matches after the last send
    raw_check: object = None           # callable(raw log with CRs and erase sequences) -> reasons
    bochs_debug: list = field(default_factory=list)  # Bochs debugger commands instead of "c" (output: emulator.out)
    com2: bool = False                 # Bochs: capture COM2 (snapshots) into com2.bin beside the log


@dataclass
class Result:
    case: Case
    ok: bool
    reasons: list
    log_path: str
    seconds: float
    log: str = ""


def case_dir(case):
    d = os.path.join(BUILD, "cases", case.name)
    os.makedirs(d, exist_ok=True)
    return d


def build_iso(case, out):
    cmdline = case.cmdline
    # TURTLE_NESTED_VERIFY=1: every boot of turtle runs nested VMX's hot
    # path in its debug mode (kernel/cmdline.h, nested_verify).
    if os.environ.get("TURTLE_NESTED_VERIFY") == "1" and case.kernel == TURTLE:
        cmdline = (cmdline + " nested_verify").strip()
    args = ["sh", os.path.join(ROOT, "tests", "mkiso.sh"), out, case.kernel, cmdline]
    for path, cmdline in case.modules:
        args += [path, cmdline]
    env = dict(os.environ, MKISO_PROTOCOL=case.protocol)
    subprocess.run(args, check=True, env=env)


def bochsrc(case, iso, serial, port=None):
    com1 = f"mode=socket-server, dev=127.0.0.1:{port}" if port else f"mode=file, dev={serial}"
    return f"""megs: {case.mem}
cpu: model={case.cpu}, count={case.cpus}, ips=10000000, reset_on_triple_fault=0, ignore_bad_msrs={int(case.ignore_bad_msrs)}
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
clock: sync=none
display_library: rfb, options="timeout=0"
sound: driver=dummy
speaker: enabled=0
com1: enabled=1, {com1}
log: {os.path.join(os.path.dirname(serial), "bochs.log")}
panic: action=fatal
error: action=report
info: action=ignore
"""


def emulator_command(case, d, iso, serial, port=None):
    if case.platform == "bochs":
        with open(os.path.join(d, "bochsrc"), "w") as f:
            f.write(bochsrc(case, iso, serial, port))
            if case.com2:
                com2 = os.path.join(d, "com2.bin")
                open(com2, "wb").close()
                f.write(f"com2: enabled=1, mode=file, dev={com2}\n")
        with open(os.path.join(d, "bochs.rc"), "w") as f:
            f.write("\n".join(case.bochs_debug or ["c"]) + "\n")
        return ["bochs-bin", "-q", "-f", os.path.join(d, "bochsrc"), "-rc", os.path.join(d, "bochs.rc")]
    com1 = f"tcp:127.0.0.1:{port},server=on,wait=on" if port else f"file:{serial}"
    cmd = ["qemu-system-x86_64", "-cdrom", iso, "-serial", com1, "-display", "none",
           "-m", str(case.mem), "-smp", str(case.cpus), "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if case.platform == "qemu-uefi":
        vars_copy = os.path.join(d, "OVMF_VARS.fd")
        with open("/usr/share/OVMF/OVMF_VARS_4M.fd", "rb") as src, open(vars_copy, "wb") as dst:
            dst.write(src.read())
        cmd += ["-machine", "q35",
                "-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
                "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    elif case.platform == "qemu-kvm":
        cmd += ["-accel", "kvm", "-cpu", "host,+vmx"]
    return cmd


def wait_quiet(path, proc, quiet=1.0, limit=15.0):
    """Waits until the file at path has not grown for quiet seconds, the
    emulator has ended, or limit seconds have passed."""
    start = since = time.monotonic()
    size = os.path.getsize(path)
    while proc.poll() is None and time.monotonic() - start < limit:
        time.sleep(0.05)
        now, grown = time.monotonic(), os.path.getsize(path)
        if grown != size:
            size, since = grown, now
        elif now - since >= quiet:
            return


def boot(case, echo=None, keyboard=None):
    """Runs the case; returns (log text, seconds, timed_out, returncode, unsent).

    returncode is the emulator's exit status: negative when the harness
    killed it, always 1 from Bochs; callers judge the log, not the status.
    unsent lists the send= entries whose regex never matched. keyboard,
    if given, is called with the SerialLink and runs a person's typing
    (tests/run.py --run on a terminal): the run then lasts until the
    machine powers off or the person presses Ctrl-C, with no timeout."""
    d = case_dir(case)
    iso = os.path.join(d, "case.iso")
    serial = os.path.join(d, "serial.log")
    build_iso(case, iso)
    if os.path.exists(serial):
        os.unlink(serial)
    open(serial, "w").close()
    port = free_port() if (case.send or keyboard) else None
    cmd = emulator_command(case, d, iso, serial, port)
    start = time.monotonic()
    with open(os.path.join(d, "emulator.out"), "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=d)
    link = SerialLink(port, serial, proc) if port else None
    if keyboard and link:
        keyboard(link)
    timed_out = False
    shown = 0
    text = ""
    pending = list(case.send)
    pos = 0                             # in the cleaned text: where the next send's regex may match
    try:
        while True:
            with open(serial, "rb") as f:
                raw = f.read().decode("utf-8", "replace")
            text = clean(raw)
            if echo and len(raw) > shown:
                echo(raw[shown:])
                shown = len(raw)
            while pending:
                m = re.compile(pending[0][0], re.M).search(complete_lines(text), pos)
                if not m:
                    break
                pos = m.end()
                link.send(pending.pop(0)[1])
            if keyboard:
                pass                    # a person ends it (Ctrl-C), or the machine powers off
            elif case.until and not pending:
                if re.compile(case.until, re.M).search(text, pos):
                    break
            elif TERMINAL.search(complete_lines(text)) and (case.end != "poweroff"):
                # Only a whole line ends the run (the emulator may be in the
                # middle of writing it). Give the emulator a moment to power
                # off by itself; a panic halts, but its dump (registers,
                # backtrace, guest state) may still be on its way: wait until
                # the serial output is quiet.
                try:
                    if re.search(r"^turtle: panic: ", text, re.M):
                        wait_quiet(serial, proc)
                    else:
                        proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                break
            if proc.poll() is not None:
                break
            if time.monotonic() - start > case.timeout and not keyboard:
                timed_out = True
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if link:
            link.close()
            link.thread.join(timeout=2)
    with open(serial, "rb") as f:
        raw = f.read().decode("utf-8", "replace")
    if echo and len(raw) > shown:
        echo(raw[shown:])
    return clean(raw), time.monotonic() - start, timed_out, proc.returncode, [rx for rx, _ in pending], raw


def judge(case, text, timed_out, unsent=(), raw=""):
    reasons = []
    if timed_out:
        reasons.append(f"timed out after {case.timeout}s")
    for rx in unsent:
        reasons.append(f"never typed: no line matched /{rx}/")
    if case.until and not unsent and not re.search(case.until, text, re.M):
        reasons.append(f"missing the final line /{case.until}/")
    if case.end == "done" and not VERDICT.search(text):
        reasons.append("no verdict line")
    if case.end == "panic" and not re.search(r"^turtle: panic: ", text, re.M):
        reasons.append("no panic line")
    if case.end == "summary" and not re.search(r"^SUMMARY: ", text, re.M):
        reasons.append("no SUMMARY line")
    if case.verdict is not None:
        m = VERDICT.search(text)
        if m and tuple(int(x) for x in m.groups()) != tuple(case.verdict):
            reasons.append("verdict %s, expected %s" % (m.groups(), case.verdict))
    for rx in case.expect:
        if not re.search(rx, text, re.M):
            reasons.append(f"missing line /{rx}/")
    for rx in case.forbid:
        if re.search(rx, text, re.M):
            reasons.append(f"forbidden line /{rx}/")
    if not case.allow_fail_lines:
        for m in re.finditer(r"^(.*\bFAIL: .*)$", text, re.M):
            reasons.append(m.group(1).strip())
    if case.check:
        reasons += case.check(text)
    if case.raw_check:
        reasons += case.raw_check(raw)
    if re.search(r"^turtle: panic: ", text, re.M) and case.end != "panic":
        reasons.append("turtle panicked")
    return reasons


def run_case(case, echo=None, keyboard=None):
    missing = [p for p in [case.kernel] + [m[0] for m in case.modules if case.protocol == "linux"]
               if not os.path.exists(p)]
    if missing:
        why = [f"missing {os.path.relpath(p, ROOT)} (make linux-image builds the Linux test image)"
               for p in missing]
        return Result(case, False, why, os.path.join(case_dir(case), "serial.log"), 0.0, "")
    text, seconds, timed_out, _, unsent, raw = boot(case, echo, keyboard)
    if not text.strip() and not timed_out:
        # The emulator died before the firmware printed anything (for
        # instance two Bochs instances racing for the same display port):
        # that is the machine, not the case. One more try, reported.
        out = os.path.join(case_dir(case), "emulator.out")
        with open(out, errors="replace") as f:
            why = f.read()[-300:].strip().replace("\n", " | ")
        print(f"harness: {case.name}: emulator ended with no output ({why}); retrying once", flush=True)
        text, seconds, timed_out, _, unsent, raw = boot(case, echo, keyboard)
    reasons = judge(case, text, timed_out, unsent, raw)
    return Result(case, not reasons, reasons, os.path.join(case_dir(case), "serial.log"), seconds, text)


RESULT_LINE = re.compile(r"^(?:\[[^\]]+\] )?(PASS|FAIL): (.*?)\s*$", re.M)


DETAILS = re.compile(r"\s*\([^()]*\)\s*$")


def outcomes(text, guest=None, strip_details=False):
    """{test name: PASS|FAIL} from a log; with guest, only that guest's lines;
    with strip_details, names lose a trailing parenthesised detail."""
    out = {}
    for line in text.splitlines():
        if guest is not None and not line.startswith(f"[{guest}] "):
            continue
        m = RESULT_LINE.match(line)
        if m:
            name = DETAILS.sub("", m.group(2)) if strip_details else m.group(2)
            out[name] = m.group(1)
    return out


@dataclass
class DiffCase:
    """Differential test: the same guest image on bare Bochs (Bochs's own
    VT-x is the reference) and as an L1 under turtle. Every test the bare
    run reports must be reported under turtle with the same outcome; tests
    named "turtle ..." exist only under turtle."""
    name: str
    group: str
    bare: Case
    nested: Case
    guest: str                           # the guest's name under turtle
    min_tests: int = 1
    platform: str = "bochs"
    # Compare test names without a trailing "(...)": where a guest prints
    # measured values there (counts, timings), the verdict must agree, the
    # figures may not be identical.
    strip_details: bool = False
    # Tests bare Bochs cannot run because of a known departure of Bochs
    # from the SDM (DESIGN: record it, do not bend turtle): {name: why}.
    # Under turtle they must be reported and pass.
    bochs_departures: dict = field(default_factory=dict)

    @property
    def cpu(self):
        return self.bare.cpu


def run_diff(case, echo=None):
    start = time.monotonic()
    rb = run_case(case.bare, echo)
    rn = run_case(case.nested, echo)
    reasons = [f"bare: {r}" for r in rb.reasons] + [f"turtle: {r}" for r in rn.reasons]
    bare = outcomes(rb.log, strip_details=case.strip_details)
    nested = outcomes(rn.log, case.guest, case.strip_details)
    if len(bare) < case.min_tests:
        reasons.append(f"bare run reported {len(bare)} tests, expected at least {case.min_tests}")
    for test, verdict in sorted(bare.items()):
        if test not in nested:
            reasons.append(f"'{test}' reported on bare Bochs ({verdict}) but not under turtle")
        elif nested[test] != verdict:
            reasons.append(f"'{test}': {verdict} on bare Bochs, {nested[test]} under turtle")
    for test in sorted(set(nested) - set(bare)):
        if test in case.bochs_departures:
            if nested[test] != "PASS":
                reasons.append(f"'{test}' (not run on bare Bochs: {case.bochs_departures[test]}) "
                               f"{nested[test]} under turtle")
        elif not test.startswith("turtle "):
            reasons.append(f"'{test}' reported only under turtle")
    for test in sorted(set(case.bochs_departures) - set(nested)):
        reasons.append(f"'{test}' (a known Bochs departure) not reported under turtle")
    return Result(case, not reasons, reasons, rn.log_path, time.monotonic() - start, rn.log)


@dataclass
class KvmDiffCase:
    """Differential test with Linux KVM as the second reference: each guest
    directly on bare Bochs, and the same guests under KVM inside Linux on
    bare Bochs (one boot; /init prefixes a guest's lines with "[kvm:NAME] "
    and ends each run with "linux-init: NAME: exit status N"). Every test
    must have the same outcome in both, except the listed departures
    {(guest, test): why}, which must really differ: one that no longer does
    is reported, so the list stays true. With console_prefix, Linux runs
    as a guest of turtle, whose console prefixes each of Linux's lines
    (e.g. "[linux] "): only those lines count, without the prefix."""
    name: str
    group: str
    linux: Case
    bare: dict                          # {guest name: Case}
    departures: dict = field(default_factory=dict)  # {(guest, regex on the test name): why}
    min_tests: dict = field(default_factory=dict)   # {guest name: fewest tests expected}
    platform: str = "bochs"
    console_prefix: str = ""            # what precedes each of Linux's console lines in the log
    # {run name: guest}: further /init runs of a guest (e.g. one snapshotted
    # and restored mid-run), held to the same bare Bochs outcomes.
    reruns: dict = field(default_factory=dict)

    @property
    def cpu(self):
        return self.linux.cpu


def run_kvm_diff(case, echo=None):
    start = time.monotonic()
    rl = run_case(case.linux, echo)
    reasons = [f"linux: {r}" for r in rl.reasons]
    n = len(case.console_prefix)
    log = "\n".join(line[n:] for line in rl.log.splitlines() if line.startswith(case.console_prefix))
    used = set()

    def departure(g, test):
        for key in case.departures:
            if key[0] == g and re.match(key[1], test):
                used.add(key)
                return key
        return None

    for g, bare_case in case.bare.items():
        rb = run_case(bare_case, echo)
        reasons += [f"bare {g}: {r}" for r in rb.reasons]
        bare = outcomes(rb.log)
        if len(bare) < case.min_tests.get(g, 0):
            reasons.append(f"{g}: bare run reported {len(bare)} tests, expected at least {case.min_tests[g]}")
        for run in [g] + [r for r, rg in case.reruns.items() if rg == g]:
            kvm = outcomes(log, f"kvm:{run}")
            for test, verdict in sorted(bare.items()):
                if test not in kvm:
                    if not departure(g, test):
                        reasons.append(f"{run}: '{test}' reported on bare Bochs ({verdict}) but not under KVM")
                elif kvm[test] != verdict and not departure(g, test):
                    reasons.append(f"{run}: '{test}': {verdict} on bare Bochs, {kvm[test]} under KVM")
            for test in sorted(set(kvm) - set(bare)):
                if not departure(g, test):
                    reasons.append(f"{run}: '{test}' reported only under KVM")
            status = 1 if "FAIL" in kvm.values() else 0
            if not re.search(rf"^linux-init: {re.escape(run)}: exit status {status}$", log, re.M):
                reasons.append(f"{run}: no 'linux-init: {run}: exit status {status}' line")
    for key in sorted(set(case.departures) - used):
        reasons.append(f"{key[0]}: listed KVM departure /{key[1]}/ ({case.departures[key]}) no longer differs")
    return Result(case, not reasons, reasons, rl.log_path, time.monotonic() - start, rl.log)


def override(case, cpu=None, platform=None):
    """A copy of a case of any kind with every boot in it on Bochs CPU model
    cpu and/or platform (tests/run.py --cpu, --platform). The copy keeps the
    name: its logs replace the case's own in build/cases/."""
    if isinstance(case, Case):
        changes = {k: v for k, v in (("cpu", cpu), ("platform", platform)) if v}
        return dataclasses.replace(case, **changes)
    if isinstance(case, DiffCase):
        return dataclasses.replace(case, bare=override(case.bare, cpu, platform),
                                   nested=override(case.nested, cpu, platform),
                                   platform=platform or case.platform)
    if isinstance(case, KvmDiffCase):
        return dataclasses.replace(case, linux=override(case.linux, cpu, platform),
                                   bare={g: override(c, cpu, platform) for g, c in case.bare.items()},
                                   platform=platform or case.platform)
    if hasattr(case, "override"):
        return case.override(cpu, platform)
    raise TypeError(f"override: unknown case kind {type(case).__name__}")


def run_any(case, echo=None, keyboard=None):
    if hasattr(case, "run"):
        return case.run(echo)
    if isinstance(case, KvmDiffCase):
        return run_kvm_diff(case, echo)
    return run_diff(case, echo) if isinstance(case, DiffCase) else run_case(case, echo, keyboard)
