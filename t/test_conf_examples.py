"""Every file in conf-examples/ is a complete nginx.conf that loads and serves.
The test changes only what must differ on a test machine: the module path,
ports, the upstream's address, and where pid and logs go."""

import re
from pathlib import Path

import pytest

from harness import client
from harness.nginx import REPO

EXAMPLES = sorted((REPO / "conf-examples").glob("*.conf"))


def localize(text, module, upstream_address):
    text = text.replace("load_module modules/ngx_http_datadog_module.so;",
                        f"load_module {module};\n"
                        "daemon off;\npid @PREFIX@/nginx.pid;\n"
                        "error_log @PREFIX@/logs/error.log info;")
    text = re.sub(r"\blisten 8080\b", "listen 127.0.0.1:@PORT@", text)
    text = text.replace("/var/log/nginx/", "@PREFIX@/logs/")
    return text.replace("127.0.0.1:8000", upstream_address)


def test_there_are_examples():
    assert EXAMPLES, "conf-examples/ is empty"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_conf_example_loads_and_serves(example, nginx_factory, built_module, upstream):
    conf = localize(example.read_text(), built_module, upstream.address)
    assert f"load_module {built_module};" in conf, "examples load the module as modules/ngx_http_datadog_module.so"
    server = nginx_factory(conf=conf)
    code, output = server.test_config()
    assert code == 0, output
    server.start()
    reply = client.get(server.port, "/")
    assert reply.status == 200, reply.text


def test_common_deployment_injects_rum_and_traces(nginx_factory, built_module, upstream):
    example = REPO / "conf-examples" / "gunicorn-flask.conf"
    server = nginx_factory(conf=localize(example.read_text(), built_module, upstream.address)).start()
    page = client.get(server.port, "/html/small")
    assert b"db5d092e-055d-4d4d-a4ca-b8f257fb4dcf" in page.body
    assert page.body.index(b"<script>") < page.body.index(b"</head>")
    echoed = client.get(server.port, "/echo").json()["headers"]
    assert "x-datadog-trace-id" in echoed


def test_rum_per_server_example_uses_each_servers_application(nginx_factory, built_module, upstream):
    example = REPO / "conf-examples" / "rum-per-server.conf"
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
