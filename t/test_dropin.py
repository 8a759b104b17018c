"""Configurations written for DataDog's nginx-datadog, as its documentation
writes them (t/dropin/), load into this module unchanged and do what that
documentation says. Only the deployment's names move: the module path,
`listen 80`, the application `app:8080`, the agent `agent:8126` and
/var/log/nginx/."""

import json
import re
import time

import pytest

from harness import client
from harness.nginx import REPO

DROPIN = REPO / "t" / "dropin"
CONFS = sorted(DROPIN.glob("*.conf"))


def localize(name, module, upstream, agent):
    text = (DROPIN / name).read_text()
    text = text.replace("load_module modules/ngx_http_datadog_module.so;",
                        f"load_module {module};\ndaemon off;\npid @PREFIX@/nginx.pid;\n"
                        "error_log @PREFIX@/logs/error.log info;")
    text = re.sub(r"\blisten 80;", "listen 127.0.0.1:@PORT@;", text)
    text = text.replace("http://app:8080", f"http://{upstream.address}")
    # A short flush interval only to keep the test quick.
    text = text.replace("datadog_agent_url http://agent:8126;",
                        f"datadog_agent_url {agent.url};\n    datadog_flush_interval 100ms;")
    return text.replace("/var/log/nginx/", "@PREFIX@/logs/")


@pytest.fixture
def dropin(nginx_factory, built_module, upstream, agent):
    """Starts nginx with t/dropin/<name> after `nginx -t` accepted it; returns
    (server, nginx -t output)."""

    def start(name):
        server = nginx_factory(conf=localize(name, built_module, upstream, agent))
        code, output = server.test_config()
        assert code == 0, output
        assert "[emerg]" not in output
        return server.start(), output

    return start


def test_every_dropin_configuration_is_covered_here():
    tested = set(re.findall(r'dropin\("([a-z-]+\.conf)"\)', (REPO / "t" / "test_dropin.py").read_text()))
    assert {p.name for p in CONFS} == tested


def test_tracing_example_tags_locations_and_logs_as_documented(dropin, agent):
    server, output = dropin("tracing.conf")
    assert "[warn]" not in output
    # Each location proxies to the application's /echo, which answers with
    # the request headers it received.
    echoed = client.get(server.port, "/http").json()["headers"]
    client.get(server.port, "/http-with-location")
    untraced = client.get(server.port, "/http-no-trace").json()["headers"]
    spans = agent.wait_for_spans(3)  # request span /http, request + location span for /http-with-location
    time.sleep(0.3)
    spans = agent.spans()
    assert len(spans) == 3, "the untraced location made a span"
    assert not any(k.startswith("x-datadog") or k == "traceparent" for k in untraced)

    tagged = next(s for s in spans if s["resource"] == "GET /http")
    assert (tagged["service"], tagged["name"]) == ("storefront-proxy", "nginx.request")
    assert tagged["meta"]["env"] == "staging" and tagged["meta"]["version"] == "2.3.1"
    assert tagged["meta"]["special.tag"] == "The URI is /http"
    assert echoed["x-datadog-parent-id"] == str(tagged["span_id"])

    request_span = next(s for s in spans if s["resource"] == "request URI /http-with-location")
    location_span = next(s for s in spans if s["resource"] == "location URI /http-with-location")
    assert location_span["name"] == "nginx.location"
    assert location_span["parent_id"] == request_span["span_id"]
    assert location_span["trace_id"] == request_span["trace_id"]

    # Both access logs carry the trace: 32 hex digits and 16 hex digits.
    text_log = (server.prefix / "logs" / "access.log").read_text()
    trace_hex = f"{int(tagged['meta']['_dd.p.tid'], 16):016x}{tagged['trace_id']:016x}"
    assert f'"{trace_hex}" "{tagged["span_id"]:016x}"' in text_log
    json_lines = [json.loads(line) for line in (server.prefix / "logs" / "access.json").read_text().splitlines()]
    first = json_lines[0]
    assert first["dd.trace_id"] == trace_hex
    assert json.loads(first["trace_context"])["x-datadog-trace-id"] == str(tagged["trace_id"])
    assert json_lines[2]["dd.trace_id"] == "-", "no trace where tracing is off"


def test_sampling_example_from_the_directive_reference(dropin, agent):
    server, _ = dropin("sampling.conf")
    for _ in range(3):
        client.get(server.port, "/echo", headers={"X-Request-Category": "healthcheck"})
    client.get(server.port, "/admin/echo")
    for _ in range(40):
        client.get(server.port, "/echo")
    spans = agent.wait_for_spans(44)
    health = [s for s in spans if s["resource"] == "GET /echo"][:3]
    admin = next(s for s in spans if s["resource"] == "GET /admin/echo")
    others = [s for s in spans if s["resource"] == "GET /echo"][3:]
    assert all(s["metrics"]["_sampling_priority_v1"] == -1 for s in health)
    assert admin["metrics"]["_sampling_priority_v1"] == 2
    # 0.1 of 40: some dropped for certain, and the rule's rate on the span.
    kept = [s for s in others if s["metrics"]["_sampling_priority_v1"] == 2]
    assert len(kept) < 20
    assert all(s["metrics"]["_dd.rule_psr"] == 0.1 for s in others)
    conf_lines = server.conf_text.splitlines()
    for span, directive in ((health[0], "datadog_sample_rate 0 $healthcheck_toggle;"),
                            (admin, "datadog_sample_rate 1.0;"), (others[0], "datadog_sample_rate 0.1;")):
        path, line = re.fullmatch(r"(.*):(\d+)#1", span["meta"]["nginx.sample_rate_source"]).groups()
        assert path == str(server.conf_path) and conf_lines[int(line) - 1].strip() == directive


def test_propagation_example_continues_w3c_and_refuses_on_public(dropin, agent):
    server, _ = dropin("propagation.conf")
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    inner = client.get(server.port, "/echo", headers={"traceparent": traceparent}).json()["headers"]
    public = client.get(server.port, "/public", headers={"traceparent": traceparent}).json()["headers"]
    spans = agent.wait_for_spans(2)
    continued = next(s for s in spans if s["resource"] == "GET /echo")
    fresh = next(s for s in spans if s["resource"] == "GET /public")
    assert continued["name"] == "gateway.request" and continued["service"] == "gateway"
    assert continued["trace_id"] == 0x8448eb211c80319c and continued["parent_id"] == 0xb7ad6b7169203331
    assert inner["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert "x-datadog-trace-id" in inner, "both styles go upstream"
    assert fresh["trace_id"] != 0x8448eb211c80319c and fresh["parent_id"] == 0
    assert "0af7651916cd43dd8448eb211c80319c" not in public["traceparent"]


def test_rum_setup_guide_configuration_injects_and_datadog_disable_turns_tracing_off(dropin, agent):
    server, output = dropin("rum.conf")
    assert '"datadog_disable" is deprecated, use "datadog_tracing off;" instead' in output
    page = client.get(server.port, "/html/small")
    assert b"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d" in page.body
    init = re.search(rb"init\((\{.*?\})\)", page.body).group(1)
    options = json.loads(init)
    assert options["trackResources"] is True and options["sessionReplaySampleRate"] == 100
    assert options["service"] == "my-web-application" and options["version"] == "1.0.0"
    assert b'name="dd-trace-id"' not in page.body, "no trace to link to: tracing is off"
    echoed = client.get(server.port, "/echo").json()["headers"]
    assert "x-datadog-trace-id" not in echoed and "traceparent" not in echoed
    time.sleep(0.5)
    assert agent.requests == [], "tracing is off: nothing for the agent"
