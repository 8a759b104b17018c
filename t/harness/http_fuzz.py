"""A raw-HTTP fuzzer through real nginx with the module (see README.md,
"Fuzzing"). Standard library only (plus Debian's python3-grpcio for the gRPC
upstream, in http_fuzz_env.py).

Each case is one client connection: one request or several pipelined, in
HTTP/0.9, 1.0 or 1.1 form, with odd methods and targets, every propagation
header with valid, near-valid and garbage values, repeated and missing
headers, underscores, case variants, folded lines, chunked and
Content-Length bodies (valid and broken); sent at once or slowly, or cut
mid-request or mid-response. Case i of seed S is generated from its own
random.Random("S/i"), so a case is reproducible on its own, whatever ran
before it.

Checks: after every batch, no crash or alert in the error log and no
sanitizer report, a health request answered within a timeout, no protocol
violation at the strict test agent, no line of the module's written per
request; on every response, a status line for every request nginx must
answer, the propagation headers the application received (no duplicate,
no client-forged copy, printable ASCII), the time to answer; on every span,
http.host. A finding is re-sent case by case, then request by request, and
the request shrunk line by line while it still fails (bounded in time); the
report prints the bytes (repr).

    cd t && /usr/bin/python3 -m harness.http_fuzz --time 60 --seed 1
"""

import argparse
import json
import random
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# --- generation ----------------------------------------------------------------

# Tags a request carries when it has the shape of a defect known when the
# fuzzer was written; --exclude SHAPE keeps such requests out of a run (so a
# run gets past a known crash), never out of the smoke test.
SHAPES = {
    "http09": "an HTTP/0.9 request line (no version)",
    "long-query": "a query of over 1000 bytes (the default obfuscation regex takes seconds on eyJ or key "
                  "repeated thousands of times)",
    "invalid-utf8-baggage": "a baggage header with bytes or %XX escapes that are not UTF-8",
    "underscore-header": "a header name with an underscore (sent to the underscores_in_headers server)",
    "missing-host": "no Host header",
    "plain-gzip": "a target that answers, or may end at, a plain body labelled Content-Encoding: gzip",
    "sample-garbage": "X-Fuzz-Sample (the datadog_sample_rate condition) neither on nor off",
    "forged-pending": "a client-sent X-Datadog-Rum-Injection-Pending",
    "chunked-html": "a chunked HTML response through the RUM filter (found by this fuzzer: nginx logs "
                    "\"[alert] the http output chain is empty\" now and then, most with HTTP/1.0, untraced)",
}

