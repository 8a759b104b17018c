"""Trace context reaches applications behind fastcgi_pass and uwsgi_pass with
no extra directive: a real uWSGI server (Debian's uwsgi-core and its Python 3
plugin) speaking each protocol runs a WSGI app that reports its HTTP_* keys."""

import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import client
from harness.nginx import free_port

HARNESS = Path(__file__).resolve().parent / "harness"


@pytest.fixture(params=["fastcgi", "uwsgi"])
def wsgi_peer(request, tmp_path):
    port = free_port()
    socket_option = "--fastcgi-socket" if request.param == "fastcgi" else "--socket"
    process = subprocess.Popen(
        ["/usr/bin/uwsgi_python3", socket_option, f"127.0.0.1:{port}", "--chdir", str(HARNESS),
         "--module", "wsgi_echo", "--master", "--processes", "1", "--die-on-term",
         "--logto", str(tmp_path / "uwsgi.log")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError((tmp_path / "uwsgi.log").read_text())
    yield request.param, port
    process.terminate()
    process.wait(timeout=10)


def test_fastcgi_and_uwsgi_applications_receive_the_trace_context(nginx, agent, wsgi_peer):
    protocol, port = wsgi_peer
    passing = (f"include /etc/nginx/fastcgi_params; fastcgi_pass 127.0.0.1:{port};" if protocol == "fastcgi"
               else f"include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{port};")
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{ listen 127.0.0.1:@PORT@; location / {{ {passing} }} }}
    """)
    reply = client.get(server.port, "/app", headers={"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
    assert reply.status == 200, reply.text
    seen = reply.json()["protocol_headers"]
    span = agent.wait_for_spans(1)[0]
    assert span["parent_id"] == 0xCDCDCDCDCDCDCDCD
    assert seen["HTTP_TRACEPARENT"] == f"00-{'ab' * 16}-{span['span_id']:016x}-01"
    assert seen["HTTP_X_DATADOG_TRACE_ID"] == str(span["trace_id"])
    assert seen["HTTP_X_DATADOG_PARENT_ID"] == str(span["span_id"])


def test_rum_is_injected_into_pages_from_fastcgi_and_uwsgi_applications(nginx, wsgi_peer):
    from harness.wsgi_echo import PAGE
    protocol, port = wsgi_peer
    passing = (f"include /etc/nginx/fastcgi_params; fastcgi_pass 127.0.0.1:{port};" if protocol == "fastcgi"
               else f"include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{port};")
    server = nginx(f"""
    datadog_tracing off;
    datadog_rum on;
    datadog_rum_config "v6" {{ "applicationId" "app-behind-{protocol}"; "clientToken" "pubx"; }}
    server {{ listen 127.0.0.1:@PORT@; location / {{ {passing} }} }}
    """)
    page = client.get(server.port, "/page.html")
    at = PAGE.index(b"</head>")
    assert page.body[:at] == PAGE[:at]
    assert page.body.endswith(PAGE[at:])
    inserted = page.body[at:len(page.body) - len(PAGE) + at]
    assert inserted.startswith(b"<script>") and inserted.endswith(b"</script>")
    assert f"app-behind-{protocol}".encode() in inserted
    seen = client.get(server.port, "/app").json()["protocol_headers"]
    assert seen["HTTP_X_DATADOG_RUM_INJECTION_PENDING"] == "1"
