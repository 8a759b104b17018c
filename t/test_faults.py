"""Faults around a working nginx: an agent that flaps, crawls, hangs up or
does not resolve; an upstream or a client that goes away mid-body; a worker
killed with SIGKILL; reloads every second under load. No worker crashes, no
request fails because of the module, memory stays bounded, and every span of
a served request reaches the agent once the agent is there to take it."""

import os
import signal
import socket
import struct
import time

import pytest

from harness import client
from harness.rum import MINIMAL_RUM as RUM
from harness.load import Load, rss_kb
from harness.upstream_app import SMALL_PAGE

# Proxied JSON, a proxied page that gets the snippet, a page nginx serves.
PATHS = ["/echo", "/html/small", "/static"]


def conf(agent_url, upstream, extra="", timeout="2s"):
    return f"""
    datadog_agent_url {agent_url};
    datadog_flush_interval 100ms;
    datadog_agent_timeout {timeout};
    {RUM}
    {extra}
    server {{
        listen 127.0.0.1:@PORT@;
        location = /status {{ datadog_tracing off; datadog_rum off; datadog_status; }}
        location = /static {{ default_type text/html; return 200 "<html><head></head><body>static</body></html>"; }}
        location / {{ proxy_pass http://{upstream.address}; proxy_http_version 1.1; }}
    }}"""


def status(server):
    return client.get(server.port, "/status").json()


def only_worker(server):
    (pid,) = server.worker_pids()
    return pid


def rss_slack(server):
    """ASan's shadow memory and quarantine make a sanitized worker larger."""
    return 4 if server.sanitized else 1


def wait_distinct_spans(agent, n, timeout=20, server=None):
    """Waits until the agent holds spans with n distinct ids; returns every
    span. A payload whose reply was lost may arrive twice (at least once)."""
    deadline = time.monotonic() + timeout
    while True:
        spans = agent.spans()
        distinct = {s["span_id"] for s in spans}
        if len(distinct) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # a few more flushes: nothing beyond n may come
    spans = agent.spans()
    distinct = len({s["span_id"] for s in spans})
    assert distinct == n, (f"{distinct} distinct spans, {n} served; "
                           + (f"status: {status(server)}" if server is not None else ""))
    return spans


def assert_load_clean(load):
    assert not load.failures, f"client failures {dict(load.failures)}: {load.failure_examples}"
    assert set(load.statuses) == {200}, dict(load.statuses)


def test_agent_flapping_every_second_under_load_loses_no_span(nginx, agent, upstream):
    # The test agent decodes ~1 ms per span in Python: a payload held back by
    # the outages (up to 1 MB) must not time out while it is being checked.
    server = nginx(conf(agent.url, upstream, timeout="10s"))
    pid = only_worker(server)
    client.get(server.port, "/static")
    before = rss_kb(pid)
    with Load(server.port, PATHS, threads=2, pause=0.005) as load:
        for _ in range(4):
            time.sleep(1)
            agent.mode = "refuse"  # port closed, open connections dropped
            time.sleep(1)
            agent.mode = "ok"
    assert_load_clean(load)
    assert load.served > 100
    # Backoff after the failed attempts is at most 10 s.
    wait_distinct_spans(agent, load.served + 1, timeout=30, server=server)
    assert server.worker_pids() == {pid}
    growth = rss_kb(pid) - before
    assert growth < 8 * 1024 * rss_slack(server), f"worker RSS grew by {growth} kB"
    # A line per state change at most (down, up), never one per request or retry.
    lines = [line for line in server.error_log().splitlines() if "datadog:" in line]
    assert len(lines) <= 2 * 4 + 1, lines