SANE_METHODS = ("GET", "GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
ODD_METHODS = ("PROPFIND", "MKCOL", "TRACE", "CONNECT", "FOO", "get", "G\x00T", "GET\t", "M" * 300, "-",
               "POST ", "GE", "QUERY", "BREW", "LOCK")
ODD_VERSIONS = ("HTTP/1.2", "HTTP/2.0", "HTTP/1", "http/1.1", "HTTP/01.1", "HTTP/1.10", "HTTP/9.9", "HTTP/1.",
                "HTTP/1.1 x", "HTTP/0.9", "HTTP/1.1\x00", "HTTX/1.1")
HEX = "0123456789abcdef"

PROPAGATION_NAMES = ("traceparent", "tracestate", "x-datadog-trace-id", "x-datadog-parent-id",
                     "x-datadog-sampling-priority", "x-datadog-origin", "x-datadog-tags", "b3", "x-b3-traceid",
                     "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid", "baggage")
PENDING = "x-datadog-rum-injection-pending"
# Names the module removes from the request but, configured as in
# http_fuzz_env.py (b3 writes X-B3-TraceId/SpanId/Sampled only), never writes.
NEVER_FORWARDED = ("b3", "x-b3-flags", "x-b3-parentspanid")


def _hex(rng, n):
    return "".join(rng.choice(HEX) for _ in range(n))


def _digits(rng):
    return rng.choice([str(rng.randrange(1, 2**64)), str(rng.randrange(1, 1000)), "0", str(2**64),
                       str(2**64 - 1), "-1", "+5", "0x1f", " 42 ", "4" * 40, "", "1e3", "１２"])


def _garbage(rng):
    choices = ["", " ", "\t", "-", ",", ";", "=", "x" * rng.randrange(1, 3000), "\xff\xfe",
               "caf\xc3\xa9", "\xed\xa0\x80", "\x01\x02", "\x7f", "%00", "%ff", "null", "[]", "{}", "\\",
               "\"", "'", "<script>", "a,b,c", "=" * 50, "é" * 10]
    return rng.choice(choices)


def _traceparent(rng):
    trace, parent = _hex(rng, 32), _hex(rng, 16)
    flags = rng.choice(["01", "00", "03", "ff"])
    return rng.choice([
        f"00-{trace}-{parent}-{flags}", f"00-{trace}-{parent}-{flags}", f"00-{trace.upper()}-{parent}-01",
        f"00-{'0' * 32}-{parent}-01", f"00-{trace}-{'0' * 16}-01", f"ff-{trace}-{parent}-01",
        f"01-{trace}-{parent}-01-future", f"00-{trace}-{parent}-01-extra", f"00-{trace[:31]}-{parent}-01",
        f"00-{trace}-{parent}", f" 00-{trace}-{parent}-01 ", f"00_{trace}_{parent}_01", f"00-{trace}-{parent}-0g",
        _garbage(rng)])


def _tracestate(rng):
    p = _hex(rng, 16)
    entries = [f"dd=s:{rng.choice(['2', '1', '0', '-1', 'x'])};o:{rng.choice(['rum', 'synthetics', 'a~b', ''])};"
               f"t.dm:-{rng.randrange(0, 12)};p:{p}", "foo=bar", "rojo=00f067aa0ba902b7", "dd=", "dd=s:1;dd=x",
               "congo=t61rcWkgMzE", "k" * 300 + "=v", "=", "dd=t.tid:" + _hex(rng, 16), "dd=s:1;o:é",
               "dd=" + "x" * 300]
    n = rng.choice([1, 1, 2, 3, 40])
    return ",".join(rng.choice(entries) for _ in range(n)) if rng.random() < 0.9 else _garbage(rng)


def _datadog_tags(rng):
    parts = ["_dd.p.dm=-4", f"_dd.p.tid={_hex(rng, 16)}", "_dd.p.tid=zz", "_dd.p.usr=x", "other=1",
             "_dd.p.dm=", "=", "_dd.p.x=" + "v" * 600, "_dd.p.é=1", "_dd.p.dm=-4"]
    return ",".join(rng.choice(parts) for _ in range(rng.randrange(1, 6))) if rng.random() < 0.85 \
        else _garbage(rng)


def _b3(rng):
    t, s = rng.choice([_hex(rng, 32), _hex(rng, 16)]), _hex(rng, 16)
    return rng.choice([f"{t}-{s}-1", f"{t}-{s}-0", f"{t}-{s}-d", f"{t}-{s}-1-{_hex(rng, 16)}", f"{t}-{s}",
                       "0", "1", "d", f"{t}--1", f"{t}-{s}-x", _garbage(rng)])


def _baggage(rng):
    """(value, whether it holds something that is not UTF-8)."""
    items = ["user.id=ann", "session.id=s%201", "account.id=42", "k=v;prop=1", "%FF=a", "%FE=b", "a=%FF",
             "%E2%82%AC=euro", "%C3%A9=%C3%A9", "k=%", "k=%G1", "=v", "novalue", ",", "k=" + "v" * 300,
             "sp ace=x", " user.id = bob ", "\xff=raw", "user.id=\xc3", "dup=1", "dup=2", "k\t=v"]
    n = rng.choice([1, 1, 2, 3, 5, 70])
    value = ",".join(rng.choice(items) for _ in range(n)) if rng.random() < 0.9 else _garbage(rng)
    invalid = bool(re.search(r"%(F[E-F]|C3(?!%)|[89A-F][0-9A-F](?![0-9A-F]))|[\x80-\xff]", value, re.I)) \
        or "%FF" in value.upper() or "%FE" in value.upper()
    return value, invalid


def _propagation_value(rng, name):
    if name == "traceparent":
        return _traceparent(rng)
    if name == "tracestate":
        return _tracestate(rng)
    if name in ("x-datadog-trace-id", "x-datadog-parent-id"):
        return _digits(rng) if rng.random() < 0.85 else _garbage(rng)
    if name == "x-datadog-sampling-priority":
        return rng.choice(["-1", "0", "1", "2", "2.0", "x", "99999999999999999999", " 1", ""])
    if name == "x-datadog-origin":
        return rng.choice(["rum", "synthetics", "synthetics-browser", "é", "a,b;c=d", "o" * 600, ""])
    if name == "x-datadog-tags":
        return _datadog_tags(rng)
    if name == "b3":
        return _b3(rng)
    if name in ("x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid"):
        return rng.choice([_hex(rng, 32), _hex(rng, 16), _hex(rng, 15), "0" * 16, _garbage(rng)])
    if name in ("x-b3-sampled", "x-b3-flags"):
        return rng.choice(["1", "0", "true", "d", "2", ""])
    raise AssertionError(name)


def _case_variant(rng, name):
    kind = rng.random()
    if kind < 0.6:
        return name
    if kind < 0.75:
        return name.upper()
    if kind < 0.9:
        return "-".join(p.capitalize() for p in name.split("-"))
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def _query(rng):
    """A query string, sometimes long and repetitive (the obfuscation regex
    runs over it), sometimes with secrets the regex must redact."""
    kind = rng.random()
    if kind < 0.4:
        return ""
    if kind < 0.6:
        return "?" + rng.choice(["a=1", "password=hunter2&user=ann", "token=abc", "api_key=x&b=2",
                                 "q=%E2%82%AC", "q=\xff", "x=" + "%" * 5, "&&&", "?", "a=1&a=2",
                                 "sig=" + _hex(rng, 40), "bearer%20abc.def.ghi"])
    if kind < 0.8:
        unit = rng.choice(["eyJ", "a", "%", "password=", "&", "key", "bearer ", "-----BEGIN", "ghp_", "="])
        # Up to 5000: the regex took 4 s on 4000 "key" and a minute on 16000.
        n = rng.choice([10, 100, 300, 1000, 5000])
        return "?q=" + unit * n
    return "?" + _garbage(rng)


def _target(rng, port):
    from .http_fuzz_env import PATHS
    path = rng.choice(PATHS)
    if "?" not in path:
        path += _query(rng)
    kind = rng.random()
    if kind < 0.7:
        return path
    mutations = [
        lambda p: f"http://fuzz.test:{port}{p}", lambda p: f"http://127.0.0.1{p}", lambda p: "*",
        lambda p: f"HTTP://FUZZ.TEST{p}", lambda p: f"http://[::1]:{port}{p}", lambda p: "http://é/" + p,
        lambda p: p + "/" + "a" * rng.choice([2000, 20000, 60000]), lambda p: p + "%zz%", lambda p: p + "%00x",
        lambda p: p + "/../../../../etc/passwd", lambda p: "/echo/%2e%2e/%2e%2e/x", lambda p: "/..",
        lambda p: p + "\x00", lambda p: p + "\x01\x7f", lambda p: p + "\t", lambda p: p + " x",
        lambda p: "/caf\xc3\xa9" + p, lambda p: p + "\xff\xfe", lambda p: p + "\xc0\xaf", lambda p: p + "\xed\xa0\x80",
        lambda p: "//" + p, lambda p: p + "#frag", lambda p: "", lambda p: "echo", lambda p: p.replace("/", "\\"),
        lambda p: p + ";param", lambda p: "/echo/%2F%2F", lambda p: "/%" + _hex(rng, 2) * 300,
    ]
    return rng.choice(mutations)(path)


@dataclass
class Request:
    """One request as lines of bytes, each with its own line ending, so the
    minimizer can drop lines."""
    line: bytes                      # the request line, with its ending
    headers: list                    # header lines, each with its ending
    end: bytes                       # the empty line ending the head (b"" for HTTP/0.9 or a cut head)
    body: bytes = b""
    method: str = "GET"
    version: str = "1.1"             # "0.9", "1.0", "1.1" or "odd"
    shapes: set = field(default_factory=set)
    fuzz_id: str = ""
    host: object = None              # the Host value when exactly one was sent (str), else None
    host_count: int = 0
    absolute: bool = False
    sane: bool = True                # nginx must answer it with a status line
    damaged: bool = False            # has a header line nginx rejects (the lines after it go unread)

    def data(self):
        return self.line + b"".join(self.headers) + self.end + self.body


@dataclass
class Case:
    index: int
    port: int                        # 0: plain server, 1: underscores_in_headers on
    requests: list
    mode: str = "normal"             # normal, slow, cut-request, cut-response
    cut_at: int = 0
    slow_piece: int = 16
    slow_delay: float = 0.002
    repeat: int = 1                  # connections made one after the other (a defect that shows now and then)

    def data(self):
        return b"".join(r.data() for r in self.requests)

    @property
    def shapes(self):
        return set().union(*(r.shapes for r in self.requests))


def _latin(text):
    """str to bytes one to one (the generator writes raw bytes as \\xNN)."""
    return text.encode("latin-1", errors="replace") if all(ord(c) < 256 for c in text) else text.encode()


def generate_request(rng, case_index, request_index, port, last):
    shapes = set()
    version_roll = rng.random()
    if version_roll < 0.05 and last:
        version = "0.9"
    elif version_roll < 0.75:
        version = "1.1"
    elif version_roll < 0.92:
        version = "1.0"
    else:
        version = "odd"
    sane = version in ("1.0", "1.1")
    method = rng.choice(SANE_METHODS)
    if rng.random() < 0.08:
        method = rng.choice(ODD_METHODS)
        sane = False
    target = _target(rng, port)
    absolute = target.lower().startswith("http")
    if re.search(r"[\x00-\x20\x7f]", target) or target in ("", "echo") or "\\" in target:
        sane = False  # nginx may or may not answer (0.9 reading of a space, a closed connection...)
    if len(target.partition("?")[2]) > 1000:
        shapes.add("long-query")
    if "/html/chunked" in target:
        shapes.add("chunked-html")
    # /err/ ends at /static/page.html through error_page 502 (when Gunicorn
    # answers 502, or resets the connection while nginx sends it a body).
    if any(p in target for p in ("/plaingz/", "/static/page.html", "/err/")):
        shapes.add("plain-gzip")
    eol = b"\r\n" if rng.random() < 0.93 else b"\n"
    if version == "0.9":
        method = "GET"
        shapes.update({"http09", "missing-host"})
        line = _latin(f"GET {target}") + eol
        return Request(line, [], b"", method=method, version=version, shapes=shapes, absolute=absolute,
                       sane=False)
    version_text = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}.get(version) or rng.choice(ODD_VERSIONS)
    line = _latin(f"{method} {target} {version_text}") + eol

    headers = []
    fuzz_id = f"{case_index}.{request_index}"

    def add(name, value, line_eol=None):
        headers.append(_latin(f"{name}: {value}") + (line_eol or eol))

    host_roll = rng.random()
    host_values = []
    if host_roll < 0.85 or (version == "1.1" and host_roll < 0.9):
        host_values = [rng.choice(["fuzz.test", f"127.0.0.1:{port}", "localhost", "FUZZ.test.", "[::1]:80",
                                   "", "a b", "h" * 300, "caf\xc3\xa9", "x:99999", "..", "fuzz.test:80",
                                   "underscores.test"]) if rng.random() < 0.3 else "fuzz.test"]
        if rng.random() < 0.04:
            host_values.append(rng.choice(["fuzz.test", "other.test"]))
    else:
        shapes.add("missing-host")
    headers_plan = []
    for value in host_values:
        headers_plan.append((_case_variant(rng, "host"), value))
    if rng.random() < 0.9:
        headers_plan.append(("X-Fuzz-Id", fuzz_id))
    for name in PROPAGATION_NAMES:
        if rng.random() < 0.22:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                if name == "baggage":
                    value, invalid = _baggage(rng)
                    if invalid:
                        shapes.add("invalid-utf8-baggage")
                else:
                    value = _propagation_value(rng, name)
                if rng.random() < 0.1:
                    # nginx drops these unless underscores_in_headers is on.
                    headers_plan.append((name.replace("-", "_"), value))
                    shapes.add("underscore-header")
                else:
                    headers_plan.append((_case_variant(rng, name), value))
    if rng.random() < 0.06:
        shapes.add("forged-pending")
        for _ in range(rng.choice([1, 2])):
            name = PENDING.replace("-", "_") if rng.random() < 0.3 else _case_variant(rng, PENDING)
            if "_" in name:
                shapes.add("underscore-header")
            headers_plan.append((name, rng.choice(["0", "forged", "1", "", "yes"])))
    if rng.random() < 0.15:
        value = rng.choice(["on", "off", "ON", "maybe", "", "on ", "\xff"])
        if value not in ("on", "off", ""):
            shapes.add("sample-garbage")
        headers_plan.append(("X-Fuzz-Sample", value))
    if rng.random() < 0.3:
        headers_plan.append(("Accept-Encoding", rng.choice(["gzip", "gzip, deflate", "identity", "*", "br"])))
    if rng.random() < 0.2:
        headers_plan.append(("User-Agent", rng.choice(["fuzz/1.0", "Mozilla/5.0 \xff", "u" * 2000, ""])))
    if rng.random() < 0.05:
        headers_plan.append(("Range", rng.choice(["bytes=0-10", "bytes=5-", "bytes=x"])))
    if rng.random() < 0.05:
        headers_plan.append(("If-None-Match", "*"))
    if rng.random() < 0.2:
        connection = rng.choice(["close", "keep-alive", "Upgrade", "close, keep-alive", "garbage"])
        headers_plan.append(("Connection", connection))
    if rng.random() < 0.05:
        name = rng.choice(["x_custom_header", "X_Forwarded_For", "a_b"])
        headers_plan.append((name, "under"))
        shapes.add("underscore-header")
    if rng.random() < 0.04:
        headers_plan.append((rng.choice(["X-Long", "Cookie"]), "c" * rng.choice([1000, 8000, 70000])))
    if rng.random() < 0.03:
        headers_plan.append(("Expect", "100-continue"))
    rng.shuffle(headers_plan)
    for name, value in headers_plan:
        add(name, value)
    # Line-level damage nginx has to reject (400) or skip.
    before = len(headers)
    if rng.random() < 0.03:
        headers.insert(rng.randrange(len(headers) + 1), b" folded continuation" + eol)   # obsolete folding
    if rng.random() < 0.02:
        headers.insert(rng.randrange(len(headers) + 1), b"no colon here" + eol)
    if rng.random() < 0.02:
        headers.insert(rng.randrange(len(headers) + 1), b"X-Space : before colon" + eol)
    if rng.random() < 0.02:
        headers.insert(rng.randrange(len(headers) + 1), b"X-Ctl\x01: v" + eol)
    if rng.random() < 0.02:
        headers.insert(rng.randrange(len(headers) + 1), b"X-Nul: a\x00b" + eol)
    if rng.random() < 0.02:
        headers.insert(rng.randrange(len(headers) + 1), b": empty name" + eol)
    damaged = len(headers) != before

    body = b""
    body_roll = rng.random()
    wants_body = method in ("POST", "PUT", "PATCH") or rng.random() < 0.05
    if wants_body and body_roll < 0.85:
        payload = rng.choice([b"", b"a=1&b=2", b"x" * 100, b"{\"k\": \"v\"}", b"\x00\xff" * 10, b"y" * 70000])
        framing = rng.random()
        if framing < 0.45:
            headers.append(b"Content-Length: %d" % len(payload) + eol)
            body = payload
        elif framing < 0.55:
            # Claims more than is sent: nginx waits (no answer expected); or
            # less: the rest reads as the next request.
            headers.append(b"Content-Length: %d" % (len(payload) + rng.choice([1, 100, -1 if payload else 5])) + eol)
            body = payload
            sane = False
        elif framing < 0.8:
            pieces = [payload[i:i + 7] for i in range(0, len(payload), 7)] if len(payload) < 200 else [payload]
            chunks = b"".join(b"%x" % len(p) + (b";ext=1" if rng.random() < 0.1 else b"") + b"\r\n" + p + b"\r\n"
                              for p in pieces)
            trailer = b"X-Trailer: t\r\n" if rng.random() < 0.1 else b""
            headers.append(_latin(f"{_case_variant(rng, 'transfer-encoding')}: chunked") + eol)
            body = chunks + b"0\r\n" + trailer + b"\r\n"
            if version != "1.1":
                sane = False
        else:
            broken = rng.choice([b"zz\r\nabc\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\nx\r\n", b"5\r\nabc\r\n0\r\n\r\n",
                                 b"3\r\nabc", b"-1\r\n\r\n", b"3 \r\nabc\r\n0\r\n\r\n", b"0x3\r\nabc\r\n0\r\n\r\n",
                                 b"3\nabc\n0\n\n", b"\r\n"])
            headers.append(b"Transfer-Encoding: " + rng.choice([b"chunked", b"chunked, chunked", b"gzip, chunked",
                                                                  b"identity", b"chunked\x00"]) + eol)
            if rng.random() < 0.3:
                headers.append(b"Content-Length: 3" + eol)
            body = broken
            sane = False
    if b"\x00" in line or len(line) > 60000:
        sane = False
    if any(len(h) > 60000 for h in headers):
        # Longer than a header buffer: 400, no line after it read.
        sane, damaged = False, True
    if version == "odd":
        sane = False
    return describe_headers(Request(line, headers, eol, body, method=method, version=version, shapes=shapes,
                                    absolute=absolute, sane=sane, damaged=damaged))


