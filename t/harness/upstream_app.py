"""Flask application served by Gunicorn as the upstream behind nginx in tests.

The nginx module under test injects the RUM browser SDK into HTML responses
and traces requests, so this app serves every kind of response the module has
to cope with: small/large/streamed HTML, chunked transfer, pre-compressed
bodies, pages without a <head>, decoy "</head>" strings, error statuses,
non-HTML content, and pages that opt out of injection.  It also has an echo
endpoint so tests can see exactly which headers nginx forwarded (e.g. the
trace-propagation headers).

Every body is built from module-level constants or small pure functions so a
test can import the exact bytes it should expect, e.g.::

    from harness.upstream_app import SMALL_PAGE, large_page

Gunicorn and the tests both import it as ``harness.upstream_app`` (Gunicorn
runs with ``--chdir`` at the ``t/`` directory).  The ``t/harness`` directory
itself is never put on sys.path, so no harness file can shadow a
standard-library module that Werkzeug and Gunicorn need.
"""

import gzip
import socket
import time
import zlib

from flask import Flask, Response, jsonify, request

# ---------------------------------------------------------------------------
# Raw request headers
# ---------------------------------------------------------------------------
#
# WSGI only exposes request headers through the environ, where Gunicorn
# folds repeated header lines into one "HTTP_X_FOO" key joined with ","
# (gunicorn/http/wsgi.py: create()) and maps both "X-Foo" and "X_Foo" to the
# same key.  Tests of the tracing side need to see whether nginx forwards a
# propagation header twice, so we wrap gunicorn's environ factory to also
# stash the header list exactly as Gunicorn parsed it (one entry per header
# line, names upper-cased by Gunicorn's parser).  The wrap is looked up at
# call time by the workers ("wsgi.create(...)"), so patching the module
# attribute is enough.  If Gunicorn is absent (e.g. Flask's test client) or
# changes shape, /echo falls back to the environ reconstruction.
RAW_HEADERS_ENVIRON_KEY = "harness.raw_headers"

try:
    from gunicorn.http import wsgi as _gunicorn_wsgi

    if not getattr(_gunicorn_wsgi.create, "_harness_wrapped", False):
        _original_create = _gunicorn_wsgi.create

        def _create_keeping_raw_headers(req, *args, **kwargs):
            resp, environ = _original_create(req, *args, **kwargs)
            environ[RAW_HEADERS_ENVIRON_KEY] = list(req.headers)
            return resp, environ

        _create_keeping_raw_headers._harness_wrapped = True
        _gunicorn_wsgi.create = _create_keeping_raw_headers
except Exception:  # pragma: no cover - only without gunicorn / API change
    pass


def request_header_list(environ):
    """Return [[lowercased-name, value], ...] for the request's header lines.

    Preferably the raw lines from Gunicorn (duplicates kept separate, in wire
    order).  Otherwise rebuilt from the WSGI environ: HTTP_X_FOO -> x-foo plus
    CONTENT_TYPE / CONTENT_LENGTH; there, duplicates appear as a single entry
    whose value Gunicorn joined with "," and "_" in names reads as "-".
    """
    raw = environ.get(RAW_HEADERS_ENVIRON_KEY)
    if raw is not None:
        return [[name.lower(), value] for name, value in raw]

    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append([key[5:].replace("_", "-").lower(), value])
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value != "":
            headers.append([key.replace("_", "-").lower(), value])
    return headers


# ---------------------------------------------------------------------------
# Page bodies (import these in tests to know the exact expected bytes)
# ---------------------------------------------------------------------------

HTML_CONTENT_TYPE = "text/html; charset=utf-8"

# ~300 bytes, complete document with <head>...</head>.
SMALL_PAGE = (
    b"<!DOCTYPE html>\n"
    b"<html lang=\"en\">\n"
    b"<head>\n"
    b"<meta charset=\"utf-8\">\n"
    b"<title>Small test page</title>\n"
    b"</head>\n"
    b"<body>\n"
    b"<h1>Hello from the test upstream</h1>\n"
    b"<p>This small HTML page is served by Gunicorn behind nginx so that the "
    b"RUM SDK injection can be observed.</p>\n"
    b"</body>\n"
    b"</html>\n"
)

# The same small page, pre-compressed by the "application".  mtime=0 keeps
# the gzip bytes deterministic so tests can compare them verbatim.
SMALL_PAGE_GZIP = gzip.compress(SMALL_PAGE, mtime=0)
# HTTP "deflate" means the zlib format (RFC 9110 8.4.1.2), not raw deflate.
SMALL_PAGE_DEFLATE = zlib.compress(SMALL_PAGE)

