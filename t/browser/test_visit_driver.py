"""The browser driver itself, without nginx: a static page served by Python's
http.server carries a hand-written RUM CDN snippet; the real SDK of each major
runs in headless Chromium and what it sends is captured."""

import os
import re
import subprocess
import time

import pytest

import driver
from driver import MAJORS, cdn_url, reference_snippet, static_server, visit

DOC_TRACE_ID = "1234567890123456789"


def page(head="", body="<p>hello</p>"):
    return f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


def init_options(origin, **extra):
    return {
        "applicationId": "test-app-id",
        "clientToken": "pubtest",
        "site": "datadoghq.com",
        "service": "svc",
        "env": "e",
        "version": "1.2.3",
        "sessionSampleRate": 100,
        "sessionReplaySampleRate": 0,
        "traceSampleRate": 100,
        "allowedTracingUrls": [origin],
        **extra,
    }


@pytest.fixture(scope="module", params=MAJORS, ids=lambda m: f"v{m}")
def sdk_visit(request):
    """One visit per SDK major: a page with the snippet, the document trace meta
    tags, and a traced same-origin fetch."""
    driver.require_browser()
    major = request.param
    pages = {}
    with static_server(pages) as (origin, seen):
        trace_meta = (
            f'<meta name="dd-trace-id" content="{DOC_TRACE_ID}">'
            f'<meta name="dd-trace-time" content="{int(time.time() * 1000)}">'
        )
        pages["/page.html"] = page(trace_meta + reference_snippet(cdn_url(major), init_options(origin)))
        pages["/"] = page(body="<p>next</p>")
        pages["/api"] = ('{"ok": true}', {"Content-Type": "application/json"})
        result = visit({"url": origin + "/page.html", "fetch": [origin + "/api"]})
    return major, origin, result


def test_view_event_carries_init_options(sdk_visit):
    major, origin, result = sdk_visit
    assert result["navigation"]["status"] == 200
    assert result["page_errors"] == []
    assert result["csp_violations"] == []
    assert [c["file"] for c in result["cdn_requests"]] == [f"node_modules/rum{major}/bundle/datadog-rum.js"]
    assert result["dd_rum"]["present"] and result["dd_rum"]["loaded"]
    assert result["dd_rum"]["version"].startswith(f"{major}.")
    assert result["dd_rum"]["init_configuration"]["applicationId"] == "test-app-id"
    assert "DD_RUM.init(" in result["html"]

    view = driver.view_event(result)
    assert view is not None, f"no view event among {[e.get('type') for e in result['events']]}"
    assert view["application"]["id"] == "test-app-id"
    assert view["service"] == "svc"
    assert view["version"] == "1.2.3"
    assert driver.event_env(result, view) == "e"
    assert view["view"]["url"] == origin + "/page.html"
    assert view["session"]["id"] == result["dd_rum"]["internal_context"]["session_id"]
    assert all(r["parse_error"] is None for r in result["intake_requests"])
    assert all(r["encoding"] == "identity" for r in result["intake_requests"])


def test_traced_fetch_carries_trace_headers(sdk_visit):
    major, origin, result = sdk_visit
    assert result["sdk_ready_ms"] is not None, "the SDK was not initialized before the fetch"
    assert result["fetch_results"] == [{"url": origin + "/api", "status": 200}]
    (api,) = driver.requests_to(result, origin + "/api")
    headers = driver.trace_headers(api)
    m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", headers.get("traceparent", ""))
    assert m, f"fetch headers: {api['headers']}\nconsole: {result['console']}\nsdk_ready_ms: {result['sdk_ready_ms']}"
    trace_id = int(headers["x-datadog-trace-id"])
    assert int(m.group(1), 16) == trace_id  # the SDK's trace ids are 64-bit
    assert int(m.group(2), 16) == int(headers["x-datadog-parent-id"])
    assert headers["x-datadog-origin"] == "rum"
    assert headers["x-datadog-sampling-priority"] == "1"
    if major >= 6:
        assert "o:rum" in headers["tracestate"].split("dd=", 1)[1]
    else:
        assert "tracestate" not in headers
    if major >= 7:
        assert headers["baggage"] == f"session.id={result['dd_rum']['internal_context']['session_id']}"
    else:
        assert "baggage" not in headers

    # The SDK's resource event for that fetch names the same trace.
    (resource,) = driver.resources(result, origin + "/api")
    assert resource["resource"]["type"] == "fetch"
    assert resource["_dd"]["trace_id"] == str(trace_id)
    assert resource["_dd"]["span_id"] == headers["x-datadog-parent-id"]


