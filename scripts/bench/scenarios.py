"""Scenario definitions and server set-up shared by scripts/bench/wrk-ab,
scripts/bench/instructions and scripts/bench/rum-rss.

A scenario is one `server {}` block (with @PORT@ / @PREFIX@ / @UPSTREAM_PORT@
placeholders, and @VARIANT@ where the variants' directives go), the path the
load generator requests, request headers, an optional set-up function run on
each server's prefix before it starts (to write files), and whether it needs
the shared plain-nginx upstream. To add a scenario, add an entry to SCENARIOS.

Each scenario is measured in two or more variants, labelled A, B, C, ...;
every other variant is compared with the first (A). By default (DEFAULT_VARIANTS)
A is plain Debian nginx and B is the very same configuration with `load_module`
of the built module plus any extra directives given for B (put at the end of
the `http {}` block). Nothing else differs between them. A scenario may list
its own variants (the rum_* ones do: plain nginx, the module injecting RUM,
nginx's sub_filter inserting a snippet of the same length, ...), each with its
own directives and whether the module is loaded.
"""

import datetime
import functools
import gzip
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Tuple, Union

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "t"))

from harness.nginx import NGINX_BIN, Nginx, module_path  # noqa: E402,F401


@dataclass(frozen=True)
class Variant:
    label: str                  # "A", "B", ...: the first of a scenario's variants is the baseline
    name: str                   # a few words printed next to the label
    module: bool = False        # load_module the built module
    # Replaces @VARIANT@ in the scenario's server block; a callable is called
    # when the server is made (e.g. to measure the module's snippet first).
    directives: Union[str, Callable[[], str]] = ""
    # With the scenario's `page`: the (decoded) body must be the page with one
    # <script>...</script> inserted right before </head> (True) or the page
    # byte for byte (False); None: only the `expect` check.
    injects: Optional[bool] = None
    expect: Optional[bytes] = None  # overrides the scenario's `expect`


DEFAULT_VARIANTS = (
    Variant("A", "plain"),
    Variant("B", "module", module=True),
)


@dataclass
class Scenario:
    name: str
    server: str                                    # a complete `server { ... }` block
    path: str = "/"
    expect: bytes = b""                            # the (decoded) response body must contain this
    setup: Optional[Callable[[Path], None]] = None  # called with the server's prefix
    upstream: bool = False                         # needs the shared plain upstream
    variants: Tuple[Variant, ...] = DEFAULT_VARIANTS
    headers: dict = field(default_factory=dict)    # request headers (wrk -H, checks, callgrind client)
    page: Optional[Callable[[], bytes]] = None     # the page served, for the variants' `injects` check


# --- static2k ---------------------------------------------------------------

STATIC_SIZE = 2048
STATIC_NAME = "static2k.html"


