"""The final flush when a worker exits with a payload still waiting for the
agent's reply: the reply is waited for (within datadog_exit_flush_timeout), the
payload is never sent a second time, and what is given up is counted."""

import collections
import signal
import time

import pytest

from harness import client


# A stock Debian host: localhost is both ::1 and 127.0.0.1.
DUAL_STACK_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n"


def conf(agent_url, *, exit_timeout="3s", status=False, flush="100ms"):
    status_location = (
        "location = /datadog-status { datadog_tracing off; datadog_status; }" if status else "")
    return f"""
    datadog_agent_url {agent_url};
    datadog_flush_interval {flush};
    datadog_agent_timeout 5s;
    datadog_exit_flush_timeout {exit_timeout};
    server {{
        listen 127.0.0.1:@PORT@;
        {status_location}
        location / {{ return 200 ok; }}
    }}
    """


def single_process(server):
    """nginx as one process (`master_process off`, as scripts/bench/instructions
    runs it under callgrind): on SIGQUIT it leaves its event loop at once,
    whatever is under way, and the exit flush takes over."""
    server.write_config(server.conf_text.replace("master_process on;", "master_process off;"))
    server.workers = 0  # no children to wait for at start
    return server


def span_id_counts(agent):
    """How often each span id arrived, in every payload the agent read in
    full (accepted or still waiting for its reply)."""
    return collections.Counter(s["span_id"] for p in agent.payloads for s in p.spans())


def send_while_a_payload_waits_for_its_reply(server, agent, before, after):
    """`before` requests, whose payload reaches the agent and waits for its
    reply, then `after` more, buffered behind it."""
    for _ in range(before):
        client.get(server.port, "/")
    agent.wait_for_payloads(1)
    for _ in range(after):
        client.get(server.port, "/")


def wait_for_exit(server, sig, timeout=15):
    process = server.process
    process.send_signal(sig)
    process.wait(timeout=timeout)
    server.process = None
    process.stdout.close()


@pytest.mark.parametrize("how", ["quit_single_process", "fast_stop"])
def test_payload_waiting_for_its_reply_at_exit_is_not_sent_again(nginx_factory, agent, how):
    agent.reply_delay = 1.0
    server = nginx_factory(conf(agent.url))
    if how == "quit_single_process":
        single_process(server)
    server.start()
    send_while_a_payload_waits_for_its_reply(server, agent, 20, 10)
    # Only the first reply is late: a fast stop is short (the master kills
    # workers that take seconds).
    agent.reply_delay = 0.0
    wait_for_exit(server, signal.SIGQUIT if how == "quit_single_process" else signal.SIGTERM)
    counts = span_id_counts(agent)
    twice = {span_id: n for span_id, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} spans arrived more than once; {agent._summary()}"
    assert len(counts) == 30, agent._summary()
    assert all(p.status == 200 for p in agent.payloads), agent._summary()
    assert "could not be delivered" not in server.error_log()


def test_reload_past_worker_shutdown_timeout_waits_for_the_pending_reply(nginx, agent):
    # nginx closes every connection of an old worker at worker_shutdown_timeout,
    # the agent's too: the reply still comes, and the exit flush waits for it.
    agent.reply_delay = 1.0
    server = nginx(conf(agent.url), main="worker_shutdown_timeout 200ms;")
    send_while_a_payload_waits_for_its_reply(server, agent, 20, 10)
    server.reload()
    for _ in range(5):
        client.get(server.port, "/")  # served by the new worker
    assert server.stop() == 0
    counts = span_id_counts(agent)
    twice = {span_id: n for span_id, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} spans arrived more than once; {agent._summary()}"
    assert len(counts) == 35, agent._summary()


def test_reply_later_than_the_exit_flush_timeout_counts_the_traces_as_dropped(nginx, agent):
    agent.reply_delay = 3.0
    server = nginx(conf(agent.url, exit_timeout="300ms", status=True),
                   main="worker_shutdown_timeout 100ms;")
    send_while_a_payload_waits_for_its_reply(server, agent, 20, 10)
    started = time.monotonic()
    server.reload()
    exited_after = time.monotonic() - started
    # The old worker gave up: after its shutdown timeout and the exit flush's,
    # not after the agent's 3 s.
    assert exited_after < 2.5, f"the old worker took {exited_after:.1f} s to exit"
    numbers = client.get(server.port, "/datadog-status").json()
    # Every trace the old worker held: the 20 waiting for their reply, the 10
    # behind them.
    assert numbers["traces_dropped_by_reason"]["worker_exit"] == 30, numbers
    assert numbers["traces_dropped"] == 30, numbers
    assert numbers["traces_sent"] == 0, numbers
    lines = [line for line in server.error_log().splitlines() if "could not be delivered" in line]
    assert len(lines) == 1 and "30 traces" in lines[0], lines
    # The exit flush gave up on the exchange under way; it sent nothing again.
    assert len(agent.payloads) == 1, agent._summary()


@pytest.mark.parametrize("listen", ["127.0.0.1", "::1"])
def test_exit_flush_falls_back_to_the_address_family_the_agent_listens_on(nginx, make_agent, listen):
    # Nothing flushed before the exit (10 s interval): the exit flush is the
    # first to look for the agent, and `localhost` is both families.
    agent = make_agent(listen=listen)
    server = nginx(conf(f"http://localhost:{agent.port}", flush="10s"), hosts=DUAL_STACK_HOSTS)
    for _ in range(5):
        client.get(server.port, "/")
    assert not agent.payloads
    assert server.stop() == 0
    assert sorted(span_id_counts(agent).values()) == [1] * 5, agent._summary()
    assert "could not be delivered" not in server.error_log()


def test_exit_flush_to_an_agent_that_refuses_counts_every_trace_as_dropped(nginx_factory, agent):
    agent.mode = "refuse"
    server = single_process(nginx_factory(conf(agent.url, flush="10s")))
    server.start()
    for _ in range(4):
        client.get(server.port, "/")
    wait_for_exit(server, signal.SIGQUIT)
    lines = [line for line in server.error_log().splitlines() if "could not be delivered" in line]
    assert len(lines) == 1 and "4 traces" in lines[0] and "refused" in lines[0], lines



def test_reply_slower_than_the_agent_timeout_at_exit_is_not_sent_again(nginx_factory, agent):
    # The second payload goes on the connection kept from the first, and the
    # worker exits while it waits for the reply; the agent, which has it,
    # answers only after datadog_agent_timeout. That timeout, reached inside
    # the exit flush, must not be taken for a stale kept-alive connection
    # (retried at once on a new one): nothing is sent twice.
    server = nginx_factory(conf(agent.url).replace("datadog_agent_timeout 5s;",
                                                   "datadog_agent_timeout 500ms;"))
    single_process(server)
    server.start()
    client.get(server.port, "/")
    agent.wait_for_payloads(1)
    agent.reply_delay = 2.0
    for _ in range(5):
        client.get(server.port, "/")
    agent.wait_for_payloads(2)
    wait_for_exit(server, signal.SIGQUIT)
    time.sleep(0.3)
    counts = span_id_counts(agent)
    assert sum(counts.values()) >= 6
    twice = {span_id: n for span_id, n in counts.items() if n > 1}
    assert not twice, f"{len(twice)} span ids arrived more than once: {twice}"
    assert "could not be delivered before the worker exited" in server.error_log()
