"""Snapshots across hypervisors (docs/snapshot.md, "Between turtle and KVM"):
an L1 snapshotted mid-L2 by turtle finishes under Linux KVM on bare Bochs,
and one snapshotted mid-L2 under KVM finishes under turtle, each with the
lines of an uninterrupted run.

The Linux boot takes the KVM directory (turtle-snap export-kvm's output)
as /snapshot in a second initramfs archive that GRUB appends to the test
image's; what KVM's side sends back comes framed on COM2.
"""
import dataclasses
import os
import re
import subprocess
import time
from dataclasses import dataclass

import harness
from snapcase import SnapRun, captured, compare, guest_lines

TOOLS = os.path.join(harness.BUILD, "tools")
MKINITRAMFS = os.path.join(harness.ROOT, "tests", "linux", "mkinitramfs.py")
SNAP_TAKEN = re.compile(r"^vmm: snapshot: taken in L2 ")


def export_overlay(blob, d, reasons):
    """The snapshot as a KVM directory (d/kvm), packed as an initramfs
    archive that adds it as /snapshot (d/snapshot.cpio); None on failure."""
    path, kvm, cpio = (os.path.join(d, n) for n in ("turtle.tsnap", "kvm", "snapshot.cpio"))
    with open(path, "wb") as f:
        f.write(blob)
    subprocess.run(["rm", "-rf", kvm], check=True)
    r = subprocess.run([os.path.join(TOOLS, "turtle-snap"), "export-kvm", path, kvm],
                       capture_output=True, text=True)
    if r.returncode:
        reasons.append(f"turtle-snap export-kvm: {r.stderr.strip() or r.stdout.strip()}")
        return None
    args = ["python3", MKINITRAMFS, cpio, "snapshot=@dir"]
    args += [f"snapshot/{n}={os.path.join(kvm, n)}" for n in sorted(os.listdir(kvm))]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        reasons.append(f"mkinitramfs: {r.stderr.strip()}")
        return None
    return cpio


class KvmBoot(SnapRun):
    """The snapshot case kinds whose `linux` boot runs KVM on an exported
    turtle snapshot."""

    def boot_linux(self, blob, echo, reasons):
        """Exports blob and boots `linux` with it added; the run's result,
        or None (reasons filled)."""
        cpio = blob and export_overlay(blob, harness.case_dir(self.linux), reasons)
        if not cpio:
            return None
        linux = dataclasses.replace(self.linux, modules=list(self.linux.modules) + [(cpio, "")])
        return self.boot("linux", echo, reasons, linux)


@dataclass
class SnapToKvmCase(KvmBoot):
    """turtle -> KVM. plain: the guest uninterrupted under turtle; take: the
    same guest snapshotting itself (COM2 captured); linux: Linux on bare
    Bochs whose /init resumes the exported snapshot (run `restore`). The
    take run's lines up to the snapshot, then the KVM run's, must be the
    uninterrupted run's."""
    name: str
    group: str
    plain: harness.Case
    take: harness.Case
    linux: harness.Case                 # its modules: the test image; the snapshot archive is added
    guest: str
    point: str
    run_name: str = "restore"
    min_after: int = 3
    platform: str = "bochs"
    boots = ("take", "plain", "linux")

    def run(self, echo=None):
        start = time.monotonic()
        reasons = []
        rp, rt, blob = self.take_snapshot(echo, reasons)
        rl = self.boot_linux(blob, echo, reasons)
        if rl is None:
            return self.result(rt, start, reasons, False)
        want = guest_lines(rp.log, self.guest)
        before = guest_lines(rt.log, self.guest)
        after = guest_lines(rl.log, f"kvm:{self.run_name}")
        self.check_point(before, reasons)
        reasons += compare(want, before, after, self.min_after, "turtle -> KVM")
        return self.result(rl, start, reasons)


@dataclass
class SnapFromKvmCase(KvmBoot):
    """KVM -> turtle. caps: a turtle boot whose guest snapshots itself
    (COM2 captured): its file gives turtle's VMX capabilities; linux: Linux
    on bare Bochs (COM2 captured) whose /init runs the guest under KVM shown
    those capabilities, snapshots it in L2 and sends the file on COM2
    (run `vmx_snap_turtle`); restore: turtle restoring that file (at
    `snapshot`, the path restore.modules names); bare: the guest alone on
    bare Bochs. The KVM run's lines up to the snapshot, then turtle's, must
    be the bare run's; so must the KVM run's own lines (it finishes too)."""
    name: str
    group: str
    caps: harness.Case
    linux: harness.Case
    restore: harness.Case
    bare: harness.Case
    guest: str                          # the restored guest's name under turtle
    snapshot: str
    run_name: str = "vmx_snap_turtle"
    min_after: int = 3
    platform: str = "bochs"
    boots = ("linux", "caps", "restore", "bare")

    def run(self, echo=None):
        start = time.monotonic()
        reasons = []
        rc = self.boot("caps", echo, reasons)
        rl = self.boot_linux(captured(self.caps, reasons, "caps"), echo, reasons)
        if rl is None:
            return self.result(rc, start, reasons, False)
        blob = captured(self.linux, reasons, "linux")
        if blob is None:
            return self.result(rl, start, reasons, False)
        self.save(blob)
        rr = self.boot("restore", echo, reasons)
        rb = self.boot("bare", echo, reasons)
        want = [line for line in rb.log.splitlines() if line.strip()]
        kvm, before, taken = [], None, False
        prefix = f"[kvm:{self.run_name}] "
        for line in rl.log.splitlines():
            if SNAP_TAKEN.match(line) and before is None:
                before, taken = list(kvm), True
            elif line.startswith(prefix):
                kvm.append(line[len(prefix):])
        if not taken:
            reasons.append("linux: no 'vmm: snapshot: taken in L2' line")
            before = []
        after = guest_lines(rr.log, self.guest)
        reasons += compare(want, before, after, self.min_after, "KVM -> turtle")
        reasons += compare(want, before, kvm[len(before):], self.min_after, "KVM -> KVM (the run itself)")
        return self.result(rr, start, reasons)
