"""datadog_trace_locations: a child span per location the request went
through, and the upstream continues from the active location span."""

from harness import client


def http(agent, body, upstream):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {body}
    """.replace("@UPSTREAM@", upstream.address)


def test_location_span_is_the_upstreams_parent(nginx, agent, upstream):
    server = nginx(http(agent, """
        datadog_trace_locations on;
        server { listen 127.0.0.1:@PORT@; location /echo { proxy_pass http://@UPSTREAM@; } }""", upstream))
    seen = client.get(server.port, "/echo").json()
    spans = agent.wait_for_spans(2)
    request = next(s for s in spans if s["name"] == "nginx.request")
    location = next(s for s in spans if s["name"] == "nginx.location")
    assert len(agent.traces()) == 1 and len(agent.traces()[0]) == 2, "one trace with both spans"
    assert location["trace_id"] == request["trace_id"]
    assert location["parent_id"] == request["span_id"]
    assert location["meta"]["nginx.location"] == "/echo"
    assert location["resource"] == "GET /echo"
    assert request["start"] <= location["start"]
    assert location["duration"] <= request["duration"]
    assert seen["headers"]["x-datadog-parent-id"] == str(location["span_id"])


def test_internal_redirect_gives_a_span_per_location(nginx, agent, upstream):
    server = nginx(http(agent, """
        datadog_trace_locations on;
        server {
            listen 127.0.0.1:@PORT@;
            error_page 404 = @fallback;
            location /missing { return 404; }
            location @fallback { rewrite ^ /echo break; proxy_pass http://@UPSTREAM@; }
        }""", upstream))
    seen = client.get(server.port, "/missing").json()
    spans = agent.wait_for_spans(3)
    locations = [s for s in spans if s["name"] == "nginx.location"]
    assert [s["meta"]["nginx.location"] for s in locations] == ["/missing", "@fallback"]
    request = next(s for s in spans if s["name"] == "nginx.request")
    assert all(s["parent_id"] == request["span_id"] for s in locations)
    assert seen["headers"]["x-datadog-parent-id"] == str(locations[-1]["span_id"])


def test_location_span_names_are_configurable_and_off_by_default(nginx, agent):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location /on {{
            datadog_trace_locations on;
            datadog_location_operation_name "loc.$request_method";
            datadog_location_resource_name "where $uri";
            return 200;
        }}
        location /off {{ return 200; }}
    }}""")
    client.get(server.port, "/off")
    assert [s["name"] for s in agent.wait_for_spans(1)] == ["nginx.request"]
    client.get(server.port, "/on")
    location = next(s for s in agent.wait_for_spans(3) if s["name"] != "nginx.request")
    assert location["name"] == "loc.GET"
    assert location["resource"] == "where /on"
