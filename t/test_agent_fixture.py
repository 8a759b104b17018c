"""The test agent itself must be strict and must misbehave on request, or the
integration tests prove nothing.  Fast, no nginx.

Decoder tests use hand-written bytes on purpose: the msgpack library would pick
the encoding for us, and the encoding is exactly what is under test.
"""

import http.client
import json
import socket
import struct
import sys
from pathlib import Path

import msgpack
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.agent import TestAgent, validate_traces  # noqa: E402
from harness.strict_msgpack import MsgpackError, decode, to_python  # noqa: E402

# ---------------------------------------------------------------------------
# Hand encoders: each returns the literal wire bytes of one value.
# ---------------------------------------------------------------------------


def fixstr(s):
    b = s.encode()
    assert len(b) < 32
    return bytes([0xA0 | len(b)]) + b


def u64(n):
    return b"\xcf" + struct.pack(">Q", n)


def i64(n):
    return b"\xd3" + struct.pack(">q", n)


def u32(n):
    return b"\xce" + struct.pack(">I", n)


def f32(x):
    return b"\xca" + struct.pack(">f", x)


def f64(x):
    return b"\xcb" + struct.pack(">d", x)


def fixmap(n):
    assert n < 16
    return bytes([0x80 | n])


def fixarray(n):
    assert n < 16
    return bytes([0x90 | n])


TRACE_ID = 0x1122334455667788
START = 1_700_000_000_123_456_789


def span_fields(**overrides):
    """The 12 fields of a valid span as [(key bytes, value bytes)], in wire
    order.  A keyword replaces a field's value bytes; None drops the field."""
    fields = [
        ("service", fixstr("nginx")),
        ("name", fixstr("nginx.request")),
        ("resource", fixstr("GET /")),
        ("type", fixstr("web")),
        ("trace_id", u64(TRACE_ID)),
        ("span_id", u64(0x0A0B0C0D)),
        ("parent_id", b"\x00"),                      # positive fixint 0: a root span
        ("start", u64(START)),
        ("duration", u32(1_234_567)),
        ("error", b"\x00"),
        ("meta", fixmap(1) + fixstr("http.method") + fixstr("GET")),
        ("metrics", fixmap(1) + fixstr("_sampling_priority_v1") + f64(1.0)),
    ]
    out = []
    for key, value in fields:
        if key in overrides:
            value = overrides.pop(key)
            if value is None:
                continue
        out.append((fixstr(key), value))
    assert not overrides, f"unknown span fields {overrides}"
    return out


def span(fields):
    return fixmap(len(fields)) + b"".join(k + v for k, v in fields)


def body(*traces):
    """traces: each a list of span byte strings."""
    return fixarray(len(traces)) + b"".join(fixarray(len(t)) + b"".join(t) for t in traces)


def one_span_body(**overrides):
    return body([span(span_fields(**overrides))])


# ---------------------------------------------------------------------------
# strict_msgpack
# ---------------------------------------------------------------------------


def test_decoder_keeps_uint64_and_int64_apart():
    assert (decode(u64(5)).kind, decode(u64(5)).fmt) == ("uint", "uint64")
    assert (decode(i64(5)).kind, decode(i64(5)).fmt) == ("int", "int64")
    assert decode(u64(2**64 - 1)).value == 2**64 - 1
    assert decode(i64(-1)).value == -1


def test_decoder_classifies_fixints_and_small_ints():
    assert (decode(b"\x05").kind, decode(b"\x05").fmt, decode(b"\x05").value) == ("uint", "positive fixint", 5)
    assert (decode(b"\xff").kind, decode(b"\xff").fmt, decode(b"\xff").value) == ("int", "negative fixint", -1)
    # int8 holding a non-negative value is still a signed encoding.
    assert (decode(b"\xd0\x05").kind, decode(b"\xd0\x05").fmt, decode(b"\xd0\x05").value) == ("int", "int8", 5)
    assert (decode(b"\xcc\xff").kind, decode(b"\xcc\xff").fmt) == ("uint", "uint8")
    assert decode(b"\xd1\xff\xfe").value == -2


