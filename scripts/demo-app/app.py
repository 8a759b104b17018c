"""The demo's application: a small Flask site, as a typical user runs behind
nginx under Gunicorn. In place of a Datadog tracing library (ddtrace is not a
Debian package), it continues nginx's trace by hand, as a tracer would: it
reads the x-datadog-* headers nginx sends, times the request as a span whose
parent is nginx's span, and reports it to the agent (DD_TRACE_AGENT_URL,
default http://127.0.0.1:8126) in the agent's /v0.4/traces format."""

import os
import random
import threading
import time
import urllib.request

import msgpack
from flask import Flask, g, jsonify, request

app = Flask(__name__)

AGENT_URL = os.environ.get("DD_TRACE_AGENT_URL", "http://127.0.0.1:8126")
SERVICE = os.environ.get("DD_SERVICE", "devtoolscrape-app")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>devtoolscrape (demo)</title>
</head>
<body>
  <h1>devtoolscrape</h1>
  <p>A page served by Flask under Gunicorn, behind nginx.</p>
</body>
</html>
"""


@app.route("/")
def index():
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@app.route("/api/hello")
def hello():
    # What the application saw of the request: the trace headers nginx adds.
    seen = {k: v for k, v in request.headers.items()
            if k.lower().startswith(("x-datadog-", "traceparent", "tracestate", "x-b3", "b3", "baggage"))}
    return jsonify(message="hello", trace_headers_seen_by_app=seen)


# --- continuing nginx's trace ---------------------------------------------------

def incoming_context():
    """(trace id, parent span id, sampling priority, propagated tags) from
    nginx's x-datadog-* headers, or None when the request carries no trace."""
    try:
        trace_id = int(request.headers["x-datadog-trace-id"])
        parent_id = int(request.headers["x-datadog-parent-id"])
    except (KeyError, ValueError):
        return None
    priority = request.headers.get("x-datadog-sampling-priority", "1")
    # x-datadog-tags: "_dd.p.tid=<high 64 bits of the trace id>,_dd.p.dm=-0"
    tags = dict(item.split("=", 1) for item in request.headers.get("x-datadog-tags", "").split(",")
                if "=" in item)
    return trace_id, parent_id, float(priority), tags


@app.before_request
def start_span():
    g.span_context = incoming_context()
    g.span_start = time.time_ns()


@app.after_request
def finish_span(response):
    context = g.get("span_context")
    if context is None:
        return response
    trace_id, parent_id, priority, tags = context
    span = {
        "service": SERVICE,
        "name": "flask.request",
        "resource": f"{request.method} {request.url_rule.rule if request.url_rule else request.path}",
        "type": "web",
        "trace_id": trace_id,
        "span_id": random.getrandbits(63) + 1,
        "parent_id": parent_id,
        "start": g.span_start,
        "duration": time.time_ns() - g.span_start,
        "error": 1 if response.status_code >= 500 else 0,
        "meta": {"component": "flask", "span.kind": "server", "http.method": request.method,
                 "http.status_code": str(response.status_code), "http.url": request.base_url,
                 **{k: v for k, v in tags.items() if k.startswith("_dd.p.")}},
        "metrics": {"_sampling_priority_v1": priority},
    }
    # Sent after the response, off the request's path, as a tracer would batch it.
    threading.Thread(target=report, args=([[span]],), daemon=True).start()
    return response


def report(traces):
    body = msgpack.packb(traces, use_bin_type=True)
    req = urllib.request.Request(
        AGENT_URL.rstrip("/") + "/v0.4/traces", data=body, method="PUT",
        headers={"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": str(len(traces)),
                 "Datadog-Meta-Lang": "python", "Datadog-Meta-Tracer-Version": "demo-app"})
    try:
        urllib.request.urlopen(req, timeout=2).close()
    except OSError as e:
        app.logger.warning("could not report the span to %s: %s", AGENT_URL, e)
