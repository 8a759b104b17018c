"""Sampling decisions through nginx (PROTOCOLS.md section 4): directives with
nginx-datadog's semantics, DD_* variables, and the agent's rates. Every trace
is sent, dropped ones included; the priority says what to keep."""

import time

from harness import client


def http(agent, body, flush="100ms"):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval {flush};
    {body}
    """


def spans_by_location(agent, count):
    return {s["meta"]["nginx.location"]: s for s in agent.wait_for_spans(count)}


def test_default_decision_keeps_with_the_default_mechanism(nginx, agent):
    server = nginx(http(agent, "server { listen 127.0.0.1:@PORT@; location / { return 200; } }"))
    client.get(server.port, "/")
    span = agent.wait_for_spans(1)[0]
    assert span["metrics"]["_sampling_priority_v1"] == 1.0
    assert span["metrics"]["_dd.agent_psr"] == 1.0
    assert span["meta"]["_dd.p.dm"] == "-0"


def test_sample_rate_directives_keep_or_drop_by_rule_and_name_their_source(nginx, agent):
    server = nginx(http(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /keep { datadog_sample_rate 1; return 200; }
            location /drop { datadog_sample_rate 0; return 200; }
        }"""))
    client.get(server.port, "/keep")
    client.get(server.port, "/drop")
    spans = spans_by_location(agent, 2)
    lines = server.conf_text.splitlines()
    keep_line = next(i for i, l in enumerate(lines, 1) if "datadog_sample_rate 1;" in l)
    drop_line = next(i for i, l in enumerate(lines, 1) if "datadog_sample_rate 0;" in l)

    keep = spans["/keep"]
    assert keep["metrics"]["_sampling_priority_v1"] == 2.0
    assert keep["metrics"]["_dd.rule_psr"] == 1.0
    assert "_dd.limit_psr" in keep["metrics"]
    assert keep["meta"]["_dd.p.dm"] == "-3"
    assert keep["meta"]["nginx.sample_rate_source"] == f"{server.conf_path}:{keep_line}#1"

    drop = spans["/drop"]
    assert drop["metrics"]["_sampling_priority_v1"] == -1.0
    assert drop["metrics"]["_dd.rule_psr"] == 0.0
    assert "_dd.p.dm" not in drop["meta"]
    assert drop["meta"]["nginx.sample_rate_source"] == f"{server.conf_path}:{drop_line}#1"


def test_conditional_sample_rate_follows_its_variable(nginx, agent):
    """nginx-datadog's documented example: health checks at 0, the rest at 1."""
    server = nginx(http(agent, """
        map $http_x_request_category $healthcheck_toggle {
            healthcheck on;
            default off;
        }
        datadog_sample_rate 0 $healthcheck_toggle;
        datadog_sample_rate 1;
        server { listen 127.0.0.1:@PORT@; location / { return 200; } }"""))
    client.get(server.port, "/", headers={"X-Request-Category": "healthcheck"})
    agent.wait_for_spans(1)
    client.get(server.port, "/")
    first, second = agent.wait_for_spans(2)
    assert first["metrics"]["_sampling_priority_v1"] == -1.0
    assert second["metrics"]["_sampling_priority_v1"] == 2.0
    assert first["meta"]["nginx.sample_rate_source"] != second["meta"]["nginx.sample_rate_source"]


def test_location_sample_rate_takes_precedence_over_http(nginx, agent):
    server = nginx(http(agent, """
        datadog_sample_rate 0;
        server {
            listen 127.0.0.1:@PORT@;
            location /admin { datadog_sample_rate 1; return 200; }
            location / { return 200; }
        }"""))
    client.get(server.port, "/admin")
    client.get(server.port, "/other")
    spans = spans_by_location(agent, 2)
    assert spans["/admin"]["metrics"]["_sampling_priority_v1"] == 2.0
    assert spans["/"]["metrics"]["_sampling_priority_v1"] == -1.0


def test_location_with_all_conditions_off_falls_back_to_the_enclosing_level(nginx, agent):
    server = nginx(http(agent, """
        datadog_sample_rate 0;
        server {
            listen 127.0.0.1:@PORT@;
            location / { datadog_sample_rate 1 $arg_keep; return 200; }
        }"""))
    client.get(server.port, "/?keep=on")
    agent.wait_for_spans(1)
    client.get(server.port, "/?keep=off")
    first, second = agent.wait_for_spans(2)
    assert first["metrics"]["_sampling_priority_v1"] == 2.0
    assert second["metrics"]["_sampling_priority_v1"] == -1.0


def test_sample_rate_from_environment_is_a_catch_all(nginx, agent):
    server = nginx(http(agent, "server { listen 127.0.0.1:@PORT@; location / { return 200; } }"),
                   env={"DD_TRACE_SAMPLE_RATE": "0"})
    client.get(server.port, "/")
    span = agent.wait_for_spans(1)[0]
    assert span["metrics"]["_sampling_priority_v1"] == -1.0
    assert span["metrics"]["_dd.rule_psr"] == 0.0


def test_sampling_rules_from_environment_match_service_and_resource(nginx, agent):
    rules = '[{"service": "web*", "resource": "GET /api/*", "sample_rate": 0}]'
    server = nginx(http(agent, """
        datadog_service_name web-front;
        server { listen 127.0.0.1:@PORT@; location /api/ { return 200; } location / { return 200; } }"""),
                   env={"DD_TRACE_SAMPLING_RULES": rules})
    client.get(server.port, "/api/x")
    client.get(server.port, "/home")
    spans = spans_by_location(agent, 2)
    assert spans["/api/"]["metrics"]["_sampling_priority_v1"] == -1.0
    assert spans["/"]["metrics"]["_sampling_priority_v1"] == 1.0