def describe_headers(request):
    """Sets what the checks need to know of the request's header lines
    (again after the minimizer dropped some)."""
    hosts, request.fuzz_id = [], ""
    for line in request.headers:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.decode("latin-1").lower(), value.strip(b" \t\r\n").decode("latin-1")
        if name == "host":
            hosts.append(value)
        elif name == "x-fuzz-id":
            request.fuzz_id = value
    request.host_count = len(hosts)
    request.host = hosts[0] if len(hosts) == 1 else None
    return request


def generate_case(seed, index, ports, exclude=()):
    """Case `index` of `seed`: the same bytes on every run (ports aside: an
    absolute-form target names the port)."""
    rng = random.Random(f"{seed}/{index}")
    port_index = 1 if rng.random() < 0.35 else 0
    port = ports[port_index]
    for _ in range(50):
        count = 1 if rng.random() < 0.7 else rng.randrange(2, 6)
        requests = [generate_request(rng, index, i, port, i == count - 1) for i in range(count)]
        shapes = set().union(*(r.shapes for r in requests))
        if "underscore-header" in shapes and port_index == 0:
            shapes.discard("underscore-header")  # nginx drops such headers on the plain server
        if not shapes & set(exclude):
            break
    else:
        requests = [describe_headers(Request(b"GET /echo HTTP/1.1\r\n", [b"Host: fuzz.test\r\n"], b"\r\n"))]
    case = Case(index, port_index, requests)
    mode = rng.random()
    if mode < 0.05:
        case.mode = "slow"
        case.slow_piece = rng.choice([1, 3, 16, 100])
        case.slow_delay = rng.choice([0.0005, 0.002, 0.01])
    elif mode < 0.11:
        case.mode = "cut-request"
        case.cut_at = rng.randrange(1, max(2, len(case.data())))
    elif mode < 0.17:
        case.mode = "cut-response"
        case.cut_at = rng.choice([1, 20, 100, 500, 3000])
    return case


