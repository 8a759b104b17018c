"""Single-span sampling (DD_SPAN_SAMPLING_RULES, DD_SPAN_SAMPLING_RULES_FILE):
spans of a dropped trace that a rule covers are marked for the agent to keep,
as dd-trace-cpp marks them."""

import json

from harness import client

MECHANISM = "_dd.span_sampling.mechanism"
RULE_RATE = "_dd.span_sampling.rule_rate"
MAX_PER_SECOND = "_dd.span_sampling.max_per_second"


def http(agent, extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        location /drop {{ datadog_sample_rate 0; return 200; }}
        location /keep {{ datadog_sample_rate 1; return 200; }}
    }}
    """


def rules(*objects):
    return {"DD_SPAN_SAMPLING_RULES": json.dumps(list(objects))}


def test_span_of_a_dropped_trace_kept_by_a_rule_is_marked(nginx, agent):
    server = nginx(http(agent), env=rules({"service": "nginx", "name": "nginx.request", "sample_rate": 1.0}))
    client.get(server.port, "/drop")
    [span] = agent.wait_for_spans(1)
    assert span["metrics"]["_sampling_priority_v1"] == -1.0
    assert span["metrics"][MECHANISM] == 8.0
    assert span["metrics"][RULE_RATE] == 1.0
    assert MAX_PER_SECOND not in span["metrics"]


def test_spans_of_kept_traces_are_not_marked(nginx, agent):
    server = nginx(http(agent), env=rules({"name": "nginx.request"}))
    client.get(server.port, "/keep")
    [span] = agent.wait_for_spans(1)
    assert span["metrics"]["_sampling_priority_v1"] == 2.0
    assert MECHANISM not in span["metrics"]


def test_spans_no_rule_matches_are_not_marked(nginx, agent):
    server = nginx(http(agent), env=rules({"service": "other-*"}, {"resource": "POST *"}))
    client.get(server.port, "/drop")
    [span] = agent.wait_for_spans(1)
    assert MECHANISM not in span["metrics"]


def test_a_rule_at_rate_zero_marks_nothing(nginx, agent):
    server = nginx(http(agent), env=rules({"name": "nginx.request", "sample_rate": 0}))
    client.get(server.port, "/drop")
    [span] = agent.wait_for_spans(1)
    assert MECHANISM not in span["metrics"]


def test_each_span_of_the_trace_is_decided_by_its_own_rule(nginx, agent):
    server = nginx(http(agent, "datadog_trace_locations on;"),
                   env=rules({"name": "nginx.location", "sample_rate": 1, "max_per_second": 50}))
    client.get(server.port, "/drop")
    spans = {span["name"]: span for span in agent.wait_for_spans(2)}
    assert MECHANISM not in spans["nginx.request"]["metrics"]
    location = spans["nginx.location"]["metrics"]
    assert location[MECHANISM] == 8.0 and location[RULE_RATE] == 1.0 and location[MAX_PER_SECOND] == 50.0


def test_max_per_second_caps_the_spans_a_rule_keeps(nginx, agent):
    # A bucket of one span, refilled every 100 s: the first request's span only.
    server = nginx(http(agent), env=rules({"name": "nginx.request", "max_per_second": 0.01}))
    for _ in range(3):
        client.get(server.port, "/drop")
    spans = agent.wait_for_spans(3)
    marked = [span for span in spans if MECHANISM in span["metrics"]]
    assert len(marked) == 1
    assert marked[0]["metrics"][MAX_PER_SECOND] == 0.01


def test_rules_match_on_tags_including_the_fixed_ones(nginx, agent):
    server = nginx(http(agent), env=rules({"tags": {"component": "nginx", "http.method": "G?T"}}))
    client.get(server.port, "/drop")
    client.request(server.port, "/drop", method="HEAD")
    spans = {span["meta"]["http.method"]: span for span in agent.wait_for_spans(2)}
    assert spans["GET"]["metrics"][MECHANISM] == 8.0
    assert spans["GET"]["meta"]["component"] == "nginx"
    assert MECHANISM not in spans["HEAD"]["metrics"]


def test_rules_come_from_the_file_read_when_the_configuration_loads(nginx, agent, tmp_path):
    path = tmp_path / "span-rules.json"
    path.write_text(json.dumps([{"resource": "GET /drop", "sample_rate": 1}]))
    server = nginx(http(agent), env={"DD_SPAN_SAMPLING_RULES_FILE": str(path)})
    path.unlink()  # read at configuration time: the workers never need it
    client.get(server.port, "/drop")
    [span] = agent.wait_for_spans(1)
    assert span["metrics"][MECHANISM] == 8.0


def test_rules_variable_wins_over_the_file_with_a_warning(nginx_factory, nginx, agent, tmp_path):
    path = tmp_path / "span-rules.json"
    path.write_text("not json at all")
    env = {"DD_SPAN_SAMPLING_RULES_FILE": str(path), **rules({"name": "nginx.request"})}
    code, output = nginx_factory(http(agent), env=env).test_config()
    assert code == 0, output
    assert "[warn]" in output and "DD_SPAN_SAMPLING_RULES takes precedence" in output
    server = nginx(http(agent), env=env)
    client.get(server.port, "/drop")
    [span] = agent.wait_for_spans(1)
    assert span["metrics"][MECHANISM] == 8.0


def test_malformed_rules_fail_nginx_t_naming_the_variable(nginx_factory, agent):
    code, output = nginx_factory(http(agent), env={"DD_SPAN_SAMPLING_RULES": '[{"name": '}).test_config()
    assert code != 0
    assert "[emerg]" in output and "DD_SPAN_SAMPLING_RULES: invalid JSON" in output
    code, output = nginx_factory(http(agent), env=rules({"name": "x", "max_per_second": -1})).test_config()
    assert code != 0
    assert 'DD_SPAN_SAMPLING_RULES: rule 1: "max_per_second" must be a number greater than 0, found -1' in output


def test_malformed_rules_file_fails_nginx_t_naming_the_variable_and_file(nginx_factory, agent, tmp_path):
    path = tmp_path / "span-rules.json"
    path.write_text('{"name": "nginx.request"}')
    code, output = nginx_factory(http(agent), env={"DD_SPAN_SAMPLING_RULES_FILE": str(path)}).test_config()
    assert code != 0
    assert "DD_SPAN_SAMPLING_RULES_FILE: must be a JSON array of rules" in output and str(path) in output


def test_unreadable_rules_file_fails_nginx_t_naming_the_variable(nginx_factory, agent, tmp_path):
    missing = tmp_path / "absent.json"
    code, output = nginx_factory(http(agent), env={"DD_SPAN_SAMPLING_RULES_FILE": str(missing)}).test_config()
    assert code != 0
    assert f'DD_SPAN_SAMPLING_RULES_FILE: cannot open "{missing}": No such file or directory' in output
    code, output = nginx_factory(http(agent), env={"DD_SPAN_SAMPLING_RULES_FILE": str(tmp_path)}).test_config()
    assert code != 0
    assert f'DD_SPAN_SAMPLING_RULES_FILE: cannot read "{tmp_path}": Is a directory' in output
