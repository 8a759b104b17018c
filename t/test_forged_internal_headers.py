"""A client cannot smuggle its own copy of a header the module writes (the
propagation headers of every configured style, the RUM pending marker) past
nginx to the application: not repeated, not in other letter case, and not
spelled with `_` for `-` where nginx lets such names through
(underscores_in_headers on, or ignore_invalid_headers off). Gunicorn, like
every WSGI/CGI server, maps `x_datadog_trace_id` and `x-datadog-trace-id` to
the same HTTP_X_DATADOG_TRACE_ID and joins the values: "42,<ours>"."""

import json
import subprocess

import pytest

from harness import client
from harness.rum import MINIMAL_RUM as RUM

OWNED = ["x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "x-datadog-origin",
         "x-datadog-tags", "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid",
         "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid", "baggage",
         "x-datadog-rum-injection-pending"]

FORGED = [
    ("X-Datadog-Rum-Injection-Pending", "0"),
    ("x-datadog-rum-injection-pending", "0"),
    ("X_Datadog_Rum_Injection_Pending", "0"),
    ("x_datadog_trace_id", "42"),
    ("X_Datadog_Parent_Id", "42"),
    ("X-DATADOG-ORIGIN", "forged"),
    ("x_datadog_origin", "forged"),
    ("x_datadog_tags", "_dd.p.forged=1"),
    ("x_b3_traceid", "42"),
    ("X-B3-Sampled", "0"),
    ("x_b3_sampled", "0"),
    ("x_b3_flags", "1"),
    ("Baggage", "k=v"),  # extracted and injected again: once
]


def server_conf(agent, upstream, underscores):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    datadog_propagation_styles datadog tracecontext b3 baggage;
    {RUM}
    server {{
        listen 127.0.0.1:@PORT@;
        listen 127.0.0.1:@PORT2@ http2;
        {underscores}
        location / {{ proxy_pass http://{upstream.address}; }}
    }}"""


def as_wsgi_sees_it(name):
    return name.lower().replace("_", "-")


def over_http2(port, headers):
    """GET /echo over cleartext HTTP/2 (curl; it sends the names in lowercase)."""
    argv = ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", f"http://127.0.0.1:{port}/echo"]
    for name, value in headers:
        argv += ["-H", f"{name}: {value}"]
    return json.loads(subprocess.run(argv, check=True, capture_output=True, timeout=20).stdout)


@pytest.mark.parametrize("underscores", ["underscores_in_headers on;", "ignore_invalid_headers off;", ""])
@pytest.mark.parametrize("protocol", ["HTTP/1.1", "HTTP/2"])
def test_upstream_sees_only_the_modules_copy_of_each_owned_header(nginx, agent, upstream, underscores, protocol):
    server = nginx(server_conf(agent, upstream, underscores))
    if protocol == "HTTP/2":
        seen = over_http2(server.port2, FORGED)
    else:
        seen = client.get(server.port, "/echo", headers=FORGED).json()
    span = agent.wait_for_spans(1)[0]
    received = {}
    for name, value in seen["headers_list"]:
        received.setdefault(as_wsgi_sees_it(name), []).append(value)
    for name in OWNED:
        assert len(received.get(name, [])) <= 1, (name, received.get(name))
    assert received["x-datadog-rum-injection-pending"] == ["1"]
    assert received["x-datadog-trace-id"] == [str(span["trace_id"])]
    assert received["x-datadog-parent-id"] == [str(span["span_id"])]
    assert received["x-b3-traceid"][0].endswith(f"{span['trace_id']:016x}")
    assert "x-datadog-origin" not in received and "x-b3-flags" not in received
    assert "forged" not in str({name: received.get(name) for name in OWNED})
    assert span["parent_id"] == 0, "a forged header was taken for the trace context"


def test_other_headers_with_underscores_still_reach_the_upstream(nginx, agent, upstream):
    server = nginx(server_conf(agent, upstream, "underscores_in_headers on;"))
    seen = client.get(server.port, "/echo", headers=[("x_custom_id", "7"), ("x_datadog_trace_idx", "8"),
                                                      ("x_datadog_rum", "9")]).json()
    received = dict(seen["headers_list"])
    assert received["x_custom_id"] == "7"
    assert received["x_datadog_trace_idx"] == "8"
    assert received["x_datadog_rum"] == "9"


HEADERS_MORE = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so"  # scripts/setup installs it


def test_headers_other_modules_change_after_the_removal_reach_the_upstream_changed(nginx, agent, upstream):
    # The removal of client copies must leave every other header where it was:
    # headers-more (like lua) finds a header by the address nginx keeps for it
    # (headers_in.authorization, user_agent); a rebuilt list made it fail the
    # request, or change a copy the upstream never sees.
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{
            more_clear_input_headers Authorization;
            more_set_input_headers 'User-Agent: changed-by-headers-more';
            proxy_pass http://{upstream.address};
        }}
    }}""", main=f"load_module {HEADERS_MORE};")
    response = client.get(server.port, "/echo", headers=[
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("x_datadog_trace_id", "42"), ("Authorization", "Basic c2VjcmV0"), ("User-Agent", "client/1.0"),
        ("X-Kept", "yes")])
    assert response.status == 200
    received = dict((name.lower(), value) for name, value in response.json()["headers_list"])
    assert "authorization" not in received
    assert received["user-agent"] == "changed-by-headers-more"
    assert received["x-kept"] == "yes"
    assert received["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    agent.wait_for_spans(1)


def test_removal_keeps_every_other_header_in_order_across_the_lists_parts(nginx, agent, upstream):
    # nginx's header list grows in parts of 20 entries: forged copies at the
    # start, at a part's edge, inside and at the end of later parts.
    server = nginx(server_conf(agent, upstream, "underscores_in_headers on;"))
    headers = [(f"X-Filler-{i:02d}", str(i)) for i in range(55)]
    for at in (54, 40, 39, 21, 19, 18, 0):
        headers.insert(at, ("x_datadog_trace_id", "42"))
    headers.append(("X-Datadog-Trace-Id", "43"))
    response = client.get(server.port, "/echo", headers=headers)
    assert response.status == 200
    received = response.json()["headers_list"]
    fillers = [(name, value) for name, value in received if name.lower().startswith("x-filler-")]
    assert [value for _, value in fillers] == [str(i) for i in range(55)]
    span = agent.wait_for_spans(1)[0]
    trace_ids = [value for name, value in received if as_wsgi_sees_it(name) == "x-datadog-trace-id"]
    assert trace_ids == [str(span["trace_id"])]
