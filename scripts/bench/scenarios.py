"""Scenario definitions and server set-up shared by scripts/bench/wrk-ab and
scripts/bench/instructions.

A scenario is one `server {}` block (with @PORT@ / @PREFIX@ / @UPSTREAM_PORT@
placeholders), the path the load generator requests, an optional set-up
function run on each server's prefix before it starts (to write files), and
whether it needs the shared plain-nginx upstream. To add a scenario, add an
entry to SCENARIOS.

Variant A is plain Debian nginx; variant B is the very same configuration with
`load_module` of the built module plus any extra directives given for B (put at
the end of the `http {}` block). Nothing else differs between them.
"""

import datetime
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "t"))

from harness.nginx import NGINX_BIN, Nginx, module_path  # noqa: E402,F401


@dataclass
class Scenario:
    name: str
    server: str                                    # a complete `server { ... }` block
    path: str = "/"
    expect: bytes = b""                            # the response body must contain this
    setup: Optional[Callable[[Path], None]] = None  # called with the server's prefix
    upstream: bool = False                         # needs the shared plain upstream


# --- static2k ---------------------------------------------------------------

STATIC_SIZE = 2048
STATIC_NAME = "static2k.html"


def static_page(size=STATIC_SIZE):
    """A valid HTML document of exactly `size` bytes, with a <head>."""
    head = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>static2k benchmark page</title>\n</head>\n<body>\n<h1>static2k</h1>\n")
    tail = "</body>\n</html>\n"
    para = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.</p>\n"
    body = ""
    while len(head) + len(body) + len(para) + len(tail) <= size:
        body += para
    # Pad the rest with an HTML comment ("<!--" + filler + " -->\n", at least 9 bytes).
    gap = size - len(head) - len(body) - len(tail)
    if gap:
        if gap < 9:
            body = body[: -len(para)]
            gap += len(para)
        body += "<!--" + "x" * (gap - 9) + " -->\n"
    page = head + body + tail
    assert len(page.encode()) == size, len(page)
    return page


def setup_static(prefix):
    (Path(prefix) / "html" / STATIC_NAME).write_text(static_page())


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
}


def select(names):
    """Scenarios named in a comma-separated string (or list), in that order."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
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
        location = /v0.4/traces { return 200 '{"rate_by_service":{"service:,env:":1}}'; }
    }"""


def new_prefix(label):
    """A fresh temporary prefix, named so it is recognisably a benchmark's."""
    return tempfile.mkdtemp(prefix=f"nginx-bench-{label}-")


def start_upstream():
    """The shared upstream for proxy scenarios: plain nginx, no module, 1 worker."""
    up = Nginx(UPSTREAM_HTTP, module=False, workers=1, error_log_level="error",
               prefix=new_prefix("upstream"))
    up.start()
    return up


def http_body(scenario, extra=""):
    body = scenario.server + "\n"
    if extra.strip():
        body += "    # extra directives for B\n    " + extra.strip() + "\n"
    return body


def make_server(scenario, *, module, extra="", upstream_port=None, workers=1):
    """An (unstarted) Nginx for one variant of a scenario, files set up."""
    values = {}
    if scenario.upstream and upstream_port is None:
        raise ValueError(f"scenario {scenario.name} needs an upstream")
    if upstream_port is not None:
        values["UPSTREAM_PORT"] = upstream_port
    server = Nginx(http_body(scenario, extra), module=module, workers=workers,
                   values=values, error_log_level="error",
                   prefix=new_prefix(f"{scenario.name}-{'B' if module else 'A'}"))
    if scenario.setup:
        scenario.setup(server.prefix)
    return server


def check_response(url, scenario, timeout=60):
    """Fails loudly unless the URL answers 200 with the expected body."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
        if response.status != 200 or scenario.expect not in body:
            raise RuntimeError(f"{scenario.name}: {url} answered {response.status} "
                               f"{body[:200]!r}, expected 200 containing {scenario.expect!r}")


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
