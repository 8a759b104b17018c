"""User tags on the request span: datadog_tag (with variables, inherited and
overridden by level) and DD_TAGS."""

from harness import client


def http(agent, body):
    return f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {body}
    """


def test_datadog_tag_with_variables_inherits_and_overrides(nginx, agent):
    server = nginx(http(agent, """
        datadog_tag team web;
        datadog_tag tier http;
        server {
            listen 127.0.0.1:@PORT@;
            datadog_tag tier server;
            location /api {
                datadog_tag customer $arg_customer;
                datadog_tag upstream_status "$status";
                return 202;
            }
            location / { return 200; }
        }"""))
    client.get(server.port, "/api?customer=acme")
    client.get(server.port, "/other")
    spans = {s["meta"]["nginx.location"]: s["meta"] for s in agent.wait_for_spans(2)}
    assert spans["/api"]["team"] == "web"
    assert spans["/api"]["tier"] == "server"
    assert spans["/api"]["customer"] == "acme"
    assert spans["/api"]["upstream_status"] == "202"  # evaluated when the span finishes
    assert spans["/"]["tier"] == "server"
    assert "customer" not in spans["/"]


def test_datadog_tag_replaces_a_built_in_tag_instead_of_duplicating_it(nginx, agent):
    """The strict agent fails the test on a meta map with a key twice."""
    server = nginx(http(agent, """
        server { listen 127.0.0.1:@PORT@; location / { datadog_tag http.method custom; return 200; } }"""))
    client.get(server.port, "/")
    assert agent.wait_for_spans(1)[0]["meta"]["http.method"] == "custom"


def test_datadog_tag_and_dd_tags_replace_the_fixed_tags_instead_of_duplicating_them(nginx, agent):
    """component, span.kind and language go out pre-encoded unless a user tag
    may name one of them: the strict agent fails the test on a key twice."""
    server = nginx(http(agent, """
        server { listen 127.0.0.1:@PORT@;
                 location / { datadog_tag component edge-proxy; return 200; }
                 location /plain { return 200; } }"""),
                   env={"DD_TAGS": "language:c,span.kind:client"})
    client.get(server.port, "/")
    client.get(server.port, "/plain")
    by_location = {s["meta"]["nginx.location"]: s["meta"] for s in agent.wait_for_spans(2)}
    assert by_location["/"]["component"] == "edge-proxy"
    # DD_TAGS fill only keys nothing else sets: the module's own stay.
    for meta in by_location.values():
        assert (meta["span.kind"], meta["language"]) == ("server", "cpp")
    assert by_location["/plain"]["component"] == "nginx"


def test_dd_tags_fill_keys_nothing_else_sets(nginx, agent):
    server = nginx(http(agent, """
        server { listen 127.0.0.1:@PORT@; location / { datadog_tag team from-directive; return 200; } }"""),
                   env={"DD_TAGS": "team:from-env,region:eu-west-1 owner:ops,flag"})
    client.get(server.port, "/")
    meta = agent.wait_for_spans(1)[0]["meta"]
    assert meta["team"] == "from-directive"
    assert meta["region"] == "eu-west-1"
    assert meta["owner"] == "ops"
    assert meta["flag"] == ""


def test_same_tag_twice_at_one_level_fails_nginx_t(nginx_factory):
    server = nginx_factory("server { listen 127.0.0.1:@PORT@;\ndatadog_tag a 1;\ndatadog_tag a 2;\n}")
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index("datadog_tag a 2;") + 1
    assert f"in {server.conf_path}:{line}" in output and 'datadog_tag "a" is set twice' in output
