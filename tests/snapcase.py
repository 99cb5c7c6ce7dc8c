"""Snapshot cases (docs/snapshot.md): an L1 snapshots itself, turtle sends
the file out on COM2 and powers off; a second boot restores it; the
guest's lines after the snapshot point must equal an uninterrupted run's.

The COM2 capture is cut into snapshot files by the frame markers of
snapshot/format.h (struct tsnap_frame_head / tsnap_frame_tail), each
frame's CRC-32C checked.
"""
import dataclasses
import os
import re
import struct
import time
from dataclasses import dataclass, field

import harness

FRAME_HEAD = b"TSNAPFRM"
FRAME_TAIL = b"TSNAPEND"


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def cut_frames(data):
    """[(file bytes, None) | (None, why)] for each frame found in a capture."""
    out, at = [], 0
    while True:
        i = data.find(FRAME_HEAD, at)
        if i < 0:
            return out
        if i + 16 > len(data):
            out.append((None, "frame head cut off"))
            return out
        (length,) = struct.unpack_from("<Q", data, i + 8)
        body, tail = i + 16, i + 16 + length
        if tail + 16 > len(data):
            out.append((None, f"frame of {length} bytes cut off at {len(data) - body}"))
            return out
        crc, _, magic = struct.unpack_from("<II8s", data, tail)
        blob = data[body:tail]
        if magic != FRAME_TAIL:
            out.append((None, "frame tail missing"))
        elif crc != crc32c(blob):
            out.append((None, f"frame CRC {crc:08x}, computed {crc32c(blob):08x}"))
        else:
            out.append((blob, None))
        at = tail + 16


# ---- editing a snapshot file (for the corrupt-file cases) ----------------

SEC_CPUID, SEC_VMX_CAPS, SEC_NESTED = 2, 3, 24
SEC_XSAVE = 19
SEC_XCRS = 26


def sections(blob):
    n = struct.unpack_from("<I", blob, 36)[0]
    return [struct.unpack_from("<IIIIQQ", blob, 64 + 32 * i) for i in range(n)]


def refresh_crc(blob):
    b = bytearray(blob)
    struct.pack_into("<I", b, 48, 0)
    struct.pack_into("<I", b, 48, crc32c(bytes(b)))
    return bytes(b)


def section_offset(blob, kind):
    for typ, _ver, _inst, _flags, off, _size in sections(blob):
        if typ == kind:
            return off
    raise ValueError(f"no section of type {kind}")


def nested_offset(blob):
    return section_offset(blob, SEC_NESTED)


def list_entry(blob, kind, size, key):
    """Offset of the first entry of a cpuid (40-byte) or vmx_caps (16-byte)
    section whose leading u32 is key."""
    off = section_offset(blob, kind)
    (n,) = struct.unpack_from("<I", blob, off)
    for i in range(n):
        at = off + 8 + size * i
        if struct.unpack_from("<I", blob, at)[0] == key:
            return at
    raise ValueError(f"no entry {key:#x}")


