"""What scripts/demo prints once everything runs: requests through nginx, the
injected page, the traces the agent stand-in received as trees (nginx's span,
the app's span under it) and the module's counters.

  show.py <nginx base URL> <spans.jsonl written by scripts/agent-sink --jsonl>
"""

import json
import re
import sys
import time
import urllib.request
from collections import defaultdict

base, spans_file = sys.argv[1], sys.argv[2]


def get(path):
    with urllib.request.urlopen(base + path) as reply:
        return reply.status, reply.headers, reply.read().decode()


def show_page():
    print("\n== 1. the page as the browser gets it: GET /")
    status, headers, body = get("/")
    print(f"   {status} {headers['Content-Type']}; x-datadog-rum-injected: {headers.get('x-datadog-rum-injected')}")
    injected = re.search(r"((?:<meta name=\"dd-[^>]*>)*)<script>(.*?)</script>", body, re.S)
    if not injected:
        print("   no snippet: see README.md, Troubleshooting")
        return
    meta, script = injected.groups()
    print("   injected right before </head>:")
    for tag in re.findall(r"<meta[^>]*>", meta):
        print("     " + tag)
    init = re.search(r"init\((\{.*?\})\)", script)
    sdk = re.search(r'"(https://[^"]*datadog-rum[^"]*)"', script)
    print("     <script> loads " + (sdk.group(1) if sdk else "?") + " and calls DD_RUM.init(" +
          (init.group(1) if init else "?") + ")</script>")


def show_api_call():
    print("\n== 2. an API call through nginx: GET /api/hello; the trace headers the app received")
    _, _, body = get("/api/hello")
    for name, value in json.loads(body)["trace_headers_seen_by_app"].items():
        print(f"   {name}: {value}")
    get("/healthz")  # not traced: datadog_tracing off there


def read_spans(expected, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(spans_file, encoding="utf-8") as f:
                spans = [json.loads(line) for line in f]
        except FileNotFoundError:
            spans = []
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans
        time.sleep(0.2)


def show_traces():
    print("\n== 3. the traces the agent stand-in received")
    spans = read_spans(expected=4)  # nginx + app, for / and for /api/hello
    if not spans:
        print("   none: see the agent stand-in's log and README.md, Troubleshooting")
        return
    traces = defaultdict(list)
    for span in spans:
        traces[span["trace_id"]].append(span)
    for trace_id, members in traces.items():
        high = next((s["meta"]["_dd.p.tid"] for s in members if "_dd.p.tid" in s["meta"]), "")
        print(f"   trace {high}{trace_id:016x}")
        ids = {s["span_id"] for s in members}
        children = defaultdict(list)
        for s in members:
            children[s["parent_id"] if s["parent_id"] in ids else None].append(s)

        def show(span, depth):
            branch = "   " * depth + ("└─ " if depth else "")
            print(f"     {branch}{span['service']}  {span['name']}  \"{span['resource']}\"  "
                  f"status {span['meta'].get('http.status_code', '-')}  {span['duration'] / 1e6:.2f} ms  "
                  f"(span {span['span_id']}, priority {span['metrics'].get('_sampling_priority_v1', 0):g})")
            for child in sorted(children[span["span_id"]], key=lambda c: c["start"]):
                show(child, depth + 1)

        for root in sorted(children[None], key=lambda s: s["start"]):
            show(root, 0)


def show_counters():
    print("\n== 4. the module's counters: GET /datadog-status")
    _, _, body = get("/datadog-status")
    numbers = json.loads(body)
    print(f"   spans created {numbers['spans_created']}, traces sent {numbers['traces_sent']}, "
          f"payloads sent {numbers['payloads_sent']}, traces dropped {numbers['traces_dropped']}")
    rum = numbers["rum"]
    skipped = {reason: n for reason, n in rum["skipped_by_reason"].items() if n}
    print(f"   RUM: injected {rum['injected']}, no injection point {rum['no_injection_point']}, "
          f"skipped {json.dumps(skipped) if skipped else 'none'}")
    for worker in numbers["workers"]:
        print(f"   worker {worker['pid']}: agent {worker['agent_state']}"
              f" at {worker.get('agent_address') or '-'}")


show_page()
show_api_call()
show_traces()
show_counters()
