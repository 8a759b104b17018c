"""The test upstream itself (Gunicorn + Flask, no nginx) behaves as the nginx
tests assume: if these fail, nginx test failures mean nothing."""

import gzip
import http.client
import json
import os
import socket
import threading
import time
import zlib

import pytest

from harness import upstream_app as app
from harness.client import parse_chunked
from harness.upstream import Upstream


@pytest.fixture(scope="module")
def upstream():
    with Upstream() as up:
        yield up


def get(up, path, headers=None, method="GET", body=None):
    conn = up.connection()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def raw_get(up, path):
    """Send a bare HTTP/1.1 request and return the bytes exactly as sent back,
    so that the chunked framing (which http.client hides) can be inspected."""
    with socket.create_connection((up.host, up.port), timeout=10) as s:
        s.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\n"
            b"Host: upstream\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                return data
            data += piece


def test_echo_returns_the_request_headers_it_received(upstream):
    resp, body = get(upstream, "/echo/some/path?a=1&b=two", headers={"X-Test": "1"})
    assert resp.status == 200
    doc = json.loads(body)
    assert doc["method"] == "GET"
    assert doc["path"] == "/echo/some/path"
    assert doc["query"] == "a=1&b=two"
    assert doc["headers"]["x-test"] == "1"
    assert ["x-test", "1"] in doc["headers_list"]
    assert doc["headers"]["host"].startswith("127.0.0.1")


def test_echo_keeps_repeated_header_lines_apart(upstream):
    conn = upstream.connection()
    try:
        conn.putrequest("GET", "/echo")
        conn.putheader("X-Dup", "first")
        conn.putheader("X-Dup", "second")
        conn.endheaders()
        doc = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    dups = [value for name, value in doc["headers_list"] if name == "x-dup"]
    assert dups == ["first", "second"]
    assert doc["headers"]["x-dup"] == "first,second"


def test_echo_reports_method_and_body_of_a_post(upstream):
    resp, body = get(
        upstream, "/echo", method="POST", body=b"hello",
        headers={"Content-Type": "text/plain"},
    )
    doc = json.loads(body)
    assert (doc["method"], doc["body"]) == ("POST", "hello")
    assert doc["headers"]["content-type"] == "text/plain"
    assert doc["headers"]["content-length"] == "5"


def test_small_page_is_html_with_content_length(upstream):
    resp, body = get(upstream, "/html/small")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert resp.getheader("Content-Length") == str(len(app.SMALL_PAGE))
    assert body == app.SMALL_PAGE
    assert b"<head>" in body and b"</head>" in body


def test_chunked_page_arrives_in_many_chunks_with_the_full_body(upstream):
    raw = raw_get(upstream, "/html/chunked")
    head, _, payload = raw.partition(b"\r\n\r\n")
    header_lines = head.lower().split(b"\r\n")
    assert b"transfer-encoding: chunked" in header_lines
    assert not any(line.startswith(b"content-length:") for line in header_lines)
    chunks = parse_chunked(payload)
    # One chunk per yielded piece: Gunicorn must not coalesce them.
    assert chunks == app.chunked_pieces()
    assert b"".join(chunks) == app.SMALL_PAGE


def test_chunked_page_can_be_cut_into_a_given_number_of_pieces(upstream):
    raw = raw_get(upstream, "/html/chunked?pieces=5&delay_ms=1")
    chunks = parse_chunked(raw.partition(b"\r\n\r\n")[2])
    assert len(chunks) == 5
    assert b"".join(chunks) == app.SMALL_PAGE


def test_chunked_page_reads_back_whole_through_http_client(upstream):
    resp, body = get(upstream, "/html/chunked")
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert body == app.SMALL_PAGE


@pytest.mark.parametrize(
    "path, encoding, decode",
    [("/html/gzip", "gzip", gzip.decompress), ("/html/deflate", "deflate", zlib.decompress)],
)
def test_compressed_page_decompresses_to_the_small_page(upstream, path, encoding, decode):
    resp, body = get(upstream, path, headers={"Accept-Encoding": encoding})
    assert resp.getheader("Content-Encoding") == encoding
    assert resp.getheader("Vary") == "Accept-Encoding"
    assert resp.getheader("Content-Type").startswith("text/html")
    assert resp.getheader("Content-Length") == str(len(body))
    assert decode(body) == app.SMALL_PAGE