# Hand-written cases every run starts with: one of each defect shape known
# when the fuzzer was written, so that the smoke test fails while any is
# there (HTTP/0.9 first: a crash).
def seed_cases(ports):
    def req(raw, **kw):
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = [line + b"\r\n" for line in head.split(b"\r\n")]
        return describe_headers(Request(lines[0], lines[1:], b"\r\n", body, **kw))

    jwt = b"eyJ" * 7000  # 4-5 s on a quiet machine while the regex is quadratic (2 s counts)
    cases = [
        (0, [Request(b"GET /\r\n", [], b"", version="0.9", sane=False, shapes={"http09", "missing-host"})]),
        (0, [req(b"GET /redirect?q=" + jwt + b" HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s1\r\n\r\n",
                 shapes={"long-query"})]),
        (0, [req(b"GET /echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s2\r\nbaggage: %FF=a,%FE=b\r\n\r\n",
                 shapes={"invalid-utf8-baggage"})]),
        (1, [req(b"GET /echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s3\r\nx_datadog_trace_id: 4242\r\n\r\n",
                 shapes={"underscore-header"})]),
        (0, [req(b"GET /echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s4\r\n"
                 b"X-Datadog-Rum-Injection-Pending: forged\r\n"
                 b"X-Datadog-Rum-Injection-Pending: forged\r\n\r\n",
                 shapes={"forged-pending"})]),
        (0, [req(b"GET /echo HTTP/1.0\r\nX-Fuzz-Id: s5\r\n\r\n", version="1.0",
                 shapes={"missing-host"})]),
        (0, [req(b"GET /plaingz/page HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s6\r\n\r\n",
                 shapes={"plain-gzip"})]),
        (0, [req(b"GET /echo HTTP/1.1\r\nHost: fuzz.test\r\nX-Fuzz-Id: s7\r\nX-Fuzz-Sample: maybe\r\n\r\n",
                 shapes={"sample-garbage"})]),
        (0, [req(b"GET /notrace/html/chunked HTTP/1.0\r\nHost: fuzz.test\r\nX-Fuzz-Id: s8\r\n\r\n", version="1.0",
                 shapes={"chunked-html"})]),
    ]
    seeds = [Case(-1 - i, port, requests) for i, (port, requests) in enumerate(cases)]
    # One connection in two to one in ten shows it, depending on the load.
    seeds[-1].repeat = 100
    return seeds


