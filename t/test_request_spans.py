"""A span per request, with the fields and tags of PROTOCOLS.md section 2, as
the (strict) test agent receives them from real nginx."""

import time

from harness import client

FAST_FLUSH = "datadog_flush_interval 100ms;"


def traced(agent, servers, extra=""):
    return f"""
    datadog_agent_url {agent.url};
    {FAST_FLUSH}
    {extra}
    {servers}
    """


def only_span(agent):
    spans = agent.wait_for_spans(1)
    assert len(spans) == 1, spans
    return spans[0]


def test_request_span_carries_nginx_fields_and_tags(nginx, agent):
    server = nginx(traced(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /hello { return 200 "hi"; }
        }"""))
    before_ns = time.time_ns()
    reply = client.get(server.port, "/hello?user=1", headers={"User-Agent": "probe/1.0", "Host": "example.test"})
    after_ns = time.time_ns()
    assert reply.status == 200

    span = only_span(agent)
    assert span["service"] == "nginx"
    assert span["name"] == "nginx.request"
    assert span["resource"] == "GET /hello"
    assert span["type"] == "web"
    assert span["parent_id"] == 0
    assert span["error"] == 0
    assert before_ns - 5_000_000 <= span["start"] <= after_ns
    assert 0 < span["duration"] < after_ns - before_ns + 5_000_000
    meta = span["meta"]
    assert meta["component"] == "nginx"
    assert meta["span.kind"] == "server"
    assert meta["language"] == "cpp"
    assert meta["http.method"] == "GET"
    assert meta["http.url"] == "http://example.test/hello?user=1"
    assert meta["http.host"] == "example.test"
    assert meta["http.useragent"] == "probe/1.0"
    assert meta["http.status_code"] == "200"
    assert meta["network.client.ip"] == "127.0.0.1"
    assert meta["nginx.location"] == "/hello"
    assert int(meta["nginx.worker_pid"]) in server.worker_pids()
    # 128-bit trace id: the high half is <seconds since epoch><32 zero bits>.
    high = int(meta["_dd.p.tid"], 16)
    assert high & 0xFFFFFFFF == 0
    assert abs((high >> 32) - before_ns // 1_000_000_000) <= 2
    assert span["metrics"]["_sampling_priority_v1"] == 1.0
    assert span["metrics"]["process_id"] == float(meta["nginx.worker_pid"])


def test_every_request_has_its_own_trace_and_span(nginx, agent):
    server = nginx(traced(agent, "server { listen 127.0.0.1:@PORT@; location / { return 204; } }"))
    for _ in range(20):
        assert client.get(server.port, "/").status == 204
    spans = agent.wait_for_spans(20)
    assert len({s["trace_id"] for s in spans}) == 20
    assert len({s["span_id"] for s in spans}) == 20


def test_server_error_marks_the_span_as_error(nginx, agent, upstream):
    server = nginx(traced(agent, """
        server { listen 127.0.0.1:@PORT@; location / { proxy_pass http://@UPSTREAM@; } }"""),
                   values={"UPSTREAM": upstream.address})
    assert client.get(server.port, "/status/500").status == 500
    span = only_span(agent)
    assert span["error"] == 1
    assert span["meta"]["http.status_code"] == "500"
    assert "500" in span["meta"]["error.message"]
    assert span["meta"]["upstream.address"] == upstream.address


def test_client_error_is_not_a_span_error(nginx, agent):
    server = nginx(traced(agent, "server { listen 127.0.0.1:@PORT@; location / { return 404; } }"))
    assert client.get(server.port, "/nope").status == 404
    span = only_span(agent)
    assert span["error"] == 0
    assert "error.message" not in span["meta"]


def test_service_environment_and_version_inherit_and_override(nginx, agent):
    server = nginx(traced(agent, """
        datadog_service_name web-http;
        datadog_environment staging;
        server {
            listen 127.0.0.1:@PORT@;
            datadog_version 1.2.3;
            location /inherit { return 200; }
            location /override { datadog_service_name web-location; datadog_environment prod; return 200; }
        }"""))
    client.get(server.port, "/inherit")
    client.get(server.port, "/override")
    spans = {s["meta"]["nginx.location"]: s for s in agent.wait_for_spans(2)}
    assert spans["/inherit"]["service"] == "web-http"
    assert spans["/inherit"]["meta"]["env"] == "staging"
    assert spans["/inherit"]["meta"]["version"] == "1.2.3"
    assert spans["/override"]["service"] == "web-location"
    assert spans["/override"]["meta"]["env"] == "prod"
    assert spans["/override"]["meta"]["version"] == "1.2.3"


def test_no_environment_means_no_env_tag(nginx, agent):
    server = nginx(traced(agent, "server { listen 127.0.0.1:@PORT@; location / { return 200; } }"))
    client.get(server.port, "/")
    span = only_span(agent)
    assert "env" not in span["meta"] and "version" not in span["meta"]


def test_operation_and_resource_names_accept_variables(nginx, agent):
    server = nginx(traced(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /api/ {
                datadog_operation_name "api.$request_method";
                datadog_resource_name "$uri by $arg_who";
                return 200;
            }
        }"""))
    client.get(server.port, "/api/books?who=ann")
    span = only_span(agent)
    assert span["name"] == "api.GET"
    assert span["resource"] == "/api/books by ann"


def test_tracing_off_in_a_location_creates_no_span(nginx, agent):
    server = nginx(traced(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /quiet { datadog_tracing off; return 200; }
            location /loud { return 200; }
        }"""))
    client.get(server.port, "/quiet")
    client.get(server.port, "/loud")
    client.get(server.port, "/quiet")
    time.sleep(0.5)
    spans = agent.wait_for_spans(1)
    assert [s["meta"]["nginx.location"] for s in spans] == ["/loud"]


def test_tracing_off_at_http_level_and_on_in_one_location(nginx, agent):
    server = nginx(traced(agent, """
        datadog_tracing off;
        server {
            listen 127.0.0.1:@PORT@;
            location /traced { datadog_tracing on; return 200; }
            location / { return 200; }
        }"""))
    client.get(server.port, "/other")
    client.get(server.port, "/traced")
    time.sleep(0.5)
    assert [s["meta"]["nginx.location"] for s in agent.wait_for_spans(1)] == ["/traced"]


def test_request_that_never_reaches_a_location_still_gets_a_span(nginx, agent):
    server = nginx(traced(agent, """
        server { listen 127.0.0.1:@PORT@; return 301 https://elsewhere.test/; }"""))
    assert client.get(server.port, "/anything").status == 301
    span = only_span(agent)
    assert span["meta"]["http.status_code"] == "301"
    assert span["duration"] >= 0


def test_internal_redirect_keeps_one_span(nginx, agent):
    server = nginx(traced(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            error_page 404 = /fallback;
            location /missing { return 404; }
            location /fallback { return 200 "fallback"; }
        }"""))
    reply = client.get(server.port, "/missing")
    assert reply.body == b"fallback"
    time.sleep(0.4)
    span = only_span(agent)
    assert span["meta"]["nginx.location"] == "/fallback"
    assert span["meta"]["http.status_code"] == "200"
    assert span["resource"] == "GET /fallback"


def test_proxied_request_span_through_gunicorn(nginx, agent, upstream):
    server = nginx(traced(agent, """
        server { listen 127.0.0.1:@PORT@; location / { proxy_pass http://@UPSTREAM@; } }"""),
                   values={"UPSTREAM": upstream.address})
    reply = client.get(server.port, "/sleep?ms=50")
    assert reply.status == 200
    span = only_span(agent)
    assert span["duration"] >= 50_000_000
    assert span["meta"]["upstream.address"] == upstream.address


def test_bad_request_gets_a_span_and_does_not_crash(nginx, agent):
    server = nginx(traced(agent, "server { listen 127.0.0.1:@PORT@; location / { return 200; } }"))
    raw = client.raw_request(server.port, b"GARBAGE\r\n\r\n")
    assert b" 400 " in raw.split(b"\r\n", 1)[0]
    span = only_span(agent)
    assert span["meta"]["http.status_code"] == "400"
