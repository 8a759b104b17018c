"""Start and stop a real Gunicorn serving harness/upstream_app.py.

    with Upstream() as up:
        conn = http.client.HTTPConnection("127.0.0.1", up.port)
        ...

nginx is configured with ``proxy_pass {up.url}`` (or an ``upstream`` block
with ``server {up.address}``).
"""

import atexit
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time

PYTHON = "/usr/bin/python3"

HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
# Gunicorn runs from t/ and imports the app as a package module, so that no
# harness file can ever shadow a standard-library module of the same name.
TESTS_DIR = os.path.dirname(HARNESS_DIR)
APP = "harness.upstream_app:app"


class UpstreamError(RuntimeError):
    """Gunicorn failed to start; the message carries its logs."""


class Upstream:
    """A Gunicorn process group serving the test app on 127.0.0.1:<free port>.

    worker_class "gthread" (default) serves ``threads`` requests per worker
    concurrently, so a slow /sleep does not hold up other requests, and it
    honours HTTP keep-alive for ``keepalive`` seconds (nginx's upstream
    keep-alive is benchmarked against it).  "sync" serves one request per
    worker at a time and always closes the connection after the response.
    """

    def __init__(
        self,
        workers=2,
        worker_class="gthread",
        threads=4,
        keepalive=75,
        timeout=30,
        graceful_timeout=2,
        access_log=True,
        startup_timeout=10.0,
        stop_timeout=5.0,
        log_dir=None,
        extra_args=(),
    ):
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        # Longer than nginx's default upstream keepalive_timeout (60 s) so that
        # nginx, not Gunicorn, decides when idle upstream connections close;
        # otherwise nginx may reuse a connection Gunicorn is just closing.
        self.keepalive = keepalive
        self.timeout = timeout
        self.graceful_timeout = graceful_timeout
        self.access_log = access_log
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = list(extra_args)

        self._own_log_dir = log_dir is None
        self.log_dir = log_dir
        self.log_path = None
        self.stderr_path = None
        self.port = None
        self.proc = None

    # -- addresses ----------------------------------------------------------

    @property
    def host(self):
        return "127.0.0.1"

    @property
    def address(self):
        """"127.0.0.1:PORT", for nginx ``server``/``proxy_pass`` directives."""
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://%s" % self.address

    @property
    def pid(self):
        """PID of the Gunicorn master (also the process-group id)."""
        return self.proc.pid if self.proc else None

    def connection(self, timeout=10):
        """A fresh http.client connection straight to Gunicorn (no nginx)."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def read_log(self):
        """Gunicorn's error (and access, if enabled) log so far."""
        return _read(self.log_path)

    # -- lifecycle ----------------------------------------------------------

    def command(self, fd):
        """Gunicorn command line listening on the inherited socket ``fd``."""
        cmd = [
            PYTHON, "-m", "gunicorn",
            "--bind", "fd://%d" % fd,
            "--chdir", TESTS_DIR,
            "--workers", str(self.workers),
            "--worker-class", self.worker_class,
            "--keep-alive", str(self.keepalive),
            "--timeout", str(self.timeout),
            "--graceful-timeout", str(self.graceful_timeout),
            "--error-logfile", self.log_path,
            "--log-level", "info",
        ]
        if self.worker_class == "gthread":
            # Only for gthread: with threads > 1 Gunicorn silently turns a
            # "sync" worker into gthread, which would defeat choosing sync.
            cmd += ["--threads", str(self.threads)]
        if self.access_log:
            cmd += ["--access-logfile", self.log_path]
        return cmd + self.extra_args + [APP]

    def start(self):
        if self.proc is not None:
            raise UpstreamError("upstream already started")
        if self.log_dir is None:
            self.log_dir = tempfile.mkdtemp(prefix="upstream-gunicorn-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_path = os.path.join(self.log_dir, "gunicorn.log")
        self.stderr_path = os.path.join(self.log_dir, "gunicorn.stderr")

        # Bind the listening socket here and hand it to Gunicorn (fd://N):
        # the port is ours from the start, so no other test process can grab
        # it between "find a free port" and Gunicorn's bind.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1024)
            self.port = listener.getsockname()[1]
            fd = listener.fileno()

            env = dict(os.environ)
            # Keep the source tree free of __pycache__ from the server side.
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONUNBUFFERED"] = "1"
            # Gunicorn honours GUNICORN_CMD_ARGS; an inherited one would
            # silently change the server under test.
            env.pop("GUNICORN_CMD_ARGS", None)

            with open(self.stderr_path, "wb") as stderr:
                self.proc = subprocess.Popen(
                    self.command(fd),
                    cwd=TESTS_DIR,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    pass_fds=(fd,),
                    # Own process group: stop() signals master and workers
                    # together, and a Ctrl-C on the test run does not race us.
                    start_new_session=True,
                )
        finally:
            # Gunicorn has its own copy now; ours would keep the port open
            # after Gunicorn dies and hide a crash from connect().
            listener.close()

        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self):
        """Poll GET / until a worker answers (the master alone cannot)."""
        deadline = time.monotonic() + self.startup_timeout
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UpstreamError(
                    "gunicorn exited with status %s during startup\n%s"
                    % (self.proc.returncode, self._logs())
                )
            conn = self.connection(timeout=1)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return
                last_error = "GET / returned %d" % resp.status
            except (OSError, http.client.HTTPException) as e:
                last_error = repr(e)
            finally:
                conn.close()
            time.sleep(0.05)
        raise UpstreamError(
            "gunicorn did not answer GET / within %.1f s (last error: %s)\n%s"
            % (self.startup_timeout, last_error, self._logs())
        )

    def _logs(self):
        return "--- stderr (%s) ---\n%s\n--- log (%s) ---\n%s" % (
            self.stderr_path, _read(self.stderr_path), self.log_path, _read(self.log_path),
        )

    def stop(self):
        """Stop master and workers; SIGKILL whatever ignores SIGTERM."""
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        pgid = proc.pid  # start_new_session made the master the group leader
        _killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            _killpg(pgid, signal.SIGKILL)
            proc.wait()
        # Workers normally exit with the master; kill any straggler (e.g. a
        # worker stuck in a long /sleep) so nothing outlives the test.  The
        # kernel does not reuse a pgid while any member is alive, so this
        # cannot hit an unrelated process.
        _killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + self.stop_timeout
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running on %s" % self.address if self.proc else "stopped"
        return "<Upstream %s %s>" % (self.worker_class, state)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _read(path):
    if not path:
        return ""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
