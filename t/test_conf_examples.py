"""Every file in conf-examples/ is a complete nginx.conf that loads and serves,
or a snippet that a complete one includes. The test changes only what must
differ on a test machine: the module path, ports, the upstream's and the
agent's addresses, and where pid and logs go."""

import base64
import hashlib
import re
import time

import pytest

from harness import client
from harness.nginx import REPO

EXAMPLES_DIR = REPO / "conf-examples"
ALL = sorted(EXAMPLES_DIR.glob("*.conf"))
# Complete configurations load the module; the rest are include snippets.
EXAMPLES = [p for p in ALL if re.search(r"^load_module modules/ngx_http_datadog_module\.so;$", p.read_text(), re.M)]
SNIPPETS = [p for p in ALL if p not in EXAMPLES]


def localize(text, module, upstream_address, agent_url=None):
    text = text.replace("load_module modules/ngx_http_datadog_module.so;",
                        f"load_module {module};\n"
                        "daemon off;\npid @PREFIX@/nginx.pid;\n"
                        "error_log @PREFIX@/logs/error.log info;")
    text = re.sub(r"\blisten 8080\b", "listen 127.0.0.1:@PORT@", text)
    text = text.replace("/var/log/nginx/", "@PREFIX@/logs/")
    if agent_url is not None:
        text = localize_agent(text, agent_url)
    return text.replace("127.0.0.1:8000", upstream_address)


def localize_agent(text, agent_url):
    """Points the example at the test agent: its own datadog_agent_url if it
    has one, else a line at the top of http {} (the default would be
    localhost:8126). A flush interval of 100ms keeps the test short."""
    line = f"datadog_agent_url {agent_url};\n    datadog_flush_interval 100ms;"
    if re.search(r"^\s*datadog_agent_url ", text, re.M):
        return re.sub(r"datadog_agent_url [^;]+;", line, text, count=1)
    return re.sub(r"^http \{$", "http {\n    " + line, text, count=1, flags=re.M)


def install_snippets(prefix, upstream_address, agent_url):
    """Include snippets go next to nginx.conf, where a relative include finds them."""
    for snippet in SNIPPETS:
        text = snippet.read_text().replace("/var/log/nginx/", f"{prefix}/logs/")
        (prefix / snippet.name).write_text(localize_agent(text, agent_url) if "datadog_agent_url" in text else text)


def test_there_are_examples_and_every_snippet_is_used():
    assert EXAMPLES, "conf-examples/ has no complete configuration"
    texts = "\n".join(p.read_text() for p in EXAMPLES)
    for snippet in SNIPPETS:
        assert f"include {snippet.name};" in texts, f"{snippet.name} is neither complete nor included by an example"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_conf_example_loads_and_serves(example, nginx_factory, built_module, upstream, agent):
    text = example.read_text()
    # An example that includes a snippet gets the agent's address through it.
    includes_snippet = any(f"include {snippet.name};" in text for snippet in SNIPPETS)
    conf = localize(text, built_module, upstream.address, None if includes_snippet else agent.url)
    assert f"load_module {built_module};" in conf, "examples load the module as modules/ngx_http_datadog_module.so"
    server = nginx_factory(conf=conf)
    install_snippets(server.prefix, upstream.address, agent.url)
    code, output = server.test_config()
    assert code == 0, output
    server.start()
    reply = client.get(server.port, "/")
    assert reply.status == 200, reply.text


def test_common_deployment_injects_rum_and_traces(nginx_factory, built_module, upstream):
    example = EXAMPLES_DIR / "gunicorn-flask.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address)).start()
    page = client.get(server.port, "/html/small")
    assert b"db5d092e-055d-4d4d-a4ca-b8f257fb4dcf" in page.body
    assert page.body.index(b"<script>") < page.body.index(b"</head>")
    echoed = client.get(server.port, "/echo").json()["headers"]
    assert "x-datadog-trace-id" in echoed


def test_rum_per_server_example_uses_each_servers_application(nginx_factory, built_module, upstream):
    example = EXAMPLES_DIR / "rum-per-server.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address)).start()
    shop = client.get(server.port, "/html/small", headers={"Host": "shop.example"})
    assert b"11111111-2222-3333-4444-555555555555" in shop.body
    nonce = re.search(r"'nonce-([^']+)'", shop.header("Content-Security-Policy")).group(1)
    assert f'<script nonce="{nonce}">'.encode() in shop.body
    assert "https://browser-intake-datadoghq.eu" in shop.header("Content-Security-Policy")
    blog = client.get(server.port, "/html/small", headers={"Host": "blog.example"})
    assert b"66666666-7777-8888-9999-000000000000" in blog.body and b"/v7/" in blog.body
    admin = client.get(server.port, "/admin/html/small", headers={"Host": "blog.example"})
    assert b"<script" not in admin.body


