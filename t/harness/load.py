"""Continuous load for fault tests: a few threads sending requests through
nginx, each on a fresh connection (so a reload or a killed worker never leaves
a request in doubt: a response means the request was served), counting
statuses and client-side failures.

    with Load(server.port, ["/app/echo", "/static"]) as load:
        ...  # break things
    assert load.failures == {} and load.served == load.statuses[200]
"""

import http.client
import threading
import time
from collections import Counter


class Load:
    def __init__(self, port, paths, threads=4, pause=0.0, timeout=10):
        self.port = port
        self.paths = list(paths)
        self.pause = pause
        self.timeout = timeout
        self.statuses = Counter()
        self.failures = Counter()  # exception type -> count
        self.failure_examples = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "a load thread is stuck"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def served(self):
        with self._lock:
            return sum(self.statuses.values())

    def wait_served(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while self.served < n:
            assert time.monotonic() < deadline, f"only {self.served} of {n} requests served in {timeout}s"
            time.sleep(0.02)

    def _run(self, index):
        i = index
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                conn.request("GET", path, headers={"Host": "localhost", "Accept-Encoding": "identity"})
                reply = conn.getresponse()
                reply.read()
                with self._lock:
                    self.statuses[reply.status] += 1
            except (OSError, http.client.HTTPException) as e:
                with self._lock:
                    self.failures[type(e).__name__] += 1
                    if len(self.failure_examples) < 5:
                        self.failure_examples.append(f"{path}: {e!r}")
            finally:
                conn.close()
            if self.pause:
                time.sleep(self.pause)


def rss_kb(pid):
    """VmRSS of a process, in kB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