def test_decoder_keeps_float32_and_float64_apart():
    assert (decode(f32(1.0)).kind, decode(f32(1.0)).value) == ("float32", 1.0)
    assert (decode(f64(1.0)).kind, decode(f64(1.0)).value) == ("float64", 1.0)


def test_decoder_reports_string_and_container_formats():
    assert (decode(b"\xa3abc").fmt, decode(b"\xa3abc").value) == ("fixstr", "abc")
    assert (decode(b"\xd9\x03abc").fmt, decode(b"\xd9\x03abc").value) == ("str8", "abc")
    assert decode(b"\xc4\x02\x00\x01").value == b"\x00\x01"
    assert decode(b"\xdc\x00\x01\x07").fmt == "array16"
    m = decode(b"\xde\x00\x01\xa1k\xc0")
    assert m.fmt == "map16" and m.value[0][0].value == "k" and m.value[0][1].kind == "nil"
    ext = decode(b"\xd4\x05\xaa")
    assert (ext.kind, ext.fmt, ext.value.type, ext.value.data) == ("ext", "fixext1", 5, b"\xaa")


def test_decoder_keeps_duplicate_map_keys_visible():
    node = decode(fixmap(2) + fixstr("a") + b"\x01" + fixstr("a") + b"\x02")
    assert [(k.value, v.value) for k, v in node.value] == [("a", 1), ("a", 2)]
    assert to_python(node) == {"a": 2}


def test_decoder_rejects_truncated_input_with_offset():
    with pytest.raises(MsgpackError) as e:
        decode(u64(1)[:5])
    assert e.value.offset == 1 and "truncated" in str(e.value)
    with pytest.raises(MsgpackError, match="truncated"):
        decode(fixarray(3) + b"\x01")            # array claims 3 elements, has 1
    with pytest.raises(MsgpackError, match="truncated"):
        decode(b"\xa5abc")                       # fixstr of 5, 3 present


def test_decoder_rejects_trailing_bytes():
    with pytest.raises(MsgpackError) as e:
        decode(b"\x90\x00")
    assert e.value.offset == 1 and "trailing" in str(e.value)


def test_decoder_rejects_reserved_byte_c1():
    with pytest.raises(MsgpackError) as e:
        decode(fixarray(2) + b"\x01\xc1")
    assert e.value.offset == 2 and "0xc1" in str(e.value)


def test_decoder_rejects_invalid_utf8_with_offset():
    with pytest.raises(MsgpackError) as e:
        decode(b"\x91\xa3a\xffb")
    assert e.value.offset == 3 and "UTF-8" in str(e.value)


def test_decoder_rejects_empty_input():
    with pytest.raises(MsgpackError):
        decode(b"")


# ---------------------------------------------------------------------------
# validate_traces on hand-built spans
# ---------------------------------------------------------------------------


def test_hand_built_span_is_valid():
    traces, errors = validate_traces(one_span_body())
    assert errors == []
    assert traces == [[{
        "service": "nginx", "name": "nginx.request", "resource": "GET /", "type": "web",
        "trace_id": TRACE_ID, "span_id": 0x0A0B0C0D, "parent_id": 0,
        "start": START, "duration": 1_234_567, "error": 0,
        "meta": {"http.method": "GET"}, "metrics": {"_sampling_priority_v1": 1.0},
    }]]


def test_signed_start_and_duration_are_accepted():
    # Real tracers encode these as int64; only the value range matters.
    _, errors = validate_traces(one_span_body(start=i64(START), duration=b"\xd0\x05"))
    assert errors == []


def test_signed_trace_id_is_rejected():
    _, errors = validate_traces(one_span_body(trace_id=i64(TRACE_ID)))
    assert errors == [f"trace 0 span 0: trace_id is int64 (signed encoding) with value {TRACE_ID}, "
                      "expected an unsigned integer encoding"]


@pytest.mark.parametrize("field", ["span_id", "parent_id"])
def test_signed_span_and_parent_ids_are_rejected(field):
    _, errors = validate_traces(one_span_body(**{field: b"\xd0\x05"}))   # int8 5
    assert len(errors) == 1 and f"{field} is int8 (signed encoding)" in errors[0]


def test_float32_metric_is_rejected():
    bad = fixmap(1) + fixstr("_sampling_priority_v1") + f32(1.0)
    _, errors = validate_traces(one_span_body(metrics=bad))
    assert errors == ["trace 0 span 0: metrics['_sampling_priority_v1'] is float32, expected float64"]


