"""RUM look-ahead through real nginx: the response header waits until the body
shows whether the snippet goes in. A response with no injection point, a
body that is not ASCII-compatible, or one that is not what its
Content-Encoding says goes out as it came (bytes, Content-Length, ETag,
ranges); the header says "injected" only when the snippet is in; pieces of the
page from SSI includes and add_before_body files are read under sendfile on."""

import gzip
import zlib

import pytest

from harness import client
from harness.upstream_app import (FRAGMENT_ETAG, FRAGMENT_PAGE, SMALL_PAGE, UTF16_PAGE,
                                  corrupt_late_gzip, late_head_page)
from test_rum_injection import SEED, head_end, split_injection

STATUS = "location = /st { datadog_status; }"


def rum_server(server_body, extra=""):
    return f"""
    datadog_tracing off;
    {SEED}
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        {STATUS}
        {server_body}
    }}"""


def proxied(upstream, location_extra="", extra=""):
    return rum_server(f"location / {{ proxy_pass http://{upstream.address}; {location_extra} }}", extra)


def static(root, extra="", server_extra=""):
    return rum_server(f"root {root}; {server_extra}", extra)


def rum_counters(server):
    return client.get(server.port, "/st").json()["rum"]


def assert_untouched(reply, original):
    assert reply.status == 200
    assert reply.body == original
    assert reply.header("x-datadog-rum-injected") is None


def warn_lines(server):
    return [line for line in server.error_log().splitlines()
            if ("[warn]" in line or "[error]" in line) and "datadog: RUM" in line]


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_fragment_without_injection_point_is_passed_unchanged(nginx, upstream, chunked):
    server = nginx(proxied(upstream))
    reply = client.get(server.port, "/html/fragment" + ("?chunked=1" if chunked else ""))
    assert_untouched(reply, FRAGMENT_PAGE)
    if not chunked:
        assert int(reply.header("Content-Length")) == len(FRAGMENT_PAGE), "no padding"
        assert reply.header("ETag") == FRAGMENT_ETAG, "the validator still describes the bytes"
    rum = rum_counters(server)
    assert rum["no_injection_point"] == 1
    assert rum["injected"] == 0


