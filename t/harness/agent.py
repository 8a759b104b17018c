"""A strict stand-in for the Datadog Agent's trace intake, for integration tests.

``TestAgent`` is an HTTP/1.1 server on a background thread (its own asyncio
event loop).  It is written on raw ``asyncio`` streams rather than an HTTP
framework because some modes must misbehave at the byte level: answer
garbage, hang forever, drop the connection, or stop listening altogether.

Everything the nginx module sends is checked strictly (HTTP framing, the
headers the real agent relies on, and every span field's msgpack *encoding*,
via ``strict_msgpack``).  Violations are collected in ``agent.errors`` so a
test can end with ``agent.assert_clean()``.

Standard library only.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

try:  # imported as package ``harness.agent`` (pytest) ...
    from . import strict_msgpack
except ImportError:  # ... or as a top-level module (scripts with sys.path tweaks)
    import strict_msgpack  # type: ignore[no-redef]

MsgpackError = strict_msgpack.MsgpackError

__all__ = ["TestAgent", "Payload", "Headers", "validate_traces", "SPAN_FIELDS", "MODES"]

TRACES_PATH = "/v0.4/traces"
INFO_BODY = {"version": "7.50.0", "endpoints": [TRACES_PATH]}

# Bytes that are definitely not an HTTP response (used by the "garbage" mode).
GARBAGE = b"\x00\xffnot http\r\n\r\n"

# Fixed modes; "status:N" is accepted in addition for any 100 <= N <= 599.
# "slow" answers like "ok" one byte at a time (``slow_delay`` seconds apart);
# "truncate" accepts the payload like "ok" but hangs up halfway through the
# reply's body, so the client cannot know it was accepted.
MODES = ("ok", "refuse", "stall", "garbage", "close", "slow", "truncate")

# Guard rails so a broken client cannot make the test process eat all memory.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024

# ---------------------------------------------------------------------------
# Span validation
# ---------------------------------------------------------------------------

# The exact key set of a span in a /v0.4/traces payload.
SPAN_FIELDS = ("service", "name", "resource", "type",
               "trace_id", "span_id", "parent_id",
               "start", "duration", "error", "meta", "metrics")


def _check_span_field(key: str, node: strict_msgpack.Node) -> List[str]:
    """Problems with one span field (messages without the trace/span prefix)."""
    d = strict_msgpack.describe
    if key in ("service", "name", "resource", "type"):
        return [] if node.kind == "str" else [f"{key} is {d(node)}, expected str"]

    if key in ("trace_id", "span_id", "parent_id"):
        # IDs are unsigned 64-bit.  A signed encoding is a bug even when the
        # value happens to be non-negative (the high bit would flip sign).
        if node.kind != "uint":
            return [f"{key} is {d(node)} with value {node.value!r}, expected an unsigned integer encoding"]
        if key != "parent_id" and node.value == 0:
            return [f"{key} is 0, expected non-zero"]
        return []

    if key in ("start", "duration"):
        if node.kind not in ("uint", "int"):
            return [f"{key} is {d(node)}, expected an integer"]
        if key == "start" and node.value <= 0:
            return [f"start is {node.value}, expected > 0 (nanoseconds since the epoch)"]
        if node.value < 0:
            return [f"duration is {node.value}, expected >= 0"]
        return []

    if key == "error":
        if node.kind not in ("uint", "int"):
            return [f"error is {d(node)}, expected integer 0 or 1"]
        if node.value not in (0, 1):
            return [f"error is {node.value}, expected 0 or 1"]
        return []

    if key in ("meta", "metrics"):
        if node.kind != "map":
            return [f"{key} is {d(node)}, expected map"]
        problems = []
        seen = set()
        for i, (k, v) in enumerate(node.value):
            if k.kind != "str":
                problems.append(f"{key} key #{i} is {d(k)} ({k.value!r}), expected str")
                continue
            if k.value in seen:
                problems.append(f"{key} has duplicate key {k.value!r}")
            seen.add(k.value)
            if key == "meta" and v.kind != "str":
                problems.append(f"meta[{k.value!r}] is {d(v)} ({v.value!r}), expected str")
            if key == "metrics" and v.kind != "float64":
                problems.append(f"metrics[{k.value!r}] is {d(v)}, expected float64")
        return problems

    raise AssertionError(f"no check for span field {key!r}")  # pragma: no cover


def validate_traces(data: bytes) -> Tuple[List[List[Dict[str, Any]]], List[str]]:
    """Decode and strictly validate a ``/v0.4/traces`` msgpack body.

    Returns ``(traces, errors)``:

    * ``traces`` -- plain Python: a list of traces, each a list of span dicts
      (values converted with ``strict_msgpack.to_python``).  Best effort: a
      span with problems is still included if it is a map; things that are not
      arrays/maps where one is expected are skipped.  Empty if the body does
      not decode at all.
    * ``errors`` -- human-readable strings, e.g.
      ``"trace 0 span 1: metrics['_sampling_priority_v1'] is float32, expected float64"``.
      Empty means the body is valid.
    """
    _, traces, errors = _validate_traces(data)
    return traces, errors


def _validate_traces(data: bytes) -> Tuple[Optional[int], List[List[Dict[str, Any]]], List[str]]:
    """validate_traces, plus the number of elements of the top-level array
    (None if the body is not an array) for the X-Datadog-Trace-Count check."""
    try:
        root = strict_msgpack.decode(data)
    except MsgpackError as e:
        return None, [], [f"body is not valid msgpack: {e}"]

    if root.kind != "array":
        return None, [], [f"body is {strict_msgpack.describe(root)}, expected an array of traces"]

    traces: List[List[Dict[str, Any]]] = []
    errors: List[str] = []
    for ti, trace_node in enumerate(root.value):
        if trace_node.kind != "array":
            errors.append(f"trace {ti}: is {strict_msgpack.describe(trace_node)}, expected an array of spans")
            continue
        if not trace_node.value:
            errors.append(f"trace {ti}: is empty, expected at least one span")
        spans: List[Dict[str, Any]] = []
        first_trace_id: Optional[int] = None  # trace_id of span 0, for the same-trace check
        for si, span_node in enumerate(trace_node.value):
            where = f"trace {ti} span {si}"
            if span_node.kind != "map":
                errors.append(f"{where}: is {strict_msgpack.describe(span_node)}, expected a map")
                continue
            fields: Dict[str, strict_msgpack.Node] = {}
            for ki, (k, v) in enumerate(span_node.value):
                if k.kind != "str":
                    errors.append(f"{where}: key #{ki} is {strict_msgpack.describe(k)} "
                                  f"({k.value!r}), expected str")
                    continue
                if k.value in fields:
                    errors.append(f"{where}: duplicate key {k.value!r}")
                elif k.value not in SPAN_FIELDS:
                    errors.append(f"{where}: unexpected key {k.value!r}")
                fields[k.value] = v  # last one wins, like most decoders
            for key in SPAN_FIELDS:
                if key not in fields:
                    errors.append(f"{where}: missing key {key!r}")
                else:
                    errors.extend(f"{where}: {p}" for p in _check_span_field(key, fields[key]))

            tid = fields.get("trace_id")
            if tid is not None and tid.kind in ("uint", "int"):
                if first_trace_id is None:
                    first_trace_id = tid.value
                elif tid.value != first_trace_id:
                    errors.append(f"{where}: trace_id {tid.value} differs from trace_id "
                                  f"{first_trace_id} of the first span in the same trace")
            spans.append({k: strict_msgpack.to_python(v) for k, v in fields.items()})
        traces.append(spans)
    return len(root.value), traces, errors


# ---------------------------------------------------------------------------
# HTTP bits
# ---------------------------------------------------------------------------

class Headers:
    """Case-insensitive, order-preserving header list that keeps duplicates."""

    def __init__(self, pairs: Iterable[Tuple[str, str]] = ()):
        self._pairs: List[Tuple[str, str]] = list(pairs)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """First value of header ``name``, or ``default``."""
        lname = name.lower()
        for k, v in self._pairs:
            if k.lower() == lname:
                return v
        return default

    def get_all(self, name: str) -> List[str]:
        lname = name.lower()
        return [v for k, v in self._pairs if k.lower() == lname]

    def items(self) -> List[Tuple[str, str]]:
        return list(self._pairs)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self):
        return (k for k, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


@dataclass
class Payload:
    """One HTTP request received by the agent (for the traces endpoint: one payload)."""
    method: str
    path: str
    version: str              # e.g. "HTTP/1.1"
    headers: Headers
    body: bytes
    connection: int           # 1-based number of the connection it arrived on
    mode: str                 # agent mode when the request was handled
    traces: List[List[Dict[str, Any]]] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)   # violations found in this request
    status: Optional[int] = None   # status we answered; None if we did not answer
    accepted: bool = False         # True if answered (or began to answer) 200 on the traces endpoint
    received_at: float = field(default_factory=time.time)

    def spans(self) -> List[Dict[str, Any]]:
        return [s for t in self.traces for s in t]


class _BadRequest(Exception):
    """Request cannot be framed/parsed; we answer ``status`` and close."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(r"^HTTP/1\.[01]$")


