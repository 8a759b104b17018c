"""Hostile input through real nginx, beyond test_hostile_headers.py: CR, LF
and NUL in propagation headers (what nginx lets through to the module),
duplicate and oversized W3C headers, bytes that are not UTF-8, control
characters in datadog_tag, and pathological HTML: 1 GB of `<`, unclosed
comments, scripts and attributes streamed through the RUM filter. None
crashes a worker, none reaches the upstream raw, memory and time stay
bounded (generous bounds: these are not benchmarks)."""

import json
import re
import socket
import time
from urllib.parse import quote

import pytest

from harness import client
from harness.rum import MINIMAL_RUM as RUM
from harness.load import rss_kb
from harness.upstream_app import REPEAT_HEAD, REPEAT_TAIL

PARENT = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"


def proxied(agent, upstream, extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    datadog_propagation_styles datadog tracecontext b3 baggage;
    large_client_header_buffers 8 512k;
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        location = /status {{ datadog_tracing off; datadog_status; }}
        location / {{ proxy_pass http://{upstream.address}; proxy_http_version 1.1; }}
    }}"""


def forwarded(seen, name):
    return [v for k, v in seen["headers_list"] if k.lower() == name]


def well_formed(seen):
    """Every propagation header the upstream got is printable ASCII."""
    for name, value in seen["headers_list"]:
        if name.lower().startswith(("x-datadog", "traceparent", "tracestate", "x-b3", "b3", "baggage")):
            assert all(0x20 <= ord(c) < 0x7f for c in value), (name, value)


# What each line does to nginx 1.22's header parser, and so whether the
# module ever sees it.
@pytest.mark.parametrize("line, nginx_rejects", [
    (b"x-datadog-trace-id: 12\x0034", True),         # NUL: invalid header line
    (b"x-datadog-trace-id: 12\r34", True),           # bare CR: invalid header line
    (b"traceparent: " + PARENT.encode() + b"\r\n 01", True),   # obsolete line folding
    (b"x-datadog-trace-id: 12\n34: x", False),       # bare LF ends the line: "12", then a header "34"
    (b"tracestate: dd=s:1\nfoo=bar", False),         # bare LF ends the line; "foo=bar" is no header
])
def test_cr_lf_and_nul_in_propagation_headers(nginx, agent, upstream, line, nginx_rejects):
    server = nginx(proxied(agent, upstream))
    raw = b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + line + b"\r\n\r\n"
    reply = client.raw_request(server.port, raw)
    span = agent.wait_for_spans(1)[0]
    if nginx_rejects:
        assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
        assert span["meta"]["http.status_code"] == "400"
        assert "upstream.address" not in span["meta"], "a rejected request reached the upstream"
    else:
        assert reply.startswith(b"HTTP/1.1 200"), reply[:100]
        seen = json.loads(reply.split(b"\r\n\r\n", 1)[1])
        well_formed(seen)
        assert forwarded(seen, "x-datadog-trace-id") == [str(span["trace_id"])]
    assert client.get(server.port, "/echo").status == 200


def test_a_hundred_differing_traceparent_headers(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    headers = [("traceparent", f"00-{i:032x}-{i + 1:016x}-01") for i in range(1, 1001)]
    # nginx itself refuses a thousand header lines ("too many header lines").
    assert client.get(server.port, "/echo", headers=headers).status == 400
    started = time.monotonic()
    seen = client.get(server.port, "/echo", headers=headers[:100]).json()
    assert time.monotonic() - started < 5
    well_formed(seen)
    (sent,) = forwarded(seen, "traceparent")
    span = agent.wait_for_spans(2)[1]
    high = int(span["meta"].get("_dd.p.tid", "0"), 16)
    assert sent.split("-")[1] == f"{high << 64 | span['trace_id']:032x}"


def test_sixty_four_kilobyte_w3c_headers(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    seen = client.get(server.port, "/echo", headers={
        "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01" + "-" + "f" * 65536,
        "tracestate": "dd=s:1;o:" + "x" * 65536 + ",k=" + "v" * 65536}).json()
    well_formed(seen)
    assert all(len(v) < 1024 for k, v in seen["headers_list"] if k.lower() in ("traceparent", "tracestate"))
    assert agent.wait_for_spans(1)[0]["parent_id"] in (0, 0x2222222222222222)


def test_bytes_that_are_not_utf8_reach_the_agent_repaired(nginx, agent, upstream):
    """The agent decodes every span strictly: one invalid string would make
    it reject the whole payload, other requests' spans included."""
    server = nginx(proxied(agent, upstream, "datadog_tag user $http_x_user;"))
    raw = (b"GET /echo/caf\xe9?q=\xff HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\xc3\r\nX-User: \xed\xa0\x80ok\r\n"
           b"Connection: close\r\n\r\n")
    assert client.raw_request(server.port, raw).startswith(b"HTTP/1.1 200")
    assert client.get(server.port, "/echo").status == 200
    spans = agent.wait_for_spans(2)
    meta = spans[0]["meta"]
    assert meta["http.useragent"] == "ua\ufffd"
    assert meta["user"] == "\ufffd\ufffd\ufffdok"
    assert spans[0]["resource"] == "GET /echo/caf\ufffd"
    assert all(p.status == 200 for p in agent.payloads)


def test_datadog_tag_values_keep_control_characters_as_written(nginx, agent):
    """msgpack strings need no escaping: a value with control characters is
    sent as configured (the Datadog UI shows it escaped)."""
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ datadog_tag written "a\tb\x01c\x7f"; datadog_tag from_client $http_x_note; return 204; }}
    }}""")
    client.raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Note: n\x01\x1bo\r\nConnection: close\r\n\r\n")
    meta = agent.wait_for_spans(1)[0]["meta"]
    assert meta["written"] == "a\tb\x01c\x7f"
    assert meta["from_client"] == "n\x01\x1bo"


def test_datadog_tag_name_with_a_control_character_fails_nginx_t(nginx_factory):
    server = nginx_factory('server { listen 127.0.0.1:@PORT@; datadog_tag "bad\x01name" x; }')
    code, output = server.test_config()
    assert code != 0
    assert "datadog_tag name" in output and "control character" in output
    assert f"in {server.conf_path}:" in output




def stream(port, path):
    """GET over HTTP/1.0 (no chunked framing to undo): returns (head, body
    length, the last 64 KB of the body, elapsed seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        data = bytearray()
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        head, _, tail = bytes(data).partition(b"\r\n\r\n")
        length = len(tail)
        buffer = bytearray(1 << 20)
        while True:
            n = s.recv_into(buffer)
            if n == 0:
                break
            length += n
            tail = (tail + buffer[:n])[-65536:]
    return head, length, bytes(tail), time.monotonic() - started


def test_a_gigabyte_of_less_than_signs_streams_through_the_rum_filter(nginx, agent, upstream):
    # Was: injected before the </head> after the gigabyte. The RUM filter
    # now decides within a 64 KB look-ahead (issue 11): past it, the page
    # streams on unchanged, in bounded memory.
    server = nginx(proxied(agent, upstream, RUM))
    (pid,) = server.worker_pids()
    client.get(server.port, "/html/small")
    before = rss_kb(pid)
    head, length, tail, elapsed = stream(server.port, "/html/repeat?unit=%3C&mb=1024")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"x-datadog-rum-injected" not in head
    growth = rss_kb(pid) - before
    assert growth < 16 * 1024 * (4 if server.sanitized else 1), f"worker RSS grew by {growth} kB"
    assert elapsed < 300, f"1 GB took {elapsed:.0f} s"
    assert tail.endswith(REPEAT_TAIL)
    assert set(tail[:-len(REPEAT_TAIL)]) == {ord("<")}
    assert length == len(REPEAT_HEAD) + (1 << 30) + len(REPEAT_TAIL)
    assert server.worker_pids() == {pid}


def test_less_than_signs_within_the_look_ahead_then_a_real_head_end(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream, RUM))
    reply = client.get(server.port, "/html/repeat?unit=%3C&kb=60")
    original = page("<", 60 << 10)
    # `<<<</head>`: every `<` but the last is text, the end tag is real.
    head_end = len(original) - len(REPEAT_TAIL)
    assert reply.body.startswith(original[:head_end]) and reply.body.endswith(REPEAT_TAIL)
    inserted = reply.body[head_end:-len(REPEAT_TAIL)]
    assert re.fullmatch(rb"(?:<meta [^>]*>)*<script[^>]*>.*</script>", inserted, re.S) and b"DD_RUM" in inserted


