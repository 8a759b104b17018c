"""datadog_status: counters summed over the workers, matching what the agent
received, and kept across reloads."""

import json
import time

from harness import client

CONF = """
    datadog_agent_url {agent_url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@;
        location = /datadog-status {{ datadog_tracing off; datadog_status; }}
        location / {{ return 200; }}
    }}
"""


def status(server):
    reply = client.get(server.port, "/datadog-status")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    return reply.json()


def test_status_matches_what_the_agent_received(nginx, agent):
    server = nginx(CONF.format(agent_url=agent.url), workers=2)
    for _ in range(25):
        client.get(server.port, "/")
    spans = agent.wait_for_spans(25)
    time.sleep(0.3)
    numbers = status(server)
    assert numbers["spans_created"] == 25
    assert numbers["traces_sent"] == len(agent.traces()) == 25
    assert numbers["payloads_sent"] == len([p for p in agent.payloads if p.status == 200])
    assert numbers["bytes_sent"] == sum(len(p.body) for p in agent.payloads if p.status == 200)
    assert numbers["traces_dropped"] == 0
    assert len(numbers["workers"]) == 2
    assert {w["pid"] for w in numbers["workers"]} == server.worker_pids()
    assert all(w["agent_state"] == "reachable" for w in numbers["workers"] if w["traces_sent"])
    assert len(spans) == 25


def test_status_totals_survive_a_reload(nginx, agent):
    server = nginx(CONF.format(agent_url=agent.url))
    for _ in range(10):
        client.get(server.port, "/")
    agent.wait_for_spans(10)
    server.reload()
    for _ in range(5):
        client.get(server.port, "/")
    agent.wait_for_spans(15)
    time.sleep(0.3)
    numbers = status(server)
    assert numbers["spans_created"] == 15
    assert numbers["traces_sent"] == 15
    assert len(numbers["workers"]) == 1


def test_status_reports_an_unreachable_agent(nginx):
    server = nginx(CONF.format(agent_url="http://127.0.0.1:9"))
    for _ in range(3):
        client.get(server.port, "/")
    time.sleep(0.4)
    numbers = status(server)
    worker = numbers["workers"][0]
    assert worker["agent_state"] == "unreachable"
    assert "refused" in worker["last_error"]
    assert numbers["failures_by_kind"]["connect_refused"] >= 1
    assert numbers["traces_sent"] == 0 and numbers["spans_created"] == 3


def test_status_is_valid_json_for_head_and_refuses_post(nginx, agent):
    server = nginx(CONF.format(agent_url=agent.url))
    assert client.request(server.port, "/datadog-status", method="HEAD").status == 200
    assert client.request(server.port, "/datadog-status", method="POST", body=b"x").status == 405
    json.dumps(status(server))