def corrupt(blob, how):
    """A copy of a good snapshot broken in one named way."""
    b = bytearray(blob)
    if how == "magic":
        b[0:8] = b"XSNAP\r\n\x1a"
    elif how == "checksum":
        b[len(b) // 2] ^= 0x40
    elif how == "truncated":
        b = b[: len(b) - 4096]
    elif how == "vmcs12-outside-ram":
        off = nested_offset(blob)
        struct.pack_into("<Q", b, off + 16, 0x7FFFF000)         # vmcs12_pa: far past RAM
        return refresh_crc(b)
    elif how == "cpuid-vendor":                                # leaf 0 EBX: "Genu" -> "Auth"
        struct.pack_into("<4s", b, list_entry(blob, SEC_CPUID, 40, 0) + 16, b"Auth")
        return refresh_crc(b)
    elif how == "vmx-cr4-fixed1":                              # CR4 bit 31 allowed in VMX operation
        at = list_entry(blob, SEC_VMX_CAPS, 16, 0x489) + 8
        struct.pack_into("<Q", b, at, struct.unpack_from("<Q", b, at)[0] | (1 << 31))
        return refresh_crc(b)
    elif how == "xsave-compacted":
        off = section_offset(blob, SEC_XSAVE)
        struct.pack_into("<Q", b, off + 520, 1 << 63 | 3)       # XCOMP_BV: the compacted form
        return refresh_crc(b)
    elif how == "xsave-mxcsr":
        off = section_offset(blob, SEC_XSAVE)
        struct.pack_into("<I", b, off + 24, 0x80001F80)         # MXCSR bit 31: reserved
        return refresh_crc(b)
    elif how == "xcr0-pkru":
        off = section_offset(blob, SEC_XCRS)
        struct.pack_into("<Q", b, off + 16, 0x207)              # xcrs[0].value: PKRU, not offered
        return refresh_crc(b)
    elif how == "guest-mode-bad-vmcs12":
        off = nested_offset(blob)
        struct.pack_into("<H", b, off, 0x1)                    # GUEST_MODE
        struct.pack_into("<I", b, off + 128 + 916, 2)           # guest_activity_state: shutdown
        return refresh_crc(b)
    else:
        raise ValueError(how)
    return bytes(b)


# ---- the case kinds ----------------------------------------------------

def captured(case, reasons, what="take"):
    """The one snapshot a run (the boot `what`) sent on COM2, or None
    (reasons filled)."""
    with open(os.path.join(harness.case_dir(case), "com2.bin"), "rb") as f:
        frames = cut_frames(f.read())
    good = [blob for blob, why in frames if blob]
    reasons += [f"{what}: COM2: {why}" for blob, why in frames if why]
    if len(good) != 1:
        reasons.append(f"{what}: {len(good)} snapshots on COM2, expected 1")
        return None
    return good[0]


def guest_lines(text, guest):
    prefix = f"[{guest}] "
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]


def compare(want, before, after, min_after, what):
    """Reasons why the lines before the snapshot and after the restore are
    not the uninterrupted run's (the first differing line)."""
    reasons = []
    if len(after) < min_after:
        reasons.append(f"{what}: {len(after)} lines after the restore, expected at least {min_after}")
    got = before + after
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "(nothing)"
        g = got[i] if i < len(got) else "(nothing)"
        if w != g:
            side = "taken" if i < len(before) else "restored"
            reasons.append(f"{what}: line {i + 1}: {side} run '{g}', uninterrupted run '{w}'")
            break
    return reasons


class SnapRun:
    """What the snapshot case kinds share. A subclass is a dataclass with
    name, group, platform and one harness.Case field per boot, named in
    `boots` (the first gives the case's CPU model)."""
    boots = ()

    @property
    def cpu(self):
        return getattr(self, self.boots[0]).cpu

    def override(self, cpu, platform):
        return dataclasses.replace(self, platform=platform or self.platform,
                                   **{b: harness.override(getattr(self, b), cpu, platform) for b in self.boots})

    def boot(self, which, echo, reasons, case=None):
        """Runs the boot `which` (or `case` in its place); its reasons join
        `reasons` under its name."""
        r = harness.run_case(case or getattr(self, which), echo)
        reasons += [f"{which}: {x}" for x in r.reasons]
        return r

    def take_snapshot(self, echo, reasons):
        """Runs the uninterrupted boot `plain` and the boot `take`; returns
        both results and the snapshot take sent (None: reasons filled)."""
        rp = self.boot("plain", echo, reasons)
        rt = self.boot("take", echo, reasons)
        return rp, rt, captured(self.take, reasons)

    def save(self, blob):
        """Writes the snapshot where the restore boot's module list names it."""
        os.makedirs(os.path.dirname(self.snapshot), exist_ok=True)
        with open(self.snapshot, "wb") as f:
            f.write(blob)

    def check_point(self, before, reasons):
        if not any(re.search(self.point, line) for line in before):
            reasons.append(f"take: stopped without the line /{self.point}/")

    def result(self, r, start, reasons, passed=None):
        """The case's result, with the log of the run r."""
        ok = not reasons if passed is None else passed
        return harness.Result(self, ok, reasons, r.log_path, time.monotonic() - start, r.log)