def page(unit, total=16 << 20):
    """The bytes /html/repeat sends: 1 MiB pieces of `unit`, the last one cut."""
    data = unit.encode()
    piece = (data * ((1 << 20) // len(data) + 1))[:1 << 20]
    repeated = piece * (total // len(piece)) + piece[:total % len(piece)]
    return REPEAT_HEAD + repeated + REPEAT_TAIL


def insertion(body, original):
    """(offset, inserted bytes) if `body` is `original` with one insertion,
    None if they are equal; fails on any other difference."""
    if body == original:
        return None
    k = len(body) - len(original)
    assert k > 0, "the page lost bytes"
    i, block = 0, 1 << 20
    while body[i:i + block] == original[i:i + block]:
        i += block
    while body[i] == original[i]:
        i += 1
    assert body[i + k:] == original[i:], "bytes other than one insertion changed"
    return i, body[i:i + k]


# Units repeated for 16 MB between <html><head> and </head><body></body></html>.
@pytest.mark.parametrize("unit, injected", [
    ("<!--", False),                # one comment that never ends: the </head> is in it
    ("<!-- -->", True),             # closed comments, one after another
    ("<!--<!--<!---->", True),      # comments do not nest: each "-->" closes
    ("<script>", False),            # raw text from the first <script> on
    ('<a href="', None),            # quoted values open and close: </head> may end up inside a tag
    ("<head", None),                # endless tag names: whatever the scanner decides...
    ("</", None),                   # ... the page comes through whole
    ("<![CDATA[", None),
    ("<\x00", None),
])
@pytest.mark.parametrize("size", ["16mb", "60kb"])
def test_pathological_html_streams_whole_in_bounded_time(nginx, agent, upstream, unit, injected, size):
    # 16 MB: past the RUM look-ahead (64 KB), so the page streams on
    # unchanged (was: injected where the scanner found a point); 60 KB: the
    # scanner's verdict on the same units, within the look-ahead.
    total = 16 << 20 if size == "16mb" else 60 << 10
    query = "mb=16" if size == "16mb" else "kb=60"
    server = nginx(proxied(agent, upstream, RUM))
    (pid,) = server.worker_pids()
    client.get(server.port, "/html/small")
    before = rss_kb(pid)
    started = time.monotonic()
    reply = client.get(server.port, f"/html/repeat?unit={quote(unit)}&{query}", timeout=60)
    elapsed = time.monotonic() - started
    assert reply.status == 200
    assert elapsed < 60, f"16 MB took {elapsed:.0f} s"
    assert rss_kb(pid) - before < 16 * 1024 * (4 if server.sanitized else 1)
    original = page(unit, total)
    found = insertion(reply.body, original)
    if size == "16mb":
        assert found is None, "an injection point past the look-ahead leaves the page unchanged"
    elif injected is not None:
        assert (found is not None) == injected
    if found is not None:
        at, inserted = found
        assert b"DD_RUM" in inserted
        # Before the page's own </head> (or, if a tag swallowed that, <body>).
        head_end = len(original) - len(REPEAT_TAIL)
        body_tag = original.rindex(b"<body>")
        assert min(abs(at - head_end), abs(at - body_tag)) <= len(inserted), at
        if injected:
            assert abs(at - head_end) <= len(inserted), "not at the real </head>"
