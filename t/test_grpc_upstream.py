"""grpc_pass forwards the trace context as gRPC metadata with no extra
directive: a real gRPC client (python3-grpcio) calls through nginx (HTTP/2
cleartext) to a real gRPC server that answers with the metadata it received."""

import json
from concurrent import futures

import grpc
import pytest

from harness.nginx import free_port

METHOD = "/echo.Echo/Metadata"


class MetadataEcho(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        if handler_call_details.method != METHOD:
            return None

        def answer(request, context):
            return json.dumps(dict(context.invocation_metadata())).encode()

        # Raw bytes in and out: no generated protobuf code needed.
        return grpc.unary_unary_rpc_method_handler(answer)


@pytest.fixture
def grpc_server():
    port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[MetadataEcho()])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield port
    server.stop(grace=None)


def test_grpc_upstream_receives_the_trace_context(nginx, agent, grpc_server):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    server {{
        listen 127.0.0.1:@PORT@ http2;
        location / {{ grpc_pass grpc://127.0.0.1:{grpc_server}; }}
    }}""")
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = channel.unary_unary(METHOD)
        seen = json.loads(call(b"", timeout=10, metadata=[("x-datadog-trace-id", "4242"),
                                                           ("x-datadog-parent-id", "77")]))
    span = agent.wait_for_spans(1)[0]
    assert span["trace_id"] == 4242 and span["parent_id"] == 77
    assert seen["x-datadog-trace-id"] == "4242"
    assert seen["x-datadog-parent-id"] == str(span["span_id"])
    assert seen["traceparent"].split("-")[2] == f"{span['span_id']:016x}"
    assert span["resource"] == f"POST {METHOD}"