def test_agent_at_localhost_reaches_an_ipv4_only_agent_when_localhost_is_ipv6_first(
        nginx_factory, built_module, upstream, agent):
    # The agent fixture listens on 127.0.0.1 only, like the real agent; this
    # nginx sees a stock Debian hosts file, where localhost is ::1 too.
    example = EXAMPLES_DIR / "agent-localhost.conf"
    conf = localize(example.read_text(), built_module, upstream.address)
    conf = conf.replace("http://localhost:8126", f"http://localhost:{agent.port}")
    assert f"datadog_agent_url http://localhost:{agent.port};" in conf
    hosts = "::1 localhost ip6-localhost ip6-loopback\n127.0.0.1 localhost\n"
    server = nginx_factory(conf=conf, hosts=hosts).start()
    client.get(server.port, "/echo")
    span = agent.wait_for_spans(1)[0]
    assert (span["service"], span["meta"]["env"]) == ("web", "prod")
    worker = client.get(server.port, "/datadog-status").json()["workers"][0]
    assert worker["agent_state"] == "reachable"
    assert worker["agent_address"] == f"127.0.0.1:{agent.port}"


def test_sampling_example_drops_health_checks_and_keeps_checkout(nginx_factory, built_module, upstream, agent):
    example = EXAMPLES_DIR / "sampling.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address, agent.url)).start()
    client.get(server.port, "/echo", headers={"X-Request-Category": "healthcheck"})
    client.get(server.port, "/checkout/echo")
    spans = agent.wait_for_spans(2)
    by_resource = {s["resource"]: s for s in spans}
    health, checkout = by_resource["GET /echo"], by_resource["GET /checkout/echo"]
    # Both reach the agent; the priority says which one Datadog keeps.
    assert health["metrics"]["_sampling_priority_v1"] == -1
    assert checkout["metrics"]["_sampling_priority_v1"] == 2
    # nginx.sample_rate_source names the directive that decided: <file>:<line>#<n>.
    conf_lines = server.conf_text.splitlines()
    for span, directive in ((health, "datadog_sample_rate 0 $is_healthcheck;"), (checkout, "datadog_sample_rate 1;")):
        path, line = re.fullmatch(r"(.*):(\d+)#1", span["meta"]["nginx.sample_rate_source"]).groups()
        assert path == str(server.conf_path)
        assert conf_lines[int(line) - 1].strip() == directive


def test_rum_strict_csp_example_amends_the_policy_only_as_far_as_the_sdk_needs(
        nginx_factory, built_module, upstream):
    example = EXAMPLES_DIR / "rum-strict-csp.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address)).start()
    page = client.get(server.port, "/html/small")
    script = re.search(rb"<script>(.*?)</script>", page.body, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    directives = dict(d.strip().split(" ", 1) for d in page.header("Content-Security-Policy").split(";"))
    assert directives["script-src"] == f"'self' 'sha256-{digest}' https://www.datadoghq-browser-agent.com"
    assert directives["connect-src"] == "'self' https://browser-intake-datadoghq.com"
    assert "blob:" in directives["worker-src"].split()
    for unchanged in ("default-src", "style-src", "img-src", "object-src", "base-uri", "frame-ancestors"):
        assert unchanged in directives
    assert (directives["object-src"], directives["base-uri"]) == ("'none'", "'none'")
    # A response that gets no snippet keeps the site's policy as written.
    data = client.get(server.port, "/json")
    assert "sha256-" not in data.header("Content-Security-Policy")
    assert "browser-intake" not in data.header("Content-Security-Policy")


def test_observability_include_turns_an_existing_site_on(nginx_factory, built_module, upstream, agent):
    example = EXAMPLES_DIR / "site-with-observability.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address))
    install_snippets(server.prefix, upstream.address, agent.url)
    code, output = server.test_config()
    assert code == 0, output
    server.start()
    page = client.get(server.port, "/html/small", headers={"Host": "www.example.com"})
    assert b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" in page.body
    assert client.get(server.port, "/healthz").status == 200
    span = agent.wait_for_spans(1)[0]
    assert (span["service"], span["meta"]["env"], span["meta"]["version"]) == ("web", "prod", "1.0.0")
    assert span["resource"] == "GET /html/small"
    time.sleep(0.2)
    assert len(agent.spans()) == 1, "the health check is not traced"
    log = (server.prefix / "logs" / "access.log").read_text()
    assert f"dd.trace_id={span['trace_id']} dd.span_id={span['span_id']}" in log


def test_without_the_include_the_site_is_as_it_was(nginx_factory, built_module, upstream):
    example = EXAMPLES_DIR / "site-with-observability.conf"
    text = example.read_text()
    assert "    include datadog-observability.conf;\n" in text
    text = text.replace("    include datadog-observability.conf;\n", "")
    text = text.replace(" datadog_combined;", ";")
    server = nginx_factory(conf=localize(text, built_module, upstream.address)).start()
    page = client.get(server.port, "/html/small", headers={"Host": "www.example.com"})
    assert page.status == 200 and b"<script" not in page.body


def test_snippets_are_not_complete_configurations():
    for snippet in SNIPPETS:
        text = snippet.read_text()
        assert not re.search(r"^\s*(events|http)\s*\{", text, re.M), snippet.name
