"""The console group (docs/console.md): cases that type at turtle's COM1
(harness send=) while guests print, and a guest's reset."""
import re

from harness import Case, DiffCase


def _helpers():
    import cases                        # at call time: cases imports this module
    return cases.guest, cases.finished, cases.CPUS


def chat_lines(text, name):
    """The numbers of chatter NAME's lines, in console order."""
    return [int(n) for n in re.findall(rf"^\[{name}\] chatter {name} line (\d+)$", text, re.M)]


def all_lines_once(name, n):
    """Chatter NAME printed lines 0..n-1, each once, in order."""
    def check(text):
        got = chat_lines(text, name)
        return [] if got == list(range(n)) else [f"{name}: lines {got[:12]}... ({len(got)}), expected 0..{n - 1} once each"]
    return check


def restored_lines(name, again, n):
    """NAME printed lines 0..k in order before it was killed; AGAIN, restored
    from NAME's snapshot, printed lines j..n-1 in order with 0 < j <= k + 1
    (the lines between the snapshot and the kill come twice)."""
    def check(text):
        first = chat_lines(text, name)
        second = [int(x) for x in re.findall(rf"^\[{again}\] chatter {name} line (\d+)$", text, re.M)]
        if not first or first != list(range(len(first))):
            return [f"{name}: lines {first[:12]}... not 0..k in order"]
        if not second or second != list(range(second[0], n)) or not 0 < second[0] <= len(first):
            return [f"{again}: lines {second[:12]}... not j..{n - 1} from the snapshot point"]
        return []
    return check


def paused_quiet(text):
    """Between the pause and the resume: no line of chat, and the other
    guest kept printing (at least 10 lines)."""
    lines = text.splitlines()
    try:
        a = lines.index("turtle: console: 'chat' paused")
        b = lines.index("turtle: console: 'chat' resumed")
    except ValueError:
        return ["no pause/resume acknowledgement"]
    between = lines[a:b]
    chat = [x for x in between if x.startswith("[chat] ")]
    other = [x for x in between if x.startswith("[other] chatter")]
    reasons = []
    if chat:
        reasons.append(f"chat printed while paused: {chat[:3]}")
    if len(other) < 10:
        reasons.append(f"only {len(other)} lines of other while chat was paused")
    return reasons


def redrawn_while_typing(raw):
    """Typing while guests print: some half-typed line was erased for a
    guest's line and drawn again below it, longer."""
    m = re.search(r"turtle> ([a-z]+( [a-z]*)?)\r\x1b\[K\[chat\] [^\n]*\n(turtle> \1)", raw)
    return [] if m else ["no half-typed line erased for a guest line and drawn again under it"]