def test_agent_answering_byte_by_byte_slows_no_request_and_loses_no_span(nginx, agent, upstream):
    agent.mode = "slow"
    agent.slow_delay = 0.004  # ~150 bytes: ~0.6 s per reply, within the 2 s timeout
    server = nginx(conf(agent.url, upstream, timeout="2s"))
    started = time.monotonic()
    for i in range(60):
        assert client.get(server.port, PATHS[i % 3]).status == 200
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"60 requests took {elapsed:.1f} s while the agent crawled"
    spans = wait_distinct_spans(agent, 60)
    assert len(spans) == 60, "a reply that completes in time is not resent"
    assert all(p.status == 200 for p in agent.payloads)


def test_agent_slower_than_the_timeout_is_retried_once_it_recovers(nginx, agent, upstream):
    agent.mode = "slow"
    agent.slow_delay = 0.05  # ~7 s per reply: past the 500 ms timeout
    server = nginx(conf(agent.url, upstream))
    for i in range(20):
        assert client.get(server.port, PATHS[i % 3]).status == 200
    deadline = time.monotonic() + 10
    while status(server)["failures_by_kind"]["response_timeout"] == 0:
        assert time.monotonic() < deadline, "no response timeout counted"
        time.sleep(0.1)
    agent.mode = "ok"
    wait_distinct_spans(agent, 20)


def test_agent_hanging_up_mid_reply_gets_the_payload_again(nginx, agent, upstream):
    agent.mode = "truncate"
    server = nginx(conf(agent.url, upstream))
    for i in range(20):
        assert client.get(server.port, PATHS[i % 3]).status == 200
    deadline = time.monotonic() + 10
    while sum(status(server)["failures_by_kind"].values()) == 0:
        assert time.monotonic() < deadline, "no failure counted for a cut reply"
        time.sleep(0.1)
    agent.mode = "ok"
    # The agent took a payload but its reply was cut: nginx cannot know, and
    # sends the same batch again after its backoff (0.5-1 s for a first
    # failure). At least once, never lost.
    spans = wait_distinct_spans(agent, 20)
    assert len(spans) >= 20
    cut = [p for p in agent.payloads if p.mode == "truncate" and p.accepted]
    assert cut
    cut_ids = {s["span_id"] for t in cut[0].traces for s in t}
    deadline = time.monotonic() + 10
    while not any(p.mode == "ok" and cut_ids <= {s["span_id"] for t in p.traces for s in t}
                  for p in agent.payloads):
        assert time.monotonic() < deadline, "the batch whose reply was cut was not sent again"
        time.sleep(0.1)


def test_agent_name_that_stops_resolving_at_reload_drops_spans_quietly_and_recovers(nginx, agent, upstream):
    hosts = "127.0.0.1 localhost\n127.0.0.1 flappy-agent\n"
    server = nginx(conf(f"http://flappy-agent:{agent.port}", upstream), hosts=hosts)
    with Load(server.port, PATHS, threads=2) as load:
        load.wait_served(30)
        # Served before the reload began: by workers that know the address.
        served_before_gone = load.served
        # Written in place: the file nginx sees through its bind mount.
        server.hosts_path.write_text("127.0.0.1 localhost\n")
        server.reload()
        time.sleep(1)
        server.hosts_path.write_text(hosts)
        server.reload()
        load.wait_served(load.served + 30)
    assert_load_clean(load)
    assert "flappy-agent" in server.error_log() and "does not resolve" in server.error_log()
    numbers = status(server)
    assert numbers["spans_created"] == load.served
    spans = agent.wait_for_spans(served_before_gone)
    assert served_before_gone <= len({s["span_id"] for s in spans}) < load.served


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("cut", ["before_head_end", "after_head_end"])
def test_upstream_hanging_up_mid_body_during_injection(nginx, agent, upstream, framing, cut):
    server = nginx(conf(agent.url, upstream))
    pid = only_worker(server)
    at = SMALL_PAGE.index(b"</head>") + (-20 if cut == "before_head_end" else 20)
    before = None
    for i in range(40):
        reply = client.raw_request(server.port, f"GET /html/cut?at={at}&framing={framing} HTTP/1.1\r\n"
                                   "Host: x\r\n\r\n".encode())
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        if framing == "length":
            announced = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                 if line.lower().startswith(b"content-length")))
            assert len(body) < announced, "the cut body must not look complete"
        else:
            assert not body.endswith(b"0\r\n\r\n"), "the cut body must not look complete"
        assert (b"DD_RUM" in body) == (cut == "after_head_end")
        if i == 9:
            before = rss_kb(pid)
    assert client.get(server.port, "/html/small").status == 200
    assert server.worker_pids() == {pid}
    assert rss_kb(pid) - before < 2 * 1024 * rss_slack(server)
    spans = agent.wait_for_spans(41)
    assert len(spans) == 41


