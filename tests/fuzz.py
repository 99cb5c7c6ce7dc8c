#!/usr/bin/env python3
"""make fuzz: long fuzzing on demand (not part of make test).

For FUZZ_MINUTES (default 10) it repeats rounds of:
  - the hostile-L1 fuzz guest (tests/guests/vmx_fuzz.c) as a nested L1 under
    turtle with a fresh seed, on tigerlake and on corei7_skylake_x;
  - two fuzzing L1s side by side (their EPT02s and vmcs02s interleave);
  - the host fuzzers with fresh seeds: the vmcs12 entry checks
    (CHECKS_SEED), the MMIO instruction decoder (MMIO_SEED), the page
    allocator's random runs (PMM_SEED) and KVM's nested-state checks
    (NESTED_CHECK_SEED), under ASan/UBSan;
  - the libFuzzer target over the snapshot reader (tests/fuzz/tsnap_fuzz.c)
    for TSNAP_FUZZ_SECONDS (default 60) with a fresh -seed, growing a
    scratch corpus under the build directory from the committed seeds.
FUZZ_ONLY=tsnap runs the snapshot fuzzer alone, one run for the whole time,
and prints its executions, coverage and crashes.
It prints every run with its seed and every anomaly: a guest FAIL line, a
turtle panic, "hardware refused vmcs02" that no known departure of the CPU
from the SDM explains (tests/refusals.py; it prints the known ones, which
are no anomaly), a wrong verdict, a host fuzzer that failed. A seed that
shows one is the regression case to add to tests/cases.py (vmx-fuzz-* take `seed=` and `iters=`). Exit status 1 if
anything was found.
"""
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import refusals  # noqa: E402
from harness import BUILD, Case  # noqa: E402

FUZZ = os.path.join(BUILD, "guests", "vmx_fuzz.elf")
ITERS = 400
HOST = [("test_checks", "CHECKS_SEED"), ("test_mmio_decode", "MMIO_SEED"), ("test_pmm", "PMM_SEED"),
        ("test_nested_check", "NESTED_CHECK_SEED")]
TSNAP_FUZZ = os.path.join(BUILD, "fuzz", "tsnap_fuzz")
TSNAP_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "corpus", "tsnap")
ANOMALIES = (r"^turtle: panic: ",)


def guest_cases(rnd, n):
    cases = []
    for cpu in ("tigerlake", "corei7_skylake_x"):
        seed = rnd.getrandbits(31) | 1
        cases.append((f"seed {seed} on {cpu}",
                      Case(f"fuzz-{n}-{cpu}", "fuzz", cpu=cpu, timeout=600, verdict=(1, 1, 0),
                           modules=[(FUZZ, f"name=fuzz nested mem=32M -- seed={seed} iters={ITERS}")],
                           expect=[r"^\[fuzz\] SUMMARY: \d+ tests, 0 failures$"], forbid=list(ANOMALIES),
                           check=refusals.check)))
    a, b = rnd.getrandbits(31) | 1, rnd.getrandbits(31) | 1
    cases.append((f"seeds {a} and {b} side by side on tigerlake",
                  Case(f"fuzz-{n}-pair", "fuzz", cpu="tigerlake", timeout=900, verdict=(2, 2, 0),
                       modules=[(FUZZ, f"name=fa nested mem=32M -- seed={a} iters={ITERS}"),
                                (FUZZ, f"name=fb nested mem=32M -- seed={b} iters={ITERS}")],
                       expect=[r"^\[fa\] SUMMARY: \d+ tests, 0 failures$",
                               r"^\[fb\] SUMMARY: \d+ tests, 0 failures$"], forbid=list(ANOMALIES),
                       check=refusals.check)))
    return cases


