"""The module end to end, in a real browser: nginx (with the module) proxies to
the Gunicorn upstream and injects the RUM snippet; headless Chromium runs the
real SDK of each major (5, 6, 7) from node_modules; a test agent receives
nginx's spans. Checked: the SDK starts with the configured identity, the
page-load RUM event names nginx's trace, CSP amendment lets the SDK run under
strict policies, and a traced fetch continues in nginx and reaches the upstream.

Each browser visit costs a few seconds, so each fixture makes one visit and
several tests read it."""

import time
from urllib.parse import quote

import pytest

import driver
from driver import MAJORS, cdn_url
from harness.agent import TestAgent
from harness.nginx import Nginx
from harness.upstream import Upstream

SEP = "\t"
# Gunicorn's access log, one line per request, with the trace headers the
# application received (`-` when absent).
UPSTREAM_HEADERS = ("traceparent", "tracestate", "x-datadog-trace-id", "x-datadog-parent-id",
                    "x-datadog-origin", "x-datadog-sampling-priority", "baggage")
ACCESS_LOG_FORMAT = "TRACEHDR " + SEP.join(["%(m)s", "%(U)s"] + [f"%({{{h}}}i)s" for h in UPSTREAM_HEADERS])

STRICT_POLICY = "default-src 'self'; script-src 'nonce-abc123' 'strict-dynamic'; connect-src 'self'"
HASH_POLICY = "default-src 'self'"


def app_id(major):
    return f"app-id-v{major}"


def rum_config(major, **extra):
    """A datadog_rum_config block for `major`; extra options as name=value."""
    options = {
        "applicationId": app_id(major),
        "clientToken": f"pubtoken{major}",
        "service": f"shop-v{major}",
        "env": f"staging-v{major}",
        "sessionSampleRate": "100",
        "sessionReplaySampleRate": "0",
        **extra,
    }
    lines = "\n".join(f'        "{k}" "{v}";' for k, v in options.items())
    return f'datadog_rum_config "v{major}" {{\n{lines}\n    }}'


@pytest.fixture(scope="module")
def gunicorn():
    """The Gunicorn + Flask upstream, logging the trace headers of every request."""
    up = Upstream(extra_args=["--access-logformat", ACCESS_LOG_FORMAT])
    up.start()
    yield up
    up.stop()


def upstream_requests(up, path):
    """[{method, path, <header>: value or None}] of what the upstream received at `path`."""
    seen = []
    for line in up.read_log().splitlines():
        if not line.startswith("TRACEHDR "):
            continue
        fields = line[len("TRACEHDR "):].split(SEP)
        entry = dict(zip(("method", "path") + UPSTREAM_HEADERS, fields))
        entry = {k: (None if v == "-" else v) for k, v in entry.items()}
        if entry["path"] == path:
            seen.append(entry)
    return seen


@pytest.fixture(scope="module")
def trace_agent():
    agent = TestAgent(listen="127.0.0.1")
    agent.start()
    yield agent
    agent.stop()
    agent.assert_clean()


@pytest.fixture(scope="module")
def module_nginx():
    """Starts Nginx instances for the module; at the end stops them and fails
    if a worker crashed or nginx logged an alert."""
    instances = []

    def start(http):
        instance = Nginx(http)
        instances.append(instance)
        return instance.start()

    yield start
    crashes = []
    for instance in instances:
        instance.stop(fast=True)
        crashes += instance.crash_lines()
    assert not crashes, "nginx logged crashes or alerts:\n" + "\n".join(crashes)


def request_span(agent, url, timeout=10):
    """The one nginx.request span of `url` the agent received."""
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in agent.spans() if s["name"] == "nginx.request" and s["meta"].get("http.url") == url]
        if spans or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(spans) == 1, f"nginx.request spans for {url}: {spans}\nall: {[s['meta'].get('http.url') for s in agent.spans()]}"
    return spans[0]


# --- one visit per major: the page, then a traced fetch through nginx --------------


@pytest.fixture(scope="module", params=MAJORS, ids=lambda m: f"v{m}")
def traced_visit(request, module_nginx, gunicorn, trace_agent):
    """nginx traces every request (agent) and injects the SDK of one major,
    configured to trace requests to nginx's own origin; the page fetches /echo.
    v7 also records a session replay, which loads a chunk with import()."""
    major = request.param
    extra = {"traceSampleRate": "100", "allowedTracingUrls": "http://127.0.0.1:@PORT@"}
    if major == 7:
        extra["sessionReplaySampleRate"] = "100"
    server = module_nginx(f"""
    datadog_agent_url {trace_agent.url};
    datadog_flush_interval 100ms;
    datadog_rum on;
    {rum_config(major, **extra)}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{gunicorn.address}; }}
    }}""")
    # visit.mjs fetches once RUM has started (DD_RUM.getInternalContext() answers).
    # v7 stays until its replay segment went out (5 s after recording starts at the
    # latest) instead of racing the page-hide flush against a slow machine.
    spec = {"url": server.url("/html/small"), "fetch": [server.url("/echo")]}
    if major == 7:
        spec["wait_for_intake"] = "/api/v2/replay"
    result = driver.visit(spec)
    return major, server, result