# HTML without any <head> element: the module must cope (inject elsewhere or
# pass through) without corrupting the page.
NOHEAD_PAGE = (
    b"<!DOCTYPE html>\n"
    b"<html>\n"
    b"<body>\n"
    b"<h1>No head here</h1>\n"
    b"<p>This page has a body but no head element at all.</p>\n"
    b"</body>\n"
    b"</html>\n"
)

# The first two occurrences of "</head>" are decoys: one in an HTML comment,
# one in a JavaScript string.  Only the last one really closes the head.
HEAD_IN_COMMENT_PAGE = (
    b"<!DOCTYPE html>\n"
    b"<html>\n"
    b"<head>\n"
    b"<!-- decoy: this comment mentions </head> before the real one -->\n"
    b"<meta charset=\"utf-8\">\n"
    b"<title>Decoy head markers</title>\n"
    b"<script>var decoy = \"</head>\"; console.log(decoy);</script>\n"
    b"</head>\n"
    b"<body>\n"
    b"<p>The real head ends just above.</p>\n"
    b"</body>\n"
    b"</html>\n"
)
# Byte offsets of the decoys and of the head-closing tag that really counts.
_head_close_offsets = [
    i for i in range(len(HEAD_IN_COMMENT_PAGE)) if HEAD_IN_COMMENT_PAGE.startswith(b"</head>", i)
]
assert len(_head_close_offsets) == 3, _head_close_offsets
HEAD_IN_COMMENT_DECOY_OFFSETS = tuple(_head_close_offsets[:2])
HEAD_IN_COMMENT_REAL_HEAD_OFFSET = _head_close_offsets[2]

# /html/chunked: default split of SMALL_PAGE.
CHUNKED_DEFAULT_PIECE_SIZE = 3

# /html/marked: the application claims it already injected the SDK.
RUM_INJECTED_HEADER = "x-datadog-rum-injected"

# /html/csp: policy used when the request gives none.
CSP_DEFAULT_POLICY = "default-src 'self'; script-src 'self'"

# /json body.
JSON_DOC = {"kind": "json", "message": "not html, must not be injected", "items": [1, 2, 3]}

# /html/large default size.
LARGE_PAGE_DEFAULT_KB = 256

# /html/stream piece size and default size.
STREAM_PIECE_SIZE = 64 * 1024
STREAM_DEFAULT_MB = 1

# Filler paragraph for the sized pages.  Exactly 64 bytes so that sizes are
# easy to reason about; whitespace pads the remainder (valid between tags).
_PARAGRAPH = b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n"
assert len(_PARAGRAPH) == 64, len(_PARAGRAPH)
_PARAGRAPHS_PER_BLOCK = 1024  # 64 KiB of paragraphs per yielded block

SIZED_PAGE_TAIL = b"</body>\n</html>\n"


def sized_page_head(title):
    """Opening of a sized page: the head sits at the very top of the body."""
    return (
        b"<!DOCTYPE html>\n"
        b"<html lang=\"en\">\n"
        b"<head>\n"
        b"<meta charset=\"utf-8\">\n"
        b"<title>" + title.encode("ascii") + b"</title>\n"
        b"</head>\n"
        b"<body>\n"
    )


def iter_sized_page(total_bytes, title, piece_size=STREAM_PIECE_SIZE):
    """Yield a valid HTML page of exactly ``total_bytes`` bytes in pieces.

    Pieces are ``piece_size`` bytes except possibly the last one.  Memory use
    is bounded by ~2 pieces, so multi-MiB pages can be streamed.  If
    ``total_bytes`` is smaller than the head + tail, the minimal page (head +
    tail) is produced instead.
    """
    head = sized_page_head(title)
    filler_len = max(0, total_bytes - len(head) - len(SIZED_PAGE_TAIL))
    n_paragraphs, pad = divmod(filler_len, len(_PARAGRAPH))
    full_blocks, rest = divmod(n_paragraphs, _PARAGRAPHS_PER_BLOCK)
    block = _PARAGRAPH * _PARAGRAPHS_PER_BLOCK

    def parts():
        yield head
        for _ in range(full_blocks):
            yield block
        yield _PARAGRAPH * rest
        yield b"\n" * pad
        yield SIZED_PAGE_TAIL

    # Re-cut the natural parts into fixed-size pieces.
    buf = bytearray()
    for part in parts():
        buf += part
        while len(buf) >= piece_size:
            yield bytes(buf[:piece_size])
            del buf[:piece_size]
    if buf:
        yield bytes(buf)


