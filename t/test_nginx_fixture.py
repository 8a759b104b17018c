"""The nginx runner itself: what it counts as a crash, and how it runs a
sanitizer build of the module (scripts/test --sanitize)."""

from pathlib import Path

from harness.nginx import Nginx, sanitizer_runtime

ASAN_REPORT = """=================================================================
==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011
SUMMARY: AddressSanitizer: heap-buffer-overflow span_encoder.cpp:42 in encode_span
"""


def test_a_sanitizer_report_file_is_a_crash(built_module):
    server = Nginx("")
    assert server.crash_lines() == []
    (server.prefix / "logs" / "sanitizer.4242").write_text(ASAN_REPORT)
    assert server.crash_lines() == [ASAN_REPORT]


def test_ubsan_lines_and_signals_in_the_error_log_are_crashes_unless_expected(built_module):
    server = Nginx("")
    server.error_log_path.write_text(
        "2026/01/01 00:00:00 [notice] 1#1: worker process 7 exited on signal 9\n"
        "src/trace/x.cpp:3:5: runtime error: signed integer overflow\n"
        "2026/01/01 00:00:00 [notice] 1#1: worker process 8 exited with code 0\n")
    assert len(server.crash_lines()) == 2
    server.expected_crash_lines.append(r"worker process 7 exited on signal 9")
    assert server.crash_lines() == ["src/trace/x.cpp:3:5: runtime error: signed integer overflow"]


def test_workers_run_with_the_asan_runtime_exactly_when_the_module_needs_it(nginx, built_module):
    server = nginx("server { listen 127.0.0.1:@PORT@; return 204; }")
    needs = sanitizer_runtime(built_module)
    (pid,) = server.worker_pids()
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert ("libasan.so" in maps) == (needs is not None) == server.sanitized
    if needs:
        assert "ASAN_OPTIONS" in server.env and "detect_leaks=0" in server.env["ASAN_OPTIONS"]