def static_page(size=STATIC_SIZE, title="static2k"):
    """A valid HTML document of exactly `size` bytes, with a normal <head> at
    the top (</head> within the first 150 bytes) and paragraphs after it."""
    head = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title} benchmark page</title>\n</head>\n<body>\n<h1>{title}</h1>\n")
    tail = "</body>\n</html>\n"
    para = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.</p>\n"
    count = max(0, (size - len(head) - len(tail)) // len(para))
    # Pad the rest with an HTML comment ("<!--" + filler + " -->\n", at least 9 bytes).
    gap = size - len(head) - count * len(para) - len(tail)
    if 0 < gap < 9:
        count -= 1
        gap += len(para)
    body = para * count + ("<!--" + "x" * (gap - 9) + " -->\n" if gap else "")
    page = head + body + tail
    assert len(page.encode()) == size, len(page)
    return page


def setup_static(prefix):
    (Path(prefix) / "html" / STATIC_NAME).write_text(static_page())


# --- rum_* --------------------------------------------------------------------
# The module injecting the RUM snippet (B) against plain nginx serving the same
# file (A, module not loaded) and against nginx's own sub_filter inserting a
# snippet of the same length (C). The static ones serve with `sendfile on` (as
# Debian's stock nginx.conf does) and add the `sendfile off` variants (D, E)
# as reference points: the module has the copy filter read eligible bodies
# into memory (r->filter_need_in_memory), as sub_filter does.

RUM_DIRECTIVES = ('datadog_tracing off; datadog_rum on; '
                  'datadog_rum_config "v5" { "applicationId" "x"; "clientToken" "y"; }')
RUM2K_NAME = "rum2k.html"
RUM1M_NAME = "rum1m.html"
RUM_GZIP_NAME = "rumgz.html"   # served from rumgz.html.gz (gzip_static always)


@functools.lru_cache(maxsize=None)
def rum_page(size, title):
    return static_page(size, title).encode()


def page_2k():
    return rum_page(2048, "rum2k")


def page_1m():
    return rum_page(1 << 20, "rum1m")


def page_gzip():
    return rum_page(2048, "rumgz")


def setup_rum_static(prefix):
    html = Path(prefix) / "html"
    (html / RUM2K_NAME).write_bytes(page_2k())
    (html / RUM1M_NAME).write_bytes(page_1m())


def setup_rum_gzip(prefix):
    # With `gzip_static always` nginx sends rumgz.html.gz for /rumgz.html
    # (Content-Encoding: gzip) whatever the client accepts; rumgz.html is for
    # the variant that compresses on the fly instead.
    html = Path(prefix) / "html"
    (html / RUM_GZIP_NAME).write_bytes(page_gzip())
    (html / (RUM_GZIP_NAME + ".gz")).write_bytes(gzip.compress(page_gzip(), 6, mtime=0))


def split_insertion(body, page):
    """The bytes inserted into `page` right before its </head> to give `body`,
    or None if body is not exactly that."""
    at = page.find(b"</head>")
    extra = len(body) - len(page)
    if at < 0 or extra <= 0 or body[:at] != page[:at] or body[at + extra:] != page[at:]:
        return None
    inserted = body[at:at + extra]
    if not (inserted.startswith(b"<script") and inserted.endswith(b"</script>")):
        return None
    return inserted


@functools.lru_cache(maxsize=None)
def rum_insertion():
    """What the module inserts into a page with RUM_DIRECTIVES, measured once
    with a throw-away nginx + module (so that sub_filter's variant inserts the
    very same number of bytes, whatever the snippet builder makes)."""
    server = Nginx(f"""
    server {{
        listen 127.0.0.1:@PORT@;
        access_log off;
        root @PREFIX@/html;
        types {{ text/html html; }}
        location / {{ {RUM_DIRECTIVES} }}
    }}""", module=True, error_log_level="error", prefix=new_prefix("snippet"))
    try:
        (server.prefix / "html" / RUM2K_NAME).write_bytes(page_2k())
        server.start()
        with urllib.request.urlopen(server.url("/" + RUM2K_NAME), timeout=30) as response:
            body = response.read()
    finally:
        try:
            server.stop(fast=True)
        finally:
            remove_prefix(server)
    inserted = split_insertion(body, page_2k())
    if inserted is None or b"DD_RUM" not in inserted:
        raise RuntimeError(f"the module did not inject a snippet before </head>: {body[:400]!r}")
    return inserted


def nginx_quote(text):
    """`text` as a single-quoted nginx config string. `$` would start a
    variable in sub_filter's replacement (a complex value) and cannot be
    escaped, so it becomes `_` (same length)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("$", "_") + "'"


def sub_filter_directives():
    snippet = rum_insertion().decode()
    return f"sub_filter '</head>' {nginx_quote(snippet + '</head>')}; sub_filter_once on;"


RUM_STATIC_VARIANTS = (
    Variant("A", "plain, sendfile on", directives="sendfile on;", injects=False),
    Variant("B", "module rum on", module=True,
            directives="sendfile on; " + RUM_DIRECTIVES, injects=True, expect=b"DD_RUM"),
    Variant("C", "plain + sub_filter", directives=lambda: "sendfile on; " + sub_filter_directives(),
            injects=True, expect=b"DD_RUM"),
    Variant("D", "plain, sendfile off", directives="sendfile off;", injects=False),
    Variant("E", "module, sendfile off", module=True,
            directives="sendfile off; " + RUM_DIRECTIVES, injects=True, expect=b"DD_RUM"),
)

RUM_GZIP_VARIANTS = (
    Variant("A", "plain, passes .gz", directives="sendfile on; gzip_static always; gzip on;",
            injects=False),
    Variant("B", "module, re-gzip", module=True,
            directives="sendfile on; gzip_static always; gzip on; " + RUM_DIRECTIVES,
            injects=True, expect=b"DD_RUM"),
    Variant("C", "module, identity out", module=True,
            directives="sendfile on; gzip_static always; gzip off; " + RUM_DIRECTIVES,
            injects=True, expect=b"DD_RUM"),
    Variant("D", "plain, gzip on the fly", directives="sendfile on; gzip_static off; gzip on;",
            injects=False),
)

RUM_SERVER = """
    server {
        listen 127.0.0.1:@PORT@;
        access_log off;
        root @PREFIX@/html;
        types { text/html html; }
        default_type application/octet-stream;
        location / {
            @VARIANT@
        }
    }"""


# --- the scenarios ------------------------------------------------------------

SCENARIOS = {
    "return200": Scenario(
        name="return200",
        server="""
    server {
        listen 127.0.0.1:@PORT@;
        access_log off;
        location / { return 200 "ok"; }
    }""",
        expect=b"ok",
    ),
    "static2k": Scenario(
        name="static2k",
        server="""
    server {
        listen 127.0.0.1:@PORT@;
        access_log off;
        root @PREFIX@/html;
        types { text/html html; }
        default_type application/octet-stream;
        location / { }
    }""",
        path="/" + STATIC_NAME,
        expect=b"<head>",
        setup=setup_static,
    ),
    "proxy": Scenario(
        name="proxy",
        server="""
    upstream bench_backend {
        server 127.0.0.1:@UPSTREAM_PORT@;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:@PORT@;
        access_log off;
        location / {
            proxy_pass http://bench_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }""",
        expect=b"upstream ok",
        upstream=True,
    ),
    "rum_static2k": Scenario(
        name="rum_static2k",
        server=RUM_SERVER,
        path="/" + RUM2K_NAME,
        expect=b"</head>",
        setup=setup_rum_static,
        variants=RUM_STATIC_VARIANTS,
        page=page_2k,
    ),
    "rum_static1m": Scenario(
        name="rum_static1m",
        server=RUM_SERVER,
        path="/" + RUM1M_NAME,
        expect=b"</head>",
        setup=setup_rum_static,
        variants=RUM_STATIC_VARIANTS,
        page=page_1m,
    ),
    "rum_gzip_upstream": Scenario(
        name="rum_gzip_upstream",
        server=RUM_SERVER,
        path="/" + RUM_GZIP_NAME,
        expect=b"</head>",
        setup=setup_rum_gzip,
        variants=RUM_GZIP_VARIANTS,
        headers={"Accept-Encoding": "gzip"},
        page=page_gzip,
    ),
}

# What wrk-ab and instructions run without --scenario: the original three.
# The rum_* scenarios are chosen by name (--scenario rum_static2k,... or --scenario rum).
DEFAULT_SCENARIOS = ("return200", "static2k", "proxy")
SCENARIO_GROUPS = {"rum": ("rum_static2k", "rum_static1m", "rum_gzip_upstream")}


def select(names):
    """Scenarios named in a comma-separated string (or list), in that order;
    a group name (`rum`) stands for its scenarios, `all` for every scenario."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    expanded = []
    for n in names:
        group = tuple(SCENARIOS) if n == "all" else SCENARIO_GROUPS.get(n, (n,))
        expanded += [g for g in group if g not in expanded]
    names = expanded
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; "
                         f"known: {', '.join(SCENARIOS)}")
    return [SCENARIOS[n] for n in names]


# --- servers --------------------------------------------------------------------

UPSTREAM_HTTP = """
    server {
        listen 127.0.0.1:@PORT@;
        access_log off;
        keepalive_requests 1000000;
        location / { return 200 "upstream ok\\n"; }
        # Also a stand-in Datadog Agent for B (point datadog_agent_url at this
        # server's port in --config-b-extra): it discards the payload and
        # answers as the agent does.
        # Payloads reach 4 MiB: above nginx's default 1m limit they would get 413.
        location = /v0.4/traces {
            client_max_body_size 8m;
            return 200 '{"rate_by_service":{"service:,env:":1}}';
        }
    }"""


def new_prefix(label):
    """A fresh temporary prefix, named so it is recognisably a benchmark's."""
    return tempfile.mkdtemp(prefix=f"nginx-bench-{label}-")


def start_upstream(main=""):
    """The shared upstream for proxy scenarios: plain nginx, no module, 1 worker."""
    up = Nginx(UPSTREAM_HTTP, module=False, workers=1, error_log_level="error",
               prefix=new_prefix("upstream"), main=main)
    up.start()
    return up


def variant_directives(variant):
    d = variant.directives
    return d() if callable(d) else d


def http_body(scenario, variant=None, extra=""):
    variant = variant or scenario.variants[0]
    directives = variant_directives(variant)
    if "@VARIANT@" not in scenario.server:
        if directives.strip():
            raise ValueError(f"scenario {scenario.name} has no @VARIANT@ for {variant.label}'s directives")
        body = scenario.server + "\n"
    else:
        body = scenario.server.replace("@VARIANT@", directives) + "\n"
    if extra.strip():
        body += f"    # extra directives for {variant.label}\n    " + extra.strip() + "\n"
    return body


def make_server(scenario, variant, *, extra="", upstream_port=None, workers=1, main=""):
    """An (unstarted) Nginx for one variant of a scenario, files set up."""
    values = {}
    if scenario.upstream and upstream_port is None:
        raise ValueError(f"scenario {scenario.name} needs an upstream")
    if upstream_port is not None:
        values["UPSTREAM_PORT"] = upstream_port
    server = Nginx(http_body(scenario, variant, extra), module=variant.module, workers=workers,
                   values=values, error_log_level="error", main=main,
                   prefix=new_prefix(f"{scenario.name}-{variant.label}"))
    if scenario.setup:
        scenario.setup(server.prefix)
    return server


def b_extra(variant, config_b_extra):
    """--config-b-extra goes to the variant labelled B only."""
    return config_b_extra if variant.label == "B" else ""


def decoded_body(headers, body):
    """The body with a gzip Content-Encoding undone (`headers`: a mapping with .get)."""
    if (headers.get("Content-Encoding") or "").strip().lower() in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    return body


def check_body(scenario, variant, status, headers, body, full=True):
    """Raises unless the response is 200 with the expected (decoded) body;
    with `full`, also checks the variant's `injects` against the page."""
    where = f"{scenario.name} {variant.label} ({variant.name})"
    expect = scenario.expect if variant.expect is None else variant.expect
    try:
        text = decoded_body(headers, body)
    except (OSError, EOFError) as e:
        raise RuntimeError(f"{where}: body does not decode: {e}: {body[:200]!r}") from e
    if status != 200 or expect not in text:
        raise RuntimeError(f"{where}: answered {status} {text[:200]!r}, "
                           f"expected 200 containing {expect!r}")
    if not full or variant.injects is None or scenario.page is None:
        return
    page = scenario.page()
    if variant.injects:
        if split_insertion(text, page) is None:
            raise RuntimeError(f"{where}: the body is not the page with one <script> before "
                               f"</head> ({len(text)} bytes for a {len(page)}-byte page): {text[:400]!r}")
    elif text != page:
        raise RuntimeError(f"{where}: the body is not the page unchanged "
                           f"({len(text)} bytes for a {len(page)}-byte page): {text[:200]!r}")


def check_response(url, scenario, variant, timeout=60):
    """Fails loudly unless the URL answers 200 with the expected body."""
    request = urllib.request.Request(url, headers=scenario.headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
        check_body(scenario, variant, response.status, response.headers, body)


def snapshot_module():
    """Copies the built module into a private directory and points the harness
    (DATADOG_MODULE_PATH) at the copy, so that a rebuild while the benchmark runs
    cannot change B half-way. Returns (description, directory to remove at the end)."""
    path = module_path()
    stat = path.stat()
    data = path.read_bytes()
    directory = tempfile.mkdtemp(prefix="nginx-bench-module-")
    copy = Path(directory) / path.name
    copy.write_bytes(data)
    os.environ["DATADOG_MODULE_PATH"] = str(copy)
    return ({"path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
             "mtime": datetime.datetime.fromtimestamp(stat.st_mtime).isoformat(timespec="seconds")},
            directory)


def exit_cleanly_on_signals():
    """Ctrl-C, SIGTERM and SIGHUP raise in the main thread, so that `finally`
    blocks stop every nginx and valgrind started (also when SIGINT was inherited
    as ignored, as for background jobs of a non-interactive shell)."""
    def terminate(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)


def remove_prefix(server):
    shutil.rmtree(server.prefix, ignore_errors=True)