def _abort(port, path, read_bytes, reset):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = 0
    while got < read_bytes:
        chunk = s.recv(65536)
        assert chunk, "nginx closed first"
        got += len(chunk)
    if reset:  # RST instead of FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_client_aborting_mid_body_of_injected_pages(nginx, agent, upstream):
    server = nginx(conf(agent.url, upstream, extra="sendfile on;").replace(
        "location / {", "location /files/ { root @PREFIX@/html; }\n        location / {"))
    page = b"<html><head><title>big</title></head><body>" + b"<p>static</p>\n" * (1 << 20) + b"</body></html>"
    (server.prefix / "html" / "files").mkdir()
    (server.prefix / "html" / "files" / "big.html").write_bytes(page)
    pid = only_worker(server)
    n = 0
    for i in range(40):
        path = "/html/stream?mb=32" if i % 2 == 0 else "/files/big.html"
        _abort(server.port, path, 256 * 1024, reset=i % 4 < 2)
        n += 1
        if i == 9:
            before = rss_kb(pid)
    assert client.get(server.port, "/html/small").status == 200
    assert server.worker_pids() == {pid}
    assert rss_kb(pid) - before < 8 * 1024 * rss_slack(server)
    spans = agent.wait_for_spans(n + 1)
    assert len(spans) == n + 1
    assert status(server)["rum"]["injected"] == n + 1


def _wait_new_worker(server, old, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        pids = server.worker_pids()
        if len(pids) == count and not pids & old:
            return pids
        assert time.monotonic() < deadline, f"no new worker after killing {old}"
        time.sleep(0.01)


def test_worker_killed_with_sigkill_is_respawned_and_spans_flow(nginx, agent, upstream):
    server = nginx(conf(agent.url, upstream))
    server.expected_crash_lines.append(r"worker process \d+ exited on signal 9")
    for i in range(10):
        assert client.get(server.port, PATHS[i % 3]).status == 200
    agent.wait_for_spans(10)
    killed = 0
    # More kills than the status page has worker slots (64).
    for _ in range(70):
        old = server.worker_pids()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        _wait_new_worker(server, old)
    for i in range(10):
        assert client.get(server.port, PATHS[i % 3]).status == 200
    spans = wait_distinct_spans(agent, 20)
    assert len(spans) == 20
    numbers = status(server)
    assert [w["pid"] for w in numbers["workers"]] == [only_worker(server)], "dead workers stay listed"
    assert numbers["spans_created"] == 20
    assert server.error_log().count("exited on signal 9") == killed


def test_two_workers_reloading_every_second_under_load(nginx, agent, upstream):
    server = nginx(conf(agent.url, upstream), workers=2)
    master = server.process.pid
    client.get(server.port, "/static")
    server.reload()
    master_before = rss_kb(master)
    worker_rss = []
    with Load(server.port, PATHS, threads=4) as load:
        for _ in range(10):
            time.sleep(1)
            worker_rss += [rss_kb(pid) for pid in server.worker_pids()]
            server.reload()
    assert_load_clean(load)
    assert load.served > 200
    wait_distinct_spans(agent, load.served + 1)
    growth = rss_kb(master) - master_before
    assert growth < 4 * 1024 * rss_slack(server), f"master RSS grew by {growth} kB over 10 reloads"
    assert max(worker_rss) < 32 * 1024 * rss_slack(server), worker_rss