def large_page(kb=LARGE_PAGE_DEFAULT_KB):
    """Body of /html/large?kb=N: exactly N * 1024 bytes (for N >= 1)."""
    return b"".join(iter_sized_page(kb * 1024, "Large test page"))


def stream_page_size(mb=STREAM_DEFAULT_MB):
    """Total bytes /html/stream?mb=N sends (exactly N MiB for N >= 1)."""
    minimal = len(sized_page_head("Streamed test page")) + len(SIZED_PAGE_TAIL)
    return max(mb * 1024 * 1024, minimal)


def iter_stream_page(mb=STREAM_DEFAULT_MB):
    """Pieces of /html/stream?mb=N (64 KiB each)."""
    return iter_sized_page(mb * 1024 * 1024, "Streamed test page", STREAM_PIECE_SIZE)


def chunked_pieces(body=SMALL_PAGE, pieces=None, size=CHUNKED_DEFAULT_PIECE_SIZE):
    """Split ``body`` as /html/chunked does.

    With ``pieces`` given: that many nearly equal, non-empty pieces (capped at
    len(body)).  Otherwise: pieces of ``size`` bytes.
    """
    if pieces is not None:
        pieces = max(1, min(pieces, len(body)))
        base, extra = divmod(len(body), pieces)
        out, pos = [], 0
        for i in range(pieces):
            n = base + (1 if i < extra else 0)
            out.append(body[pos:pos + n])
            pos += n
        return out
    size = max(1, size)
    return [body[i:i + size] for i in range(0, len(body), size)]


def status_page(code):
    """Body of /html/status/<code>."""
    return (
        b"<!DOCTYPE html>\n"
        b"<html>\n"
        b"<head>\n"
        b"<meta charset=\"utf-8\">\n"
        b"<title>Status %d</title>\n"
        b"</head>\n"
        b"<body>\n"
        b"<h1>Status %d</h1>\n"
        b"</body>\n"
        b"</html>\n"
    ) % (code, code)


def status_text(code):
    """Body of /status/<code>: "boom" for server errors, else "status N"."""
    return "boom" if code >= 500 else "status %d" % code


def _bodyless(code):
    # HTTP forbids a body on these; sending one would confuse clients/nginx.
    return 100 <= code < 200 or code in (204, 304)


# ---------------------------------------------------------------------------
# Application
# ---------------------------------------------------------------------------

app = Flask(__name__)

ENDPOINTS = [
    ("/", "this index"),
    ("/echo[/<path>]", "JSON echo of method, path, query and request headers (any method)"),
    ("/html/small", "SMALL_PAGE with Content-Length"),
    ("/html/large?kb=N", "large_page(N), default N=256, with Content-Length"),
    ("/html/nohead", "NOHEAD_PAGE"),
    ("/html/head-in-comment", "HEAD_IN_COMMENT_PAGE (decoy </head> strings)"),
    ("/html/chunked?pieces=N&size=S&delay_ms=M", "SMALL_PAGE chunked, one chunk per piece"),
    ("/html/gzip", "SMALL_PAGE_GZIP, Content-Encoding: gzip"),
    ("/html/deflate", "SMALL_PAGE_DEFLATE, Content-Encoding: deflate"),
    ("/html/status/<code>", "status_page(code) with that status"),
    ("/status/<code>", "status_text(code) as text/plain with that status"),
    ("/sleep?ms=N", "sleeps N ms, then 'slept N'"),
    ("/json", "JSON_DOC"),
    ("/html/marked", "SMALL_PAGE with x-datadog-rum-injected: 1"),
    ("/html/no-transform", "SMALL_PAGE with Cache-Control: no-transform"),
    ("/html/csp?policy=P", "SMALL_PAGE with Content-Security-Policy: P"),
    ("/html/stream?mb=N", "iter_stream_page(N), chunked 64 KiB pieces, default N=1"),
    ("/html/cut?at=N&framing=length|chunked", "SMALL_PAGE announced whole, hangs up after N bytes"),
    ("/html/repeat?unit=U&mb=N|kb=N&head=0|1", "<html><head>, U repeated to N MiB (KiB), </head><body></body></html>, chunked"),
]


def _int_arg(name, default, minimum=0, maximum=None):
    """Parse an integer query parameter, clamped to a sane range."""
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        value = default
    value = max(minimum, value)
    if maximum is not None:
        value = min(maximum, value)
    return value