def test_document_resource_carries_meta_trace_id(sdk_visit):
    major, origin, result = sdk_visit
    document = driver.document_resource(result)
    assert document is not None, [e.get("resource", {}).get("url") for e in result["events"]]
    assert document["_dd"]["trace_id"] == DOC_TRACE_ID
    assert re.fullmatch(r"\d+", document["_dd"]["span_id"])


def test_strict_csp_violation_is_recorded():
    driver.require_browser()
    pages = {}
    with static_server(pages) as (origin, seen):
        snippet = reference_snippet(cdn_url(6), init_options(origin), nonce="abc")
        pages["/csp.html"] = (page(snippet), {"Content-Security-Policy": "script-src 'nonce-abc'"})
        result = visit({"url": origin + "/csp.html", "then_url": None, "wait_ms": 200})
    # The inline snippet ran (its nonce matches), its CDN script was blocked.
    assert result["dd_rum"]["present"] and not result["dd_rum"]["loaded"]
    assert result["cdn_requests"] == []
    assert result["events"] == [] and result["intake_requests"] == []
    events = [v for v in result["csp_violations"] if v["source"] == "event"]
    assert len(events) == 1, result["csp_violations"]
    assert events[0]["effective_directive"] == "script-src-elem"
    assert events[0]["blocked_uri"] == cdn_url(6)
    assert events[0]["disposition"] == "enforce"
    assert any(v["source"] == "console" and cdn_url(6) in v["text"] for v in result["csp_violations"])


@pytest.fixture(scope="module")
def gov_visit():
    """v7 from the gov CDN URL, with session replay (a lazily loaded chunk) and
    compressIntakeRequests."""
    driver.require_browser()
    pages = {}
    with static_server(pages) as (origin, seen):
        options = init_options(origin, sessionReplaySampleRate=100, compressIntakeRequests=True)
        pages["/r.html"] = page(reference_snippet(cdn_url(7, "gov"), options, cross_origin="anonymous"))
        pages["/"] = page()
        # The replay segment goes out 5 s after recording starts at the latest: wait
        # for it rather than racing the page-hide flush against a slow machine.
        result = visit({"url": origin + "/r.html", "wait_ms": 300, "wait_for_intake": "/api/v2/replay"})
    return result


def test_lazy_chunks_are_served_next_to_the_gov_bundle(gov_visit):
    """v7 loads its recorder chunk with import() relative to the bundle: from the gov
    URL that is /chunks/<name>; the script needs crossOrigin for import() to work."""
    result = gov_visit
    served = [(c["url"], c["status"]) for c in result["cdn_requests"]]
    assert served[0] == (cdn_url(7, "gov"), 200)
    assert any(re.fullmatch(rf"https://{driver.CDN_HOST}/chunks/datadogRecorder-\w+-datadog-rum\.js", u) and st == 200
               for u, st in served), served
    assert not [c for c in result["console"] if "failed" in c["text"].lower()], result["console"]
    replay = [r for r in result["intake_requests"] if r["track"] == "/api/v2/replay"]
    assert replay and not replay[0]["parsed"] and replay[0]["size"] > 0
    assert driver.view_event(result)["session"]["sampled_for_replay"] is True


def test_compressed_intake_bodies_are_decoded(gov_visit):
    result = gov_visit
    rum = [r for r in result["intake_requests"] if r["track"] == "/api/v2/rum"]
    deflated = [r for r in rum if r["encoding"] == "deflate"]
    assert deflated, rum
    assert all(r["parse_error"] is None and r["n_events"] > 0 for r in deflated), deflated
    assert driver.view_event(result)["application"]["id"] == "test-app-id"


def run_visit_mjs(env_extra, spec='{"url": "http://127.0.0.1:9/"}'):
    return subprocess.run(
        ["node", str(driver.VISIT), spec],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env_extra},
    )


def test_visit_mjs_reports_missing_browser():
    proc = run_visit_mjs({"DD_TEST_CHROMIUM": "/nonexistent/chromium"})
    assert proc.returncode == 3
    assert "/nonexistent/chromium is missing" in proc.stderr
    assert proc.stdout == ""


def test_visit_mjs_reports_launch_failure():
    driver.require_browser()
    proc = run_visit_mjs({"DD_TEST_CHROMIUM": "/bin/false"})
    assert proc.returncode == 3
    assert "cannot launch /bin/false" in proc.stderr


def test_visit_mjs_rejects_bad_spec():
    proc = run_visit_mjs({}, spec="{not json")
    assert proc.returncode == 2 and "spec is not JSON" in proc.stderr


def test_require_browser_fails_rather_than_skips(monkeypatch):
    monkeypatch.setattr(driver, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="/nonexistent/chromium is missing"):
        driver.require_browser()
