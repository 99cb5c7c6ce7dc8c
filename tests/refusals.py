"""Judges turtle's "hardware refused vmcs02" lines in a vmx_fuzz log.

turtle's VM-entry checks follow the SDM; when the CPU refuses a vmcs02
whose vmcs12 passed them, turtle prints one line per refusal (at most 50,
docs/nested.md rule 80) and gives L1 the CPU's answer. Such a line means a
check turtle misses, unless the CPU is the one departing from the SDM.

One departure is known where Bochs 2.7 is stricter than the SDM (rules 43
and 44): with unrestricted guest too, it wants a non-conforming CS's DPL
equal to CS's RPL and a conforming CS's DPL not above it. The
fuzz guest announces each vmcs12 of that kind right before its VMLAUNCH
(tests/guests/vmx_fuzz_mutate.c, cs_dpl_rpl_departure) and prints its outcome
after it. A refusal (reason 33, a guest-state entry failure) whose L1's
last console line is that announcement is the departure; any other
refusal is an anomaly.
"""
import re

REFUSED = re.compile(r"^turtle: nested: '([^']+)': hardware refused vmcs02 \(([^)]*)\)")
GUEST_LINE = re.compile(r"^\[([^\]]+)\] (.*)$")
ANNOUNCED = re.compile(r"^vmx_fuzz: iteration (\d+): CS DPL unlike CS RPL with unrestricted guest \(rules 43, 44: ")


def judge(text):
    """(departures, anomalies): 'NAME iteration K' for each refusal the
    announcement explains, a reason for each refusal it does not."""
    last = {}
    departures, anomalies = [], []
    for line in text.splitlines():
        m = GUEST_LINE.match(line)
        if m:
            last[m.group(1)] = m.group(2)
            continue
        m = REFUSED.match(line)
        if not m:
            continue
        name, what = m.groups()
        announced = ANNOUNCED.match(last.get(name, ""))
        if announced and what == "reason 33":
            departures.append(f"{name} iteration {announced.group(1)}")
            last[name] = ""             # one refusal per announcement
        else:
            anomalies.append(f"'{name}': hardware refused vmcs02 ({what}) with no known departure announced")
    return departures, anomalies


def check(text):
    """Case.check: the refusals no known departure explains."""
    return judge(text)[1]
