#!/usr/bin/env python3
"""mkinitramfs.py OUT.cpio [DEST=SRC | DEST=@dir | DEST=@console | DEST->TARGET]...

Writes a newc cpio archive (the initramfs format, Linux
Documentation/driver-api/early-userspace/buffer-format.rst) without the
cpio tool and without root: DEST=SRC copies a file (mode from the source),
DEST=@dir makes a directory, DEST=@console the /dev/console character
device (5, 1) that the kernel opens for init's standard streams, and
DEST->TARGET a symbolic link. Parent directories are added as needed.
A kernel module (DEST ending in .ko) loses its appended signature: the
kernel does not enforce signatures here, and an unsigned module loads
faster (one "tainting kernel" line).
"""
import os
import stat
import struct
import sys

MODULE_SIG_MAGIC = b"~Module signature appended~\n"
MODULE_SIG_INFO = struct.Struct(">BBBBB3xI")   # algo, hash, id_type, signer_len, key_id_len, pad, sig_len
NEWC_MAGIC = b"070701"
CONSOLE_MAJOR, CONSOLE_MINOR = 5, 1


def strip_module_signature(data, name):
    """The module without its PKCS#7 trailer; unsigned modules are returned unchanged."""
    if not data.endswith(MODULE_SIG_MAGIC):
        return data
    end = len(data) - len(MODULE_SIG_MAGIC)
    if end < MODULE_SIG_INFO.size:
        sys.exit(f"mkinitramfs: {name}: signature trailer truncated")
    _, _, _, signer_len, key_id_len, sig_len = MODULE_SIG_INFO.unpack_from(data, end - MODULE_SIG_INFO.size)
    body = end - MODULE_SIG_INFO.size - sig_len - signer_len - key_id_len
    if body <= 0 or not data[:4] == b"\x7fELF":
        sys.exit(f"mkinitramfs: {name}: bad module signature trailer")
    return data[:body]


class Archive:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1
        self.seen = set()

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_bytes = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
        self.ino += 1
        self.out += NEWC_MAGIC + b"".join(b"%08x" % f for f in fields) + name_bytes
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def parents(self, dest):
        parts = dest.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.seen:
                self.seen.add(d)
                self.entry(d, stat.S_IFDIR | 0o755)

    def add(self, spec):
        if "->" in spec:
            dest, target = spec.split("->", 1)
            self.parents(dest)
            self.entry(dest, stat.S_IFLNK | 0o777, target.encode())
            return
        dest, src = spec.split("=", 1)
        dest = dest.strip("/")
        self.parents(dest)
        if src == "@dir":
            if dest not in self.seen:
                self.seen.add(dest)
                self.entry(dest, stat.S_IFDIR | 0o755)
        elif src == "@console":
            self.entry(dest, stat.S_IFCHR | 0o600, rdev=(CONSOLE_MAJOR, CONSOLE_MINOR))
        else:
            with open(src, "rb") as f:
                data = f.read()
            if dest.endswith(".ko"):
                data = strip_module_signature(data, src)
            executable = os.stat(src).st_mode & 0o111 or dest == "init" or dest.startswith("bin/")
            mode = 0o755 if executable else 0o644
            self.entry(dest, stat.S_IFREG | mode, data)

    def finish(self):
        self.entry("TRAILER!!!", 0)
        self.out += b"\0" * (-len(self.out) % 512)
        return bytes(self.out)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    archive = Archive()
    for spec in argv[2:]:
        archive.add(spec)
    data = archive.finish()
    tmp = argv[1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, argv[1])
    print(f"mkinitramfs: {argv[1]}: {len(argv) - 2} entries, {len(data) // 1024} KiB")


if __name__ == "__main__":
    main(sys.argv)
