"""Query-string obfuscation of http.url (PROTOCOLS.md section 2): the tracers'
default regex, datadog_obfuscation_query_string_regex and
DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP, each match replaced with <redacted>."""

import os

from harness import client

ENV_VAR = "DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP"
HOST = "example.test"
SERVER = "server { listen 127.0.0.1:@PORT@; location / { return 204; } }"


def traced(agent, extra=""):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {extra}
    {SERVER}
    """


def reported_urls(server, agent, paths):
    """The http.url of each request's span, in the order of `paths`."""
    for path in paths:
        assert client.get(server.port, path, headers={"Host": HOST}).status == 204
    spans = agent.wait_for_spans(len(paths))
    assert len(spans) == len(paths), spans
    by_start = sorted(spans, key=lambda span: span["start"])
    return [span["meta"]["http.url"] for span in by_start]


def url(path):
    return f"http://{HOST}{path}"


def test_default_regex_redacts_secrets_and_keeps_other_parameters(nginx, agent):
    server = nginx(traced(agent))
    cases = {
        "/q?password=hunter2&q=ok": "/q?<redacted>&q=ok",
        "/q?api_key=0123456789abcdef&q=ok": "/q?<redacted>&q=ok",
        "/q?q=ok&token=abc.def-ghi": "/q?q=ok&<redacted>",
        "/q?token=a&q=ok&secret=b": "/q?<redacted>&q=ok&<redacted>",
        "/q?PassWord=hunter2&q=ok": "/q?<redacted>&q=ok",  # case-insensitive
        "/q?pwd%3Dhunter2&q=ok": "/q?<redacted>&q=ok",  # url-encoded '='
    }
    assert reported_urls(server, agent, list(cases)) == [url(expected) for expected in cases.values()]


def test_urls_without_secrets_are_reported_unchanged(nginx, agent):
    server = nginx(traced(agent))
    paths = ["/plain", "/q?user=1&page=2", "/q?", "/q?q=ok"]
    assert reported_urls(server, agent, paths) == [url(path) for path in paths]


def test_only_the_query_is_obfuscated_never_the_path(nginx, agent):
    server = nginx(traced(agent))
    assert reported_urls(server, agent, ["/password=hunter2/token=x?q=ok&password=hunter2"]) == [
        url("/password=hunter2/token=x?q=ok&<redacted>")
    ]


def test_directive_replaces_the_default_regex(nginx, agent):
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "(?:pin|ssn)=[^&]*";'))
    assert reported_urls(server, agent, ["/q?PIN=1234&password=hunter2&q=ok"]) == [
        url("/q?<redacted>&password=hunter2&q=ok")
    ]


def test_empty_directive_disables_obfuscation(nginx, agent):
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "";'))
    assert reported_urls(server, agent, ["/q?password=hunter2&q=ok"]) == [url("/q?password=hunter2&q=ok")]


def test_regex_from_the_environment(nginx, agent):
    server = nginx(traced(agent), env={ENV_VAR: "pin=[^&]*"})
    assert reported_urls(server, agent, ["/q?pin=1234&password=hunter2"]) == [url("/q?<redacted>&password=hunter2")]


def test_empty_environment_variable_disables_obfuscation(nginx, agent):
    server = nginx(traced(agent), env={ENV_VAR: ""})
    assert reported_urls(server, agent, ["/q?password=hunter2&q=ok"]) == [url("/q?password=hunter2&q=ok")]


def test_directive_wins_over_the_environment(nginx, agent):
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "pin=[^&]*";'), env={ENV_VAR: "q=[^&]*"})
    assert reported_urls(server, agent, ["/q?pin=1234&q=ok"]) == [url("/q?<redacted>&q=ok")]


def test_regex_matching_the_empty_string_still_terminates(nginx, agent):
    # Every empty match is replaced too (as re.sub does), and the search moves on.
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "x*";'))
    assert reported_urls(server, agent, ["/q?ab"]) == [url("/q?<redacted>a<redacted>b<redacted>")]


def test_bad_regex_fails_nginx_t_with_file_and_line(nginx_factory):
    directive = 'datadog_obfuscation_query_string_regex "(?:password|token";'
    server = nginx_factory(f"{directive}\n{SERVER}")
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index(directive) + 1
    assert f"in {server.conf_path}:{line}" in output
    assert "invalid query-string obfuscation regex" in output
    assert "pcre2_compile() failed: missing closing parenthesis" in output


