"""Trace context through real nginx: what the client sends is continued, what
goes to the Gunicorn upstream names the nginx span as its parent, and nothing
invalid or duplicated reaches the application."""

from harness import client

TRACE_HIGH = 0x0AF7651916CD43DD
TRACE_LOW = 0x8448EB211C80319C
PARENT = 0xB7AD6B7169203331
TRACEPARENT = f"00-{TRACE_HIGH:016x}{TRACE_LOW:016x}-{PARENT:016x}-01"


def proxied(agent, extra="", location_extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ {location_extra} proxy_pass http://@UPSTREAM@; }}
        location /untraced/ {{ datadog_tracing off; proxy_pass http://@UPSTREAM@/echo/; }}
    }}
    """


def echo(server, headers=None, path="/echo"):
    reply = client.get(server.port, path, headers=headers or [])
    assert reply.status == 200, reply.text
    return reply.json()


def values(seen, name):
    return [v for k, v in seen["headers_list"] if k.lower() == name]


def test_upstream_continues_the_clients_w3c_trace_with_nginx_as_parent(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"traceparent": TRACEPARENT, "tracestate": "congo=t61rcWkgMzE"})
    span = agent.wait_for_spans(1)[0]

    assert span["trace_id"] == TRACE_LOW
    assert span["meta"]["_dd.p.tid"] == f"{TRACE_HIGH:016x}"
    assert span["parent_id"] == PARENT
    # W3C: same trace, our span as parent, the other vendor's state kept after ours.
    assert values(seen, "traceparent") == [f"00-{TRACE_HIGH:016x}{TRACE_LOW:016x}-{span['span_id']:016x}-01"]
    tracestate = values(seen, "tracestate")
    assert len(tracestate) == 1
    assert tracestate[0].startswith(f"dd=s:1;p:{span['span_id']:016x}")
    assert tracestate[0].endswith(",congo=t61rcWkgMzE")
    # Datadog: the low 64 bits in decimal, the high half in x-datadog-tags.
    assert values(seen, "x-datadog-trace-id") == [str(TRACE_LOW)]
    assert values(seen, "x-datadog-parent-id") == [str(span["span_id"])]
    assert values(seen, "x-datadog-sampling-priority") == ["1"]
    assert f"_dd.p.tid={TRACE_HIGH:016x}" in values(seen, "x-datadog-tags")[0]


def test_upstream_continues_the_clients_datadog_trace(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"x-datadog-trace-id": "1234567890123", "x-datadog-parent-id": "987654321",
                         "x-datadog-sampling-priority": "2", "x-datadog-origin": "synthetics",
                         "x-datadog-tags": "_dd.p.dm=-4,_dd.p.usr=abc,other=dropped"})
    span = agent.wait_for_spans(1)[0]
    assert span["trace_id"] == 1234567890123
    assert span["parent_id"] == 987654321
    assert span["metrics"]["_sampling_priority_v1"] == 2.0
    assert span["meta"]["_dd.origin"] == "synthetics"
    assert span["meta"]["_dd.p.dm"] == "-4"
    assert span["meta"]["_dd.p.usr"] == "abc"
    assert "other" not in span["meta"]
    assert values(seen, "x-datadog-trace-id") == ["1234567890123"]
    assert values(seen, "x-datadog-parent-id") == [str(span["span_id"])]
    assert values(seen, "x-datadog-sampling-priority") == ["2"]
    assert values(seen, "x-datadog-origin") == ["synthetics"]
    tags = values(seen, "x-datadog-tags")[0].split(",")
    assert "_dd.p.dm=-4" in tags and "_dd.p.usr=abc" in tags and not any(t.startswith("other") for t in tags)
    assert values(seen, "traceparent")[0].split("-")[2] == f"{span['span_id']:016x}"


def test_new_trace_when_the_client_sends_none(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server)
    span = agent.wait_for_spans(1)[0]
    assert span["parent_id"] == 0
    assert values(seen, "x-datadog-trace-id") == [str(span["trace_id"])]
    assert values(seen, "x-datadog-parent-id") == [str(span["span_id"])]
    version, trace, parent, flags = values(seen, "traceparent")[0].split("-")
    assert (version, flags) == ("00", "01")
    assert int(trace, 16) == (int(span["meta"]["_dd.p.tid"], 16) << 64) | span["trace_id"]
    assert int(parent, 16) == span["span_id"]


def test_malformed_traceparent_never_reaches_the_upstream(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    bad = "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"  # uppercase: invalid
    seen = echo(server, {"traceparent": bad, "tracestate": "congo=t61rcWkgMzE"})
    span = agent.wait_for_spans(1)[0]
    assert span["parent_id"] == 0, "an invalid traceparent starts a new trace"
    forwarded = values(seen, "traceparent")
    assert len(forwarded) == 1 and forwarded[0] != bad
    assert int(forwarded[0].split("-")[2], 16) == span["span_id"]
    assert all("congo" not in v for v in values(seen, "tracestate")), "tracestate of an invalid trace is dropped"
    assert span["trace_id"] != TRACE_LOW


def test_client_copies_are_replaced_not_duplicated(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server, [("x-datadog-trace-id", "111"), ("x-datadog-trace-id", "222"),
                         ("x-datadog-parent-id", "5"), ("X-Datadog-Sampling-Priority", "1"),
                         ("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)])
    for name in ("x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority", "traceparent"):
        assert len(values(seen, name)) == 1, (name, values(seen, name))


def test_untrusted_client_context_starts_a_new_trace(nginx, agent, upstream):
    server = nginx(proxied(agent, "datadog_trust_incoming_span off;"), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"traceparent": TRACEPARENT, "x-datadog-trace-id": "42", "x-datadog-parent-id": "7"})
    span = agent.wait_for_spans(1)[0]
    assert span["parent_id"] == 0
    assert span["trace_id"] not in (TRACE_LOW, 42)
    assert values(seen, "x-datadog-trace-id") == [str(span["trace_id"])]
    assert values(seen, "traceparent")[0].split("-")[1][16:] == f"{span['trace_id']:016x}"


def test_tracing_off_location_injects_nothing_and_passes_client_headers(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"traceparent": TRACEPARENT}, path="/untraced/x")
    assert values(seen, "traceparent") == [TRACEPARENT]
    assert values(seen, "x-datadog-trace-id") == []


def test_b3_only_styles(nginx, agent, upstream):
    server = nginx(proxied(agent, "datadog_propagation_styles b3;"), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"X-B3-TraceId": f"{TRACE_LOW:016x}", "X-B3-SpanId": f"{PARENT:016x}", "X-B3-Sampled": "1",
                         "traceparent": TRACEPARENT})
    span = agent.wait_for_spans(1)[0]
    assert span["trace_id"] == TRACE_LOW and span["parent_id"] == PARENT
    assert values(seen, "x-b3-traceid") == [f"{TRACE_LOW:016x}"]
    assert values(seen, "x-b3-spanid") == [f"{span['span_id']:016x}"]
    assert values(seen, "x-b3-sampled") == ["1"]
    assert values(seen, "x-datadog-trace-id") == []
    # A style that is not configured is neither read nor touched.
    assert values(seen, "traceparent") == [TRACEPARENT]


def test_propagation_styles_from_environment(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address},
                   env={"DD_TRACE_PROPAGATION_STYLE_INJECT": "tracecontext",
                        "DD_TRACE_PROPAGATION_STYLE_EXTRACT": "datadog"})
    seen = echo(server, {"x-datadog-trace-id": "77", "x-datadog-parent-id": "8", "traceparent": TRACEPARENT})
    span = agent.wait_for_spans(1)[0]
    assert span["trace_id"] == 77 and span["parent_id"] == 8
    assert values(seen, "x-datadog-trace-id") == []
    assert values(seen, "traceparent")[0].split("-")[1][16:] == f"{77:016x}"


def test_unknown_propagation_style_fails_nginx_t(nginx_factory):
    server = nginx_factory("datadog_propagation_styles datadog zipkin;\nserver { listen 127.0.0.1:@PORT@; }")
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index("datadog_propagation_styles datadog zipkin;") + 1
    assert f"in {server.conf_path}:{line}" in output and '"zipkin"' in output


def test_drop_decision_travels_upstream(nginx, agent, upstream):
    server = nginx(proxied(agent, location_extra="datadog_sample_rate 0;"), values={"UPSTREAM": upstream.address})
    seen = echo(server)
    assert values(seen, "x-datadog-sampling-priority") == ["-1"]
    assert values(seen, "traceparent")[0].endswith("-00")
    assert "_dd.p.dm" not in ",".join(values(seen, "x-datadog-tags"))


def test_baggage_is_forwarded(nginx, agent, upstream):
    server = nginx(proxied(agent), values={"UPSTREAM": upstream.address})
    seen = echo(server, {"baggage": "user.id=amy,session=abc%20def"})
    forwarded = values(seen, "baggage")
    assert len(forwarded) == 1
    assert set(forwarded[0].split(",")) == {"user.id=amy", "session=abc%20def"}


def test_headers_are_written_only_in_servers_that_can_forward(nginx, agent, upstream):
    """A server none of whose locations has a content handler (proxy_pass and
    the like) can never pass the request on, even through an internal redirect
    or a subrequest: nginx does not write the propagation headers there. A
    server with one location that can forward writes them for every request,
    since any request may reach that location."""
    show = 'return 200 "[$http_x_datadog_trace_id][$http_traceparent][$datadog_trace_id_64bits_base10]";'
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ {show} }}
        location /static/ {{ root /var/empty; }}
    }}
    server {{
        listen 127.0.0.1:@PORT2@;
        location / {{ {show} }}
        location @backend {{ proxy_pass http://@UPSTREAM@; }}
    }}""", values={"UPSTREAM": upstream.address})
    bare = client.get(server.port, "/").text
    forwarding = client.get(server.port2, "/").text
    spans = agent.wait_for_spans(2)
    # Both requests are traced...
    bare_id, forwarding_id = (int(text.rsplit("[", 1)[1].rstrip("]")) for text in (bare, forwarding))
    assert sorted(s["trace_id"] for s in spans) == sorted([bare_id, forwarding_id])
    # ...but only the server that can forward carries the headers.
    assert bare == f"[][][{bare_id}]"
    assert forwarding.startswith(f"[{forwarding_id}][00-")


def test_proxy_set_header_of_a_propagation_header_replaces_the_injected_one(nginx, agent, upstream):
    """The injected headers carry nginx's hash of their names, as parsed ones
    do: proxy_set_header of the same name replaces the value rather than
    sending a second header."""
    server = nginx(proxied(agent, location_extra='proxy_set_header traceparent "chosen-by-config";'),
                   values={"UPSTREAM": upstream.address})
    seen = echo(server)
    assert values(seen, "traceparent") == ["chosen-by-config"]
    assert len(values(seen, "x-datadog-trace-id")) == 1
