"""The $datadog_* variables: log/trace correlation in access logs and the
propagation headers as JSON, "-" where no trace is active."""

import json

from harness import client

LOG_FORMAT = """
    log_format traced escape=json '{"trace":"$datadog_trace_id","span":"$datadog_span_id",'
                                  '"trace10":"$datadog_trace_id_64bits_base10","span10":"$datadog_span_id_64bits_base10",'
                                  '"location":"$datadog_location","json":"$datadog_json"}';
"""


def test_access_log_correlates_with_the_span(nginx, agent):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    {LOG_FORMAT}
    server {{
        listen 127.0.0.1:@PORT@;
        access_log @PREFIX@/logs/traced.log traced;
        location /api {{ return 200; }}
        location /quiet {{ datadog_tracing off; return 200; }}
    }}""")
    client.get(server.port, "/api")
    client.get(server.port, "/quiet")
    span = agent.wait_for_spans(1)[0]
    server.stop()
    traced, quiet = [json.loads(line) for line in (server.prefix / "logs" / "traced.log").read_text().splitlines()]

    full_trace_id = (int(span["meta"]["_dd.p.tid"], 16) << 64) | span["trace_id"]
    assert traced["trace"] == f"{full_trace_id:032x}"
    assert traced["span"] == f"{span['span_id']:016x}"
    assert traced["trace10"] == str(span["trace_id"])
    assert traced["span10"] == str(span["span_id"])
    assert traced["location"] == "/api"
    headers = json.loads(traced["json"])
    assert headers["x-datadog-trace-id"] == str(span["trace_id"])
    assert headers["x-datadog-parent-id"] == str(span["span_id"])
    assert headers["traceparent"] == f"00-{full_trace_id:032x}-{span['span_id']:016x}-01"

    assert quiet == {"trace": "-", "span": "-", "trace10": "-", "span10": "-", "location": "-", "json": "-"}


def test_variables_can_feed_a_response_header(nginx, agent):
    server = nginx(f"""
    datadog_agent_url {agent.url};
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ add_header X-Trace-Id $datadog_trace_id_64bits_base10 always; return 200; }}
    }}""")
    reply = client.get(server.port, "/")
    server.stop()
    span = agent.wait_for_spans(1)[0]
    assert reply.header("X-Trace-Id") == str(span["trace_id"])