def test_directive_wins_over_environment_rules(nginx, agent):
    server = nginx(http(agent, """
        server { listen 127.0.0.1:@PORT@; location / { datadog_sample_rate 1; return 200; } }"""),
                   env={"DD_TRACE_SAMPLE_RATE": "0", "DD_TRACE_SAMPLING_RULES": '[{"sample_rate": 0}]'})
    client.get(server.port, "/")
    assert agent.wait_for_spans(1)[0]["metrics"]["_sampling_priority_v1"] == 2.0


def test_agent_rates_change_later_decisions(nginx, agent):
    agent.rate_by_service = {"service:nginx,env:prod": 0.0, "service:,env:": 1.0}
    server = nginx(http(agent, """
        datadog_environment prod;
        server { listen 127.0.0.1:@PORT@; location / { return 200; } }"""))
    client.get(server.port, "/")
    agent.wait_for_spans(1)  # the reply to this payload carries the rates
    time.sleep(0.2)
    client.get(server.port, "/")
    first, second = agent.wait_for_spans(2)
    assert first["metrics"]["_sampling_priority_v1"] == 1.0 and first["meta"]["_dd.p.dm"] == "-0"
    assert second["metrics"]["_sampling_priority_v1"] == 0.0
    assert second["metrics"]["_dd.agent_psr"] == 0.0
    assert "_dd.p.dm" not in second["meta"]


def test_invalid_sample_rate_fails_nginx_t_with_file_and_line(nginx_factory):
    server = nginx_factory("server { listen 127.0.0.1:@PORT@;\ndatadog_sample_rate 1.5;\n}")
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index("datadog_sample_rate 1.5;") + 1
    assert f"in {server.conf_path}:{line}" in output
    assert "datadog_sample_rate" in output and "from 0 to 1" in output and "1.5" in output


def test_invalid_sampling_rules_environment_fails_nginx_t(nginx_factory):
    server = nginx_factory("server { listen 127.0.0.1:@PORT@; }",
                           env={"DD_TRACE_SAMPLING_RULES": '[{"sample_rate": "abc"}]'})
    code, output = server.test_config()
    assert code != 0
    assert "DD_TRACE_SAMPLING_RULES" in output and "sample_rate" in output


def test_tracing_disabled_by_environment_unless_a_directive_says_on(nginx, agent):
    server = nginx(http(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /on { datadog_tracing on; return 200; }
            location / { return 200; }
        }"""), env={"DD_TRACE_ENABLED": "false"})
    client.get(server.port, "/x")
    client.get(server.port, "/on")
    time.sleep(0.4)
    assert [s["meta"]["nginx.location"] for s in agent.wait_for_spans(1)] == ["/on"]


def test_service_env_version_from_environment_and_directive_precedence(nginx, agent):
    server = nginx(http(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location /env { return 200; }
            location /directive { datadog_service_name from-directive; return 200; }
        }"""), env={"DD_SERVICE": "from-env", "DD_ENV": "env-env", "DD_VERSION": "9.9"})
    client.get(server.port, "/env")
    client.get(server.port, "/directive")
    spans = spans_by_location(agent, 2)
    assert spans["/env"]["service"] == "from-env"
    assert spans["/env"]["meta"]["env"] == "env-env"
    assert spans["/env"]["meta"]["version"] == "9.9"
    assert spans["/directive"]["service"] == "from-directive"


def test_condition_neither_on_nor_off_is_warned_once_per_directive_escaped(nginx, agent):
    # The condition is client input: its value is logged once per directive
    # and worker, at warn, escaped and cut, however many requests carry it.
    server = nginx(http(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location / {
                datadog_sample_rate 1 $http_x_sample;
                datadog_sample_rate 0 $http_x_other;
                return 200;
            }
        }"""), workers=1)
    bad = [b"\x1b[31mred\x1b[0m\\" + b"x" * 100, b"yes", b"ON", b"\xff"]
    for value in bad * 5:
        reply = client.raw_request(server.port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                   b"X-Sample: " + value + b"\r\nX-Other: " + value + b"\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200")
    spans = agent.wait_for_spans(len(bad) * 5)
    # Treated as off, both: no directive applied.
    assert {"nginx.sample_rate_source" in span["meta"] for span in spans} == {False}
    log = server.error_log()
    lines = [line for line in log.splitlines() if "datadog_sample_rate condition" in line]
    assert len(lines) == 2, lines
    assert all("[warn]" in line for line in lines), lines
    shown = '"\\x1b[31mred\\x1b[0m\\x5c' + "x" * (64 - 13) + '..."'
    assert all(shown in line for line in lines), lines
    assert "\x1b" not in log


def test_empty_condition_is_off_and_not_logged(nginx, agent):
    server = nginx(http(agent, """
        server {
            listen 127.0.0.1:@PORT@;
            location / { datadog_sample_rate 1 $http_x_sample; datadog_sample_rate 0; return 200; }
        }"""))
    for _ in range(3):
        client.get(server.port, "/")  # no X-Sample: the variable is empty
    client.get(server.port, "/", headers={"X-Sample": ""})
    spans = agent.wait_for_spans(4)
    assert {span["metrics"]["_sampling_priority_v1"] for span in spans} == {-1.0}
    assert "datadog_sample_rate condition" not in server.error_log()
