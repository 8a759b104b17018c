"""scripts/demo's application continues nginx's trace: its span reaches the
agent as a child of nginx's span, in the same 128-bit trace, in the agent's
strict format."""

import os
import signal
import subprocess
import time

import pytest

from harness import client
from harness.nginx import REPO, free_port


@pytest.fixture
def demo_app(agent):
    port = free_port()
    env = dict(os.environ, DD_TRACE_AGENT_URL=agent.url, DD_SERVICE="demo-app")
    process = subprocess.Popen(
        ["/usr/bin/python3", "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--chdir", str(REPO / "scripts" / "demo-app"), "app:app"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                client.get(port, "/api/hello")
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the demo app did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_demo_app_span_is_a_child_of_nginx_span(nginx, agent, demo_app):
    server = nginx(f"""
        datadog_agent_url {agent.url};
        datadog_flush_interval 100ms;
        datadog_service_name demo-nginx;
        server {{
            listen 127.0.0.1:@PORT@;
            location / {{ proxy_pass http://{demo_app}; }}
        }}
    """)
    assert client.get(server.port, "/api/hello").status == 200
    spans = agent.wait_for_spans(2)
    nginx_span = next(s for s in spans if s["service"] == "demo-nginx")
    app_span = next(s for s in spans if s["service"] == "demo-app")
    assert app_span["parent_id"] == nginx_span["span_id"]
    assert app_span["trace_id"] == nginx_span["trace_id"]
    assert app_span["meta"]["_dd.p.tid"] == nginx_span["meta"]["_dd.p.tid"]
    assert app_span["resource"] == "GET /api/hello" and app_span["name"] == "flask.request"
    assert app_span["metrics"]["_sampling_priority_v1"] == nginx_span["metrics"]["_sampling_priority_v1"]
    assert nginx_span["start"] <= app_span["start"]


def test_demo_app_reports_nothing_for_an_untraced_request(agent, demo_app):
    # Straight to the app, no trace headers: no span.
    port = int(demo_app.split(":")[1])
    assert client.get(port, "/api/hello").status == 200
    time.sleep(0.5)
    assert agent.spans() == []