def _parse_head(head: bytes) -> Tuple[str, str, str, Headers]:
    """Parse request line + header block (``head`` ends with CRLF CRLF)."""
    lines = head[:-4].split(b"\r\n")
    for line in lines:
        if b"\n" in line or b"\r" in line:
            raise _BadRequest("bare CR or LF in request head (lines must end with CRLF)")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise _BadRequest(f"malformed request line {lines[0]!r}")
    method, target, version = (p.decode("latin-1") for p in parts)
    if not _TOKEN.match(parts[0]):
        raise _BadRequest(f"malformed method {method!r}")
    if not _VERSION.match(version):
        raise _BadRequest(f"unsupported HTTP version {version!r}", 505)
    pairs = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise _BadRequest(f"obsolete header line folding: {line!r}")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            # Also catches "Name : value" (whitespace before the colon), which
            # RFC 9112 says must be rejected.
            raise _BadRequest(f"malformed header line {line!r}")
        pairs.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method, target, version, Headers(pairs)


def _response(status: int, body: bytes = b"", content_type: str = "text/plain",
              close: bool = False) -> bytes:
    head = [f"HTTP/1.1 {status} {_phrase(status)}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}"]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


# ---------------------------------------------------------------------------
# The agent
# ---------------------------------------------------------------------------

