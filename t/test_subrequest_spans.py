"""Subrequests (auth_request, mirror) get child spans in the request's trace."""

from harness import client


def test_auth_request_and_mirror_subrequests_are_child_spans(nginx, agent, upstream):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location /protected {{
            auth_request /auth;
            mirror /copy;
            proxy_pass http://{upstream.address}/echo;
        }}
        location = /auth {{ internal; proxy_pass http://{upstream.address}/echo/auth; }}
        location = /copy {{ internal; proxy_pass http://{upstream.address}/status/503; }}
    }}""")
    reply = client.get(server.port, "/protected")
    assert reply.status == 200
    spans = agent.wait_for_spans(3)
    assert len(agent.traces()) == 1, "the subrequests are in the request's trace"
    request = next(s for s in spans if s["name"] == "nginx.request")
    subs = {s["resource"]: s for s in spans if s["name"] == "nginx.subrequest"}
    assert set(subs) == {"GET /auth", "GET /copy"}
    for sub in subs.values():
        assert sub["trace_id"] == request["trace_id"]
        assert sub["parent_id"] == request["span_id"]
        assert sub["start"] >= request["start"]
        assert sub["duration"] > 0
    assert subs["GET /auth"]["meta"]["http.status_code"] == "200"
    assert subs["GET /auth"]["meta"]["nginx.location"] == "/auth"
    assert subs["GET /copy"]["meta"]["http.status_code"] == "503"
    assert subs["GET /copy"]["error"] == 1
    assert request["error"] == 0


def test_denied_auth_request_is_recorded(nginx, agent, upstream):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location /protected {{ auth_request /auth; proxy_pass http://{upstream.address}/echo; }}
        location = /auth {{ internal; proxy_pass http://{upstream.address}/status/401; }}
    }}""")
    assert client.get(server.port, "/protected").status == 401
    spans = agent.wait_for_spans(2)
    sub = next(s for s in spans if s["name"] == "nginx.subrequest")
    assert sub["meta"]["http.status_code"] == "401"
    assert next(s for s in spans if s["name"] == "nginx.request")["meta"]["http.status_code"] == "401"