def test_integer_metric_is_rejected():
    bad = fixmap(1) + fixstr("_sampling_priority_v1") + b"\x01"
    _, errors = validate_traces(one_span_body(metrics=bad))
    assert errors == ["trace 0 span 0: metrics['_sampling_priority_v1'] is positive fixint "
                      "(unsigned encoding), expected float64"]


def test_non_string_meta_value_is_rejected():
    bad = fixmap(1) + fixstr("http.status_code") + b"\xcc\xc8"
    _, errors = validate_traces(one_span_body(meta=bad))
    assert errors == ["trace 0 span 0: meta['http.status_code'] is uint8 (unsigned encoding) (200), "
                      "expected str"]


def test_missing_key_is_rejected():
    _, errors = validate_traces(one_span_body(resource=None))
    assert errors == ["trace 0 span 0: missing key 'resource'"]


def test_extra_key_is_rejected():
    fields = span_fields() + [(fixstr("links"), fixstr("x"))]
    _, errors = validate_traces(body([span(fields)]))
    assert errors == ["trace 0 span 0: unexpected key 'links'"]


def test_duplicate_key_is_rejected():
    fields = span_fields() + [(fixstr("service"), fixstr("other"))]
    _, errors = validate_traces(body([span(fields)]))
    assert errors == ["trace 0 span 0: duplicate key 'service'"]


def test_zero_trace_id_is_rejected():
    _, errors = validate_traces(one_span_body(trace_id=b"\x00"))
    assert errors == ["trace 0 span 0: trace_id is 0, expected non-zero"]


def test_zero_span_id_is_rejected():
    _, errors = validate_traces(one_span_body(span_id=u64(0)))
    assert errors == ["trace 0 span 0: span_id is 0, expected non-zero"]


def test_zero_start_negative_duration_and_bad_error_flag_are_rejected():
    _, errors = validate_traces(one_span_body(start=b"\x00", duration=b"\xff", error=b"\x02"))
    assert errors == ["trace 0 span 0: start is 0, expected > 0 (nanoseconds since the epoch)",
                      "trace 0 span 0: duration is -1, expected >= 0",
                      "trace 0 span 0: error is 2, expected 0 or 1"]


def test_mixed_trace_ids_in_one_trace_are_rejected():
    first = span(span_fields())
    second = span(span_fields(trace_id=u64(TRACE_ID + 1), span_id=u64(2), parent_id=u64(0x0A0B0C0D)))
    _, errors = validate_traces(body([first, second]))
    assert errors == [f"trace 0 span 1: trace_id {TRACE_ID + 1} differs from trace_id {TRACE_ID} "
                      "of the first span in the same trace"]


def test_errors_name_the_trace_and_span_index():
    good, bad = span(span_fields()), span(span_fields(name=b"\x01"))
    _, errors = validate_traces(body([good], [good, bad]))
    assert errors == ["trace 1 span 1: name is positive fixint (unsigned encoding), expected str"]


def test_empty_trace_and_non_array_body_are_rejected():
    assert validate_traces(body([]))[1] == ["trace 0: is empty, expected at least one span"]
    assert validate_traces(fixmap(0))[1] == ["body is map (fixmap), expected an array of traces"]
    assert validate_traces(b"\x90") == ([], [])   # no traces at all is fine


def test_undecodable_body_is_reported_not_raised():
    traces, errors = validate_traces(one_span_body()[:-3])
    assert traces == [] and len(errors) == 1 and "truncated" in errors[0]


# ---------------------------------------------------------------------------
# The agent over real sockets
# ---------------------------------------------------------------------------


@pytest.fixture
def make_agent():
    """Factory for agents that are stopped at the end.  Unlike conftest's
    ``agent`` fixture it does not fail on protocol errors: these tests cause
    them on purpose."""
    agents = []

    def make(**kwargs):
        a = TestAgent(**kwargs)
        agents.append(a)
        return a.start()

    yield make
    for a in agents:
        a.stop()


