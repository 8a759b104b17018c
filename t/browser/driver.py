"""Helpers for the browser tests: run t/browser/visit.mjs (headless Debian Chromium
driven by playwright-core, with the real RUM SDK of each major served from
node_modules) and pick events out of what it captured.

    from driver import require_browser, visit, view_event

    require_browser()
    result = visit({"url": f"http://127.0.0.1:{port}/page.html"})
    view = view_event(result)

visit() returns visit.mjs's JSON object:
    url              the page loaded
    events           RUM events (from /api/v2/rum intake bodies), in arrival order
    intake_requests  [{url, method, track (URL path: /api/v2/rum, /api/v2/replay...),
                       query, headers, encoding ("identity" | "deflate"), size, parsed
                       (JSON-lines track), n_events, parse_error, text (body when
                       unparseable)}] every browser-intake-* request, answered 202
    cdn_requests     [{url, file, status}] every request to the official CDN
    console          [{type, text}]          (both pages: the first and then_url)
    page_errors      [{message, stack}]      (both pages)
    csp_violations   [{source: "event", violated_directive, effective_directive,
                       blocked_uri, disposition, original_policy, source_file,
                       line_number, sample, document_uri}] from securitypolicyviolation
                     events of the first page, then [{source: "console", text}]
    requests         [{url, method, resource_type, headers, status, failure}] every
                     request to 127.0.0.1 / localhost / [::1] (both pages)
    html             document.documentElement.outerHTML of the first page after load
    dd_rum           {present (a DD_RUM global exists), version, loaded (the SDK code ran),
                      initialized (init() was called), init_configuration, internal_context}
    navigation       {status, then_status, error[, then_error]}
    sdk_ready_ms     ms from the start until DD_RUM.getInitConfiguration() returned the
                     options (the fetches wait for it), or None if it never did
    fetch_results    [{url, status} | {url, error}] when the spec had "fetch"
    elapsed_ms
"""

import contextlib
import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BROWSER_DIR = Path(__file__).resolve().parent
VISIT = BROWSER_DIR / "visit.mjs"
NODE_MODULES = BROWSER_DIR / "node_modules"
CHROMIUM = os.environ.get("DD_TEST_CHROMIUM", "/usr/bin/chromium")
MAJORS = (5, 6, 7)
CDN_HOST = "www.datadoghq-browser-agent.com"


def cdn_url(major, region="us1"):
    """The official CDN URL of the SDK (what the module's default snippet loads)."""
    if region == "gov":
        return f"https://{CDN_HOST}/datadog-rum-v{major}.js"
    return f"https://{CDN_HOST}/{region}/v{major}/datadog-rum.js"


def require_browser():
    """Fails (never skips) the calling test when the browser toolchain is missing."""
    problems = []
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    if shutil.which("node") is None:
        problems.append("node is not on PATH (apt-get install nodejs npm)")
    if not (NODE_MODULES / "playwright-core" / "package.json").is_file():
        problems.append(f"{NODE_MODULES}/playwright-core is missing (cd t/browser && npm ci)")
    for major in MAJORS:
        bundle = NODE_MODULES / f"rum{major}" / "bundle" / "datadog-rum.js"
        if not bundle.is_file():
            problems.append(f"{bundle} is missing (cd t/browser && npm ci)")
    if problems:
        pytest.fail(
            "browser tests need Debian's chromium and t/browser/node_modules; run scripts/setup:\n  "
            + "\n  ".join(problems),
            pytrace=False,
        )