@dataclass
class SnapCase(SnapRun):
    """plain: the guest uninterrupted; take: the same guest asking for a
    snapshot with "stop" (COM2 captured); restore: a boot with the captured
    file as a `restore` module (at `snapshot`, the path restore.modules
    names). The take run must reach `point` before it stops; its guest
    lines then the restored run's must equal the uninterrupted run's,
    lines matching an `ignore` regex left out on both sides (figures that
    depend on time, the request itself)."""
    name: str
    group: str
    plain: harness.Case
    take: harness.Case
    restore: harness.Case
    guest: str
    snapshot: str                       # where the captured file goes
    point: str = r"^snap_l1: snapshot point"
    ignore: list = field(default_factory=list)
    min_after: int = 3                  # lines the restored run must print
    platform: str = "bochs"
    boots = ("take", "plain", "restore")

    def lines(self, text):
        return [line for line in guest_lines(text, self.guest)
                if not any(re.search(rx, line) for rx in self.ignore)]

    def run(self, echo=None):
        start = time.monotonic()
        reasons = []
        rp, rt, blob = self.take_snapshot(echo, reasons)
        if blob is None:
            return self.result(rt, start, reasons, False)
        self.save(blob)
        rr = self.boot("restore", echo, reasons)
        before, after, want = self.lines(rt.log), self.lines(rr.log), self.lines(rp.log)
        self.check_point(before, reasons)
        reasons += compare(want, before, after, self.min_after, "restore")
        return self.result(rr, start, reasons)


@dataclass
class SnapBadCase(SnapRun):
    """Takes a good snapshot (take, COM2 captured), breaks copies of it in
    the named ways, and boots them all as `restore` modules next to a guest
    that passes: each must be refused by the message given."""
    name: str
    group: str
    take: harness.Case
    restore: harness.Case               # its modules: the good guest; the bad files are added
    refusals: dict                      # {how: regex of turtle's error line}
    # Also restore the good file twice under its own name: the first runs
    # (and must pass), the second is refused as a duplicate guest name.
    duplicate: str = ""                 # the snapshot's guest name, or "" for no such check
    platform: str = "bochs"
    boots = ("take", "restore")

    def run(self, echo=None):
        start = time.monotonic()
        reasons = []
        rt = self.boot("take", echo, reasons)
        blob = captured(self.take, reasons)
        if blob is None:
            return self.result(rt, start, reasons, False)
        d = harness.case_dir(self.restore)
        modules = list(self.restore.modules)
        for how in self.refusals:
            path = os.path.join(d, f"{how}.tsnap")
            with open(path, "wb") as f:
                f.write(corrupt(blob, how))
            modules.append((path, f"restore name={how[:15]}"))
        expect = list(self.restore.expect) + [rf"^turtle: error: module '{how[:15]}': {rx}$"
                                              for how, rx in self.refusals.items()]
        passing = 1
        if self.duplicate:
            path = os.path.join(d, "good.tsnap")
            with open(path, "wb") as f:
                f.write(blob)
            modules += [(path, "restore"), (path, "restore")]
            passing += 1
            expect += [rf"^turtle: guest '{self.duplicate}': restored from a snapshot",
                       rf"^turtle: error: module 'guest\d+': snapshot: a guest named '{self.duplicate}' "
                       r"already exists \(rename it with name=\)$"]
        n = len(modules)
        case = dataclasses.replace(self.restore, modules=modules, verdict=(n, passing, n - passing),
                                   expect=expect)
        rr = self.boot("restore", echo, reasons, case)
        return self.result(rr, start, reasons)
