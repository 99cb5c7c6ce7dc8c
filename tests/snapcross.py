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
from snapcase import captured, compare, cut_frames, guest_lines

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


@dataclass
class SnapToKvmCase:
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

    @property
    def cpu(self):
        return self.take.cpu

    def override(self, cpu, platform):
        return dataclasses.replace(self, plain=harness.override(self.plain, cpu, platform),
                                   take=harness.override(self.take, cpu, platform),
                                   linux=harness.override(self.linux, cpu, platform),
                                   platform=platform or self.platform)

    def run(self, echo=None):
        start = time.monotonic()
        rp = harness.run_case(self.plain, echo)
        rt = harness.run_case(self.take, echo)
        reasons = [f"plain: {r}" for r in rp.reasons] + [f"take: {r}" for r in rt.reasons]
        blob = captured(self.take, reasons)
        cpio = blob and export_overlay(blob, harness.case_dir(self.linux), reasons)
        if not cpio:
            return harness.Result(self, False, reasons, rt.log_path, time.monotonic() - start, rt.log)
        linux = dataclasses.replace(self.linux, modules=list(self.linux.modules) + [(cpio, "")])
        rl = harness.run_case(linux, echo)
        reasons += [f"linux: {r}" for r in rl.reasons]
        want = guest_lines(rp.log, self.guest)
        before = guest_lines(rt.log, self.guest)
        after = guest_lines(rl.log, f"kvm:{self.run_name}")
        if not any(re.search(self.point, line) for line in before):
            reasons.append(f"take: stopped without the line /{self.point}/")
        reasons += compare(want, before, after, self.min_after, "turtle -> KVM")
        return harness.Result(self, not reasons, reasons, rl.log_path, time.monotonic() - start, rl.log)


@dataclass
class SnapFromKvmCase:
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

    @property
    def cpu(self):
        return self.linux.cpu

    def override(self, cpu, platform):
        return dataclasses.replace(self, caps=harness.override(self.caps, cpu, platform),
                                   linux=harness.override(self.linux, cpu, platform),
                                   restore=harness.override(self.restore, cpu, platform),
                                   bare=harness.override(self.bare, cpu, platform),
                                   platform=platform or self.platform)

    def run(self, echo=None):
        start = time.monotonic()
        rc = harness.run_case(self.caps, echo)
        reasons = [f"caps: {r}" for r in rc.reasons]
        blob = captured(self.caps, reasons)
        cpio = blob and export_overlay(blob, harness.case_dir(self.linux), reasons)
        if not cpio:
            return harness.Result(self, False, reasons, rc.log_path, time.monotonic() - start, rc.log)
        linux = dataclasses.replace(self.linux, modules=list(self.linux.modules) + [(cpio, "")])
        rl = harness.run_case(linux, echo)
        reasons += [f"linux: {r}" for r in rl.reasons]
        with open(os.path.join(harness.case_dir(linux), "com2.bin"), "rb") as f:
            frames = cut_frames(f.read())
        good = [b for b, why in frames if b]
        reasons += [f"linux: COM2: {why}" for b, why in frames if why]
        if len(good) != 1:
            reasons.append(f"linux: {len(good)} snapshots on COM2, expected 1")
            return harness.Result(self, False, reasons, rl.log_path, time.monotonic() - start, rl.log)
        os.makedirs(os.path.dirname(self.snapshot), exist_ok=True)
        with open(self.snapshot, "wb") as f:
            f.write(good[0])
        rr = harness.run_case(self.restore, echo)
        rb = harness.run_case(self.bare, echo)
        reasons += [f"restore: {r}" for r in rr.reasons] + [f"bare: {r}" for r in rb.reasons]
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
        return harness.Result(self, not reasons, reasons, rr.log_path, time.monotonic() - start, rr.log)