def test_sdk_runs_with_the_configured_application(traced_visit):
    major, server, result = traced_visit
    assert result["navigation"]["status"] == 200
    assert result["page_errors"] == []
    assert result["csp_violations"] == []
    unresolved = [c for c in result["console"] if "Failed to resolve module specifier" in c["text"]]
    assert unresolved == [], result["console"]
    # The module's snippet loaded the official CDN URL of this major.
    assert (cdn_url(major), f"node_modules/rum{major}/bundle/datadog-rum.js", 200) in [
        (c["url"], c["file"], c["status"]) for c in result["cdn_requests"]], result["cdn_requests"]
    assert result["dd_rum"]["loaded"] and result["dd_rum"]["initialized"], result["dd_rum"]
    assert result["dd_rum"]["version"].startswith(f"{major}.")

    view = driver.view_event(result)
    assert view is not None, f"no view event among {[e.get('type') for e in result['events']]}"
    assert view["application"]["id"] == app_id(major)
    assert view["service"] == f"shop-v{major}"
    assert driver.event_env(result, view) == f"staging-v{major}"
    assert view["session"]["id"] == result["dd_rum"]["internal_context"]["session_id"]
    assert all(r["parse_error"] is None for r in result["intake_requests"])

    if major == 7:
        # The recorder chunk came through import() (needs the snippet's
        # crossOrigin) and the replay was sent.
        chunks = [c for c in result["cdn_requests"] if "/v7/chunks/datadogRecorder-" in c["url"]]
        assert [c["status"] for c in chunks] == [200], result["cdn_requests"]
        replay = [r for r in result["intake_requests"] if r["track"] == "/api/v2/replay"]
        assert replay and replay[0]["size"] > 0, result["intake_requests"]
        assert view["session"]["sampled_for_replay"] is True


def test_page_load_resource_names_the_nginx_trace(traced_visit, trace_agent):
    major, server, result = traced_visit
    span = request_span(trace_agent, server.url("/html/small"))
    document = driver.document_resource(result)
    assert document is not None, [e.get("resource", {}).get("url") for e in result["events"]]
    assert document["_dd"].get("trace_id") == str(span["trace_id"]), (document["_dd"], span)
    # What the module wrote in the page, as the browser parsed it.
    assert f'<meta name="dd-trace-id" content="{span["trace_id"]}">' in result["html"]


def test_traced_fetch_continues_in_nginx_and_reaches_the_upstream(traced_visit, trace_agent, gunicorn):
    major, server, result = traced_visit
    echo_url = server.url("/echo")
    assert result["fetch_results"][-1] == {"url": echo_url, "status": 200}, result["fetch_results"]
    (browser_request,) = driver.requests_to(result, echo_url)
    sent = driver.trace_headers(browser_request)
    assert "x-datadog-trace-id" in sent and "traceparent" in sent, (
        f"the SDK did not trace the fetch: {browser_request['headers']}\n"
        f"sdk_ready_ms: {result['sdk_ready_ms']}, init: {result['dd_rum'].get('init_configuration')}")
    trace_id = int(sent["x-datadog-trace-id"])
    browser_span_id = int(sent["x-datadog-parent-id"])
    assert sent["traceparent"] == f"00-{trace_id:032x}-{browser_span_id:016x}-01"
    session_id = result["dd_rum"]["internal_context"]["session_id"]

    # nginx continued the browser's trace, under the browser's span, as RUM's.
    span = request_span(trace_agent, echo_url)
    assert span["trace_id"] == trace_id
    assert span["parent_id"] == browser_span_id
    assert span["meta"].get("_dd.origin") == "rum", span["meta"]
    assert span["metrics"]["_sampling_priority_v1"] == 1.0
    baggage_tags = {k: v for k, v in span["meta"].items() if k.startswith("baggage.")}
    if major >= 7:
        assert sent["baggage"] == f"session.id={session_id}"
        assert baggage_tags == {"baggage.session.id": session_id}
    else:
        assert baggage_tags == {}
    # The page's own trace is another one.
    assert request_span(trace_agent, server.url("/html/small"))["trace_id"] != trace_id

    # The RUM resource event of the fetch names the same trace and span.
    (resource,) = driver.resources(result, echo_url)
    assert resource["_dd"]["trace_id"] == str(trace_id)
    assert resource["_dd"]["span_id"] == str(browser_span_id)

    # The upstream saw nginx's span as the parent, in both styles.
    deadline = time.monotonic() + 5
    while True:
        seen = [r for r in upstream_requests(gunicorn, "/echo") if r["x-datadog-trace-id"] == str(trace_id)]
        if seen or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(seen) == 1, upstream_requests(gunicorn, "/echo")
    (seen,) = seen
    assert seen["x-datadog-parent-id"] == str(span["span_id"]), seen
    assert seen["traceparent"] == f"00-{trace_id:032x}-{span['span_id']:016x}-01", seen
    assert seen["x-datadog-origin"] == "rum"
    assert seen["x-datadog-sampling-priority"] == "1"
    dd_state = dict(kv.split(":", 1) for kv in seen["tracestate"].split(",")[0].removeprefix("dd=").split(";"))
    assert seen["tracestate"].startswith("dd=") and dd_state.get("p") == f"{span['span_id']:016x}", seen
    assert dd_state.get("o") == "rum" and dd_state.get("s") == "1", seen
    if major >= 7:
        assert f"session.id={session_id}" in (seen["baggage"] or ""), seen