def _html(body, status=200, headers=None):
    # Passing bytes makes Werkzeug set an exact Content-Length.
    resp = Response(body, status=status, content_type=HTML_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _stream(pieces, content_type=HTML_CONTENT_TYPE, delay_s=0.0):
    """Streamed response: Werkzeug sets no Content-Length for a generator, so
    Gunicorn uses Transfer-Encoding: chunked (HTTP/1.1 clients) and writes
    each yielded item as its own chunk with one sendall()."""

    def generate():
        for i, piece in enumerate(pieces):
            if delay_s and i:
                time.sleep(delay_s)
            if piece:  # an empty chunk would terminate the chunked body
                yield piece

    return Response(generate(), content_type=content_type)


@app.route("/")
def index():
    lines = ["Test upstream for ngx_http_datadog_module. Endpoints:"]
    lines += ["  %-45s %s" % (path, what) for path, what in ENDPOINTS]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@app.route("/echo", methods=_ALL_METHODS)
@app.route("/echo/<path:rest>", methods=_ALL_METHODS)
def echo(rest=None):
    header_list = request_header_list(request.environ)
    headers = {}
    for name, value in header_list:
        # Repeated lines are joined like Gunicorn does, so the dict view is
        # the same whichever source the list came from.
        headers[name] = headers[name] + "," + value if name in headers else value
    body = request.get_data()
    return jsonify(
        {
            "method": request.method,
            "path": request.path,
            "query": request.environ.get("QUERY_STRING", ""),
            "protocol": request.environ.get("SERVER_PROTOCOL"),
            "headers": headers,
            "headers_list": header_list,
            "body": body.decode("utf-8", "replace"),
            "body_length": len(body),
        }
    )


@app.route("/html/small")
def html_small():
    return _html(SMALL_PAGE)


@app.route("/html/large")
def html_large():
    # Cap at 64 MiB so a typo cannot exhaust memory (use /html/stream for more).
    return _html(large_page(_int_arg("kb", LARGE_PAGE_DEFAULT_KB, 0, 64 * 1024)))


@app.route("/html/nohead")
def html_nohead():
    return _html(NOHEAD_PAGE)


@app.route("/html/head-in-comment")
def html_head_in_comment():
    return _html(HEAD_IN_COMMENT_PAGE)


@app.route("/html/chunked")
def html_chunked():
    pieces = request.args.get("pieces")
    parts = chunked_pieces(
        SMALL_PAGE,
        pieces=None if pieces is None else _int_arg("pieces", 1, 1),
        size=_int_arg("size", CHUNKED_DEFAULT_PIECE_SIZE, 1),
    )
    return _stream(parts, delay_s=_int_arg("delay_ms", 0, 0, 60_000) / 1000.0)


def _encoded(body, encoding):
    return _html(body, headers={"Content-Encoding": encoding, "Vary": "Accept-Encoding"})


@app.route("/html/gzip")
def html_gzip():
    return _encoded(SMALL_PAGE_GZIP, "gzip")


@app.route("/html/deflate")
def html_deflate():
    return _encoded(SMALL_PAGE_DEFLATE, "deflate")


@app.route("/html/status/<int:code>")
def html_status(code):
    if not 100 <= code <= 599:
        return Response("bad status\n", status=400, content_type="text/plain")
    return _html(b"" if _bodyless(code) else status_page(code), status=code)


@app.route("/status/<int:code>")
def plain_status(code):
    if not 100 <= code <= 599:
        return Response("bad status\n", status=400, content_type="text/plain")
    body = "" if _bodyless(code) else status_text(code)
    return Response(body, status=code, content_type="text/plain; charset=utf-8")


@app.route("/sleep")
def sleep():
    ms = _int_arg("ms", 0, 0, 600_000)
    time.sleep(ms / 1000.0)
    return Response("slept %d" % ms, content_type="text/plain; charset=utf-8")


@app.route("/json")
def json_doc():
    return jsonify(JSON_DOC)


@app.route("/html/marked")
def html_marked():
    return _html(SMALL_PAGE, headers={RUM_INJECTED_HEADER: "1"})


@app.route("/html/no-transform")
def html_no_transform():
    return _html(SMALL_PAGE, headers={"Cache-Control": "no-transform"})


@app.route("/html/csp")
def html_csp():
    policy = request.args.get("policy", CSP_DEFAULT_POLICY)
    if "\r" in policy or "\n" in policy:
        return Response("bad policy\n", status=400, content_type="text/plain")
    return _html(SMALL_PAGE, headers={"Content-Security-Policy": policy})


@app.route("/html/stream")
def html_stream():
    # Cap at 4 GiB-ish; the generator keeps memory flat regardless.
    return _stream(iter_stream_page(_int_arg("mb", STREAM_DEFAULT_MB, 0, 4096)))


class _HangUp(Exception):
    """Raised mid-body, after the socket is shut down: Gunicorn would
    otherwise end a chunked body properly (its last chunk) despite the error."""


@app.route("/html/cut")
def html_cut():
    at = _int_arg("at", len(SMALL_PAGE) // 2, 0, len(SMALL_PAGE))
    sock = request.environ["gunicorn.socket"]

    def generate():
        if at:
            yield SMALL_PAGE[:at]
        sock.shutdown(socket.SHUT_RDWR)
        raise _HangUp("hanging up mid-body on purpose")

    resp = Response(generate(), content_type=HTML_CONTENT_TYPE)
    if request.args.get("framing", "length") == "length":
        resp.headers["Content-Length"] = str(len(SMALL_PAGE))
    return resp


REPEAT_HEAD = b"<html><head>"
REPEAT_TAIL = b"</head><body></body></html>"


@app.route("/html/repeat")
def html_repeat():
    unit = request.args.get("unit", "<").encode("utf-8") or b"<"
    total = _int_arg("mb", 1, 0, 4096) * 1024 * 1024
    if "kb" in request.args:
        total = _int_arg("kb", 1, 0, 1024 * 1024) * 1024
    piece = (unit * (1024 * 1024 // len(unit) + 1))[:1024 * 1024]
    head = REPEAT_HEAD if request.args.get("head", "1") == "1" else b""

    def generate():
        yield head
        left = total
        while left > 0:
            yield piece[:left]
            left -= len(piece)
        yield REPEAT_TAIL

    return Response(generate(), content_type=HTML_CONTENT_TYPE)


# Bodies with no injection point, or not what their headers say (RUM look-ahead).
FRAGMENT_PAGE = b'<div id="results"><p>an htmx fragment: no head, no body</p></div>\n'
FRAGMENT_ETAG = '"fragment-v1"'
UTF16_PAGE = SMALL_PAGE.decode("ascii").encode("utf-16")  # with its BOM


def corrupt_late_gzip():
    """A gzip stream whose first part (flushed, so it decodes on its own)
    holds SMALL_PAGE's </head>, then bytes that are no deflate block."""
    encoder = zlib.compressobj(wbits=31)
    first = encoder.compress(SMALL_PAGE) + encoder.flush(zlib.Z_SYNC_FLUSH)
    return first, b"\xff" * 64


@app.route("/html/fragment")
def html_fragment():
    if request.args.get("chunked") == "1":
        return _stream([FRAGMENT_PAGE[:10], FRAGMENT_PAGE[10:]])
    return _html(FRAGMENT_PAGE, headers={"ETag": FRAGMENT_ETAG})


@app.route("/html/utf16")
def html_utf16():
    if request.args.get("charset") == "1":
        body = SMALL_PAGE.decode("ascii").encode("utf-16-le")  # no BOM: only the header says it
        return Response(body, content_type="text/html; charset=UTF-16LE")
    return Response(UTF16_PAGE, content_type="text/html")


@app.route("/html/mislabelled")
def html_mislabelled():
    return _encoded(SMALL_PAGE, request.args.get("encoding", "gzip"))


@app.route("/html/gzip-corrupt-late")
def html_gzip_corrupt_late():
    first, garbage = corrupt_late_gzip()

    def generate():
        yield first
        time.sleep(0.3)  # a separate read in nginx: after the header went out
        yield garbage

    resp = Response(generate(), content_type=HTML_CONTENT_TYPE)
    resp.headers["Content-Encoding"] = "gzip"
    return resp


@app.route("/html/gzip-trailer-late")
def html_gzip_trailer_late():
    """A gzip page flushed whole, then, in a later write, only the stream's
    end (an empty final block and the trailer), which decodes to no byte."""
    encoder = zlib.compressobj(wbits=31)
    page = late_head_page(int(request.args.get("kb", "0")))
    first = encoder.compress(page) + encoder.flush(zlib.Z_SYNC_FLUSH)

    def generate():
        yield first
        time.sleep(0.3)  # a separate read in nginx: after the header went out
        yield encoder.flush()
        time.sleep(0.3)  # and the body's end in another

    resp = Response(generate(), content_type=HTML_CONTENT_TYPE)
    resp.headers["Content-Encoding"] = "gzip"
    return resp


def late_head_page(kb):
    """SMALL_PAGE with about `kb` KiB of inline style before its </head>."""
    return SMALL_PAGE.replace(b"</head>", b"<style>" + b"p{}" * (kb * 1024 // 3) + b"</style></head>")


@app.route("/html/late-head")
def html_late_head():
    return _html(late_head_page(_int_arg("kb", 40, 0, 1024)))
