"""RUM injection through real nginx: where the snippet goes, which responses
get it, framing (Content-Length, chunked, ETag, ranges), compressed upstream
bodies, CSP, the page-to-trace link, and configuration errors."""

import gzip
import json
import re
import zlib

import pytest

from harness import client
from harness.upstream_app import (HEAD_IN_COMMENT_PAGE, HEAD_IN_COMMENT_REAL_HEAD_OFFSET, NOHEAD_PAGE,
                                  SMALL_PAGE)

APP_ID = "db5d092e-055d-4d4d-a4ca-b8f257fb4dcf"
TOKEN = "pubbf870a54b30d159dc08f02bfff4159f9"
# The configuration users already run (the RUM issue's seed), unchanged.
SEED = f"""
    datadog_rum on;
    datadog_rum_config "v5" {{
        "applicationId" "{APP_ID}";
        "clientToken" "{TOKEN}";
        "service" "devtoolscrape-dev";
        "env" "dev";
    }}
"""
CDN_V5_US1 = "https://www.datadoghq-browser-agent.com/us1/v5/datadog-rum.js"
INSERTION = re.compile(rb"(?:<meta [^>]*>)*<script[^>]*>.*?</script>", re.S)


def split_injection(body, original, at):
    """Checks that `body` is `original` with one insertion at byte `at`;
    returns the inserted bytes."""
    assert body.startswith(original[:at]), "bytes before the injection point changed"
    match = INSERTION.match(body, at)
    assert match, "no snippet at the injection point: %r" % body[at:at + 80]
    assert body[match.end():] == original[at:], "bytes after the injection point changed"
    return match.group(0)


def head_end(page):
    return page.index(b"</head>")


def server_conf(upstream, extra="", location_extra="", server_extra=""):
    return f"""
    datadog_tracing off;
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        {server_extra}
        location / {{ proxy_pass http://{upstream.address}; {location_extra} }}
    }}"""


def test_seed_configuration_injects_before_head_end_of_a_gunicorn_page(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, "/html/small")
    assert reply.status == 200
    snippet = split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    for expected in (APP_ID, TOKEN, "devtoolscrape-dev", CDN_V5_US1):
        assert expected.encode() in snippet
    assert reply.header("x-datadog-rum-injected") == "1"
    assert int(reply.header("Content-Length")) == len(reply.body)


def test_upstream_is_told_injection_is_pending_and_client_cannot_fake_it(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, "/echo", headers={"X-Datadog-Rum-Injection-Pending": "0"})
    headers = reply.json()["headers_list"]
    values = [v for k, v in headers if k == "x-datadog-rum-injection-pending"]
    assert values == ["1"]
    assert not INSERTION.search(reply.body), "JSON is not injected"


def test_rum_off_changes_nothing(nginx, upstream):
    server = nginx(server_conf(upstream, SEED, location_extra="datadog_rum off;"))
    reply = client.get(server.port, "/html/small")
    assert reply.body == SMALL_PAGE
    assert reply.header("x-datadog-rum-injected") is None
    headers = client.get(server.port, "/echo").json()["headers"]
    assert "x-datadog-rum-injection-pending" not in headers


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64])
def test_chunked_tiny_flushes_at_every_split(nginx, upstream, piece):
    server = nginx(server_conf(upstream, SEED, location_extra="proxy_buffering off;"))
    reply = client.get(server.port, f"/html/chunked?size={piece}")
    assert reply.status == 200
    split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))


@pytest.mark.parametrize("buffers", ["proxy_buffering off; proxy_buffer_size 1k;",
                                     "proxy_buffers 3 1k; proxy_buffer_size 1k; proxy_busy_buffers_size 1k; proxy_max_temp_file_size 0;",
                                     "proxy_buffers 4 1k; proxy_buffer_size 1k; proxy_temp_file_write_size 1k;"])
def test_large_page_through_small_recycled_proxy_buffers(nginx, upstream, buffers):
    from harness.upstream_app import large_page
    server = nginx(server_conf(upstream, SEED, location_extra=buffers))
    page = large_page(64)
    reply = client.get(server.port, "/html/large?kb=64")
    split_injection(reply.body, page, head_end(page))


