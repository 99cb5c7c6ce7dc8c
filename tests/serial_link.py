"""COM1 as the harness sees it when a case types (tests/harness.py).

The emulator serves COM1 on a TCP port; SerialLink copies what comes out
into the case's serial log and types bytes in. clean() turns the raw log
into what a terminal would show, which is what cases are judged on.
"""
import socket
import threading
import time

# turtle's console erases its prompt line before output ("\r" ESC "[K",
# kernel/console.c): what a terminal would show is what follows it.
ERASE_LINE = "\r\x1b[K"
SEND_GAP = 0.02                        # seconds between two typed bytes


def clean_line(line):
    """One console line as a terminal leaves it: no CR, no erased prompt."""
    line = line.rstrip("\r")
    k = line.rfind(ERASE_LINE)
    if k >= 0:
        line = line[k + len(ERASE_LINE):]
    return line.replace("\r", "")


def clean(raw):
    """The console text a case is judged on. Line by line, so the text of
    complete lines only ever grows as more output arrives."""
    return "\n".join(clean_line(line) for line in raw.split("\n"))


def free_port():
    """A TCP port nobody listens on now (the emulator binds it next)."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


class SerialLink:
    """COM1 on a socket: a thread appends everything received to the serial
    log; send() types bytes. Connects once the emulator listens."""

    def __init__(self, port, serial, proc):
        self.port, self.serial, self.proc = port, serial, proc
        self.sock = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + 60
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        if not self.sock:
            return
        self.sock.settimeout(None)
        self.ready.set()
        with open(self.serial, "ab") as log:
            while True:
                try:
                    data = self.sock.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                log.write(data)
                log.flush()

    def send(self, data, gap=SEND_GAP):
        if not self.ready.wait(timeout=10):
            return False
        for i in range(len(data)):
            try:
                self.sock.sendall(data[i:i + 1])
            except OSError:
                return False
            time.sleep(gap)
        return True

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass


def complete_lines(text):
    """The part of the text made of complete lines (up to the last newline)."""
    return text[:text.rfind("\n") + 1]