# --- the wire --------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: list
    body: bytes
    complete: bool
    seconds: float = 0.0

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")


def _dechunk(data, pos):
    """(body, end position) of a chunked body starting at pos, or None when
    it is not all there."""
    body = []
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            return None
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return (b"".join(body), end + 4) if end >= 0 else None
        if len(data) < pos + size + 2:
            return None
        body.append(data[pos:pos + size])
        pos += size + 2


def parse_responses(data, methods, closed):
    """The responses in `data`, in order, for requests of `methods`; the last
    may be incomplete. A response head that is not HTTP ends the list."""
    responses, pos = [], 0
    for method in methods:
        while True:
            match = STATUS_LINE.match(data, pos)
            if match is None:
                if len(data) > pos:
                    responses.append(Response(-1, [], data[pos:], False))
                return responses
            head_end = data.find(b"\r\n\r\n", pos)
            if head_end < 0:
                responses.append(Response(int(match.group(1)), [], b"", False))
                return responses
            status = int(match.group(1))
            headers = []
            for line in data[match.end():head_end].split(b"\r\n"):
                name, _, value = line.partition(b":")
                headers.append((name.decode("latin-1").strip().lower(), value.decode("latin-1").strip()))
            pos = head_end + 4
            if 100 <= status < 200 and status != 101:
                continue
            break
        response = Response(status, headers, b"", True)
        length = response.header("content-length")
        if method == "HEAD" or status in (204, 304) or status < 200:
            pass
        elif "chunked" in (response.header("transfer-encoding") or "").lower():
            result = _dechunk(data, pos)
            if result is None:
                response.body, response.complete = data[pos:], False
                responses.append(response)
                return responses
            response.body, pos = result
        elif length is not None and length.isdigit():
            end = pos + int(length)
            response.body, response.complete = data[pos:end], len(data) >= end
            pos = min(end, len(data))
        else:
            response.body, response.complete = data[pos:], closed
            pos = len(data)
        responses.append(response)
        if not response.complete:
            return responses
    return responses


@dataclass
class Outcome:
    """What one case did on the wire."""
    data: bytes = b""
    responses: list = field(default_factory=list)
    closed: bool = False
    error: str = ""
    seconds: float = 0.0
    waited_out: bool = False   # we gave up waiting while an answer was still due


# How long a response that nginx owes may take (nothing fuzzed sleeps more
# than a few ms upstream), and how long to wait for one it may not owe.
ANSWER_TIMEOUT = 2.0
HEALTH_TIMEOUT = 10.0
IDLE_TIMEOUT = 0.05


def expected_answers(case, responses):
    """How many of the case's requests must get a status line, given the
    responses so far: the first, if sane, and each next sane one after a
    complete keep-alive answer."""
    if case.mode != "normal" and case.mode != "slow":
        return 0
    due = 0
    for i, request in enumerate(case.requests):
        if not request.sane:
            return due
        due = i + 1
        if i >= len(responses):
            return due
        previous = responses[i]
        if not previous.complete or (previous.header("connection") or "").lower() != "keep-alive":
            return due
    return due


def run_case(case, ports, timeout=ANSWER_TIMEOUT):
    for _ in range(case.repeat - 1):
        _run_connection(case, ports, timeout)
    return _run_connection(case, ports, timeout)


def _run_connection(case, ports, timeout):
    outcome = Outcome()
    data = case.data()
    methods = [r.method for r in case.requests]
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", ports[case.port]), timeout=timeout) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                if case.mode == "slow":
                    deadline = time.monotonic() + 0.1  # then the rest at once
                    pos = 0
                    while pos < len(data):
                        if time.monotonic() > deadline:
                            s.sendall(data[pos:])
                            break
                        s.sendall(data[pos:pos + case.slow_piece])
                        pos += case.slow_piece
                        time.sleep(case.slow_delay)
                elif case.mode == "cut-request":
                    s.sendall(data[:case.cut_at])
                    time.sleep(0.002)
                    return outcome
                else:
                    s.sendall(data)
            except OSError as e:
                # nginx may answer and close before reading everything (400, 413).
                outcome.error = f"send: {e!r}"
            sent = time.monotonic()
            received = []
            size = 0
            while True:
                responses = parse_responses(b"".join(received), methods, False)
                due = expected_answers(case, responses)
                done = sum(1 for r in responses if r.complete)
                if case.mode == "cut-response" and size >= case.cut_at:
                    break
                if done >= len(case.requests):
                    break
                wait = timeout if done < due else IDLE_TIMEOUT
                s.settimeout(wait)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    outcome.waited_out = done < due
                    break
                except OSError as e:
                    outcome.error = f"recv: {e!r}"
                    outcome.closed = True
                    break
                if not chunk:
                    outcome.closed = True
                    break
                received.append(chunk)
                size += len(chunk)
                if time.monotonic() - sent > timeout + 1:
                    outcome.waited_out = True
                    break
            outcome.data = b"".join(received)
            outcome.responses = parse_responses(outcome.data, methods, outcome.closed)
            outcome.seconds = time.monotonic() - sent
    except OSError as e:
        outcome.error = f"connect: {e!r}"
    outcome.seconds = outcome.seconds or time.monotonic() - started
    return outcome


# --- checks ------------------------------------------------------------------------

@dataclass
class Problem:
    kind: str          # crash, hang, agent, log, status-line, slow, forwarded, span
    message: str
    case: object = None
    request: int = -1  # index of the request in the case, when known
    what: str = ""     # the kind of defect, when the message has details that vary

    @property
    def signature(self):
        """Problems with one signature are one finding. A missing status line,
        a slow answer, a crash: one each, whatever the details (how the
        connection ended, which request waited, which signal)."""
        if self.kind in ("slow", "hang"):
            return "unresponsive"  # one cause, seconds or more than HEALTH_TIMEOUT
        if self.kind == "status-line":
            return self.kind
        if self.kind == "crash":
            # The error log's message without time, pids, connection and
            # request: "worker process N exited on signal N", an alert's text.
            text = re.sub(r"^\S+ \S+ |\d+#\d+: |\*\d+ |, client: .*$", "", self.message)
            return "crash: " + re.sub(r"\d+", "N", text)[:120]
        if self.what:
            return f"{self.kind}: {self.what}"
        text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", self.message)
        text = re.sub(r"\d+(\.\d+)?", "N", text)
        return f"{self.kind}: {text[:120]}"