def test_decoy_head_tags_in_comment_and_script_do_not_count(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, "/html/head-in-comment")
    split_injection(reply.body, HEAD_IN_COMMENT_PAGE, HEAD_IN_COMMENT_REAL_HEAD_OFFSET)


def test_page_without_head_gets_it_before_body(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, "/html/nohead")
    split_injection(reply.body, NOHEAD_PAGE, NOHEAD_PAGE.index(b"<body"))


def static_conf(root, extra="", location_extra=""):
    return f"""
    datadog_tracing off;
    {SEED}
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        root {root};
        location / {{ {location_extra} }}
    }}"""


@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_static_file_keeps_a_true_content_length(nginx, tmp_path, sendfile):
    (tmp_path / "index.html").write_bytes(SMALL_PAGE)
    server = nginx(static_conf(tmp_path, f"sendfile {sendfile};"))
    reply = client.get(server.port, "/index.html")
    split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    assert int(reply.header("Content-Length")) == len(reply.body)
    assert reply.header("ETag", "").startswith('W/"'), "a strong ETag no longer describes the bytes"
    assert reply.header("Accept-Ranges") is None


def test_page_without_injection_point_goes_out_as_it_came(nginx, tmp_path):
    # Was: padded with spaces to a Content-Length grown in advance (issue 11: pages changed for nothing).
    fragment = b"<p>a fragment, no head, no body</p>\n" * 3
    (tmp_path / "fragment.html").write_bytes(fragment)
    server = nginx(static_conf(tmp_path))
    reply = client.get(server.port, "/fragment.html")
    assert reply.body == fragment
    assert int(reply.header("Content-Length")) == len(fragment)
    assert reply.header("x-datadog-rum-injected") is None
    # Same bytes on a keep-alive connection: the framing holds for the next request.
    raw = client.raw_request(server.port, b"GET /fragment.html HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.count(b"HTTP/1.1 ") == 2


def test_large_static_page_on_many_buffers(nginx, tmp_path):
    # The point within the look-ahead (64 KB), the page far longer: it streams
    # on after the snippet. (A point past the look-ahead: test_rum_look_ahead.py.)
    page = SMALL_PAGE.replace(b"</head>", b"<style>" + b"p{}" * 10000 + b"</style></head>")
    page = page.replace(b"</body>", b"<p>" + b"p{}" * 200000 + b"</p></body>")
    (tmp_path / "big.html").write_bytes(page)
    server = nginx(static_conf(tmp_path, "output_buffers 2 4k;"))
    reply = client.get(server.port, "/big.html")
    split_injection(reply.body, page, head_end(page))
    assert int(reply.header("Content-Length")) == len(reply.body)


@pytest.mark.parametrize("gzip_on", [False, True], ids=["identity", "gzip"])
def test_large_static_page_with_sendfile_after_the_injection_point(nginx, tmp_path, gzip_on):
    """With sendfile on, the rest of the file after the snippet is left to the
    copy filter (sendfile) unless gzip, after the RUM filter, needs memory."""
    page = SMALL_PAGE.replace(b"</body>", b"<p>" + b"0123456789abcdef" * 65536 + b"</p></body>")
    (tmp_path / "big.html").write_bytes(page)
    server = nginx(static_conf(tmp_path, "sendfile on; output_buffers 2 8k;"
                               + (" gzip on; gzip_min_length 1;" if gzip_on else "")))
    for _ in range(2):  # the second on a worker that served one already
        reply = client.get(server.port, "/big.html", headers={"Accept-Encoding": "gzip"})
        assert reply.status == 200
        if gzip_on:
            assert reply.header("Content-Encoding") == "gzip"
            body = gzip.decompress(reply.body)
        else:
            assert reply.header("Content-Encoding") is None
            assert int(reply.header("Content-Length")) == len(reply.body)
            body = reply.body
        split_injection(body, page, head_end(page))


def test_range_request_gets_the_original_bytes(nginx, tmp_path):
    # Was: the whole injected page. The header now waits for the body, and
    # nginx's range filter cuts bytes before they reach the RUM filter, so a
    # range nginx answers is of the original page (counted as `range`).
    (tmp_path / "index.html").write_bytes(SMALL_PAGE)
    server = nginx(static_conf(tmp_path))
    reply = client.get(server.port, "/index.html", headers={"Range": "bytes=0-9"})
    assert reply.status == 206
    assert reply.body == SMALL_PAGE[:10]
    assert reply.header("x-datadog-rum-injected") is None


def test_responses_that_are_left_alone(nginx, upstream, tmp_path):
    (tmp_path / "index.html").write_bytes(SMALL_PAGE)
    server = nginx(f"""
    datadog_tracing off;
    {SEED}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{upstream.address}; }}
        location /static/ {{ alias {tmp_path}/; }}
        location = /empty {{ default_type text/html; return 200 ""; }}
        location = /no-content {{ return 204; }}
    }}""")
    assert client.get(server.port, "/html/small", method="HEAD").body == b""
    assert client.get(server.port, "/html/small", method="HEAD").header("x-datadog-rum-injected") is None
    for path in ("/html/no-transform", "/html/marked", "/json", "/html/status/301"):
        reply = client.get(server.port, path)
        assert not INSERTION.search(reply.body), path
    assert client.get(server.port, "/no-content").status == 204
    assert client.get(server.port, "/empty").body == b""
    first = client.get(server.port, "/static/index.html")
    again = client.get(server.port, "/static/index.html",
                       headers={"If-Modified-Since": first.header("Last-Modified")})
    assert again.status == 304 and again.body == b""


def test_error_pages_are_injected(nginx, upstream, tmp_path):
    (tmp_path / "oops.html").write_bytes(SMALL_PAGE)
    server = nginx(f"""
    datadog_tracing off;
    {SEED}
    server {{
        listen 127.0.0.1:@PORT@;
        root {tmp_path};
        location /app/ {{ proxy_pass http://{upstream.address}/; }}
        location = /custom {{ error_page 404 /oops.html; return 404; }}
    }}""")
    builtin = client.get(server.port, "/missing")
    assert builtin.status == 404
    assert b"<title>404 Not Found</title>" in builtin.body
    assert re.search(rb"<script>.*" + APP_ID.encode() + rb".*</script></head>", builtin.body, re.S)
    custom = client.get(server.port, "/custom")
    assert custom.status == 404
    split_injection(custom.body, SMALL_PAGE, head_end(SMALL_PAGE))
    upstream_error = client.get(server.port, "/app/html/status/503")
    assert upstream_error.status == 503
    assert INSERTION.search(upstream_error.body)


def test_ssi_page_whose_head_comes_from_an_include_is_injected_once(nginx, tmp_path):
    (tmp_path / "header.html").write_bytes(b"<head><title>from include</title></head>")
    (tmp_path / "page.html").write_bytes(
        b"<!DOCTYPE html><html><!--# include virtual=\"/header.html\" --><body>hi</body></html>")
    server = nginx(static_conf(tmp_path, location_extra="ssi on;"))
    reply = client.get(server.port, "/page.html")
    assert reply.status == 200
    expected = b"<!DOCTYPE html><html><head><title>from include</title></head><body>hi</body></html>"
    assert len(INSERTION.findall(reply.body)) == 1
    split_injection(reply.body, expected, expected.index(b"</head>"))


@pytest.mark.parametrize("path,encoding", [("/html/gzip", "gzip"), ("/html/deflate", "deflate")])
def test_compressed_upstream_page_is_decoded_and_injected(nginx, upstream, path, encoding):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, path)
    assert reply.status == 200
    assert reply.header("Content-Encoding") is None
    split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))


