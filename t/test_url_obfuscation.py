"""Query-string obfuscation of http.url (PROTOCOLS.md section 2): the tracers'
default regex, datadog_obfuscation_query_string_regex and
DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP, each match replaced with <redacted>."""

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
