"""Runs Debian's real /usr/sbin/nginx, with or without the built module, from a
throw-away prefix on free loopback ports.

A test gives the inside of the `http {}` block (or a whole file); placeholders
written @NAME@ are filled in: @PORT@ (and @PORT2@, @PORT3@) for listen ports
picked at start, @PREFIX@ for the temporary prefix, plus any the test passes
(e.g. @UPSTREAM@, @AGENT_URL@). nginx's own `$variables` stay untouched.
"""

import functools
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NGINX_BIN = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODULE = REPO / "build" / "ngx_http_datadog_module.so"

# Lines that mean a worker or the master died or nginx refused to run, or a
# sanitizer reported something.
CRASH_PATTERNS = re.compile(r"exited on signal|\[alert\]|\[emerg\]|core dumped|segmentation"
                            r"|AddressSanitizer|LeakSanitizer|runtime error:|SUMMARY: \w+Sanitizer", re.I)


def sanitizer_runtime(module):
    """The ASan runtime a sanitizer build of the module needs (e.g.
    "libasan.so.8"), or None. nginx itself is not instrumented, so the runtime
    must be preloaded: it has to come before every other library."""
    if module is None:
        return None
    info = Path(module).stat()
    return _needed_asan(str(module), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=8)
def _needed_asan(path, mtime, size):
    match = re.search(rb"libasan\.so\.\d+", Path(path).read_bytes())
    return match.group(0).decode() if match else None


def sanitizer_env(env, runtime, log_dir):
    """`env` (or ours) plus what nginx needs to run an ASan+UBSan module:
    the preloaded runtime, no leak check (nginx leaves its pools to the
    exiting process on purpose), the first report aborts the process (a
    worker "exited on signal 6" fails the test), reports go to files in
    log_dir, which crash_lines() reads."""
    env = dict(os.environ if env is None else env)
    # libstdc++ too: nginx (C) does not load it before the module, and ASan's
    # __cxa_throw interceptor must find it at start-up, or the first C++
    # exception (a configuration error caught in the module) aborts.
    env["LD_PRELOAD"] = " ".join(filter(None, [runtime, "libstdc++.so.6", env.get("LD_PRELOAD")]))
    common = f"log_path={log_dir}/sanitizer:abort_on_error=1:halt_on_error=1:print_stacktrace=1"
    env["ASAN_OPTIONS"] = f"{common}:detect_leaks=0:verify_asan_link_order=0:quarantine_size_mb=16"
    env["UBSAN_OPTIONS"] = common
    return env


def module_path():
    path = Path(os.environ.get("DATADOG_MODULE_PATH", DEFAULT_MODULE))
    if not path.is_file():
        raise FileNotFoundError(f"module not built: {path} (run scripts/build)")
    return path


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fill(template, values):
    """Replaces @NAME@ placeholders; an unknown one is a bug in the test."""

    def substitute(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"config placeholder @{name}@ has no value")
        return str(values[name])

    return re.sub(r"@([A-Z][A-Z0-9_]*)@", substitute, template)


