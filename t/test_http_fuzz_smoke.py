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
    assert fuzzer.executions >= len(seeds) + 200, "the run was too short to mean anything"
    assert not findings, f"{len(findings)} finding(s):\n\n" + "\n\n".join(reports)
