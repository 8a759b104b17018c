"""The demo's application: a small Flask site, as a typical user runs behind
nginx under Gunicorn. It knows nothing of Datadog."""

from flask import Flask, jsonify, request

app = Flask(__name__)

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