class Nginx:
    """One nginx master (foreground, `daemon off`) and its workers."""

    def __init__(self, http=None, *, conf=None, module=True, workers=1, values=None,
                 main="", events="worker_connections 1024;", error_log_level="info",
                 prefix=None, env=None, hosts=None):
        self.prefix = Path(prefix or tempfile.mkdtemp(prefix="nginx-test-"))
        # Workers may run as another user: make the prefix readable to them.
        os.chmod(self.prefix, 0o755)
        (self.prefix / "logs").mkdir(exist_ok=True)
        (self.prefix / "html").mkdir(exist_ok=True)
        self.port, self.port2, self.port3 = free_port(), free_port(), free_port()
        self.values = {"PORT": self.port, "PORT2": self.port2, "PORT3": self.port3,
                       "PREFIX": self.prefix}
        self.values.update(values or {})
        self.module = module_path() if module else None
        self.workers = workers
        self.env = env
        runtime = sanitizer_runtime(self.module)
        self.sanitized = runtime is not None
        if self.sanitized:
            self.env = sanitizer_env(env, runtime, self.prefix / "logs")
        # `hosts`: text of a private /etc/hosts for this nginx only (e.g. to
        # make localhost resolve to ::1 as well, as on a stock Debian host),
        # bind-mounted in a mount namespace of its own; the system file stays.
        self.hosts_path = None
        if hosts is not None:
            self.hosts_path = self.prefix / "hosts"
            self.hosts_path.write_text(hosts)
        self.process = None
        # Regexes of crash lines a test caused on purpose (e.g. its own SIGKILL).
        self.expected_crash_lines = []
        self.conf_path = self.prefix / "nginx.conf"
        self.error_log_path = self.prefix / "logs" / "error.log"
        self.access_log_path = self.prefix / "logs" / "access.log"
        if conf is None:
            conf = self.wrap(http or "", main=main, events=events, level=error_log_level)
        self.write_config(conf)

    # --- configuration -------------------------------------------------------

    def wrap(self, http, *, main="", events="", level="info"):
        """A complete nginx.conf around the given http block body."""
        load = f"load_module {self.module};\n" if self.module else ""
        temp = "\n".join(
            f"    {kind}_temp_path @PREFIX@/{kind}_temp;"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return (
            f"{load}"
            "daemon off;\n"
            "master_process on;\n"
            "user root;\n"
            f"worker_processes {self.workers};\n"
            "pid @PREFIX@/nginx.pid;\n"
            f"error_log @PREFIX@/logs/error.log {level};\n"
            f"{main}\n"
            f"events {{ {events} }}\n"
            "http {\n"
            "    access_log @PREFIX@/logs/access.log;\n"
            f"{temp}\n"
            f"{http}\n"
            "}\n")

    def write_config(self, conf):
        self.conf_text = fill(conf, self.values)
        self.conf_path.write_text(self.conf_text)

    def command(self, *args):
        argv = [NGINX_BIN, *args, "-p", str(self.prefix), "-c", str(self.conf_path)]
        if self.hosts_path is None:
            return argv
        quoted = " ".join(f"'{a}'" for a in argv)
        return ["unshare", "-m", "sh", "-c", f"mount --bind '{self.hosts_path}' /etc/hosts && exec {quoted}"]

    def test_config(self):
        """`nginx -t`: returns (exit code, combined output)."""
        result = subprocess.run(
            self.command("-t"),
            capture_output=True, text=True, env=self.env, timeout=30)
        return result.returncode, result.stdout + result.stderr

    # --- life cycle ----------------------------------------------------------

    def start(self, wait_port=None, timeout=10):
        assert self.process is None, "already started"
        self.log_offset = self.error_log_size()
        # unshare and sh exec into nginx: the pid is the master's.
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env)
        port = wait_port if wait_port is not None else self.port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                self.process = None
                raise RuntimeError(f"nginx exited at start:\n{output}\n{self.error_log()}")
            if port is None or self._listening(port):
                if len(self.worker_pids()) >= self.workers:
                    return self
            time.sleep(0.02)
        self.stop(fast=True)
        raise TimeoutError(f"nginx did not listen on {port} within {timeout}s:\n{self.error_log()}")

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    def worker_pids(self):
        """The master's live children (workers, cache processes)."""
        if self.process is None:
            return set()
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # fields[0] is the state, fields[1] the parent pid; zombies are gone workers.
            if fields[1] == str(self.process.pid) and fields[0] != "Z":
                children.add(int(stat.parent.name))
        return children

    def signal(self, sig):
        self.process.send_signal(sig)

    def reload(self, timeout=10):
        """Like `nginx -s reload`: waits until every old worker has been replaced."""
        old = self.worker_pids()
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.worker_pids()
            new = current - old
            if len(new) >= self.workers and not (current & old):
                return new
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited on reload:\n{self.error_log()}")
            time.sleep(0.02)
        raise TimeoutError(f"reload did not replace workers {old}:\n{self.error_log()}")

    def stop(self, fast=False, timeout=15):
        """Graceful quit (SIGQUIT, like `nginx -s quit`) or fast stop (SIGTERM).
        Returns the master's exit code."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM if fast else signal.SIGQUIT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise TimeoutError(f"nginx did not stop within {timeout}s:\n{self.error_log()}")
        finally:
            process.stdout.close()
        return process.returncode

    def restart(self):
        self.stop()
        return self.start()

    # --- observation -----------------------------------------------------------

    def error_log_size(self):
        try:
            return self.error_log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def error_log(self):
        try:
            return self.error_log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_reports(self):
        """Whole sanitizer reports (one file per reporting process)."""
        return [path.read_text(errors="replace") for path in sorted((self.prefix / "logs").glob("sanitizer.*"))]

    def crash_lines(self):
        lines = [line for line in self.error_log().splitlines()
                 if CRASH_PATTERNS.search(line)
                 and not any(re.search(expected, line) for expected in self.expected_crash_lines)]
        return lines + self.sanitizer_reports()

    def url(self, path="/", port=None):
        return f"http://127.0.0.1:{port or self.port}{path}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
