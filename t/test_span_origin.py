"""Span tags and agent headers nginx-datadog's users build facets and monitors
on: runtime-id, peer.address, upstream.name, subrequest http.url, and the
origin-detection headers dd-trace-cpp sends to the agent."""

import os
import re

from harness import client
from harness.nginx import Nginx

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def proxied(agent, upstream, extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {extra}
    upstream backend {{ server {upstream.address}; }}
    server {{
        listen 127.0.0.1:@PORT@;
        location /named {{ proxy_pass http://backend/echo; }}
        location /literal {{ proxy_pass http://{upstream.address}/echo; }}
        location /plain {{ return 200 "ok"; }}
        location /fail {{ proxy_pass http://{upstream.address}/status/503; }}
        location /sub {{ auth_request /auth; proxy_pass http://{upstream.address}/status/204; }}
        location = /auth {{ internal; proxy_pass http://{upstream.address}/echo/auth; }}
    }}"""


def test_runtime_id_is_one_uuid_per_worker_on_every_span(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream, "datadog_trace_locations on;"), workers=1)
    client.get(server.port, "/literal")
    client.get(server.port, "/named")
    spans = agent.wait_for_spans(4)
    ids = {span["meta"]["runtime-id"] for span in spans}
    assert len(ids) == 1, spans
    assert UUID4.fullmatch(ids.pop())
    assert {span["meta"]["language"] for span in spans} == {"cpp"}
    assert {span["metrics"]["process_id"] for span in spans} == {float(next(iter(server.worker_pids())))}


def test_runtime_id_differs_between_workers_and_after_a_restart(nginx_factory, agent, upstream):
    first = nginx_factory(proxied(agent, upstream), workers=1).start()
    client.get(first.port, "/literal")
    one = agent.wait_for_spans(1)[0]["meta"]["runtime-id"]
    first.stop()
    agent.clear()
    second = nginx_factory(proxied(agent, upstream), workers=1).start()
    client.get(second.port, "/literal")
    assert agent.wait_for_spans(1)[0]["meta"]["runtime-id"] != one


def test_peer_address_is_remote_addr_and_port(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    reply = client.get(server.port, "/literal")
    assert reply.status == 200
    peer = agent.wait_for_spans(1)[0]["meta"]["peer.address"]
    address, port = peer.rsplit(":", 1)
    assert address == "127.0.0.1"
    assert 0 < int(port) < 65536 and int(port) != server.port


def test_upstream_name_is_the_upstream_block_or_the_proxy_pass_host(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    client.get(server.port, "/named")
    client.get(server.port, "/literal")
    spans = agent.wait_for_spans(2)
    by_location = {span["meta"]["nginx.location"]: span["meta"] for span in spans}
    assert by_location["/named"]["upstream.name"] == "backend"
    assert by_location["/named"]["upstream.address"] == upstream.address
    assert by_location["/literal"]["upstream.name"] == upstream.address.rsplit(":", 1)[0]


def test_unproxied_request_has_no_upstream_tags(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    assert client.get(server.port, "/plain").status == 200
    meta = agent.wait_for_spans(1)[0]["meta"]
    assert "upstream.name" not in meta and "upstream.address" not in meta


def test_subrequest_span_has_its_own_url(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    client.get(server.port, "/sub?x=1", headers={"Host": "shop.test"})
    spans = agent.wait_for_spans(2)
    sub = next(s for s in spans if s["name"] == "nginx.subrequest")
    request = next(s for s in spans if s["name"] == "nginx.request")
    assert request["meta"]["http.url"] == "http://shop.test/sub?x=1"
    # Its own URI ($request_uri would be the main request's /sub?x=1).
    assert sub["meta"]["http.url"] == "http://shop.test/auth"


def test_server_error_keeps_error_type_and_message(nginx, agent, upstream):
    server = nginx(proxied(agent, upstream))
    assert client.get(server.port, "/fail").status == 503
    span = agent.wait_for_spans(1)[0]
    assert span["error"] == 1
    assert span["meta"]["error.type"] == "http.server_error"
    assert span["meta"]["error.message"] == "HTTP 503"


def test_host_cgroup_namespace_sends_no_entity_headers(nginx, agent, upstream):
    # This machine: cgroup v1 whose /proc/self/cgroup names no container, in
    # the host's cgroup namespace: dd-trace-cpp sends no origin header.
    assert os.readlink("/proc/self/ns/cgroup") == "cgroup:[4026531835]"
    server = nginx(proxied(agent, upstream))
    client.get(server.port, "/literal")
    payload = agent.wait_for_payloads(1)[0]
    assert payload.headers.get("Datadog-Entity-Id") is None
    assert payload.headers.get("Datadog-Container-ID") is None
    assert payload.headers.get("Datadog-Meta-Lang") == "cpp"


def test_private_cgroup_namespace_sends_the_cgroup_inode_and_external_env(nginx_factory, agent, upstream):
    server = nginx_factory(proxied(agent, upstream), env={**os.environ, "DD_EXTERNAL_ENV": "it-false,cn-web"})
    plain = server.command
    server.command = lambda *args: ["unshare", "-C", *plain(*args)]  # a cgroup namespace of its own
    server.start()
    client.get(server.port, "/literal")
    payload = agent.wait_for_payloads(1)[0]
    assert payload.headers.get("Datadog-Entity-Id") == f"in-{os.stat('/sys/fs/cgroup').st_ino}"
    assert payload.headers.get("Datadog-Container-ID") is None
    assert payload.headers.get("Datadog-External-Env") == "it-false,cn-web"


def test_unix_socket_agent_gets_no_origin_headers(nginx_factory, make_agent, upstream):
    agent = make_agent(listen="unix")
    server = nginx_factory(proxied(agent, upstream), env={**os.environ, "DD_EXTERNAL_ENV": "it-false"})
    plain = server.command
    server.command = lambda *args: ["unshare", "-C", *plain(*args)]
    server.start()
    client.get(server.port, "/literal")
    payload = agent.wait_for_payloads(1)[0]
    assert payload.headers.get("Datadog-Entity-Id") is None
    assert payload.headers.get("Datadog-External-Env") is None