def _printable(value):
    return all(0x20 <= ord(c) < 0x7f for c in value)


def forwarded_problems(pairs):
    """What is wrong with the propagation headers an application received
    ([(name, value)], name as received): [(what, message)], one per header,
    `what` naming the kind of defect (one finding each)."""
    problems = []
    seen = {}
    for name, value in pairs:
        key = name.lower().replace("_", "-")
        if key in PROPAGATION_NAMES or key == PENDING:
            seen.setdefault(key, []).append((name, value))
    for key, items in seen.items():
        if any("_" in n for n, _ in items):
            problems.append(("a client-sent header spelt with underscores",
                             f"the application got a client-sent {key} spelt with underscores: {items!r}"))
        elif len(items) > 1:
            problems.append((f"{key} twice", f"the application got {len(items)} {key} headers: {items!r}"))
        elif key in NEVER_FORWARDED:
            problems.append((f"the client's {key}", f"the application got the client's {key}: {items!r}"))
        elif key == PENDING and items[0][1] != "1":
            problems.append((f"{key} not 1", f"the application got {key} {items!r}, not \"1\""))
        elif not _printable(items[0][1]):
            problems.append((f"{key} not printable", f"the application got a {key} that is not printable ASCII: "
                                                    f"{items!r}"))
    return problems


def _cgi_problems(params):
    """The same for HTTP_* parameters (FastCGI, uwsgi) or gRPC metadata."""
    pairs = []
    for key, value in params.items():
        if key.startswith("HTTP_"):
            key = key[5:]
        pairs.append((key.lower().replace("_", "-"), value))
    problems = forwarded_problems(pairs)
    for key, value in pairs:
        if key in ("x-datadog-trace-id", "x-datadog-parent-id") and not value.isdigit():
            problems.append((f"{key} not decimal", f"the application got {key} {value!r}, not a decimal id"))
    # There X_B3_FLAGS and X-B3-FLAGS are one name: say so.
    return [(f"behind FastCGI/uwsgi/gRPC: {what}", f"{message} (behind FastCGI, uwsgi or gRPC, where a name "
             f"spelt with underscores or dashes is the same)") for what, message in problems]


def response_problems(case, outcome):
    problems = []
    responses = outcome.responses
    due = expected_answers(case, responses)
    for i in range(due):
        request = case.requests[i]
        if i >= len(responses) or responses[i].status < 0:
            got = outcome.data[:200]
            if outcome.waited_out:
                problems.append(Problem("slow", f"no answer within {ANSWER_TIMEOUT} s to request {i} "
                                        f"(got {got!r})", case, i))
            elif outcome.closed or outcome.error:
                problems.append(Problem("status-line", f"the connection closed ({outcome.error or 'EOF'}) "
                                        f"with no status line for request {i} (got {got!r})", case, i))
            break
        if not request.sane:
            break
    for i, response in enumerate(responses):
        if i >= len(case.requests) or not response.complete or response.status != 200:
            continue
        kind = (response.header("content-type") or "").lower()
        body = response.body
        try:
            if kind.startswith("application/json"):
                doc = json.loads(body)
            elif kind.startswith("application/grpc") and len(body) > 5:
                doc = {"grpc": json.loads(body[5:])}
            else:
                continue
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        found = []
        if isinstance(doc.get("headers_list"), list):
            found = forwarded_problems([tuple(p) for p in doc["headers_list"] if len(p) == 2])
        elif isinstance(doc.get("protocol_headers"), dict):
            found = _cgi_problems(doc["protocol_headers"])
        elif isinstance(doc.get("grpc"), dict):
            found = _cgi_problems(doc["grpc"])
        problems += [Problem("forwarded", message, case, i, what) for what, message in found]
    return problems


def span_problems(spans, requests_by_id):
    """http.host against what the client sent (fuzz.id tags the span with its
    request; requests with a damaged header line are left out, as nginx
    reads none of the lines after it)."""
    problems = []
    for span in spans:
        meta = span.get("meta") or {}
        found = requests_by_id.get(meta.get("fuzz.id"))
        if found is None or span.get("name") != "nginx.request":
            continue
        case, index = found
        request = case.requests[index]
        if request.damaged or case.mode == "cut-request":
            continue  # nginx did not read all its header lines
        host = meta.get("http.host")
        if request.host_count == 0 and not request.absolute:
            if host not in (None, "", meta.get("fuzz.host")):
                problems.append(Problem("span", f"no Host sent, but http.host is {host!r} "
                                        f"($host is {meta.get('fuzz.host')!r})", case, index))
        elif request.host_count == 1 and request.host and _printable(request.host) and host != request.host \
                and meta.get("fuzz.host") == request.host.lower().split(":")[0]:
            # Only where nginx's own $host saw that Host too: a shrinking
            # attempt re-sends the case under the same fuzz id without its
            # Host line, and its span may come in a later window.
            problems.append(Problem("span", f"Host {request.host!r} sent, but http.host is {host!r}", case, index))
    return problems


MESSAGE = re.compile(r"^\S+ \S+ \[(\w+)\] \d+#\d+: \*(\d+) (.*?)(?:, client: .*)?$")
# Lines the module writes once per worker, whatever the clients send.
ONCE_PER_WORKER = "not logged again for this directive by this worker"


def module_request_lines(lines):
    """The messages of the module's lines at warn and above (the log is at
    notice) written while serving a request (nginx names its connection,
    "*N"): none may be written per request, clients choose how many. Two
    kinds are allowed: a line that says it is written once per worker, and a
    RUM give-up on a connection where nginx itself logged the upstream's
    failure (the upstream, not the client, chose it; nginx's own line is per
    request too)."""
    parsed = [m for m in map(MESSAGE.match, lines) if m]
    upstream_failed = {m.group(2) for m in parsed if m.group(1) == "error" and "upstream" in m.group(3)}
    out = []
    for match in parsed:
        level, connection, message = match.groups()
        if level == "notice" or "datadog" not in message or ONCE_PER_WORKER in message:
            continue
        if message.startswith("datadog: RUM not injected") and connection in upstream_failed:
            continue
        out.append(message)
    return out


