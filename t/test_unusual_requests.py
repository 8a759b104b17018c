"""Requests nginx handles before (or without) setting up what a normal request
has: HTTP/0.9 (no header list at all), requests nginx rejects while it
parses them (400, 414, 494), clients that hang up mid-request, malformed
HTTP/2 streams, and requests without a Host header. With tracing, location
spans and RUM all on in front of proxy_pass, none crashes a worker, each one
nginx logs gets its span, and a span names the host as nginx itself does."""

import json
import re
import socket
import struct
import time

import pytest

from harness import client
from harness.rum import MINIMAL_RUM as RUM

# The tag: $datadog_location of a request rejected before it had a location
# copied from a null pointer (UBSan, sanitizer build of the module).
ALL_ON = f"""
    datadog_trace_locations on;
    datadog_tag location_variable $datadog_location;
    datadog_propagation_styles datadog tracecontext b3 baggage;
    {RUM}"""


def proxied(agent, upstream, extra=ALL_ON, server_extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    client_header_buffer_size 1k;
    large_client_header_buffers 2 1k;
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        listen 127.0.0.1:@PORT2@ http2;
        {server_extra}
        location / {{ proxy_pass http://{upstream.address}; }}
    }}"""


def send(port, data, half_close=False, timeout=10):
    """Sends raw bytes and returns what the server sends until it closes.
    `half_close`: then ends the sending side, as a client that hangs up
    (nginx takes that for a client gone, even with a complete request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- HTTP/2 by hand: a client library refuses to send what these tests need.

def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    """A literal header field without indexing, with a new name (RFC 7541 6.2.2)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


GET = b"\x82"           # :method GET (static table entry 2)
HTTP = b"\x86"          # :scheme http (7)
ROOT = b"\x84"          # :path / (4)
AUTHORITY = b"\x01"     # :authority, literal value follows (name index 1)


def h2_request(port, block, timeout=5):
    """One HEADERS frame (END_STREAM|END_HEADERS) on stream 1; returns the
    frame types nginx answered with for that stream (1 HEADERS, 3 RST_STREAM)
    or the connection (7 GOAWAY)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0) + h2_frame(1, 0x5, 1, block))
        data = b""
        kinds = []
        while not ({1, 3, 7} & set(kinds)):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            kinds = []
            rest = data
            while len(rest) >= 9:
                length = int.from_bytes(rest[:3], "big")
                if len(rest) < 9 + length:
                    break
                stream = int.from_bytes(rest[5:9], "big") & 0x7FFFFFFF
                if stream in (0, 1) and rest[3] != 4:
                    kinds.append(rest[3])
                rest = rest[9 + length:]
        return kinds