def valid_traces(n_traces=1):
    return [[{
        "service": "nginx", "name": "nginx.request", "resource": "GET /", "type": "web",
        "trace_id": 1000 + t, "span_id": 1, "parent_id": 0, "start": START,
        "duration": 1000, "error": 0, "meta": {"http.method": "GET"},
        "metrics": {"_sampling_priority_v1": 1.0},
    }] for t in range(n_traces)]


def packed(traces):
    return msgpack.packb(traces, use_single_float=False)


def trace_headers(count, **extra):
    h = {"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": str(count),
         "Datadog-Meta-Lang": "cpp", "Datadog-Meta-Tracer-Version": "v0.2.0"}
    h.update(extra)
    return h


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def connect(agent, host=None, timeout=5):
    if agent.listen == "unix":
        return UnixHTTPConnection(agent.unix_path, timeout=timeout)
    return http.client.HTTPConnection(host or {"::1": "::1"}.get(agent.listen, "127.0.0.1"),
                                      agent.port, timeout=timeout)


def put(agent, payload, headers, host=None, conn=None, method="PUT", path="/v0.4/traces"):
    """One request; uses ``conn`` if given (left open), else a fresh connection."""
    c = conn or connect(agent, host)
    try:
        c.request(method, path, body=payload, headers=headers)
        r = c.getresponse()
        return r, r.read()
    finally:
        if conn is None:
            c.close()


def test_valid_payload_is_accepted_with_rate_by_service(make_agent):
    agent = make_agent()
    agent.rate_by_service = {"service:nginx,env:prod": 0.5, "service:,env:": 1.0}
    r, data = put(agent, packed(valid_traces(2)), trace_headers(2))
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/json"
    assert json.loads(data) == {"rate_by_service": {"service:nginx,env:prod": 0.5, "service:,env:": 1.0}}
    assert [s["trace_id"] for s in agent.wait_for_spans(2, timeout=2)] == [1000, 1001]
    assert len(agent.traces()) == 2
    p = agent.payloads[0]
    assert (p.method, p.path, p.status, p.accepted) == ("PUT", "/v0.4/traces", 200, True)
    assert p.headers["datadog-meta-lang"] == "cpp"
    agent.assert_clean()


def test_chunked_post_is_accepted(make_agent):
    agent = make_agent()
    payload = packed(valid_traces(1))
    c = connect(agent)
    c.putrequest("POST", "/v0.4/traces")
    for k, v in trace_headers(1, **{"Transfer-Encoding": "chunked"}).items():
        c.putheader(k, v)
    c.endheaders()
    for piece in (payload[:10], payload[10:]):
        c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    c.send(b"0\r\n\r\n")
    assert c.getresponse().status == 200
    c.close()
    assert len(agent.spans()) == 1
    agent.assert_clean()


def test_empty_array_is_a_valid_payload(make_agent):
    agent = make_agent()
    r, _ = put(agent, b"\x90", trace_headers(0))
    assert r.status == 200 and agent.spans() == []
    agent.assert_clean()


def test_malformed_payload_gets_400_and_is_recorded(make_agent):
    agent = make_agent()
    r, _ = put(agent, one_span_body(trace_id=i64(TRACE_ID)), trace_headers(1))
    assert r.status == 400
    assert agent.spans() == [] and not agent.payloads[0].accepted
    assert len(agent.errors) == 1 and "trace_id is int64" in agent.errors[0]
    with pytest.raises(AssertionError, match="trace_id is int64"):
        agent.assert_clean()


def test_wrong_trace_count_header_is_an_error(make_agent):
    agent = make_agent()
    r, _ = put(agent, packed(valid_traces(2)), trace_headers(1))
    assert r.status == 400
    assert any("X-Datadog-Trace-Count is 1 but the body holds 2" in e for e in agent.errors)


@pytest.mark.parametrize("drop", ["X-Datadog-Trace-Count", "Datadog-Meta-Lang",
                                  "Datadog-Meta-Tracer-Version", "Content-Type"])
def test_missing_required_header_is_an_error(make_agent, drop):
    agent = make_agent()
    headers = trace_headers(1)
    del headers[drop]
    r, _ = put(agent, packed(valid_traces(1)), headers)
    assert r.status == 400
    assert len(agent.errors) == 1 and drop in agent.errors[0]