# --- running -------------------------------------------------------------------------

@dataclass
class Finding:
    problem: Problem
    reproducer: bytes = b""
    reproduced: bool = False
    port: int = 0
    note: str = ""
    repeat: int = 1

    def report(self, seed):
        p = self.problem
        where = (f"case {p.case.index} of seed {seed}" if p.case is not None and p.case.index >= 0
                 else "a hand-written seed case" if p.case is not None else "a batch (no single case named)")
        lines = [f"FOUND [{p.kind}] {p.message}", f"  seen on {where}"]
        server = "the underscores_in_headers server" if self.port else "the plain server"
        if self.repeat > 1:
            server += f", on {self.repeat} connections one after the other (it shows now and then)"
        if self.reproduced:
            lines.append(f"  reproduced alone, sent to {server}; minimal bytes:")
        else:
            lines.append(f"  NOT reproduced alone; the bytes of the case it was seen on ({server}):")
        lines.append(f"  {self.reproducer!r}")
        if self.note:
            lines.append(f"  {self.note}")
        return "\n".join(lines)


# The kinds whose evidence reaches the agent only with the next flush (100 ms).
SETTLE = {"agent": 0.3, "span": 0.3}


class Fuzzer:
    def __init__(self, target, seed=1, exclude=(), batch=40, minimize_seconds=30.0, minimize_total=None,
                 parallel=4, max_findings=30, log=print):
        self.target = target
        self.seed = seed
        self.exclude = set(exclude)
        self.batch = batch
        self.minimize_seconds = minimize_seconds
        self.parallel = parallel
        self.max_findings = max_findings  # then the run stops: something is badly wrong
        # Time left for shrinking, all findings together (None: no bound).
        self.minimize_left = minimize_total
        self.log = log
        self.findings = {}
        self.executions = 0
        self.requests_sent = 0
        self.fuzz_seconds = 0.0
        self.seconds = 0.0
        # Spans may arrive a batch late (a busy worker): recent requests by fuzz.id.
        self.recent = {}

    def _window_problems(self, cases, settle, alone=False):
        """The checks of an observation window (since target.mark()). Spans
        are matched to the window's requests, or `alone` not, to recent ones
        too (a busy worker sends them late)."""
        problems = []
        started = time.monotonic()
        trouble = self.target.health(timeout=HEALTH_TIMEOUT)
        took = time.monotonic() - started
        if trouble:
            problems.append(Problem("hang", f"the health request failed: {trouble}"))
        elif took > ANSWER_TIMEOUT:
            problems.append(Problem("slow", f"the worker took {took:.1f} s to answer the health request"))
        spans, errors = self.target.drain_agent(settle)
        problems += [Problem("agent", error) for error in errors]
        ids = {r.fuzz_id: (c, i) for c in cases for i, r in enumerate(c.requests) if r.fuzz_id}
        if not alone:
            self.recent.update(ids)
        problems += span_problems(spans, ids if alone else self.recent)
        if len(self.recent) > 20 * self.batch:
            self.recent = dict(list(self.recent.items())[-5 * self.batch:])
        for message in dict.fromkeys(module_request_lines(self.target.new_log_lines())):
            problems.append(Problem("log", f"the module logged while serving a request: {message}"))
        # Last: by now the master has seen a worker die (the health request
        # needed a live worker).
        for line in self.target.new_crash_lines():
            problems.append(Problem("crash", line.strip().splitlines()[0][:300]))
        return problems

    def check_alone(self, case, settle=0.0):
        """One case on its own with every check: the problems it causes.
        Waits first for the worker to answer (an earlier request may keep it
        busy), with `settle` also for what earlier requests left in it (a
        span in its buffer) to be out."""
        self.target.health(timeout=HEALTH_TIMEOUT)
        if settle:
            time.sleep(settle)
            self.target.drain_agent()
        self.target.mark()
        outcome = run_case(case, self.target.ports)
        return response_problems(case, outcome) + self._window_problems([case], settle, alone=True)

    def run(self, seconds, max_cases=None, cases=()):
        """Seed `cases` first (a batch of their own), then generated ones, until
        `seconds` or `max_cases` generated ones. Returns the findings (one per
        signature)."""
        started = time.monotonic()
        index = 0
        pending = list(cases)
        while time.monotonic() - started < seconds and (pending or max_cases is None or index < max_cases) \
                and len(self.findings) < self.max_findings:
            batch_started = time.monotonic()
            batch, problems = [], []
            if pending:
                # Each seed case alone, in a window of its own: each is there
                # to show its own defect, which a crash or a busy worker
                # caused by another would hide.
                batch, pending = pending, []
                for case in batch:
                    for problem in self.check_alone(case, settle=0.3):
                        problem.case = problem.case or case
                        problems.append(problem)
                crashed = False
            else:
                while len(batch) < self.batch and (max_cases is None or index < max_cases):
                    batch.append(generate_case(self.seed, index, self.target.ports, self.exclude))
                    index += 1
                self.target.mark()
                # Several connections at once: most of a case's time is waiting.
                with ThreadPoolExecutor(self.parallel) as pool:
                    outcomes = list(pool.map(lambda c: run_case(c, self.target.ports), batch))
                for case, outcome in zip(batch, outcomes):
                    problems += response_problems(case, outcome)
                problems += self._window_problems(batch, 0.25)
                crashed = any(p.kind == "crash" for p in problems)
            self.executions += len(batch)
            self.requests_sent += sum(len(c.requests) for c in batch)
            self.fuzz_seconds += time.monotonic() - batch_started
            # Crashes first; slow answers, the dearest to re-send, last.
            problems.sort(key=lambda p: {"crash": 0, "slow": 2, "hang": 2}.get(p.kind, 1))
            for problem in problems:
                if problem.signature in self.findings or len(self.findings) >= self.max_findings:
                    continue
                if crashed and problem.kind in ("status-line", "slow", "hang") and problem.case is not None \
                        and not self._fails(problem.case, problem, time.monotonic() + 10):
                    continue  # a connection the crashed worker held: the crash is the finding
                budget = self.minimize_seconds
                if self.minimize_left is not None:
                    budget = min(budget, self.minimize_left)
                began = time.monotonic()
                finding = self.minimize(problem, batch, deadline=began + budget)
                if self.minimize_left is not None:
                    self.minimize_left = max(0.0, self.minimize_left - (time.monotonic() - began))
                self.findings[problem.signature] = finding
                self.log(finding.report(self.seed) + "\n")
        self.seconds = time.monotonic() - started
        return list(self.findings.values())

    # --- delta-debug lite ----------------------------------------------------------

    def _fails(self, case, problem, deadline):
        """Whether `case` alone shows `problem` again (same signature). A
        crash or alert is tried a few times: some depend on timing (one in
        ten, say), and each try is quick."""
        for _ in range(5 if problem.kind == "crash" else 1):
            if time.monotonic() > deadline:
                return False
            found = self.check_alone(case, settle=SETTLE.get(problem.kind, 0.0))
            if any(p.signature == problem.signature for p in found):
                return True
        return False

    def minimize(self, problem, batch, deadline):
        culprit = problem.case
        if culprit is not None and not self._fails(culprit, problem, deadline):
            culprit = None  # e.g. a slow answer caused by the case before
        if culprit is None:
            # Each case of the batch alone, the most recent first (a crash,
            # a busy worker show up late).
            for case in reversed(batch):
                if self._fails(case, problem, deadline):
                    culprit = case
                    break
        if culprit is None:
            case = problem.case or batch[-1]
            why = ("the time for shrinking ran out first" if time.monotonic() > deadline
                   else f"no case of the batch of {len(batch)} showed it alone")
            return Finding(problem, case.data(), False, case.port, note=f"({why})", repeat=case.repeat)
        # The one request that fails alone, sent at once, on its own connection.
        order = [problem.request] if 0 <= problem.request < len(culprit.requests) else []
        order += [i for i in reversed(range(len(culprit.requests))) if i not in order]
        for i in order:
            alone = Case(culprit.index, culprit.port, [culprit.requests[i]], repeat=culprit.repeat)
            if self._fails(alone, problem, deadline):
                return Finding(problem, self._shrink(alone, problem, deadline).data(), True, culprit.port,
                               repeat=culprit.repeat)
        cut = f", cut at byte {culprit.cut_at}" if culprit.mode.startswith("cut") else ""
        return Finding(problem, culprit.data(), True, culprit.port, repeat=culprit.repeat,
                       note=f"needs the whole connection: {len(culprit.requests)} request(s), mode {culprit.mode}{cut}")

    def _shrink(self, case, problem, deadline):
        """Drops header lines, the body, halves of a long target, while the
        request still fails (bounded by `deadline`)."""
        request = case.requests[0]

        def fails(candidate):
            return self._fails(Case(case.index, case.port, [candidate], repeat=case.repeat), problem, deadline)

        def copy(**changes):
            fields = dict(request.__dict__)
            fields.update(changes)
            fields["headers"] = list(fields["headers"])
            fields["shapes"] = set(fields["shapes"])
            return describe_headers(Request(**fields))

        framing = (b"content-length", b"transfer-encoding")
        i = 0
        while i < len(request.headers) and time.monotonic() < deadline:
            if request.headers[i].lower().startswith(framing) and request.body:
                i += 1  # goes with the body, below
                continue
            candidate = copy(headers=request.headers[:i] + request.headers[i + 1:])
            if fails(candidate):
                request = candidate
            else:
                i += 1
        if request.body and time.monotonic() < deadline:
            candidate = copy(body=b"", headers=[h for h in request.headers if not h.lower().startswith(framing)])
            if fails(candidate):
                request = candidate
        while time.monotonic() < deadline:
            parts = request.line.split(b" ")
            if len(parts) < 3 or len(parts[1]) < 200:
                break
            candidate = copy(line=b" ".join([parts[0], parts[1][:len(parts[1]) // 2], *parts[2:]]))
            if not fails(candidate):
                break
            request = candidate
        return Case(case.index, case.port, [request], repeat=case.repeat)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Raw-HTTP fuzzer through real nginx with the module ($DATADOG_MODULE_PATH, else build/).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="shapes of known defects (--exclude):\n" + "\n".join(f"  {k}: {v}" for k, v in SHAPES.items()))
    parser.add_argument("--time", type=float, default=60, help="seconds of fuzzing (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cases (default 1)")
    parser.add_argument("--cases", type=int, default=None, help="stop after this many cases")
    parser.add_argument("--exclude", action="append", default=[], choices=sorted(SHAPES),
                        help="never generate requests of this known-defect shape (repeatable)")
    parser.add_argument("--no-http09", action="append_const", dest="exclude", const="http09",
                        help="same as --exclude http09")
    parser.add_argument("--no-seeds", action="store_true", help="skip the hand-written seed cases")
    parser.add_argument("--seeds-only", action="store_true", help="run the hand-written seed cases only")
    parser.add_argument("--parallel", type=int, default=4, help="connections at once (default 4)")
    parser.add_argument("--minimize-seconds", type=float, default=30.0, help="time per finding to shrink it")
    parser.add_argument("--print-case", type=int, action="append", default=[],
                        help="print the bytes of generated case N (no nginx needed) and exit")
    args = parser.parse_args(argv)
    if args.print_case:
        for index in args.print_case:
            case = generate_case(args.seed, index, (1, 2), args.exclude)
            print(f"case {index}: mode {case.mode}, server {case.port}, shapes {sorted(case.shapes)}")
            print(repr(case.data()))
        return 0

    from .http_fuzz_env import FuzzTarget
    target = FuzzTarget().start()
    try:
        fuzzer = Fuzzer(target, args.seed, args.exclude, minimize_seconds=args.minimize_seconds,
                        parallel=args.parallel)
        seeds = [] if args.no_seeds else [c for c in seed_cases(target.ports) if not c.shapes & set(args.exclude)]
        findings = fuzzer.run(args.time, 0 if args.seeds_only else args.cases, seeds)
    finally:
        target.stop()
    rate = fuzzer.executions / fuzzer.fuzz_seconds if fuzzer.fuzz_seconds else 0
    print(f"http fuzz: seed {args.seed}, {fuzzer.executions} cases ({fuzzer.requests_sent} requests) in "
          f"{fuzzer.seconds:.0f} s ({fuzzer.fuzz_seconds:.0f} s fuzzing, the rest shrinking findings), "
          f"{rate:.0f} cases/s; {len(findings)} finding(s)"
          + (f"; excluded shapes: {', '.join(sorted(set(args.exclude)))}" if args.exclude else ""))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