def test_static_page_without_injection_point_keeps_validators_and_ranges(nginx, tmp_path):
    (tmp_path / "fragment.html").write_bytes(FRAGMENT_PAGE)
    (tmp_path / "index.html").write_bytes(SMALL_PAGE)
    server = nginx(static(tmp_path))
    reply = client.get(server.port, "/fragment.html")
    assert_untouched(reply, FRAGMENT_PAGE)
    assert int(reply.header("Content-Length")) == len(FRAGMENT_PAGE)
    etag = reply.header("ETag")
    assert etag.startswith('"'), "a strong ETag stays strong"
    assert reply.header("Accept-Ranges") == "bytes"
    ranged = client.get(server.port, "/fragment.html", headers={"Range": "bytes=5-14"})
    assert ranged.status == 206
    assert ranged.body == FRAGMENT_PAGE[5:15]
    assert ranged.header("Content-Range") == f"bytes 5-14/{len(FRAGMENT_PAGE)}"
    # The same works on a page that would be injected: a range is of the original bytes.
    ranged = client.get(server.port, "/index.html", headers={"Range": "bytes=0-9"})
    assert ranged.status == 206 and ranged.body == SMALL_PAGE[:10]
    # On a keep-alive connection, the next request is read right.
    raw = client.raw_request(server.port, b"GET /fragment.html HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.count(b"HTTP/1.1 200 ") == 2
    assert raw.count(b"x-datadog-rum-injected: 1") == 1
    rum = rum_counters(server)
    assert rum["no_injection_point"] == 2
    assert rum["skipped_by_reason"]["range"] == 2
    assert rum["injected"] == 1


def test_error_page_without_head_is_passed_unchanged(nginx, tmp_path):
    server = nginx(static(tmp_path, server_extra="""
        location = /gone { default_type text/html; return 410 "<p>this item is gone</p>"; }"""))
    reply = client.get(server.port, "/gone")
    assert reply.status == 410
    assert reply.body == b"<p>this item is gone</p>"
    assert int(reply.header("Content-Length")) == len(reply.body)
    assert reply.header("x-datadog-rum-injected") is None


@pytest.mark.parametrize("path,original,skipped_at_header", [
    ("/html/utf16", UTF16_PAGE, False),
    ("/html/utf16?charset=1", SMALL_PAGE.decode("ascii").encode("utf-16-le"), True),
], ids=["bom", "charset"])
def test_utf16_page_is_passed_unchanged(nginx, upstream, path, original, skipped_at_header):
    server = nginx(proxied(upstream))
    reply = client.get(server.port, path)
    assert_untouched(reply, original)
    assert int(reply.header("Content-Length")) == len(original)
    assert rum_counters(server)["skipped_by_reason"]["not_ascii"] == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_body_labelled_compressed_but_plain_is_passed_as_it_came(nginx, upstream, encoding):
    assert encoding != "deflate" or _not_raw_deflate(SMALL_PAGE)
    server = nginx(proxied(upstream), error_log_level="debug")
    reply = client.get(server.port, f"/html/mislabelled?encoding={encoding}")
    assert_untouched(reply, SMALL_PAGE)
    assert reply.header("Content-Encoding") == encoding, "passed on as the upstream labelled it"
    assert int(reply.header("Content-Length")) == len(SMALL_PAGE)
    assert rum_counters(server)["skipped_by_reason"]["not_compressed"] == 1
    assert "datadog: RUM not injected: not_compressed" in server.error_log()
    # The worker still serves a real compressed page.
    split_injection(client.get(server.port, "/html/gzip").body, SMALL_PAGE, head_end(SMALL_PAGE))


def _not_raw_deflate(data):
    try:
        zlib.decompressobj(-15).decompress(data)
    except zlib.error:
        return True
    return False


def test_gzip_body_corrupt_after_the_header_went_out_ends_the_response_early(nginx, upstream):
    server = nginx(proxied(upstream, location_extra="proxy_buffering off;"))
    raw = client.raw_request(server.port, b"GET /html/gzip-corrupt-late HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"x-datadog-rum-injected: 1" in head, "the snippet went out before the corruption came"
    assert b"Transfer-Encoding: chunked" in head
    assert b"DD_RUM" in body
    assert not body.endswith(b"0\r\n\r\n"), "a body cut short must not look complete"
    assert any("compressed body is corrupt after the look-ahead" in line for line in warn_lines(server))
    assert rum_counters(server)["failed"] == 1
    assert not server.crash_lines()
    # The valid part alone decodes to the page up to where it broke.
    first, _ = corrupt_late_gzip()
    assert zlib.decompressobj(31).decompress(first) == SMALL_PAGE


@pytest.mark.parametrize("buffering", ["", "proxy_buffering off;"])
def test_gzip_end_arriving_alone_after_the_header_completes_the_response(nginx, upstream, buffering):
    # The last read of the upstream decodes to nothing: passing an empty chain
    # on made nginx log "[alert] the http output chain is empty" and cut the
    # response before its last chunk.
    server = nginx(proxied(upstream, location_extra=buffering))
    # A page larger than postpone_output: all of it is written before the end.
    page = late_head_page(40)
    raw = client.raw_request(server.port, b"GET /html/gzip-trailer-late?kb=40 HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"x-datadog-rum-injected: 1" in head
    assert b"Transfer-Encoding: chunked" in head
    split_injection(b"".join(client.parse_chunked(body)), page, head_end(page))
    assert "[alert]" not in server.error_log()
    assert rum_counters(server)["failed"] == 0


def test_injection_point_past_the_look_ahead_leaves_the_page_unchanged(nginx, tmp_path):
    page = SMALL_PAGE.replace(b"<head>", b"<head><style>" + b"p{}" * 40000 + b"</style>")
    assert page.index(b"</head>") > 64 * 1024
    (tmp_path / "big.html").write_bytes(page)
    server = nginx(static(tmp_path, "output_buffers 2 4k;"))
    reply = client.get(server.port, "/big.html")
    assert_untouched(reply, page)
    assert int(reply.header("Content-Length")) == len(page)
    assert reply.header("ETag").startswith('"')
    assert rum_counters(server)["skipped_by_reason"]["look_ahead_exceeded"] == 1


@pytest.mark.parametrize("buffers", ["proxy_buffering off; proxy_buffer_size 1k;",
                                     "proxy_buffers 2 1k; proxy_buffer_size 1k; proxy_busy_buffers_size 1k;"
                                     " proxy_max_temp_file_size 0;"])
def test_injection_point_late_in_the_look_ahead_through_small_proxy_buffers(nginx, upstream, buffers):
    """The look-ahead holds 40 KB here, far more than the proxy buffers: it
    copies what it holds, so the upstream is never stalled."""
    page = late_head_page(40)
    assert head_end(page) > 40 * 1024
    server = nginx(proxied(upstream, location_extra=buffers))
    reply = client.get(server.port, "/html/late-head?kb=40", timeout=10)
    split_injection(reply.body, page, head_end(page))
    assert int(reply.header("Content-Length")) == len(reply.body)


def test_head_from_add_before_body_file_with_sendfile_on_is_injected(nginx, tmp_path):
    (tmp_path / "before.html").write_bytes(b"<!DOCTYPE html><html><head><title>t</title></head>")
    (tmp_path / "page.html").write_bytes(b"<body><p>hello</p></body></html>")
    server = nginx(static(tmp_path, "sendfile on;", server_extra="""
        location = /page.html { add_before_body /before.html; }"""))
    reply = client.get(server.port, "/page.html")
    expected = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>hello</p></body></html>"
    assert reply.status == 200
    split_injection(reply.body, expected, expected.index(b"</head>"))
    assert reply.header("x-datadog-rum-injected") == "1"
    rum = rum_counters(server)
    assert rum["injected"] == 1 and rum["failed"] == 0
    assert warn_lines(server) == []


def test_head_from_ssi_include_of_a_plain_file_with_sendfile_on_is_injected(nginx, tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "header.html").write_bytes(b"<head><title>from include</title></head>")
    (tmp_path / "page.html").write_bytes(
        b"<!DOCTYPE html><html><!--# include virtual=\"/parts/header.html\" --><body>hi</body></html>")
    server = nginx(static(tmp_path, "sendfile on;", server_extra="""
        location / { ssi on; }
        location /parts/ { ssi off; }"""))
    reply = client.get(server.port, "/page.html")
    expected = b"<!DOCTYPE html><html><head><title>from include</title></head><body>hi</body></html>"
    assert reply.status == 200
    split_injection(reply.body, expected, expected.index(b"</head>"))
    assert reply.header("x-datadog-rum-injected") == "1"
    assert rum_counters(server)["failed"] == 0


def test_gzip_static_page_after_the_look_ahead_is_still_decoded_and_injected(nginx, tmp_path):
    """The look-ahead decodes the start; the decoder starts over for the real pass."""
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(SMALL_PAGE))
    server = nginx(static(tmp_path, server_extra="location / { gzip_static always; }"))
    reply = client.get(server.port, "/page.html", headers={"Accept-Encoding": "gzip"})
    assert reply.header("Content-Encoding") is None
    split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    rum = rum_counters(server)
    assert rum["decoded"] == 1 and rum["injected"] == 1


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_upstream_failing_before_the_verdict_gets_header_and_bytes_unchanged(nginx, upstream, framing):
    # HTTP/1.1 to the upstream: a chunked body cut short is an error (with
    # HTTP/1.0, the close would end the body normally).
    server = nginx(proxied(upstream, location_extra="proxy_http_version 1.1;"))
    at = head_end(SMALL_PAGE) - 20
    raw = client.raw_request(server.port, f"GET /html/cut?at={at}&framing={framing} HTTP/1.1\r\n"
                             "Host: x\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"x-datadog-rum-injected" not in head
    if framing == "length":
        assert f"Content-Length: {len(SMALL_PAGE)}".encode() in head, "the upstream's length, unchanged"
        assert body == SMALL_PAGE[:at]
    else:
        assert SMALL_PAGE[:at] in body and not body.endswith(b"0\r\n\r\n")
    assert any("ended early, before the look-ahead" in line for line in warn_lines(server))
    assert rum_counters(server)["failed"] == 1


def test_held_header_goes_out_over_http2(nginx, upstream):
    """HTTP/2's header filter builds the HEADERS frame when the look-ahead
    releases the header: injected and untouched responses both arrive whole."""
    import subprocess
    server = nginx(f"""
    datadog_tracing off;
    {SEED}
    server {{
        listen 127.0.0.1:@PORT@ http2;
        location / {{ proxy_pass http://{upstream.address}; }}
    }}""")
    for path, check in (("/html/small", lambda body: split_injection(body, SMALL_PAGE, head_end(SMALL_PAGE))),
                        ("/html/fragment", lambda body: body == FRAGMENT_PAGE or pytest.fail(body))):
        done = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-",
                               f"http://127.0.0.1:{server.port}{path}"], capture_output=True, timeout=10)
        assert done.returncode == 0, done.stderr
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/2 200"), head
        check(body)
        assert (b"x-datadog-rum-injected: 1" in head) == (path == "/html/small")


def test_head_from_a_proxied_ssi_include_is_injected(nginx, upstream, tmp_path):
    """The look-ahead waits across a subrequest to the upstream: the main
    page's own bytes are held (and copied) until the include brings </head>."""
    (tmp_path / "page.html").write_bytes(b"<!-- before -->" + b"<p>x</p>" * 2000
                                         + b"<!--# include virtual=\"/app/html/small\" --><!-- after -->")
    server = nginx(static(tmp_path, "sendfile on;", server_extra=f"""
        location / {{ ssi on; }}
        location /app/ {{ proxy_pass http://{upstream.address}/; proxy_buffering off; }}"""))
    reply = client.get(server.port, "/page.html")
    expected = b"<!-- before -->" + b"<p>x</p>" * 2000 + SMALL_PAGE + b"<!-- after -->"
    split_injection(reply.body, expected, expected.index(b"</head>"))
    assert reply.header("x-datadog-rum-injected") == "1"