def test_compressed_upstream_page_is_compressed_again_by_nginx_gzip(nginx, upstream):
    server = nginx(server_conf(upstream, SEED + "gzip on; gzip_min_length 1;"))
    reply = client.get(server.port, "/html/gzip", headers={"Accept-Encoding": "gzip"})
    assert reply.header("Content-Encoding") == "gzip"
    split_injection(gzip.decompress(reply.body), SMALL_PAGE, head_end(SMALL_PAGE))


def test_large_gzip_page_streams_through_the_decoder(nginx, upstream, tmp_path):
    page = SMALL_PAGE.replace(b"</body>", b"<p>filler paragraph</p>\n" * 60000 + b"</body>")
    (tmp_path / "big.html.gz").write_bytes(gzip.compress(page))
    server = nginx(static_conf(tmp_path, location_extra="gzip_static always;"))
    reply = client.get(server.port, "/big.html", headers={"Accept-Encoding": "gzip"})
    assert reply.header("Content-Encoding") is None
    split_injection(reply.body, page, head_end(page))


def test_corrupt_gzip_body_seen_by_the_look_ahead_goes_out_as_it_came(nginx, tmp_path):
    # Was: the response cut short (and the old test could not fail: its
    # AssertionError was an Exception too). Corrupt within the look-ahead, the
    # body is passed on as the file has it, labelled as the file is.
    corrupt = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4
    (tmp_path / "bad.html.gz").write_bytes(corrupt)
    server = nginx(static_conf(tmp_path, location_extra="gzip_static always;"))
    reply = client.get(server.port, "/bad.html", headers={"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.body == corrupt
    assert reply.header("x-datadog-rum-injected") is None


def test_streamed_100mb_page_keeps_worker_memory_flat(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    (pid,) = server.worker_pids()

    def rss_kb():
        with open(f"/proc/{pid}/status") as f:
            return int(next(line for line in f if line.startswith("VmRSS")).split()[1])

    client.get(server.port, "/html/stream?mb=1")
    before = rss_kb()
    reply = client.get(server.port, "/html/stream?mb=100", timeout=120)
    assert reply.status == 200
    assert len(reply.body) > 100 * 1024 * 1024
    assert reply.body.count(b"<script") == 1
    grown = rss_kb() - before
    assert grown < 8 * 1024, f"worker RSS grew by {grown} KB while streaming 100 MB"


def test_trace_link_meta_tags_for_a_kept_trace(nginx, upstream, agent):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {SEED}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{upstream.address}; }}
        location /dropped/ {{ datadog_sample_rate 0; proxy_pass http://{upstream.address}/; }}
        location /untraced/ {{ datadog_tracing off; proxy_pass http://{upstream.address}/; }}
    }}""")
    reply = client.get(server.port, "/html/small")
    (span,) = agent.wait_for_spans(1)
    snippet = split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    trace_id = re.search(rb'<meta name="dd-trace-id" content="(\d+)">', snippet)
    trace_time = re.search(rb'<meta name="dd-trace-time" content="(\d+)">', snippet)
    assert trace_id and trace_time
    assert int(trace_id.group(1)) == span["trace_id"]
    start_ms = span["start"] // 1_000_000
    assert abs(int(trace_time.group(1)) - start_ms) <= 1
    for path in ("/dropped/html/small", "/untraced/html/small"):
        other = client.get(server.port, path)
        assert b"dd-trace-id" not in split_injection(other.body, SMALL_PAGE, head_end(SMALL_PAGE)), path


def test_strict_csp_nonce_is_reused_and_hosts_are_allowed(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    policy = "default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic'; connect-src 'self'"
    reply = client.get(server.port, "/html/csp?policy=" + client_quote(policy))
    snippet = split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    assert b'<script nonce="r4nd0m">' in snippet
    amended = reply.header("Content-Security-Policy")
    assert "script-src 'nonce-r4nd0m' 'strict-dynamic'" in amended, "no host needed with strict-dynamic"
    assert "sha256-" not in amended
    assert re.search(r"connect-src 'self' https://browser-intake-datadoghq\.com(;|$)", amended)


def test_csp_without_nonce_gets_the_snippet_hash(nginx, upstream):
    server = nginx(server_conf(upstream, SEED))
    reply = client.get(server.port, "/html/csp")  # default-src 'self'; script-src 'self'
    snippet = split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))
    script = re.search(rb"<script>(.*)</script>", snippet, re.S).group(1)
    import base64
    import hashlib
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    amended = reply.header("Content-Security-Policy")
    assert f"'sha256-{digest}'" in amended
    assert "https://www.datadoghq-browser-agent.com" in amended
    assert amended.startswith("default-src 'self'; script-src 'self'")


def test_csp_off_leaves_the_policy_alone(nginx, upstream):
    server = nginx(server_conf(upstream, SEED + "datadog_rum_csp off;"))
    reply = client.get(server.port, "/html/csp")
    assert reply.header("Content-Security-Policy") == "default-src 'self'; script-src 'self'"
    split_injection(reply.body, SMALL_PAGE, head_end(SMALL_PAGE))


def client_quote(text):
    from urllib.parse import quote
    return quote(text, safe="")


def test_per_server_applications_and_location_override(nginx, upstream):
    server = nginx(f"""
    datadog_tracing off;
    datadog_rum on;
    datadog_rum_config "v6" {{ "applicationId" "app-http"; "clientToken" "pub-http"; "site" "datadoghq.eu"; }}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{upstream.address}; }}
        location /other/ {{
            datadog_rum_config "v7" {{ "applicationId" "app-loc"; "clientToken" "pub-loc"; }}
            proxy_pass http://{upstream.address}/;
        }}
        location /self/ {{
            datadog_rum_sdk_url /assets/datadog-rum.js;
            proxy_pass http://{upstream.address}/;
        }}
    }}""")
    http_level = split_injection(client.get(server.port, "/html/small").body, SMALL_PAGE, head_end(SMALL_PAGE))
    assert b"app-http" in http_level
    assert b"https://www.datadoghq-browser-agent.com/eu1/v6/datadog-rum.js" in http_level
    location = split_injection(client.get(server.port, "/other/html/small").body, SMALL_PAGE,
                               head_end(SMALL_PAGE))
    assert b"app-loc" in location and b"app-http" not in location
    assert b"https://www.datadoghq-browser-agent.com/us1/v7/datadog-rum.js" in location
    self_hosted = split_injection(client.get(server.port, "/self/html/small").body, SMALL_PAGE,
                                  head_end(SMALL_PAGE))
    assert b"/assets/datadog-rum.js" in self_hosted and b"datadoghq-browser-agent" not in self_hosted


def test_dd_rum_enabled_environment_turns_injection_on(nginx, upstream):
    block = SEED.replace("datadog_rum on;", "")
    server = nginx(server_conf(upstream, block), env={"DD_RUM_ENABLED": "true"})
    split_injection(client.get(server.port, "/html/small").body, SMALL_PAGE, head_end(SMALL_PAGE))


def test_status_counts_outcomes(nginx, upstream):
    server = nginx(server_conf(upstream, SEED, server_extra="location = /st { datadog_status; }"))
    client.get(server.port, "/html/small")
    client.get(server.port, "/html/small")
    client.get(server.port, "/html/no-transform")
    client.get(server.port, "/json")
    rum = client.get(server.port, "/st").json()["rum"]
    assert rum["injected"] == 2
    assert rum["skipped_by_reason"]["no_transform"] == 1
    assert rum["skipped_by_reason"]["not_html"] == 1


@pytest.mark.parametrize("block,message", [
    ('datadog_rum_config "v9" { "applicationId" "a"; "clientToken" "b"; }', 'v9'),
    ('datadog_rum_config "v5" { "clientToken" "b"; }', 'applicationId'),
    ('datadog_rum_config "v5" { "applicationId" "a"; "clientToken" "b";\n'
     '  "trackResources" "yes"; }', 'yes'),
    ('datadog_rum_config "v5" { "applicationId" "a"; "clientToken" "b";\n'
     '  "sessionSampleRate" "150"; }', '150'),
    ('datadog_rum_config "v5" { "applicationId" "a"; "clientToken" "b";\n'
     '  "site" "example.com"; }', 'example.com'),
    ('datadog_rum_config "v5" { "applicationId" "a"; "clientToken" "b";\n'
     '  "allowedTracingUrls" "https://x.example"; }', 'service'),
    ('datadog_rum_csp sometimes;', 'sometimes'),
    ('datadog_rum_sdk_url ftp://x/y.js;', 'ftp://x/y.js'),
])
def test_bad_rum_configuration_fails_nginx_t_with_file_and_line(nginx_factory, block, message):
    server = nginx_factory(f"""
    server {{
        listen 127.0.0.1:@PORT@;
        {block}
    }}""")
    code, output = server.test_config()
    assert code != 0
    assert message in output
    bad_line = next(i for i, line in enumerate(server.conf_text.splitlines(), 1) if message in line
                    or (message in ("applicationId", "service") and "datadog_rum_config" in line))
    assert re.search(r"nginx\.conf:(\d+)", output)
    reported = int(re.search(r"nginx\.conf:(\d+)", output).group(1))
    assert abs(reported - bad_line) <= 1, output
