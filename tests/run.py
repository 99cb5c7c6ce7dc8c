#!/usr/bin/env python3
"""turtle's test runner: boots the cases of tests/cases.py in Bochs or QEMU.

  tests/run.py [-j N] [--group G] [--tap] [--cpu M] [CASE...]   run cases (all by default)
  tests/run.py --list                                 list cases and groups
  tests/run.py --run NAME [--platform P] [--cpu M]    run one case, console to stdout; on a
                                                      terminal, what you type goes to its COM1

--cpu M runs every boot of the chosen cases (Case, DiffCase, KvmDiffCase:
all of their boots) on Bochs CPU model M; --platform likewise.
  tests/run.py --bench [--write-doc FILE]             run the benchmark cases

Each case's serial log is kept in build/cases/<name>/serial.log.
Ends with the line "N passed, N failed"; exit status 0 only if none failed.
"""
import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as case_list  # noqa: E402
import harness  # noqa: E402


def select(args):
    all_cases = case_list.cases()
    by_name = {c.name: c for c in all_cases}
    if args.names:
        missing = [n for n in args.names if n not in by_name]
        if missing:
            sys.exit("run.py: no such case: " + ", ".join(missing))
        return [by_name[n] for n in args.names]
    if args.group:
        chosen = [c for c in all_cases if c.group == args.group]
        if not chosen:
            sys.exit(f"run.py: no such group: {args.group}")
        return chosen
    return [c for c in all_cases if c.group not in ("demo", "bench")]


def terminal_keyboard():
    """When stdin is a terminal: a keyboard for harness.boot() that puts the
    terminal in cbreak mode (no echo, no line buffering; Ctrl-C still
    interrupts the run) and types every key into the emulator's COM1.
    Returns (keyboard, restore), or (None, no-op)."""
    if not sys.stdin.isatty():
        return None, lambda: None
    import termios
    import threading
    import tty
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def keyboard(link):
        tty.setcbreak(fd)

        def pump():
            while True:
                b = os.read(fd, 64)
                if not b or not link.send(b, gap=0):
                    return
        threading.Thread(target=pump, daemon=True).start()

    return keyboard, lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run_cases(cases, jobs, tap):
    results = []
    if tap:
        print(f"1..{len(cases)}", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(harness.run_any, c) for c in cases]
        for i, f in enumerate(futures, 1):
            r = f.result()
            results.append(r)
            status = "ok" if r.ok else "not ok"
            if tap:
                print(f"{status} {i} - {r.case.name}", flush=True)
                for why in r.reasons:
                    print(f"  # {why}", flush=True)
            else:
                word = "PASS" if r.ok else "FAIL"
                print(f"[{word}] {r.case.group}/{r.case.name} ({r.case.platform}, "
                      f"{r.seconds:.1f}s)", flush=True)
                for why in r.reasons:
                    print(f"       {why}", flush=True)
                if not r.ok:
                    print(f"       log: {os.path.relpath(r.log_path, harness.ROOT)}", flush=True)
    passed = sum(r.ok for r in results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    return failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="case names (default: all test cases)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--group")
    ap.add_argument("--tap", action="store_true", help="print TAP instead of plain lines")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--run", metavar="NAME", help="boot one case and show its console")
    ap.add_argument("--platform", help="override the case's platform (bochs, qemu, qemu-uefi, qemu-kvm)")
    ap.add_argument("--cpu", help="override the Bochs CPU model")
    ap.add_argument("--cmdline", help="with --run: words added to turtle's command line (e.g. console=stay)")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--write-doc", metavar="FILE")
    args = ap.parse_args()

    if args.list:
        for c in case_list.cases():
            print(f"{c.group:10} {c.name:32} {c.platform:9} {c.cpu}")
        return 0
    if args.run:
        by_name = {c.name: c for c in case_list.cases()}
        if args.run not in by_name:
            sys.exit(f"run.py: no such case: {args.run}")
        c = harness.override(by_name[args.run], args.cpu, args.platform)
        if args.cmdline and isinstance(c, harness.Case):
            c = harness.dataclasses.replace(c, cmdline=(c.cmdline + " " + args.cmdline).strip())
        print(f"run.py: booting '{c.name}' on {c.platform}"
              + (f" ({c.cpu})" if c.platform == "bochs" else "") + "; console follows", flush=True)
        keyboard, restore = terminal_keyboard()
        if keyboard:
            print("run.py: your keys go to the console (turtle's management console; "
                  "docs/console.md); Ctrl-C ends the run", flush=True)
        try:
            r = harness.run_any(c, echo=lambda s: (sys.stdout.write(s), sys.stdout.flush()),
                                keyboard=keyboard)
        except KeyboardInterrupt:
            print("\nrun.py: interrupted; the emulator is stopped", flush=True)
            return 130
        finally:
            restore()
        ended = bool(harness.TERMINAL.search(r.log))
        if r.ok:
            note = "as the case expects"
        elif c.platform == "bochs":
            note = "NOT as the case expects: " + "; ".join(r.reasons)
        else:
            note = f"on {c.platform} (no VT-x there, see README)"
        print(f"\nrun.py: {'ran to its end' if ended else 'did not reach its end'}, {note} ({r.seconds:.1f}s)")
        return 0 if ended and (r.ok or c.platform != "bochs") else 1
    if args.bench:
        import bench
        return bench.main(args.write_doc)
    chosen = [harness.override(c, args.cpu, args.platform) for c in select(args)]
    return 0 if run_cases(chosen, max(1, args.jobs), args.tap) else 1


if __name__ == "__main__":
    sys.exit(main())