# --- Content-Security-Policy ------------------------------------------------------


@pytest.fixture(scope="module")
def csp_server(module_nginx, gunicorn, trace_agent):
    """v7 with session replay (a lazily imported chunk and a blob: worker), and
    v5 (the seed configuration's major); /off/ turns the CSP amendment off."""
    return module_nginx(f"""
    datadog_agent_url {trace_agent.url};
    datadog_flush_interval 100ms;
    datadog_rum on;
    {rum_config(7, sessionReplaySampleRate="100")}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{gunicorn.address}; }}
        location /v5/ {{
            {rum_config(5)}
            proxy_pass http://{gunicorn.address}/;
        }}
        location /off/ {{
            datadog_rum_csp off;
            proxy_pass http://{gunicorn.address}/;
        }}
    }}""")


def csp_page(server, prefix, policy):
    return server.url(f"{prefix}/html/csp?policy={quote(policy, safe='')}")


@pytest.fixture(scope="module", params=[
    ("v7-strict-nonce", "", STRICT_POLICY, 7),
    ("v5-strict-nonce", "/v5", STRICT_POLICY, 5),
    ("v7-hash", "", HASH_POLICY, 7),
], ids=lambda p: p[0])
def csp_visit(request, csp_server):
    name, prefix, policy, major = request.param
    spec = {"url": csp_page(csp_server, prefix, policy)}
    if major == 7:
        spec["wait_for_intake"] = "/api/v2/replay"  # as in traced_visit
    return major, driver.visit(spec)


def test_sdk_runs_under_the_amended_policy(csp_visit):
    """With the default `datadog_rum_csp auto`: the snippet runs, the SDK and its
    chunks load, the intake is reachable, and the browser reports nothing."""
    major, result = csp_visit
    assert result["navigation"]["status"] == 200
    assert result["csp_violations"] == []
    assert result["page_errors"] == []
    assert [c for c in result["console"] if c["type"] == "error"] == []
    assert result["dd_rum"]["loaded"] and result["dd_rum"]["initialized"], result["dd_rum"]
    view = driver.view_event(result)
    assert view is not None, result["intake_requests"]
    assert view["application"]["id"] == app_id(major)
    assert driver.event_env(result, view) == f"staging-v{major}"
    if major == 7:
        chunks = [c for c in result["cdn_requests"] if "/chunks/datadogRecorder-" in c["url"]]
        assert [c["status"] for c in chunks] == [200], result["cdn_requests"]
        replay = [r for r in result["intake_requests"] if r["track"] == "/api/v2/replay"]
        assert replay and replay[0]["size"] > 0, result["intake_requests"]


def test_csp_off_lets_the_strict_policy_block_the_snippet(csp_server):
    """The control for the tests above: the same page and policy without the
    amendment is blocked by the browser."""
    result = driver.visit({"url": csp_page(csp_server, "/off", STRICT_POLICY), "wait_ms": 100})
    assert result["navigation"]["status"] == 200
    events = [v for v in result["csp_violations"] if v["source"] == "event"]
    assert events, result["csp_violations"]
    assert events[0]["effective_directive"] == "script-src-elem"
    assert events[0]["blocked_uri"] == "inline"
    assert events[0]["original_policy"] == STRICT_POLICY
    assert not result["dd_rum"]["present"]
    assert result["cdn_requests"] == [] and result["intake_requests"] == []
