"""A real DNS server for tests: Debian's dnsmasq on a loopback UDP port,
answering from a hosts file of its own (no upstream servers, not the system's
/etc/hosts). `set()` rewrites the file and makes dnsmasq read it again."""

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DNSMASQ = "/usr/sbin/dnsmasq"


def _free_udp_port():
    """A port free for both UDP and TCP: dnsmasq listens on both. (A port the
    kernel hands out for UDP may be some test's TCP listener.)"""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


class Dnsmasq:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="dnsmasq-test-"))
        os.chmod(self.dir, 0o755)
        self.hosts = self.dir / "hosts"
        self.log = self.dir / "dnsmasq.log"
        self.port = _free_udp_port()
        self.process = None

    @property
    def address(self):
        """For nginx's `resolver` directive."""
        return f"127.0.0.1:{self.port}"

    def set(self, entries):
        """entries: {name: [address, ...]}; other names under .test get NXDOMAIN."""
        text = "".join(f"{address} {name}\n" for name, addresses in entries.items() for address in addresses)
        self.hosts.write_text(text)
        os.chmod(self.hosts, 0o644)
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)  # re-reads --addn-hosts, clears its cache
            time.sleep(0.2)

    def start(self):
        if not self.hosts.exists():
            self.set({})
        self.process = subprocess.Popen(
            [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
             f"--addn-hosts={self.hosts}", f"--port={self.port}", "--listen-address=127.0.0.1",
             "--bind-interfaces", "--local=/test/", "--local-ttl=1", "--pid-file=", "--user=root", "--log-queries",
             f"--log-facility={self.log}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {self.process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("dnsmasq does not answer")
            time.sleep(0.05)
        return self

    def _answers(self):
        """True once dnsmasq answers a query (any answer, NXDOMAIN included)."""
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x05probe\x04test\x00\x00\x01\x00\x01")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query, ("127.0.0.1", self.port))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)
            self.process = None
