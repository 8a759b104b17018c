"""DD_* environment variables as nginx-datadog and Datadog's tracers read
them: booleans in every spelling the tracers accept, and nginx.conf's own
`env NAME=value;` lines, which win over the master's environment as they do
for the workers."""

import socket
import time

from harness import client


def http(agent, body):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {body}
    """


SERVER = """
    server {
        listen 127.0.0.1:@PORT@;
        location / { return 200; }
    }"""


def test_tracing_turned_off_by_every_false_spelling(nginx, agent):
    for spelling in ("no", "OFF", "0", "False"):
        server = nginx(http(agent, SERVER), env={"DD_TRACE_ENABLED": spelling})
        client.get(server.port, "/")
        server.stop()
    time.sleep(0.3)
    assert agent.spans() == []


def test_tracing_stays_on_for_true_spellings(nginx, agent):
    for spelling in ("yes", "ON", "1"):
        server = nginx(http(agent, SERVER), env={"DD_TRACE_ENABLED": spelling})
        client.get(server.port, "/")
        server.stop()
    assert len(agent.wait_for_spans(3)) == 3


def test_rum_turned_on_by_yes(nginx, upstream):
    server = nginx(f"""
        server {{
            listen 127.0.0.1:@PORT@;
            datadog_tracing off;
            datadog_rum_config "v5" {{ "applicationId" "app"; "clientToken" "pub"; "site" "datadoghq.com"; }}
            location / {{ proxy_pass http://127.0.0.1:{upstream.port}; }}
        }}""", env={"DD_RUM_ENABLED": "yes"})
    response = client.get(server.port, "/html/small")
    assert b"datadog-rum" in response.body


def test_a_boolean_that_is_no_boolean_fails_nginx_t_naming_the_variable(nginx_factory, agent):
    server = nginx_factory(http(agent, SERVER), env={"DD_TRACE_ENABLED": "maybe"})
    code, output = server.test_config()
    assert code != 0
    assert "DD_TRACE_ENABLED" in output and '"maybe"' in output and "on/off" in output


def test_env_directive_with_a_value_wins_over_the_process_environment(nginx, agent):
    server = nginx(http(agent, SERVER),
                   main="env DD_SERVICE=from-conf;\nenv DD_VERSION=1.2.3;\nenv DD_ENV;",
                   env={"DD_SERVICE": "from-process", "DD_ENV": "staging"})
    client.get(server.port, "/")
    [span] = agent.wait_for_spans(1)
    assert span["service"] == "from-conf"
    assert span["meta"]["version"] == "1.2.3"
    assert span["meta"]["env"] == "staging"  # a bare `env NAME;` passes the process's value through


def test_env_directive_can_turn_tracing_off(nginx, agent):
    server = nginx(http(agent, SERVER), main="env DD_TRACE_ENABLED=false;")
    client.get(server.port, "/")
    time.sleep(0.4)
    assert agent.spans() == []


# What nginx-datadog's tracer (dd-trace-cpp) reads besides: propagation
# styles under their older names, id width, header size limits, hostname.

PROXIED = """
    server {
        listen 127.0.0.1:@PORT@;
        location / { proxy_pass http://@UPSTREAM@; }
    }"""


def proxied(nginx, agent, upstream, env=None, main=""):
    return nginx(http(agent, PROXIED), values={"UPSTREAM": upstream.address}, env=env or {}, main=main)


def forwarded(server, headers=None):
    reply = client.get(server.port, "/echo", headers=headers or [])
    assert reply.status == 200, reply.text
    seen = {}
    for key, value in reply.json()["headers_list"]:
        seen.setdefault(key.lower(), []).append(value)
    return seen


B3_CLIENT = {"x-b3-traceid": "000000000000000a0000000000000bbb", "x-b3-spanid": "00000000000000cc",
             "x-b3-sampled": "1"}


def test_legacy_propagation_style_inject_chooses_the_injected_headers(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_PROPAGATION_STYLE_INJECT": "b3multi"})
    seen = forwarded(server)
    assert "x-b3-traceid" in seen and "x-b3-spanid" in seen
    assert "x-datadog-trace-id" not in seen and "traceparent" not in seen


def test_legacy_propagation_style_extract_chooses_what_is_continued(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_PROPAGATION_STYLE_EXTRACT": "b3multi"})
    forwarded(server, B3_CLIENT)
    [span] = agent.wait_for_spans(1)
    assert span["trace_id"] == 0xBBB and span["parent_id"] == 0xCC


def test_trace_propagation_style_inject_wins_over_the_legacy_name_with_a_warning(nginx, nginx_factory, agent,
                                                                                upstream):
    env = {"DD_TRACE_PROPAGATION_STYLE_INJECT": "tracecontext", "DD_PROPAGATION_STYLE_INJECT": "datadog"}
    seen = forwarded(proxied(nginx, agent, upstream, env=env))
    assert "traceparent" in seen and "x-datadog-trace-id" not in seen
    code, output = nginx_factory(http(agent, SERVER), env=env).test_config()
    assert code == 0
    assert "[warn]" in output
    assert "DD_PROPAGATION_STYLE_INJECT and DD_TRACE_PROPAGATION_STYLE_INJECT are both set" in output


def test_legacy_propagation_style_wins_over_the_one_for_both_directions(nginx, agent, upstream):
    env = {"DD_TRACE_PROPAGATION_STYLE": "b3multi", "DD_PROPAGATION_STYLE_INJECT": "datadog"}
    seen = forwarded(proxied(nginx, agent, upstream, env=env), B3_CLIENT)
    assert "x-datadog-trace-id" in seen and "x-b3-traceid" not in seen
    assert seen["x-datadog-trace-id"] == [str(0xBBB)]  # extraction still b3multi, from DD_TRACE_PROPAGATION_STYLE


def test_a_bad_legacy_propagation_style_fails_nginx_t_naming_the_variable(nginx_factory, agent):
    code, output = nginx_factory(http(agent, SERVER), env={"DD_PROPAGATION_STYLE_EXTRACT": "carrier-pigeon"}
                                 ).test_config()
    assert code != 0
    assert "DD_PROPAGATION_STYLE_EXTRACT" in output and "carrier-pigeon" in output


def test_trace_ids_are_128_bit_by_default(nginx, agent, upstream):
    seen = forwarded(proxied(nginx, agent, upstream))
    [span] = agent.wait_for_spans(1)
    assert len(span["meta"]["_dd.p.tid"]) == 16
    assert seen["traceparent"][0][3:19] == span["meta"]["_dd.p.tid"]


def test_128_bit_generation_off_starts_64_bit_traces(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "false"})
    seen = forwarded(server)
    [span] = agent.wait_for_spans(1)
    assert "_dd.p.tid" not in span["meta"]
    assert seen["traceparent"][0] == f"00-{0:016x}{span['trace_id']:016x}-{span['span_id']:016x}-01"
    assert "_dd.p.tid" not in seen.get("x-datadog-tags", [""])[0]


def test_128_bit_generation_off_still_continues_a_128_bit_trace(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED": "0"})
    seen = forwarded(server, {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    [span] = agent.wait_for_spans(1)
    assert span["meta"]["_dd.p.tid"] == "0af7651916cd43dd"
    assert seen["traceparent"][0].startswith("00-0af7651916cd43dd8448eb211c80319c-")


def test_tags_propagation_max_length_zero_sends_no_x_datadog_tags(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH": "0"})
    seen = forwarded(server)
    [span] = agent.wait_for_spans(1)
    assert "x-datadog-tags" not in seen
    assert "x-datadog-trace-id" in seen
    assert span["meta"]["_dd.propagation_error"] == "inject_max_size"


def test_tags_propagation_max_length_drops_longer_incoming_tags(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH": "20"})
    forwarded(server, {"x-datadog-trace-id": "123", "x-datadog-parent-id": "456",
                       "x-datadog-sampling-priority": "1", "x-datadog-tags": "_dd.p.dm=-4,_dd.p.team=edge"})
    [span] = agent.wait_for_spans(1)
    assert span["trace_id"] == 123
    assert span["meta"]["_dd.propagation_error"] == "extract_max_size"
    assert "_dd.p.team" not in span["meta"]


def test_tags_propagation_max_length_default_keeps_them(nginx, agent, upstream):
    seen = forwarded(proxied(nginx, agent, upstream),
                     {"x-datadog-trace-id": "123", "x-datadog-parent-id": "456",
                      "x-datadog-sampling-priority": "1", "x-datadog-tags": "_dd.p.dm=-4,_dd.p.team=edge"})
    [span] = agent.wait_for_spans(1)
    assert span["meta"]["_dd.p.team"] == "edge"
    assert "_dd.p.team=edge" in seen["x-datadog-tags"][0]


def test_baggage_over_the_configured_item_count_is_not_forwarded(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_BAGGAGE_MAX_ITEMS": "2"})
    assert forwarded(server, {"baggage": "a=1,b=2"})["baggage"] == ["a=1,b=2"]
    assert "baggage" not in forwarded(server, {"baggage": "a=1,b=2,c=3"})


def test_baggage_over_the_configured_byte_count_is_not_forwarded(nginx, agent, upstream):
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_BAGGAGE_MAX_BYTES": "10"})
    assert forwarded(server, {"baggage": "a=1,b=2"})["baggage"] == ["a=1,b=2"]
    assert "baggage" not in forwarded(server, {"baggage": "a=1,b=2,c=3"})


def test_baggage_limit_zero_turns_baggage_propagation_off(nginx, agent, upstream):
    # No baggage style at all: the client's header is neither read nor replaced.
    server = proxied(nginx, agent, upstream, env={"DD_TRACE_BAGGAGE_MAX_ITEMS": "0"})
    assert forwarded(server, {"baggage": "a=1,,"})["baggage"] == ["a=1,,"]
    assert "baggage" not in forwarded(proxied(nginx, agent, upstream), {"baggage": "a=1,,"})


def test_a_limit_that_is_no_whole_number_fails_nginx_t_naming_the_variable(nginx_factory, agent):
    for name in ("DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH", "DD_TRACE_BAGGAGE_MAX_ITEMS", "DD_TRACE_BAGGAGE_MAX_BYTES"):
        code, output = nginx_factory(http(agent, SERVER), env={name: "-5"}).test_config()
        assert code != 0
        assert f'{name}: must be a whole number (0 or more), found "-5"' in output


def test_report_hostname_tags_the_request_span(nginx, agent):
    server = nginx(http(agent, SERVER), env={"DD_TRACE_REPORT_HOSTNAME": "true"})
    client.get(server.port, "/")
    [span] = agent.wait_for_spans(1)
    assert span["meta"]["_dd.hostname"] == socket.gethostname()


def test_hostname_is_not_reported_by_default(nginx, agent):
    server = nginx(http(agent, SERVER), env={"DD_TRACE_REPORT_HOSTNAME": "off"})
    client.get(server.port, "/")
    [span] = agent.wait_for_spans(1)
    assert "_dd.hostname" not in span["meta"]
