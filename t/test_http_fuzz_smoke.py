"""A short fixed-seed run of the raw-HTTP fuzzer (harness/http_fuzz.py)
through real nginx with every module feature and every upstream kind: the
hand-written seed cases (one per defect shape known when the fuzzer was
written, HTTP/0.9 first), then generated cases of seed SMOKE_SEED, bounded in
count and time (~60-90 s on two cores). Any finding fails the test with its
reproducer; `scripts/fuzz --time 600 http` runs the same fuzzer for longer."""

import time

from harness.http_fuzz import Fuzzer, seed_cases
from harness.http_fuzz_env import FuzzTarget

SMOKE_SEED = 20261202
MAX_CASES = 2000
SECONDS = 45           # fuzzing and shrinking together; start and stop come on top
MINIMIZE_TOTAL = 25    # of which shrinking findings, all together


def test_http_fuzz_smoke_run_finds_nothing(built_module):
    started = time.monotonic()
    reports = []
    target = FuzzTarget().start()
    try:
        fuzzer = Fuzzer(target, seed=SMOKE_SEED, minimize_seconds=10, minimize_total=MINIMIZE_TOTAL,
                        log=reports.append)
        seeds = seed_cases(target.ports)
        assert seeds[0].requests[0].version == "0.9"
        findings = fuzzer.run(SECONDS, MAX_CASES, seeds)
    finally:
        target.stop()
    print(f"http fuzz smoke: {fuzzer.executions} cases in {time.monotonic() - started:.0f} s, "
          f"{fuzzer.executions / max(fuzzer.fuzz_seconds, 0.001):.0f} cases/s")
    assert not findings, f"{len(findings)} finding(s):\n\n" + "\n\n".join(reports)
    assert fuzzer.executions >= len(seeds) + 200, "the run was too short to mean anything"


# --- the fuzzer's own parts, without nginx ---------------------------------------

def test_a_case_depends_only_on_the_seed_and_its_index():
    from harness.http_fuzz import generate_case
    ports = (8080, 8081)
    assert generate_case(7, 123, ports).data() == generate_case(7, 123, ports).data()
    assert generate_case(7, 123, ports).data() != generate_case(8, 123, ports).data()
    assert generate_case(7, 123, ports, exclude=["http09"]).data() == \
        generate_case(7, 123, ports, exclude=["http09"]).data()


def test_generated_cases_cover_what_the_fuzzer_promises():
    from harness.http_fuzz import PROPAGATION_NAMES, SHAPES, generate_case
    cases = [generate_case(SMOKE_SEED, i, (8080, 8081)) for i in range(600)]
    requests = [r for c in cases for r in c.requests]
    assert {r.version for r in requests} == {"0.9", "1.0", "1.1", "odd"}
    assert {c.mode for c in cases} == {"normal", "slow", "cut-request", "cut-response"}
    assert any(len(c.requests) >= 3 for c in cases)
    wire = b"".join(c.data() for c in cases).lower()
    for name in PROPAGATION_NAMES:
        assert name.encode() + b":" in wire and name.replace("-", "_").encode() + b":" in wire, name
    for needle in (b"transfer-encoding: chunked", b"\r\n folded", b" * http/1.1", b" http://", b"\x00",
                   b"content-length:", b"x-datadog-rum-injection-pending:"):
        assert needle in wire, needle
    assert any(r.host_count == 0 and r.version != "0.9" for r in requests)
    assert any(r.host_count > 1 for r in requests)
    assert set().union(*(c.shapes for c in cases)) == set(SHAPES)
    excluded = [generate_case(SMOKE_SEED, i, (8080, 8081), exclude=list(SHAPES)) for i in range(300)]
    assert not any(c.shapes - {"underscore-header"} or (c.port == 1 and c.shapes) for c in excluded)


def test_the_forwarded_header_check():
    from harness.http_fuzz import forwarded_problems
    assert forwarded_problems([("x-datadog-trace-id", "1"), ("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01"),
                               ("x-datadog-rum-injection-pending", "1"), ("x_custom", "a")]) == []
    for bad in ([("x_datadog_trace_id", "9"), ("x-datadog-trace-id", "1")],
                [("x-datadog-rum-injection-pending", "forged")],
                [("x-datadog-rum-injection-pending", "forged"), ("x-datadog-rum-injection-pending", "1")],
                [("b3", "0")], [("tracestate", "dd=s:1;o:\xe9")]):
        assert forwarded_problems(bad), bad


def test_the_response_parser_reads_pipelined_chunked_and_head_answers():
    from harness.http_fuzz import parse_responses
    wire = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nno")
    first, second, third = parse_responses(wire, ["POST", "HEAD", "GET"], closed=True)
    assert (first.status, first.body, first.complete) == (200, b"abc", True)
    assert (second.status, second.body, second.complete) == (200, b"", True)
    assert (third.status, third.body, third.complete) == (404, b"no", False)
    assert parse_responses(b"garbage", ["GET"], closed=True)[0].status == -1