def host_runs(rnd):
    out = []
    for binary, var in HOST:
        seed = rnd.getrandbits(63) | 1
        path = os.path.join(BUILD, "unit", binary)
        env = dict(os.environ, **{var: hex(seed)})
        p = subprocess.run([path], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out.append((f"{binary} {var}={seed:#x}", p.returncode == 0,
                    p.stdout.strip().splitlines()[-12:] if p.returncode else []))
    return out


def tsnap_run(rnd, seconds):
    """One libFuzzer run; returns (ok, summary line, tail of output, executions)."""
    seed = rnd.getrandbits(31) | 1
    scratch = os.path.join(BUILD, "fuzz", "corpus-tsnap")
    os.makedirs(scratch, exist_ok=True)
    p = subprocess.run([TSNAP_FUZZ, f"-seed={seed}", f"-max_total_time={int(seconds)}", "-print_final_stats=1",
                        f"-artifact_prefix={os.path.join(BUILD, 'fuzz')}/", scratch, TSNAP_CORPUS],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = p.stdout.splitlines()
    cov = [ln for ln in lines if " cov: " in ln]
    stats = dict((k, v.strip()) for k, v in (ln[len("stat::"):].split(":", 1) for ln in lines
                                              if ln.startswith("stat::") and ":" in ln[len("stat::"):]))
    crashes = sum(1 for ln in lines if "ERROR: AddressSanitizer" in ln or "runtime error:" in ln
                  or "==ERROR: libFuzzer" in ln)
    summary = (f"seed {seed}: {stats.get('number_of_executed_units', '?')} executions in {int(seconds)} s, "
               f"{(cov[-1].split(' cov: ')[1].split()[0]) if cov else '?'} edges covered, "
               f"{stats.get('new_units_added', '?')} new inputs, {crashes} crashes")
    execs = stats.get("number_of_executed_units", "")
    return (p.returncode == 0 and crashes == 0, summary, lines[-20:] if p.returncode else [],
            int(execs) if execs.isdigit() else 0)


def main():
    minutes = float(os.environ.get("FUZZ_MINUTES", "10"))
    seed = int(os.environ.get("FUZZ_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    deadline = time.monotonic() + minutes * 60
    print(f"fuzz: {minutes:g} minutes, master seed {seed} (FUZZ_SEED= repeats this run)")
    if os.environ.get("FUZZ_ONLY") == "tsnap":
        ok, summary, lines, _ = tsnap_run(rnd, minutes * 60)
        print(f"fuzz: tsnap_fuzz {summary}: {'ok' if ok else 'ANOMALY'}")
        for line in lines:
            print(f"       {line}")
        return 0 if ok else 1
    runs = anomalies = rounds = departures = tsnap_execs = 0
    per_model = {}
    while time.monotonic() < deadline:
        rounds += 1
        for what, ok, lines in host_runs(rnd):
            runs += 1
            print(f"fuzz: host {what}: {'ok' if ok else 'ANOMALY'}")
            if not ok:
                anomalies += 1
                for line in lines:
                    print(f"       {line}")
        ok, summary, lines, execs = tsnap_run(rnd, float(os.environ.get("TSNAP_FUZZ_SECONDS", "60")))
        runs += 1
        tsnap_execs += execs
        print(f"fuzz: tsnap_fuzz {summary}: {'ok' if ok else 'ANOMALY'}")
        if not ok:
            anomalies += 1
            for line in lines:
                print(f"       {line}")
        batch = guest_cases(rnd, rounds)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda wc: (wc[0], harness.run_case(wc[1])), batch))
        for what, r in results:
            runs += 1
            per_model[r.case.cpu] = per_model.get(r.case.cpu, 0) + 1
            known = refusals.judge(r.log)[0]
            departures += len(known)
            print(f"fuzz: vmx_fuzz {what}: {'ok' if r.ok else 'ANOMALY'} ({r.seconds:.0f}s)")
            for d in known:
                print(f"       known departure (docs/nested.md rules 43, 44), not an anomaly: {d}")
            if not r.ok:
                anomalies += 1
                for reason in r.reasons:
                    print(f"       {reason}")
                print(f"       log: {r.log_path}")
    models = ", ".join(f"{n} on {cpu}" for cpu, n in sorted(per_model.items()))
    print(f"fuzz: {rounds} rounds, {runs} runs ({ITERS} vmcs12s per guest run; guest runs: {models}), "
          f"{tsnap_execs} tsnap_fuzz executions, {departures} known departures, {anomalies} anomalies")
    return 1 if anomalies else 0


if __name__ == "__main__":
    sys.exit(main())