def test_bad_regex_in_the_environment_fails_nginx_t(nginx_factory):
    server = nginx_factory(SERVER, env={ENV_VAR: "[unclosed"})
    code, output = server.test_config()
    assert code != 0
    assert f"invalid {ENV_VAR}: pcre2_compile() failed" in output


def test_directive_given_twice_fails_nginx_t(nginx_factory):
    directive = 'datadog_obfuscation_query_string_regex "pin=[^&]*";'
    server = nginx_factory(f"{directive}\n{directive}\n{SERVER}")
    code, output = server.test_config()
    assert code != 0
    assert "is duplicate" in output
    assert f"in {server.conf_path}:{server.conf_text.splitlines().index(directive) + 2}" in output


# --- the cost of obfuscation is bounded, whatever the query holds ----------------

# Without bounds the default regex backtracks quadratically on a run of "eyJ"
# (the JWT branch rescans the run from every "eyJ"): about 0.3 s of a worker's
# CPU for 8 KB, 1.4 s for 16 KB, every other request on that worker waiting.
LONG_LINES = "large_client_header_buffers 4 64k;"
MAX_OBFUSCATED_QUERY = 4096  # README, datadog_obfuscation_query_string_regex


def worker_cpu_seconds(server):
    """utime + stime of the only worker, from /proc/<pid>/stat."""
    (pid,) = server.worker_pids()
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_spent_serving(server, paths):
    before = worker_cpu_seconds(server)
    for path in paths:
        assert client.get(server.port, path, headers={"Host": HOST}).status == 204
    return worker_cpu_seconds(server) - before


def test_hostile_long_queries_are_redacted_at_little_cpu_cost(nginx, agent):
    server = nginx(traced(agent, LONG_LINES), workers=1)
    hostile = ["/q?" + "eyJ" * (size // 3) for size in (8192, 16384)] * 10
    cpu = cpu_spent_serving(server, hostile)
    # A follow-up request on the same worker is served and obfuscated as usual.
    assert client.get(server.port, "/next?password=x&q=ok", headers={"Host": HOST}).status == 204
    spans = sorted(agent.wait_for_spans(len(hostile) + 1), key=lambda span: span["start"])
    assert [span["meta"]["http.url"] for span in spans] == [url("/q?<redacted>")] * len(hostile) + [
        url("/next?<redacted>&q=ok")
    ]
    assert cpu < 0.05, f"20 hostile queries cost the worker {cpu:.3f} s of CPU"


def test_hostile_query_just_under_the_bound_is_searched_at_little_cpu_cost(nginx, agent):
    server = nginx(traced(agent, LONG_LINES), workers=1)
    query = "eyJ" * (MAX_OBFUSCATED_QUERY // 3)
    cpu = cpu_spent_serving(server, ["/q?" + query] * 10)
    # Searched, not redacted: no JWT in it (no '.'), so nothing matched.
    assert [span["meta"]["http.url"] for span in agent.wait_for_spans(10)] == [url("/q?" + query)] * 10
    assert cpu < 0.05, f"10 hostile queries of {len(query)} bytes cost the worker {cpu:.3f} s of CPU"


def test_query_over_the_bound_is_redacted_whole_and_one_at_the_bound_is_obfuscated(nginx, agent):
    server = nginx(traced(agent, LONG_LINES))
    padding = "&q=" + "x" * MAX_OBFUSCATED_QUERY
    at_bound = ("password=hunter2" + padding)[:MAX_OBFUSCATED_QUERY]
    over_bound = at_bound + "y"
    assert reported_urls(server, agent, ["/q?" + at_bound, "/q?" + over_bound]) == [
        url("/q?<redacted>" + at_bound[len("password=hunter2"):]),
        url("/q?<redacted>"),
    ]


def test_regex_that_exhausts_the_match_limit_redacts_the_query(nginx, agent):
    # Exponential backtracking on a run of 'a' not followed by the end.
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "(?:a|aa)+$";'), workers=1)
    paths = ["/q?" + "a" * 40 + "!"] * 5
    cpu = cpu_spent_serving(server, paths)
    assert [span["meta"]["http.url"] for span in agent.wait_for_spans(5)] == [url("/q?<redacted>")] * 5
    assert cpu < 0.2, f"5 queries cost the worker {cpu:.3f} s of CPU"


def test_regex_with_capturing_groups_redacts_the_whole_match(nginx, agent):
    server = nginx(traced(agent, 'datadog_obfuscation_query_string_regex "(pin|ssn)=([^&]*)";'))
    assert reported_urls(server, agent, ["/q?a=1&ssn=123&pin=9"]) == [url("/q?a=1&<redacted>&<redacted>")]
