"""DD_* environment variables as nginx-datadog and Datadog's tracers read
them: booleans in every spelling the tracers accept, and nginx.conf's own
`env NAME=value;` lines, which win over the master's environment as they do
for the workers."""

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