def test_status_500_is_a_plain_text_boom(upstream):
    resp, body = get(upstream, "/status/500")
    assert resp.status == 500
    assert body == b"boom"


def test_html_error_page_carries_its_status(upstream):
    resp, body = get(upstream, "/html/status/404")
    assert resp.status == 404
    assert body == app.status_page(404)


def test_large_page_has_the_requested_size_and_head_near_the_top(upstream):
    resp, body = get(upstream, "/html/large?kb=64")
    assert resp.getheader("Content-Length") == str(64 * 1024)
    assert len(body) == 64 * 1024
    assert body == app.large_page(64)
    assert 0 < body.find(b"</head>") < 512
    assert body.endswith(b"</html>\n")


def test_stream_sends_exactly_the_requested_mebibytes(upstream):
    resp, body = get(upstream, "/html/stream?mb=1")
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert len(body) == app.stream_page_size(1) == 1024 * 1024
    assert body.startswith(app.sized_page_head("Streamed test page"))


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_cut_page_hangs_up_after_the_requested_bytes(upstream, framing):
    reply = raw_get(upstream, f"/html/cut?at=100&framing={framing}")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    if framing == "length":
        assert f"Content-Length: {len(app.SMALL_PAGE)}".encode() in head
        assert body == app.SMALL_PAGE[:100]
    else:
        assert b"Transfer-Encoding: chunked" in head
        assert body == b"64\r\n" + app.SMALL_PAGE[:100] + b"\r\n", "no last chunk"


def test_repeat_page_is_the_unit_repeated_between_head_and_tail(upstream):
    resp, body = get(upstream, "/html/repeat?unit=%3C!--&mb=1")
    assert resp.status == 200
    assert body.startswith(app.REPEAT_HEAD + b"<!--<!--") and body.endswith(b"<!--" + app.REPEAT_TAIL)
    assert len(body) == len(app.REPEAT_HEAD) + 1024 * 1024 + len(app.REPEAT_TAIL)


def test_special_pages_carry_their_marker_headers(upstream):
    resp, body = get(upstream, "/html/marked")
    assert resp.getheader(app.RUM_INJECTED_HEADER) == "1" and body == app.SMALL_PAGE
    resp, _ = get(upstream, "/html/no-transform")
    assert resp.getheader("Cache-Control") == "no-transform"
    resp, _ = get(upstream, "/html/csp?policy=script-src%20%27none%27")
    assert resp.getheader("Content-Security-Policy") == "script-src 'none'"
    resp, body = get(upstream, "/json")
    assert resp.getheader("Content-Type") == "application/json"
    assert json.loads(body) == app.JSON_DOC


def test_slow_request_does_not_block_other_requests(upstream):
    # Both workers x 4 threads: a handful of sleeps leave capacity for more.
    results = []
    sleepers = [
        threading.Thread(target=lambda: results.append(get(upstream, "/sleep?ms=500")[1]))
        for _ in range(3)
    ]
    for t in sleepers:
        t.start()
    time.sleep(0.05)
    started = time.monotonic()
    resp, _ = get(upstream, "/html/small")
    assert resp.status == 200
    assert time.monotonic() - started < 0.4
    for t in sleepers:
        t.join()
    assert results == [b"slept 500"] * 3


def test_connection_is_kept_alive_between_requests(upstream):
    conn = upstream.connection()
    try:
        conn.request("GET", "/html/small")
        resp = conn.getresponse()
        resp.read()
        assert resp.getheader("Connection", "").lower() != "close"
        first_sock = conn.sock
        conn.request("GET", "/json")
        conn.getresponse().read()
        assert conn.sock is first_sock  # http.client reconnects if it was closed
    finally:
        conn.close()


def test_stop_leaves_no_gunicorn_process_behind():
    up = Upstream(workers=1, threads=2)
    up.start()
    pgid = up.pid
    resp, _ = get(up, "/")
    assert resp.status == 200
    up.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", up.port), timeout=1).close()