def console_cases():
    """The management console (docs/console.md), typed at COM1 by the
    harness (send=) while guests print; and a guest's reset."""
    guest, finished, CPUS = _helpers()
    out = []
    echo = (guest("console_echo"), "name=echo mem=4M")
    ready = r"^\[echo\] echo: ready$"
    # list; typing while a guest prints; attach, the two escapes, detach.
    out.append(Case("console-attach", "console", timeout=240, verdict=(2, 2, 0),
                    modules=[echo, (guest("chatter"), "name=chat mem=4M -- id=chat lines=40")],
                    send=[(ready, b"list\r"),
                          (r"^  'chat': ", b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"hello turtle\r"),
                          (r"^\[echo\] ECHO: HELLO TURTLE$", b"\x1d"),
                          (r"^turtle: console: detached from 'echo'$", b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"~~tilde\r~."),
                          (r"^turtle: console: detached from 'echo'$", b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"quit\r")],
                    expect=[r"^turtle: console: 2 guests$",
                            r"^  'echo': halted \(HLT, waiting for an interrupt\); 1 vCPU, 4 MiB, \d+ exits, "
                            r"nested off, L2 not running, 0 resets$",
                            r"^  'chat': running; 1 vCPU, 4 MiB, \d+ exits, nested off, L2 not running, 0 resets$",
                            r"^\[echo\] ECHO: HELLO TURTLE$", r"^\[echo\] ECHO: ~TILDE$",
                            r"^\[echo\] echo: 3 lines, \d+ bytes, overruns 0, dropped 0$",
                            finished("echo"), finished("chat")],
                    check=all_lines_once("chat", 40), raw_check=redrawn_while_typing))
    # pause stops a chatty guest's output, resume restarts it where it was.
    out.append(Case("console-pause", "console", timeout=240, verdict=(2, 2, 0),
                    modules=[(guest("chatter"), "name=chat mem=4M -- id=chat lines=40"),
                             (guest("chatter"), "name=other mem=4M -- id=other lines=120")],
                    send=[(r"^\[chat\] chatter chat line 5$", b"pause chat\r"),
                          (r"^turtle: console: 'chat' paused$", b"list\r"),
                          (r"^  'chat': paused;", b""),
                          (r"^\[other\] chatter other line [3-9]\d$", b"resume chat\r")],
                    expect=[r"^  'other': running;", r"^turtle: console: 'chat' resumed$",
                            finished("chat"), finished("other")],
                    check=lambda t: paused_quiet(t) + all_lines_once("chat", 40)(t)
                    + all_lines_once("other", 120)(t)))
    # Time across a pause (docs/console.md): a periodic LAPIC timer that fell
    # due hundreds of times while its guest was paused raises one interrupt
    # on resume, not a burst. On bare Bochs the same guest (no pause) is the
    # reference for its measurement.
    no_burst = r"PASS: no three timer interrupts within half a period"
    out.append(Case("console-pause-timer", "console", timeout=240, verdict=(2, 2, 0),
                    modules=[(guest("ticker"), "name=tick mem=4M -- period=50000 ticks=1000"),
                             (guest("chatter"), "name=other mem=4M -- id=other lines=60")],
                    send=[(r"^\[tick\] ticker: tick 20$", b"pause tick\r"),
                          (r"^turtle: console: 'tick' paused$", b""),
                          (r"^\[other\] chatter other line [2-5]\d$", b"resume tick\r")],
                    expect=[r"^\[tick\] ticker: period \d+ TSC, shortest two gaps \d+, longest gap "
                            r"([5-9]|\d{2,}) periods$", r"^\[tick\] " + no_burst, finished("tick"),
                            finished("other")]))
    out.append(Case("bare-ticker-tgl", "console", timeout=120, kernel=guest("ticker"), end="summary",
                    cmdline="period=50000 ticks=100", expect=[r"^" + no_burst]))
    # Typing into a receiver nobody reads: 16 bytes kept, the 17th lost with
    # LSR.OE. Under turtle only: Bochs's COM1 in socket mode reads its
    # socket only while LSR.DR is clear, so on bare Bochs the line waits
    # for the guest and its FIFO never overruns.
    out.append(Case("console-overrun", "console", timeout=180, verdict=(1, 1, 0),
                    modules=[(guest("console_echo"), "name=echo mem=4M -- overrun")],
                    send=[(r"^\[echo\] echo: not reading$", b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"abcdefghijklmnopq"),
                          (ready, b"quit\r")],
                    expect=[r"^\[echo\] echo: overrun with 16 bytes held: abcdefghijklmnop$",
                            r"^\[echo\] PASS: receiver overrun: the FIFO keeps the first 16 bytes",
                            finished("echo")]))
    # kill: the guest ends with its stop line, summary and verdict; its pages come back.
    out.append(Case("console-kill", "console", timeout=240, verdict=(2, 1, 1),
                    modules=[(guest("chatter"), "name=chat mem=8M -- id=chat lines=400"),
                             (guest("chatter"), "name=other mem=4M -- id=other lines=30")],
                    send=[(r"^\[chat\] chatter chat line 3$", b"kill chat\r"),
                          (r"^turtle: console: 'chat' killed", b"list\r"),
                          (r"^  'other': ", b"kill chat\r")],
                    expect=[r"^turtle: guest 'chat' stopped: killed from the console$",
                            r"^turtle: console: 'chat' killed, (20[5-9]\d|2[1-9]\d\d) pages returned$",
                            r"^  'chat': stopped \(killed from the console\); 1 vCPU, memory returned,",
                            r"^turtle: console: 'chat' has ended \(killed from the console\)$",
                            r"^turtle: guest 'chat': FAILED, killed from the console; \d+ exits",
                            finished("other")],
                    forbid=[r"^\[chat\] chatter chat line (1\d\d|399)$"],
                    check=all_lines_once("other", 30)))
    # Mistakes get one clear line each; line editing; help; the console's reset.
    out.append(Case("console-errors", "console", timeout=240, verdict=(1, 1, 0),
                    modules=[echo],
                    send=[(ready, b"frobnicate now\r"),
                          (r"^turtle: console: unknown command", b"pause nosuch\r"),
                          (r"^turtle: console: no guest named", b"pause\r"),
                          (r"^turtle: console: usage: pause NAME$", b"resume echo\r"),
                          (r"^turtle: console: 'echo' is not paused$", b"detach\r"),
                          (r"^turtle: console: not attached to a guest$", b"garbage in\x15lisx\x7ft\r"),
                          (r"^turtle: console: 1 guests$", b"help\r"),
                          (r"^  detach ", b"reset echo\r"),
                          (r"^turtle: 'echo': reset \(console\)$", b""),
                          (ready, b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"quit\r")],
                    expect=[r"^turtle: console: unknown command 'frobnicate' \(try 'help'\)$",
                            r"^turtle: console: no guest named 'nosuch'$",
                            r"^  help +this list$", r"^  pause NAME +stop scheduling",
                            r"^  attach NAME +type into a guest's COM1",
                            r"^  'echo': halted .*, 0 resets$",
                            r"^turtle: guest 'echo': ELF64|^turtle: guest 'echo': multiboot2 image",
                            finished("echo")],
                    forbid=[r"unknown command 'garbage", r"unknown command 'lisx"],
                    check=lambda t: [] if len(re.findall(ready, t, re.M)) == 2
                    else ["expected 'echo: ready' twice (before and after the reset)"]))
    # snapshot from the console: a running guest is snapshotted (the file
    # leaves on COM2) and runs on to its end.
    out.append(Case("console-snapshot", "console", timeout=240, verdict=(1, 1, 0), com2=True,
                    modules=[(guest("chatter"), "name=chat mem=8M -- id=chat lines=60")],
                    send=[(r"^\[chat\] chatter chat line 3$", b"snapshot chat\r"),
                          (r"^turtle: console: snapshot of 'chat' taken", b"snapshot nosuch\r"),
                          (r"^turtle: console: no guest named 'nosuch'$", b"snapshot chat later\r")],
                    expect=[r"^turtle: guest 'chat': snapshot taken: \d+ bytes, \d+ of 2048 pages stored, "
                            r"nested state 0 bytes, sent on the snapshot port$",
                            r"^turtle: console: snapshot of 'chat' taken, sent on port 2f8$",
                            r"^turtle: console: usage: snapshot NAME \[keep\]$",
                            finished("chat")],
                    check=all_lines_once("chat", 60)))
    # snapshot ... keep, kill, restore: the kept copy runs as a new guest
    # in the same boot and finishes; a bystander waits at its prompt.
    out.append(Case("console-snapshot-restore", "console", timeout=300, verdict=(3, 2, 1), com2=True,
                    modules=[(guest("chatter"), "name=chat mem=8M -- id=chat lines=60"), echo],
                    send=[(r"^\[chat\] chatter chat line 3$", b"restore again\r"),
                          (r"^turtle: console: restore refused: no snapshot is kept$", b"snapshot chat keep\r"),
                          (r"^turtle: console: snapshot of 'chat' taken", b"kill chat\r"),
                          (r"^turtle: console: 'chat' killed", b"restore chat\r"),
                          (r"^turtle: console: restore refused: ", b"restore again\r"),
                          (finished("again"), b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"quit\r")],
                    expect=[r"^turtle: guest 'chat': snapshot taken: .*, sent on the snapshot port, kept$",
                            r"^turtle: console: snapshot of 'chat' taken, sent on port 2f8; a copy is kept",
                            r"^turtle: guest 'chat' stopped: killed from the console$",
                            r"^turtle: console: restore refused: .*'chat' already exists",
                            r"^turtle: guest 'again': restored from a snapshot",
                            r"^turtle: console: the kept snapshot runs as 'again'$",
                            r"^\[again\] chatter chat line 59$",
                            finished("again"), finished("echo")],
                    check=restored_lines("chat", "again", 60)))
    # The same with a nested L1 in the middle of its EPT02 rounds (its L2
    # may be running), paused first so that it cannot end before the
    # command is typed: the copy comes back with its vmcs12, vmcs02 and
    # EPT02 rebuilt, and ends its rounds to a pass.
    out.append(Case("console-snapshot-nested", "console", cpu="tigerlake", mem=128, timeout=300,
                    verdict=(3, 2, 1), com2=True,
                    modules=[(guest("ept02_churn"), "name=hog nested mem=32M -- rounds=3 pages=200 hold=20"),
                             echo],
                    send=[(r"^\[hog\] ept02_churn: on turtle", b"pause hog\r"),
                          (r"^turtle: console: 'hog' paused$", b"snapshot hog keep\r"),
                          (r"^turtle: console: snapshot of 'hog' taken", b"kill hog\r"),
                          (r"^turtle: console: 'hog' killed", b"restore again\r"),
                          (finished("again"), b"attach echo\r"),
                          (r"^turtle: console: attached to 'echo'", b"quit\r")],
                    expect=[r"^turtle: guest 'hog': snapshot taken: .*nested state (128|4224|8320) bytes, "
                            r"flags 0x[0-9a-f]+, sent on the snapshot port, kept$",
                            r"^turtle: guest 'again': restored from a snapshot",
                            r"^\[again\] SUMMARY: 4 tests, 0 failures$", finished("again"), finished("echo")],
                    forbid=[r"out of memory for EPT02", r"nested verify"]))
    # console=stay: the verdict, then the console still answers.
    out.append(Case("console-stay", "console", timeout=180, verdict=(1, 1, 0), cmdline="console=stay",
                    modules=[(guest("hello"), "name=hello -- id=hello")],
                    send=[(r"^turtle: done: 1 guests, 1 passed, 0 failed$", b"list\r")],
                    until=r"^  'hello': finished \(exit status 0\); 1 vCPU, memory returned",
                    expect=[r"^turtle: console: every guest has ended; staying at the console \(console=stay\)$"]))
    # A reset reloads that guest only: through 0xcf9, then the 8042; the
    # bystander is untouched. The same guest on bare Bochs reboots through
    # the BIOS and GRUB: the boots and results must agree. (Bare Bochs
    # resets through 0xcf9 twice: its 8042 pulse is a soft reset after
    # which its BIOS faults on the locked IA32_FEATURE_CONTROL.)
    for cpu in CPUS:
        tag = "skx" if cpu.startswith("corei7") else "tgl"
        out.append(DiffCase(
            f"diff-reset_guest-{tag}", "console",
            bare=Case(f"bare-reset_guest-{tag}", "console", cpu=cpu, timeout=240, kernel=guest("reset_guest"),
                      cmdline="via=cf9", end="summary", expect=[r"^reset_guest: boot 3$"]),
            nested=Case(f"l1-reset_guest-{tag}", "console", cpu=cpu, timeout=240, verdict=(2, 2, 0),
                        modules=[(guest("reset_guest"), "name=reset mem=8M"),
                                 (guest("chatter"), "name=chat mem=4M -- id=chat lines=30")],
                        expect=[r"^turtle: 'reset': reset \(port 0xcf9\)$",
                                r"^turtle: 'reset': reset \(8042 reset pulse, port 0x64\)$",
                                r"^\[reset\] reset_guest: boot 3$", finished("reset"), finished("chat")],
                        check=all_lines_once("chat", 30)),
            guest="reset", min_tests=4, strip_details=True))
    # A nested L1 reset from the console in the middle of its EPT02 rounds:
    # its nested state goes, its EPT02 pages return to its pool (the run
    # after the reset fills the pool to the budget again, no further), and
    # it runs again from the start to a pass.
    churn_line = r"^\[hog\] ept02_churn: on turtle, 3 rounds of 200 regions"
    out.append(Case("console-reset-nested", "console", cpu="tigerlake", mem=96, timeout=180, verdict=(1, 1, 0),
                    modules=[(guest("ept02_churn"), "name=hog nested mem=32M -- rounds=3 pages=200 hold=200000")],
                    send=[(r"^\[hog\] PASS: ept02_churn round 0:", b"list\r"),
                          (r"^  'hog': ", b"reset hog\r")],
                    expect=[r"^  'hog': running; 1 vCPU, 32 MiB, \d+ exits, nested on, L2 (not )?running, 0 resets$",
                            r"^turtle: 'hog': reset \(console\)$",
                            r"^\[hog\] SUMMARY: 4 tests, 0 failures$", finished("hog"),
                            r"^turtle: guest 'hog': run-time pool of 98 pages, 9[68] used at most$"],
                    forbid=[r"out of memory for EPT02"],
                    check=lambda t: [] if len(re.findall(churn_line, t, re.M)) == 2
                    else ["expected the churn to start twice (before and after the reset)"]))
    # A guest that resets for ever is stopped by the bound; the other runs on.
    out.append(Case("console-reset-loop", "console", timeout=240, verdict=(2, 1, 1),
                    modules=[(guest("reset_guest"), "name=loop mem=8M -- loop"),
                             (guest("chatter"), "name=chat mem=4M -- id=chat lines=30")],
                    expect=[r"^turtle: 'loop': reset \(port 0xcf9\)$",
                            r"^turtle: guest 'loop' stopped: reset loop: 4 resets in a row, each within 1000 ms "
                            r"of its start \(port 0xcf9\)$",
                            r"^\[loop\] reset_guest: boot 4$", finished("chat")],
                    forbid=[r"^\[loop\] reset_guest: boot 5$"],
                    check=all_lines_once("chat", 30)))
    # The echo guest on bare Bochs, its COM1 fed by the harness, and under
    # turtle through the console: the same answers.
    for cpu in CPUS[1:]:
        tag = "tgl"
        out.append(DiffCase(
            f"diff-console_echo-{tag}", "console",
            bare=Case(f"bare-console_echo-{tag}", "console", cpu=cpu, timeout=180, kernel=guest("console_echo"),
                      end="summary",
                      send=[(r"^echo: ready$", b"Hello, Turtle 1\r"), (r"^ECHO: HELLO, TURTLE 1$", b"quit\r")],
                      expect=[r"^ECHO: HELLO, TURTLE 1$", r"^echo: 2 lines, 21 bytes, overruns 0, dropped 0$"]),
            nested=Case(f"l1-console_echo-{tag}", "console", cpu=cpu, timeout=180, verdict=(1, 1, 0),
                        modules=[echo],
                        send=[(ready, b"attach echo\r"),
                              (r"^turtle: console: attached to 'echo'", b"Hello, Turtle 1\r"),
                              (r"^\[echo\] ECHO: HELLO, TURTLE 1$", b"quit\r")],
                        expect=[r"^\[echo\] echo: 2 lines, 21 bytes, overruns 0, dropped 0$"]),
            guest="echo", min_tests=2))
    return out