def test_wrong_content_type_is_an_error(make_agent):
    agent = make_agent()
    r, _ = put(agent, packed(valid_traces(1)), trace_headers(1, **{"Content-Type": "application/json"}))
    assert r.status == 400 and "application/msgpack" in agent.errors[0]


def test_info_is_answered_and_other_paths_are_404_errors(make_agent):
    agent = make_agent()
    r, data = put(agent, None, {}, method="GET", path="/info")
    assert r.status == 200 and "/v0.4/traces" in json.loads(data)["endpoints"]
    assert agent.errors == []
    r, _ = put(agent, b"\x90", trace_headers(0), path="/v0.5/traces")
    assert r.status == 404 and agent.errors == ["request #1 (PUT /v0.5/traces, connection #2): "
                                                "unexpected request PUT /v0.5/traces"]


def test_keep_alive_reuses_one_connection(make_agent):
    agent = make_agent()
    c = connect(agent)
    for _ in range(2):
        r, _ = put(agent, packed(valid_traces(1)), trace_headers(1), conn=c)
        assert r.status == 200
    c.close()
    assert agent.connections == 1 and len(agent.spans()) == 2


def test_connection_close_header_is_honoured(make_agent):
    agent = make_agent()
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=2)
    s.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):    # returns b"" only because the agent closed
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in data


def test_refuse_mode_refuses_connections_then_rebinds_same_port(make_agent):
    agent = make_agent()
    port = agent.port
    agent.mode = "refuse"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    agent.mode = "ok"
    assert agent.port == port
    r, _ = put(agent, packed(valid_traces(1)), trace_headers(1))
    assert r.status == 200


def test_refuse_mode_drops_open_keep_alive_connections(make_agent):
    agent = make_agent()
    c = connect(agent)
    put(agent, None, {}, conn=c, method="GET", path="/info")
    agent.mode = "refuse"
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        put(agent, None, {}, conn=c, method="GET", path="/info")
    c.close()


def test_agent_can_start_in_refuse_mode(make_agent):
    agent = make_agent(mode="refuse")
    assert agent.port != 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", agent.port), timeout=2)


def test_stall_mode_never_answers(make_agent):
    agent = make_agent(mode="stall")
    c = connect(agent, timeout=0.3)
    with pytest.raises(TimeoutError):   # socket.timeout is TimeoutError since 3.10
        put(agent, packed(valid_traces(1)), trace_headers(1), conn=c)
    c.close()
    agent.wait_for_payloads(1, timeout=2)   # the request was read, just not answered
    assert agent.spans() == [] and agent.payloads[0].status is None


@pytest.mark.parametrize("status", [400, 413, 500])
def test_status_mode_answers_that_status(make_agent, status):
    agent = make_agent(mode=f"status:{status}")
    r, _ = put(agent, packed(valid_traces(1)), trace_headers(1))
    assert r.status == status
    assert agent.spans() == [] and agent.errors == []   # a valid payload, just not accepted


def test_status_429_still_sends_rate_by_service(make_agent):
    agent = make_agent(mode="status:429")
    r, data = put(agent, packed(valid_traces(1)), trace_headers(1))
    assert r.status == 429 and json.loads(data) == {"rate_by_service": {"service:,env:": 1.0}}


def test_garbage_mode_answers_something_that_is_not_http(make_agent):
    agent = make_agent(mode="garbage")
    with pytest.raises(http.client.BadStatusLine):
        put(agent, packed(valid_traces(1)), trace_headers(1))
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=2)
    s.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    assert data and not data.startswith(b"HTTP/")


def test_close_mode_hangs_up_without_answering(make_agent):
    agent = make_agent(mode="close")
    with pytest.raises(http.client.RemoteDisconnected):
        put(agent, packed(valid_traces(1)), trace_headers(1))


def test_slow_mode_answers_ok_one_byte_at_a_time(make_agent):
    agent = make_agent(mode="slow")
    agent.slow_delay = 0.002
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=5)
    body = packed(valid_traces(1))
    head = "".join(f"{k}: {v}\r\n" for k, v in trace_headers(1).items())
    s.sendall(f"PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode()
              + body)
    reads = []
    while not b"".join(reads).endswith(b"}"):
        reads.append(s.recv(4096))
    s.close()
    assert b"".join(reads).startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(reads) > 20, "the reply came in a few large pieces"
    assert len(agent.spans()) == 1


