"""The agent's host name resolved again by nginx's `resolver` (a real DNS
server, dnsmasq): a name that does not resolve yet is retried, and an agent
that moves to another address is found again, without a reload, with no span
lost and a quiet error log."""

import time

import pytest

from harness import client
from harness.dns import Dnsmasq
from harness.nginx import free_port

NAME = "agent.datadog.test"  # .test never resolves through the system's resolver


@pytest.fixture
def dns():
    server = Dnsmasq().start()
    yield server
    server.stop()


def conf(dns, port, resolver=True):
    return f"""
    {f"resolver {dns.address} valid=1s ipv6=off;" if resolver else ""}
    datadog_agent_url http://{NAME}:{port};
    datadog_flush_interval 100ms;
    server {{ listen 127.0.0.1:@PORT@; location / {{ return 200 ok; }} }}
    """


def datadog_lines(server):
    return [line for line in server.error_log().splitlines() if "datadog:" in line]


def request_urls(agent):
    return sorted(s["meta"]["http.url"] for s in agent.spans() if s["name"] == "nginx.request")


def get_all(server, paths):
    for path in paths:
        assert client.get(server.port, path).status == 200


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_unresolved_name_is_retried_and_a_moved_agent_is_found_again(nginx_factory, dns, make_agent):
    port = free_port()
    server = nginx_factory(conf(dns, port))
    # At load the name resolves nowhere: a warning, not an error.
    code, output = server.test_config()
    assert code == 0 and "does not resolve now" in output and NAME in output, output
    server.start()

    # 1. The DNS has no answer yet: spans wait in the worker's buffer.
    get_all(server, [f"/early/{i}" for i in range(5)])
    wait_until(lambda: any("resolving the agent host" in line for line in datadog_lines(server)), 10)

    # 2. The name appears (agent on 127.0.0.2): the buffered spans and new ones arrive.
    first = make_agent(listen="127.0.0.2", port=port)
    dns.set({NAME: ["127.0.0.2"]})
    get_all(server, [f"/first/{i}" for i in range(5)])
    wait_until(lambda: len(request_urls(first)) == 10, 15)
    url = "http://localhost"  # the client sends Host: localhost
    assert request_urls(first) == sorted([f"{url}/early/{i}" for i in range(5)]
                                         + [f"{url}/first/{i}" for i in range(5)])

    # 3. The agent moves to 127.0.0.3 (same port) and the DNS follows: found
    #    again after the old address fails, no reload, nothing lost.
    first.stop()
    second = make_agent(listen="127.0.0.3", port=port)
    dns.set({NAME: ["127.0.0.3"]})
    get_all(server, [f"/second/{i}" for i in range(5)])
    wait_until(lambda: len(request_urls(second)) == 5, 20)
    assert request_urls(second) == sorted(f"{url}/second/{i}" for i in range(5))
    assert len(request_urls(first)) == 10, "no span twice"

    lines = datadog_lines(server)
    moves = [line for line in lines if f'the agent host "{NAME}" resolves to' in line]
    assert [m.split("resolves to ")[1] for m in moves] == [f"127.0.0.2:{port}", f"127.0.0.3:{port}"], lines
    failures = [line for line in lines if "resolving the agent host" in line]
    assert len(failures) == 1 and "Host not found" in failures[0], lines
    # One outage line for 127.0.0.2, one recovery line: nothing per flush.
    assert len(lines) <= 8, "\n".join(lines)
    assert server.crash_lines() == []


def test_without_resolver_an_unresolved_name_stays_unresolved(nginx, dns, make_agent):
    """The control: the same agent and DNS, but no `resolver` in the http
    block: the module does not look the name up again by itself."""
    port = free_port()
    agent = make_agent(listen="127.0.0.2", port=port)
    dns.set({NAME: ["127.0.0.2"]})
    server = nginx(conf(dns, port, resolver=False))
    get_all(server, [f"/{i}" for i in range(3)])
    time.sleep(1.0)
    assert agent.spans() == []
    assert not any("resolves to" in line for line in datadog_lines(server))
