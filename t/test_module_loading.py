"""The module builds against Debian's nginx, loads into /usr/sbin/nginx, and,
loaded but unconfigured, changes nothing a client or an upstream can see."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness import client
from harness.nginx import NGINX_BIN, REPO, Nginx

SERVER = """
    server {
        listen 127.0.0.1:@PORT@;
        root @PREFIX@/html;
        location = /ok { return 200 "plain ok\\n"; }
        location /static/ { }
        location / { proxy_pass http://@UPSTREAM@; }
    }
"""


def test_module_loads_into_debian_nginx_and_serves(nginx, upstream):
    server = nginx(SERVER, values={"UPSTREAM": upstream.address})
    reply = client.get(server.port, "/ok")
    assert reply.status == 200
    assert reply.body == b"plain ok\n"
    assert "ngx_http_datadog_module" in server.conf_text


def test_request_round_trips_through_gunicorn(nginx, upstream):
    server = nginx(SERVER, values={"UPSTREAM": upstream.address})
    reply = client.get(server.port, "/echo/some/path?q=1", headers={"X-Test": "round-trip"})
    assert reply.status == 200
    echoed = reply.json()
    assert echoed["path"] == "/echo/some/path"
    assert echoed["headers"]["x-test"] == "round-trip"


def test_nginx_t_accepts_a_config_that_loads_the_module(nginx_factory):
    code, output = nginx_factory(SERVER.replace("proxy_pass http://@UPSTREAM@;", "")
                                 + "datadog_tracing off;").test_config()
    assert code == 0, output
    assert "test is successful" in output


def test_bad_datadog_tracing_value_fails_with_file_line_and_reason(nginx_factory):
    server = nginx_factory("datadog_tracing maybe;\n" + SERVER, values={"UPSTREAM": "127.0.0.1:9"})
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index("datadog_tracing maybe;") + 1
    assert f"in {server.conf_path}:{line}" in output
    assert 'invalid value "maybe" in "datadog_tracing" directive, it must be "on" or "off"' in output


def test_datadog_tracing_outside_http_is_refused_where_it_stands(nginx_factory):
    server = nginx_factory(SERVER, main="datadog_tracing on;", values={"UPSTREAM": "127.0.0.1:9"})
    code, output = server.test_config()
    assert code != 0
    line = server.conf_text.splitlines().index("datadog_tracing on;") + 1
    assert f'"datadog_tracing" directive is not allowed here in {server.conf_path}:{line}' in output


def test_datadog_tracing_is_accepted_in_http_server_and_location(nginx_factory):
    conf = """
    datadog_tracing off;
    server {
        listen 127.0.0.1:@PORT@;
        datadog_tracing on;
        location / { datadog_tracing off; return 204; }
    }
    """
    code, output = nginx_factory(conf).test_config()
    assert code == 0, output


def _comparable(raw):
    """Raw response bytes without the headers that differ between two runs."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines), body


def _plain_and_loaded(nginx_factory, upstream, loaded_extra=""):
    """The same site served by plain nginx and by nginx with the module."""
    page = b"<!doctype html><html><head><title>t</title></head><body>static</body></html>\n"
    servers = []
    for with_module in (False, True):
        http = SERVER + (loaded_extra if with_module else "")
        server = nginx_factory(http, module=with_module, values={"UPSTREAM": upstream.address})
        path = server.prefix / "html" / "static" / "page.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page)
        # Same mtime, so Last-Modified and ETag match between the two servers.
        os.utime(path, (1_700_000_000, 1_700_000_000))
        servers.append(server.start())
    assert servers[0].module is None and servers[1].module is not None
    return servers


def _same_bytes(plain, loaded, paths):
    for path in paths:
        wire = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n"
                "Connection: close\r\n\r\n").encode()
        assert _comparable(client.raw_request(plain.port, wire)) == \
            _comparable(client.raw_request(loaded.port, wire)), path


CLIENT_VISIBLE = ["/ok", "/static/page.html", "/html/small", "/html/chunked", "/html/gzip",
                  "/status/500", "/missing-static-falls-to-upstream"]


def test_loaded_module_changes_no_response_byte(nginx_factory, upstream):
    """Loaded with nothing configured (tracing on by default, as with
    nginx-datadog): local, static, proxied, chunked and gzip responses are
    byte-identical to plain nginx's."""
    plain, loaded = _plain_and_loaded(nginx_factory, upstream)
    _same_bytes(plain, loaded, CLIENT_VISIBLE)


def test_module_with_tracing_off_adds_nothing_upstream_either(nginx_factory, upstream):
    """/echo reflects the request headers as the upstream saw them."""
    plain, loaded = _plain_and_loaded(nginx_factory, upstream, "datadog_tracing off;")
    _same_bytes(plain, loaded, CLIENT_VISIBLE + ["/echo/x"])


def test_two_workers_and_reload_keep_serving(nginx, upstream):
    server = nginx(SERVER, workers=2, values={"UPSTREAM": upstream.address})
    assert len(server.worker_pids()) == 2
    before = server.worker_pids()
    after = server.reload()
    assert not (before & after)
    assert client.get(server.port, "/ok").status == 200
    assert client.get(server.port, "/echo").status == 200
    assert server.stop() == 0


def test_nginx_addon_build_path_produces_a_loadable_module(nginx_factory, tmp_path):
    """`./configure --add-dynamic-module=<repo> && make modules`, nginx's own
    way, which Debian's packaging uses: the module from it loads too."""
    configured = REPO / "build" / "nginx"
    assert (configured / "objs" / "Makefile").is_file(), "run scripts/build first"
    work = tmp_path / "nginx"
    shutil.copytree(configured, work, symlinks=True, ignore=shutil.ignore_patterns("*.o", "*.so"))
    result = subprocess.run(["make", "-j2", "-f", "objs/Makefile", "modules"], cwd=work,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    built = work / "objs" / "ngx_http_datadog_module.so"
    assert built.is_file()
    server = nginx_factory("server { listen 127.0.0.1:@PORT@; return 200 addon; }")
    server.write_config(server.conf_text.replace(str(server.module), str(built)))
    server.start()
    assert client.get(server.port, "/").body == b"addon"


def test_build_refuses_headers_of_another_nginx_version(tmp_path):
    """A version mismatch is caught when building, with a sentence that says
    which versions differ, instead of at load_module time."""
    fake = tmp_path / "nginx"
    fake.write_text("#!/bin/sh\necho 'nginx version: nginx/1.99.0' >&2\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["cmake", "-S", str(REPO), "-B", str(tmp_path / "build"), f"-DNGINX_BIN={fake}",
         "-DDATADOG_BUILD_TESTS=OFF"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    said = " ".join((result.stdout + result.stderr).split())  # CMake wraps long lines
    assert re.search(r"the nginx headers are version 1\.22\.\d+ but \S*/nginx is version 1\.99\.0",
                     said), said


def test_module_exports_only_what_nginx_looks_up(built_module):
    """No C++ symbol leaks out to clash with another module in the same nginx."""
    result = subprocess.run(["nm", "-D", "--defined-only", str(built_module)],
                            capture_output=True, text=True, check=True)
    exported = sorted(line.split()[-1] for line in result.stdout.splitlines() if line.strip())
    assert exported == ["ngx_module_names", "ngx_module_order", "ngx_modules"]