def test_truncate_mode_accepts_then_hangs_up_mid_reply(make_agent):
    agent = make_agent(mode="truncate")
    with pytest.raises(http.client.IncompleteRead):
        put(agent, packed(valid_traces(1)), trace_headers(1))
    assert len(agent.spans()) == 1 and agent.payloads[0].status == 200


def test_drain_takes_requests_and_errors_at_once(make_agent):
    agent = make_agent()
    put(agent, packed(valid_traces(2)), trace_headers(2))
    put(agent, packed(valid_traces(1)), trace_headers(5))
    requests, errors = agent.drain()
    assert [len(r.spans()) for r in requests] == [2, 1] and len(errors) == 1
    assert agent.requests == [] and agent.errors == []


def test_mode_can_change_while_running(make_agent):
    agent = make_agent()
    agent.mode = "status:500"
    assert put(agent, packed(valid_traces(1)), trace_headers(1))[0].status == 500
    agent.mode = "ok"
    assert put(agent, packed(valid_traces(1)), trace_headers(1))[0].status == 200
    assert len(agent.spans()) == 1


def test_malformed_http_is_recorded(make_agent):
    agent = make_agent()
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=2)
    s.sendall(b"PUT /v0.4/traces HTTP/1.1\nHost: x\n\n")   # bare LF line endings
    s.sendall(b"\r\n\r\n")
    data = s.recv(4096)
    s.close()
    assert data.startswith(b"HTTP/1.1 400 ")
    assert "bare CR or LF" in agent.errors[0]


def test_wait_for_spans_times_out_with_a_summary(make_agent):
    agent = make_agent()
    with pytest.raises(AssertionError, match=r"expected at least 1 span\(s\) within 0.1s, got 0"):
        agent.wait_for_spans(1, timeout=0.1)


def refused(family, host, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        return True
    finally:
        s.close()
    return False


def test_listen_ipv4_only(make_agent):
    agent = make_agent(listen="127.0.0.1")
    assert agent.url == f"http://127.0.0.1:{agent.port}"
    assert put(agent, b"\x90", trace_headers(0))[0].status == 200
    assert refused(socket.AF_INET6, "::1", agent.port)


def test_listen_ipv6_only(make_agent):
    agent = make_agent(listen="::1")
    assert agent.url == f"http://[::1]:{agent.port}"
    assert put(agent, b"\x90", trace_headers(0), host="::1")[0].status == 200
    assert refused(socket.AF_INET, "127.0.0.1", agent.port)


def test_listen_both_uses_one_port_for_both_families(make_agent):
    agent = make_agent(listen="both")
    assert agent.url == f"http://localhost:{agent.port}"
    assert put(agent, b"\x90", trace_headers(0), host="127.0.0.1")[0].status == 200
    assert put(agent, b"\x90", trace_headers(0), host="::1")[0].status == 200
    agent.mode = "refuse"
    assert refused(socket.AF_INET, "127.0.0.1", agent.port)
    assert refused(socket.AF_INET6, "::1", agent.port)
    agent.mode = "ok"
    assert put(agent, b"\x90", trace_headers(0), host="::1")[0].status == 200
    agent.assert_clean()


def test_listen_unix_socket(make_agent, tmp_path):
    path = str(tmp_path / "apm.sock")
    agent = make_agent(listen="unix", unix_path=path)
    assert agent.url == f"unix://{path}"
    r, data = put(agent, packed(valid_traces(1)), trace_headers(1))
    assert r.status == 200 and len(agent.spans()) == 1
    agent.mode = "refuse"
    s = socket.socket(socket.AF_UNIX)
    with pytest.raises(ConnectionRefusedError):
        s.connect(path)
    s.close()
    agent.mode = "ok"
    assert put(agent, b"\x90", trace_headers(0))[0].status == 200
    agent.assert_clean()


def test_listen_unix_socket_default_path_is_cleaned_up():
    agent = TestAgent(listen="unix").start()
    path = agent.unix_path
    assert Path(path).is_socket()
    agent.stop()
    assert not Path(path).exists()