def access_log_statuses(server, n, timeout=10):
    """The statuses of the access log's lines, once it has `n` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = server.access_log_path.read_text(errors="replace").splitlines()
        if len(lines) >= n or time.monotonic() > deadline:
            return sorted(re.search(r'" (\d{3}) ', line).group(1) for line in lines)
        time.sleep(0.05)


def request_spans(agent, n):
    spans = agent.wait_for_spans(n)
    time.sleep(0.3)  # and no more than n
    return [s for s in agent.spans() if s["name"] == "nginx.request"]


@pytest.mark.parametrize("extra", [ALL_ON, "", f"datadog_tracing off; {RUM}"],
                         ids=["tracing+locations+rum", "tracing", "rum"])
def test_http09_request_is_served_and_traced(nginx, agent, upstream, extra):
    """nginx serves an HTTP/0.9 request without ever initialising its header
    list; writing the propagation headers or the RUM marker into it killed the
    worker (SIGSEGV)."""
    server = nginx(proxied(agent, upstream, extra))
    reply = send(server.port, b"GET /echo\r\n")
    # HTTP/0.9: no status line, no headers, only the upstream's body.
    seen = json.loads(reply)
    assert seen["protocol"] == "HTTP/1.0"  # nginx proxies it as HTTP/1.0
    assert client.get(server.port, "/echo").status == 200, "the server no longer answers"
    if "datadog_tracing off" in extra:
        assert seen["headers"]["x-datadog-rum-injection-pending"] == "1"
        assert "x-datadog-trace-id" not in seen["headers"]
        return
    span = agent.wait_for_spans(2)[0]
    assert span["resource"] == "GET /echo"
    assert span["meta"]["http.status_code"] == "200"
    # The upstream continues the trace of the HTTP/0.9 request.
    assert seen["headers"]["x-datadog-trace-id"] == str(span["trace_id"])
    if "datadog_rum" in extra:
        assert seen["headers"]["x-datadog-rum-injection-pending"] == "1"


def test_http09_page_gets_the_rum_snippet(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    reply = send(server.port, b"GET /html/small\r\n")
    assert b"DD_RUM" in reply and reply.startswith(b"<!DOCTYPE"), reply[:200]
    assert agent.wait_for_spans(1)[0]["resource"] == "GET /html/small"


UNUSUAL = {
    "HTTP/0.9": b"GET /echo\r\n",
    "bad request line": b"G@T /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"GET /echo HTTP/9.9x\r\n\r\n",
    "uri too long": b"GET /" + b"u" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header too large": b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 3000 + b"\r\n\r\n",
    "NUL in a header": b"GET /echo HTTP/1.1\r\nHost: x\r\nx-datadog-trace-id: 1\x002\r\n\r\n",
    "HTTP/1.1 without Host": b"GET /echo HTTP/1.1\r\n\r\n",
    "invalid Host": b"GET /echo HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "invalid host in the request line": b"GET http://a..b/echo HTTP/1.1\r\nHost: x\r\n\r\n",
    "hang-up in the request line": b"GET /ec",
    "hang-up in the headers": b"GET /echo HTTP/1.1\r\nHost: x\r\nx-datadog-trace-id: 5\r\n",
    "hang-up while proxied": b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/0.9 POST": b"POST /echo\r\n",
}


def test_unusual_and_rejected_requests_get_spans_and_crash_nothing(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    for name, raw in UNUSUAL.items():
        reply = send(server.port, raw, half_close=name.startswith("hang-up"))
        assert not reply or re.match(rb"HTTP/1\.[01] (400|414|505) |<html>|{", reply), (name, reply[:200])
        assert client.get(server.port, "/echo").status == 200, f"the server no longer answers after: {name}"
    # HTTP/2: a stream without :path (nginx answers 400), a header name in
    # capitals (nginx resets the stream), and a good one.
    assert 1 in h2_request(server.port2, GET + HTTP + AUTHORITY + b"\x01x")
    assert h2_request(server.port2, GET + HTTP + ROOT + AUTHORITY + b"\x01x" + hpack_literal(b"X-Bad", b"1"))
    assert 1 in h2_request(server.port2, GET + HTTP + ROOT + AUTHORITY + b"\x01x")
    assert client.get(server.port, "/echo").status == 200

    # Every request nginx logged has its span, with the status nginx logged.
    # (2 per round: the request and the check that followed it.)
    logged = access_log_statuses(server, 2 * len(UNUSUAL) + 4)
    assert len(logged) >= 2 * len(UNUSUAL) + 3, logged
    spans = request_spans(agent, len(logged))
    # A stream nginx reset before any response is logged as 000; its span
    # says 499, as for any request whose connection failed before a status.
    expected = sorted("499" if status == "000" else status for status in logged)
    statuses = sorted(s["meta"].get("http.status_code", "none") for s in spans)
    assert statuses == expected, [(s["resource"], s["meta"].get("http.status_code")) for s in spans]
    others = [s for s in spans if s["meta"].get("http.status_code") != "200"]
    assert {s["meta"]["http.status_code"] for s in others} == {"400", "414", "499", "505"}
    for span in others:
        if span["meta"]["http.status_code"] != "499":  # the one that hung up while proxied
            assert "upstream.address" not in span["meta"], span


# --- http.host and http.url: what nginx names the host ----------------------

def named_server(agent, names="server_name api.example.test www.example.test;"):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        {names}
        location /api/ {{ return 200 "ok"; }}
    }}"""


@pytest.mark.parametrize("raw, host", [
    (b"GET /api/users?id=1 HTTP/1.0\r\n\r\n", "api.example.test"),
    (b"GET /api/users?id=1\r\n", "api.example.test"),
    (b"GET /api/users?id=1 HTTP/1.0\r\nHost: www.example.test:8080\r\n\r\n", "www.example.test:8080"),
    (b"GET /api/users?id=1 HTTP/1.1\r\nHost: Other.Test\r\nConnection: close\r\n\r\n", "Other.Test"),
    (b"GET http://abs.example.test/api/users?id=1 HTTP/1.0\r\n\r\n", "abs.example.test"),
], ids=["HTTP/1.0 without Host", "HTTP/0.9", "HTTP/1.0 with Host", "HTTP/1.1", "absolute URI"])
def test_span_names_the_host_as_nginx_does(nginx, agent, raw, host):
    server = nginx(named_server(agent))
    assert send(server.port, raw).endswith(b"ok")
    meta = agent.wait_for_spans(1)[0]["meta"]
    assert meta["http.host"] == host
    path = "/api/users?id=1"
    assert meta["http.url"] == f"http://{host}{path}"
    assert meta["nginx.location"] == "/api/"


@pytest.mark.parametrize("names", ["", r"server_name ~^api\d+$ *.example.test;", "server_name *.example.test;"],
                         ids=["no server_name", "a regex first", "a wildcard first"])
def test_span_of_a_server_without_host_or_plain_name_names_the_local_address(nginx, agent, names):
    server = nginx(named_server(agent, names=names))
    assert send(server.port, b"GET /api/users?id=1 HTTP/1.0\r\n\r\n").endswith(b"ok")
    meta = agent.wait_for_spans(1)[0]["meta"]
    assert meta["http.host"] == f"127.0.0.1:{server.port}"
    assert meta["http.url"] == f"http://127.0.0.1:{server.port}/api/users?id=1"