class TestAgent:
    """Fake Datadog Agent.  See the module docstring and README of the harness.

    Thread-safety: the server runs on its own thread; the public attributes
    and methods are safe to use from the test thread.
    """

    __test__ = False  # the name starts with "Test": keep pytest from collecting it

    def __init__(self, listen: str = "127.0.0.1", unix_path: Optional[str] = None,
                 port: int = 0, mode: str = "ok",
                 rate_by_service: Optional[Dict[str, float]] = None,
                 on_payload: Optional[Callable[[Payload], None]] = None):
        if listen not in ("::1", "both", "unix") and not re.fullmatch(r"127\.\d+\.\d+\.\d+", listen):
            raise ValueError(f"listen must be 127.x.y.z, ::1, both or unix, not {listen!r}")
        self.listen = listen
        self.port = port
        self.unix_path = unix_path
        self.rate_by_service: Dict[str, float] = (
            {"service:,env:": 1.0} if rate_by_service is None else rate_by_service)
        # Called on the agent thread for every request (traces or not) after
        # it was answered.  Used by scripts/agent-sink to print spans live.
        self.on_payload = on_payload

        self._mode = self._check_mode(mode)
        self.slow_delay = 0.01  # seconds between the bytes of a reply in "slow" mode
        # Seconds a reply to a traces payload is held back after the whole
        # request was read and accepted (any mode that answers): the payload
        # is then at the agent while its sender still waits for the answer.
        self.reply_delay = 0.0
        self._lock = threading.Lock()
        self._requests: List[Payload] = []
        self._errors: List[str] = []
        self._connections = 0

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._servers: List[asyncio.base_events.Server] = []
        self._conn_tasks: set = set()
        self._tmpdir: Optional[str] = None  # created by us for a default unix_path

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "TestAgent":
        """Bind and start serving; returns once the sockets are listening."""
        if self._thread is not None:
            raise RuntimeError("agent already started")
        if self.listen == "unix" and self.unix_path is None:
            # Short path on purpose: sun_path is limited to ~107 bytes.
            self._tmpdir = tempfile.mkdtemp(prefix="ddagent-")
            self.unix_path = os.path.join(self._tmpdir, "apm.socket")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="TestAgent", daemon=True)
        self._thread.start()
        try:
            self._call(self._bind())
            if self._mode == "refuse":
                self._call(self._unbind())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close everything and join the thread.  Safe to call twice."""
        if self._loop is None:
            return
        if self._loop.is_running():
            try:
                self._call(self._unbind())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None
        self._thread = None
        if self.listen == "unix" and self.unix_path:
            _unlink_socket(self.unix_path)
        if self._tmpdir:
            try:
                os.rmdir(self._tmpdir)
            except OSError:
                pass
            self._tmpdir = None

    def __enter__(self) -> "TestAgent":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """URL to give the module, e.g. ``http://127.0.0.1:8126`` or ``unix:///tmp/x.sock``."""
        if self.listen == "unix":
            return f"unix://{self.unix_path}"
        host = {"::1": "[::1]", "both": "localhost"}.get(self.listen, self.listen)
        return f"http://{host}:{self.port}"

    # -- mode --------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        """Change behaviour.  Takes effect before the setter returns:
        after ``agent.mode = "refuse"`` connects are refused; switching away
        from "refuse" re-binds the same port(s)/path."""
        value = self._check_mode(value)
        running = self._loop is not None and self._loop.is_running()
        if not running:
            self._mode = value
            return
        if threading.current_thread() is self._thread:
            # Called from on_payload on the agent thread: cannot block on ourselves.
            self._loop.create_task(self._apply_mode(value))
        else:
            self._call(self._apply_mode(value))

    @staticmethod
    def _check_mode(value: str) -> str:
        if value in MODES:
            return value
        m = re.fullmatch(r"status:(\d{3})", value or "")
        if m and 100 <= int(m.group(1)) <= 599:
            return value
        raise ValueError(f"unknown agent mode {value!r}; expected one of {MODES} or status:NNN")

    async def _apply_mode(self, value: str) -> None:
        self._mode = value
        if value == "refuse":
            await self._unbind()
        elif not self._servers:
            await self._bind()

    # -- observations ------------------------------------------------------

    @property
    def requests(self) -> List[Payload]:
        """Every request received, any path (snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def payloads(self) -> List[Payload]:
        """Requests to /v0.4/traces, accepted or not (snapshot)."""
        with self._lock:
            return [p for p in self._requests if p.path == TRACES_PATH]

    @property
    def errors(self) -> List[str]:
        """Protocol violations seen so far (snapshot)."""
        with self._lock:
            return list(self._errors)

    @property
    def connections(self) -> int:
        """Number of connections accepted so far."""
        with self._lock:
            return self._connections

    def traces(self) -> List[List[Dict[str, Any]]]:
        """All traces from accepted payloads, in arrival order."""
        return [t for p in self.payloads if p.accepted for t in p.traces]

    def spans(self) -> List[Dict[str, Any]]:
        """All spans from accepted payloads, in arrival order."""
        return [s for t in self.traces() for s in t]

    def drain(self) -> Tuple[List[Payload], List[str]]:
        """Take (and forget) every request and violation seen so far, at once:
        long runs count as they go without keeping every payload."""
        with self._lock:
            requests, self._requests = self._requests, []
            errors, self._errors = self._errors, []
            return requests, errors

    def clear(self) -> None:
        """Forget requests, errors and the connection count."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._connections = 0

    def wait_for_spans(self, n: int, timeout: float = 10) -> List[Dict[str, Any]]:
        """Wait until at least ``n`` spans were accepted; return all spans."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if len(spans) >= n:
                return spans
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected at least {n} span(s) within {timeout}s, got {len(spans)}; "
                    f"{self._summary()}")
            time.sleep(0.02)

    def wait_for_payloads(self, n: int, timeout: float = 10) -> List[Payload]:
        """Wait until at least ``n`` requests hit /v0.4/traces (any outcome)."""
        deadline = time.monotonic() + timeout
        while True:
            payloads = self.payloads
            if len(payloads) >= n:
                return payloads
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected at least {n} payload(s) within {timeout}s, got {len(payloads)}; "
                    f"{self._summary()}")
            time.sleep(0.02)

    def assert_clean(self) -> None:
        """Fail with every protocol violation seen, if any."""
        errors = self.errors
        if errors:
            raise AssertionError(f"the test agent saw {len(errors)} protocol violation(s):\n  "
                                 + "\n  ".join(errors))

    def _summary(self) -> str:
        reqs = self.requests
        lines = [f"{len(reqs)} request(s) on {self.connections} connection(s), mode {self.mode!r}"]
        for i, p in enumerate(reqs):
            lines.append(f"  #{i}: {p.method} {p.path} -> {p.status} "
                         f"({len(p.spans())} span(s), accepted={p.accepted}, mode={p.mode})")
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)

    # -- plumbing (agent thread) -------------------------------------------

    def _call(self, coro, timeout: float = 10):
        """Run a coroutine on the agent loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    def _listen_sockets(self) -> List[socket.socket]:
        """Create bound, listening sockets for ``self.listen`` on ``self.port``."""
        if self.listen == "unix":
            _unlink_socket(self.unix_path)  # stale file from refuse mode / earlier run
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(self.unix_path)
                s.listen(128)
            except BaseException:
                s.close()
                raise
            return [s]

        hosts = {"::1": ["::1"], "both": ["127.0.0.1", "::1"]}.get(self.listen, [self.listen])
        # For port 0 with two addresses the kernel's pick on 127.0.0.1 may be
        # taken on ::1; retry with a fresh pick in that (rare) case.
        attempts = 50 if self.port == 0 and len(hosts) > 1 else 1
        for attempt in range(attempts):
            socks: List[socket.socket] = []
            port = self.port
            try:
                for host in hosts:
                    family = socket.AF_INET6 if ":" in host else socket.AF_INET
                    s = socket.socket(family, socket.SOCK_STREAM)
                    socks.append(s)
                    # SO_REUSEADDR: re-binding after "refuse" must work even
                    # with connections of the old listener in TIME_WAIT.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind((host, port))
                    s.listen(128)
                    port = s.getsockname()[1]
                self.port = port
                return socks
            except OSError as e:
                for s in socks:
                    s.close()
                if e.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _bind(self) -> None:
        for s in self._listen_sockets():
            if s.family == socket.AF_UNIX:
                server = await asyncio.start_unix_server(self._on_connection, sock=s,
                                                         limit=MAX_HEAD_BYTES)
            else:
                server = await asyncio.start_server(self._on_connection, sock=s,
                                                    limit=MAX_HEAD_BYTES)
            self._servers.append(server)

    async def _unbind(self) -> None:
        """Stop listening and drop every open connection (the agent 'went away')."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()
        tasks = list(self._conn_tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        # The socket file stays (asyncio does not unlink a socket passed in
        # via sock=), so connecting to it gives ECONNREFUSED, like TCP.

    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._connections += 1
            conn_id = self._connections
        task = asyncio.current_task()
        self._conn_tasks.add(task)
        try:
            # One request per iteration; stop when either side wants to close.
            while await self._serve_one(reader, writer, conn_id):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass  # client went away; nothing to report
        finally:
            self._conn_tasks.discard(task)
            writer.close()

    async def _read_body(self, reader: asyncio.StreamReader, headers: Headers) -> Tuple[bytes, bool]:
        """Read the body per Content-Length / chunked.  Returns (body, framed)
        where framed says whether the request declared a body at all."""
        te = headers.get_all("Transfer-Encoding")
        cl = headers.get_all("Content-Length")
        if te and cl:
            raise _BadRequest("both Transfer-Encoding and Content-Length present")
        if te:
            if len(te) != 1 or te[0].strip().lower() != "chunked":
                raise _BadRequest(f"unsupported Transfer-Encoding {te!r}", 501)
            return await self._read_chunked(reader), True
        if cl:
            if len(set(cl)) != 1 or not (cl[0].isascii() and cl[0].isdigit()):
                raise _BadRequest(f"invalid Content-Length {cl!r}")
            length = int(cl[0])
            if length > MAX_BODY_BYTES:
                raise _BadRequest(f"Content-Length {length} exceeds the test agent limit", 413)
            return await reader.readexactly(length), True
        return b"", False

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line[:-2].split(b";", 1)[0].strip(b" \t")
            if not size_text or not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
                raise _BadRequest(f"malformed chunk size line {line!r}")
            size = int(size_text, 16)
            if size == 0:
                # Trailer section: header lines until an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise _BadRequest("chunked body exceeds the test agent limit", 413)
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise _BadRequest(f"chunk of {size} bytes not followed by CRLF")

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         conn_id: int) -> bool:
        """Handle one request.  Returns True to keep the connection open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial:
                self._record_error(f"connection #{conn_id}: closed in the middle of a "
                                   f"request head ({len(e.partial)} bytes: {e.partial[:80]!r})")
            return False  # a clean close between requests is normal keep-alive behaviour
        except asyncio.LimitOverrunError:
            self._record_error(f"connection #{conn_id}: request head larger than {MAX_HEAD_BYTES} bytes")
            writer.write(_response(431, b"request head too large\n", close=True))
            await writer.drain()
            return False

        mode = self._mode
        try:
            method, path, version, headers = _parse_head(head)
            if version == "HTTP/1.1" and "Host" not in headers:
                raise _BadRequest("HTTP/1.1 request without a Host header")
            # curl sends "Expect: 100-continue" for big bodies and waits (1 s)
            # for the interim answer; give it, except when told to be silent.
            if headers.get("Expect", "").lower() == "100-continue" and mode != "stall":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            body, framed = await self._read_body(reader, headers)
        except _BadRequest as e:
            self._record_error(f"connection #{conn_id}: bad HTTP request: {e} "
                               f"(head: {head[:200]!r})")
            if mode not in ("stall", "close", "garbage", "refuse"):
                writer.write(_response(e.status, f"{e}\n".encode(), close=True))
                await writer.drain()
            return False
        except asyncio.IncompleteReadError as e:
            self._record_error(f"connection #{conn_id}: connection closed in the middle of the "
                               f"body of {head.split(b' ', 2)[:2]!r} after {len(e.partial)} bytes")
            return False

        conn_tokens = {t.strip().lower() for v in headers.get_all("Connection") for t in v.split(",")}
        keep_alive = ("close" not in conn_tokens) if version == "HTTP/1.1" else ("keep-alive" in conn_tokens)

        with self._lock:
            index = len(self._requests)
        req = Payload(method=method, path=path, version=version, headers=headers,
                      body=body, connection=conn_id, mode=mode)
        prefix = f"request #{index} ({method} {path}, connection #{conn_id})"

        # Validate whatever the mode: a malformed payload is a bug even when the
        # agent is pretending to be down.
        is_traces = path == TRACES_PATH and method in ("PUT", "POST")
        is_info = path == "/info" and method == "GET"
        if is_traces:
            self._check_traces_request(req, framed)
        elif not is_info:
            req.errors.append(f"unexpected request {method} {path}")
        with self._lock:
            self._requests.append(req)
            self._errors.extend(f"{prefix}: {e}" for e in req.errors)

        try:
            return await self._answer(req, mode, keep_alive, is_traces, is_info, reader, writer)
        finally:
            if self.on_payload is not None:
                try:
                    self.on_payload(req)
                except Exception as e:  # a broken printer must not kill the agent
                    self._record_error(f"on_payload callback raised {e!r}")

    async def _answer(self, req: Payload, mode: str, keep_alive: bool, is_traces: bool,
                      is_info: bool, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> bool:
        if mode == "stall":
            # Never answer; swallow whatever else arrives until the client gives
            # up or stop()/refuse cancels this task.
            while await reader.read(65536):
                pass
            return False
        if mode in ("close", "refuse"):  # "refuse" only in a race with the mode switch
            return False
        if mode == "garbage":
            writer.write(GARBAGE)
            await writer.drain()
            return False

        if mode.startswith("status:"):
            status = int(mode.split(":", 1)[1])
            if status == 429:
                # The real agent still tells the tracer its sampling rates when
                # it rate-limits.
                body, ctype = _json({"rate_by_service": self.rate_by_service}), "application/json"
            else:
                body, ctype = f"{status} {_phrase(status)} (test agent mode {mode})\n".encode(), "text/plain"
        elif is_traces:
            if req.errors:
                status, ctype = 400, "application/json"
                body = _json({"error": "invalid payload", "details": req.errors})
            else:
                status, ctype = 200, "application/json"
                body = _json({"rate_by_service": self.rate_by_service})
                req.accepted = True
        elif is_info:
            status, body, ctype = 200, _json(INFO_BODY), "application/json"
        else:
            status, body, ctype = 404, b"404 page not found\n", "text/plain"

        if status < 200:
            keep_alive = False  # an interim status as a final answer: nothing sane follows
        req.status = status
        if is_traces and self.reply_delay > 0:
            await asyncio.sleep(self.reply_delay)
        reply = _response(status, body, ctype, close=not keep_alive)
        if mode == "truncate":  # the whole head, half the body
            writer.write(reply[:len(reply) - len(body) // 2 - 1])
            await writer.drain()
            return False
        if mode == "slow":
            for i in range(len(reply)):
                writer.write(reply[i:i + 1])
                await writer.drain()
                await asyncio.sleep(self.slow_delay)
            return keep_alive
        writer.write(reply)
        await writer.drain()
        return keep_alive

    def _check_traces_request(self, req: Payload, framed: bool) -> None:
        """Fill req.traces / req.errors for a /v0.4/traces request."""
        h = req.headers
        if not framed:
            req.errors.append("no Content-Length or Transfer-Encoding: chunked (no body)")
        ctype = h.get("Content-Type")
        if ctype is None:
            req.errors.append("missing Content-Type (expected application/msgpack)")
        elif ctype.split(";", 1)[0].strip().lower() != "application/msgpack":
            req.errors.append(f"Content-Type is {ctype!r}, expected application/msgpack")
        for name in ("Datadog-Meta-Lang", "Datadog-Meta-Tracer-Version"):
            if not h.get(name):
                req.errors.append(f"missing or empty {name} header")

        n_traces, req.traces, errors = _validate_traces(req.body)
        req.errors.extend(errors)

        count = h.get("X-Datadog-Trace-Count")
        if count is None:
            req.errors.append("missing X-Datadog-Trace-Count header")
        elif not (count.isascii() and count.isdigit()):
            req.errors.append(f"X-Datadog-Trace-Count {count!r} is not a non-negative integer")
        elif n_traces is not None and int(count) != n_traces:
            # Only comparable when the body decoded to an array.
            req.errors.append(f"X-Datadog-Trace-Count is {count} but the body holds "
                              f"{n_traces} trace(s)")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _unlink_socket(path: str) -> None:
    """Remove a unix socket file if present (never a regular file: that would
    be a mistake in the path, and deleting it would hide the mistake)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