def visit(spec, timeout=None):
    """Runs visit.mjs with the spec (a dict, see visit.mjs) and returns its JSON output.
    A driver failure (launch failure, timeout, bad output) fails the test."""
    require_browser()
    bound = spec.get("timeout_ms", 30000) / 1000 + 15 if timeout is None else timeout
    try:
        proc = subprocess.run(
            ["node", str(VISIT), json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=bound,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"visit.mjs did not finish in {bound} s: {e.stderr!r}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"visit.mjs exited {proc.returncode}:\n{proc.stderr.strip()}\nstdout: {proc.stdout[:2000]}",
            pytrace=False,
        )
    try:
        return json.loads(proc.stdout)
    except ValueError as e:
        pytest.fail(f"visit.mjs printed no JSON ({e}): {proc.stdout[:2000]!r}\n{proc.stderr}", pytrace=False)


def events_of_type(result, event_type):
    return [e for e in result["events"] if e.get("type") == event_type]


def view_event(result, url=None):
    """The latest version (highest _dd.document_version) of the view of `url`
    (default: the page the spec loaded), or None."""
    url = url or result["url"]
    views = [e for e in events_of_type(result, "view") if e.get("view", {}).get("url") == url]
    if not views:
        return None
    first_id = views[0]["view"]["id"]
    same = [e for e in views if e["view"]["id"] == first_id]
    return max(same, key=lambda e: e.get("_dd", {}).get("document_version", 0))


def document_resource(result, url=None):
    """The resource event of the initial document of `url` (default: the page the
    spec loaded). It carries `_dd.trace_id` when the page had
    <meta name="dd-trace-id"> + a fresh <meta name="dd-trace-time">; it is sent
    (with `_dd.discarded: true` unless trackResources) even when resources are not
    tracked, as long as it has a trace id."""
    url = url or result["url"]
    for e in events_of_type(result, "resource"):
        if e["resource"].get("type") == "document" and e["resource"].get("url") == url:
            return e
    return None


def resources(result, url_prefix=""):
    return [e for e in events_of_type(result, "resource") if e["resource"].get("url", "").startswith(url_prefix)]


def intake_request_of(result, event):
    """The browser-intake request whose body carried `event` (an element of result["events"])."""
    index = next(i for i, e in enumerate(result["events"]) if e is event)
    for request in result["intake_requests"]:
        if request["track"] != "/api/v2/rum":
            continue
        if index < request["n_events"]:
            return request
        index -= request["n_events"]
    return None


def event_tags(result, event):
    """The tags of a RUM event as {name: value}: v5 sends them in the intake URL's
    `ddtags` query parameter, v6+ in the event's `ddtags` field."""
    tags = {}
    request = intake_request_of(result, event)
    for source in ((request or {}).get("query", {}).get("ddtags", ""), event.get("ddtags", "")):
        for tag in source.split(","):
            name, sep, value = tag.partition(":")
            if sep:
                tags[name] = value
    return tags


def event_env(result, event):
    """`env` of a RUM event: no event field carries it (service and version are
    top-level fields); it is the `env:` tag (see event_tags)."""
    return event.get("env", event_tags(result, event).get("env"))


def requests_to(result, url):
    """Captured loopback requests whose URL is `url` (each with its request headers)."""
    return [r for r in result["requests"] if r["url"] == url]


def trace_headers(request):
    """The tracing headers of one captured request (lower-case names)."""
    names = ("traceparent", "tracestate", "baggage")
    return {k: v for k, v in request["headers"].items() if k in names or k.startswith("x-datadog-")}


def reference_snippet(sdk_url, init, nonce=None, cross_origin=None):
    """A hand-written RUM CDN snippet, in substance what the official injector emits
    (PROTOCOLS.md section 5): a DD_RUM stub with an onReady queue, an async script
    from `sdk_url` (with `crossOrigin` set when cross_origin is given: v7 loads its
    chunks with import(), which fails from a script loaded without CORS), and
    DD_RUM.init(init) queued."""
    options = json.dumps(init)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        options = options.replace(raw, escaped)
    nonce_attr = f' nonce="{nonce}"' if nonce else ""
    return (
        f"<script{nonce_attr}>\n"
        "(function(h,o,u,n,d){h=h[d]=h[d]||{q:[],onReady:function(c){h.q.push(c)}};"
        "d=o.createElement(u);d.async=1;d.src=n;"
        + (f"d.crossOrigin={json.dumps(cross_origin)};" if cross_origin else "")
        + 
        "n=o.getElementsByTagName(u)[0];n.parentNode.insertBefore(d,n)})"
        f"(window,document,'script',{json.dumps(sdk_url)},'DD_RUM');\n"
        f"window.DD_RUM.onReady(function(){{window.DD_RUM.init({options});}});\n"
        "</script>"
    )


@contextlib.contextmanager
def static_server(pages):
    """Serves `pages` ({path: body} or {path: (body, {header: value})}) over HTTP on a
    free 127.0.0.1 port in a thread; yields (origin, seen): origin is
    "http://127.0.0.1:PORT", seen the list of (method, path, headers) it received.
    Unknown paths answer 404."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(("GET", self.path, dict(self.headers)))
            page = pages.get(self.path.split("?", 1)[0])
            if page is None:
                body, headers, status = b"not found\n", {"Content-Type": "text/plain"}, 404
            else:
                body, headers = page if isinstance(page, tuple) else (page, {})
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                status = 200
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
