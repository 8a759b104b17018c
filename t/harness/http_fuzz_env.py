"""The world the raw-HTTP fuzzer (http_fuzz.py) runs against: ONE nginx
configuration with everything the module has turned on, in front of every
kind of upstream, plus the strict test agent.

Upstreams: Gunicorn + Flask (upstream_app.py: HTML, gzip HTML, chunked, echo,
CSP...), uWSGI speaking FastCGI and uwsgi (wsgi_echo.py), a gRPC server
(in this process), static files (one a plain page labelled gzip, for
gzip_static), SSI, auth_request, mirror, error_page, try_files, limit_req,
the status page, and a helper server in the same nginx that answers a plain
HTML body with `Content-Encoding: gzip`. Two servers share the locations; the
second has `underscores_in_headers on`.

Everything listens on 127.0.0.1 only.
"""

import json
import os
import re
import socket
import subprocess
import tempfile
import time
from concurrent import futures
from pathlib import Path

from .agent import TestAgent
from .nginx import Nginx, free_port
from .upstream import Upstream

HARNESS = Path(__file__).resolve().parent
UWSGI = "/usr/bin/uwsgi_python3"
GRPC_METHOD = "/echo.Echo/Metadata"

# Paths the generator picks targets from (before it mangles them); each
# reaches one upstream kind or nginx feature of LOCATIONS below.
PATHS = (
    "/", "/echo", "/echo/a/b", "/html/small", "/html/gzip", "/html/deflate", "/html/chunked",
    "/html/chunked?pieces=7", "/html/nohead", "/html/head-in-comment", "/html/csp",
    "/html/csp?policy=default-src%20'self'",
    "/html/marked", "/html/no-transform", "/html/status/404", "/html/status/500", "/html/status/204",
    "/html/status/304", "/status/503", "/json", "/html/cut?at=40", "/html/cut?at=10&framing=chunked",
    "/html/large?kb=64", "/sleep?ms=5",
    "/fcgi/app", "/fcgi/page.html", "/uwsgi/app", "/uwsgi/page.html", GRPC_METHOD,
    "/static/index.html", "/static/page.html", "/static/missing.html", "/static/",
    "/ssi/page.shtml", "/auth/x", "/mirror/x", "/err/404", "/err/502", "/try/index.html", "/try/nothing",
    "/limited/x", "/plaingz/page", "/dead/x", "/redirect", "/rewrite/html/small", "/datadog-status",
    "/health", "/notrace/html/chunked", "/notrace/html/small", "/notrace/html/gzip",
)

STATIC_PAGE = b"<!DOCTYPE html><html><head><title>static</title></head><body><p>static</p></body></html>\n"
SSI_PAGE = (b"<html><head><title>ssi</title></head><body>\n"
            b"<!--# include virtual=\"/echo/ssi\" -->\n<!--# include virtual=\"/html/small\" -->\n</body></html>\n")

LOCATIONS = """
        location = /health { datadog_tracing off; return 200 "ok\\n"; }
        location = /datadog-status { datadog_status; }
        location / {
            proxy_pass http://fuzz_gunicorn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        # RUM without tracing (datadog_disable in Datadog's RUM guide). No
        # echo here: untraced, the client's propagation headers pass as sent.
        location /notrace/html/ {
            datadog_tracing off;
            rewrite ^/notrace(/.*)$ $1 break;
            proxy_pass http://fuzz_gunicorn;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /fcgi/ {
            rewrite ^/fcgi(/.*)$ $1 break;
            include /etc/nginx/fastcgi_params;
            fastcgi_pass 127.0.0.1:@FASTCGI@;
            fastcgi_read_timeout 1s;
        }
        location /uwsgi/ {
            rewrite ^/uwsgi(/.*)$ $1 break;
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:@UWSGI@;
            uwsgi_read_timeout 1s;
        }
        location /echo.Echo/ { grpc_pass grpc://127.0.0.1:@GRPC@; grpc_read_timeout 1s; }
        location /static/ { root @PREFIX@/html; gzip_static on; }
        location /ssi/ { root @PREFIX@/html; ssi on; }
        location /auth/ {
            auth_request /_auth;
            proxy_pass http://fuzz_gunicorn/echo/;
        }
        location = /_auth {
            internal;
            proxy_pass http://fuzz_gunicorn/status/200;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }
        location /mirror/ {
            mirror /_mirror;
            proxy_pass http://fuzz_gunicorn/echo/;
        }
        location = /_mirror { internal; proxy_pass http://fuzz_gunicorn/echo/mirrored; }
        location /err/ {
            proxy_intercept_errors on;
            error_page 404 = /html/status/404;
            error_page 502 /static/page.html;
            proxy_pass http://fuzz_gunicorn/status/;
        }
        location /try/ { root @PREFIX@/html; try_files $uri @fallback; }
        location @fallback { rewrite ^ /html/small break; proxy_pass http://fuzz_gunicorn; }
        location /limited/ {
            limit_req zone=fuzz burst=3 nodelay;
            proxy_pass http://fuzz_gunicorn/echo/;
        }
        location /plaingz/ { proxy_pass http://127.0.0.1:@PORT3@; }
        location /dead/ { proxy_pass http://127.0.0.1:@DEAD@; error_page 502 /static/index.html; }
        location = /redirect { return 302 /html/small; }
        location /rewrite/ { rewrite ^/rewrite(/.*)$ $1 last; }
"""

HTTP_BLOCK = """
    datadog_agent_url @AGENT_URL@;
    datadog_flush_interval 100ms;
    datadog_service_name fuzz;
    datadog_environment fuzz;
    datadog_version 1.0;
    datadog_trace_locations on;
    datadog_propagation_styles datadog tracecontext b3 baggage;
    datadog_baggage_tags_keys *;
    datadog_tag fuzz.id $http_x_fuzz_id;
    datadog_tag fuzz.host $host;
    datadog_tag fuzz.status "$status/$upstream_status";
    map $http_x_fuzz_sample $fuzz_sample { default $http_x_fuzz_sample; "" off; }
    datadog_sample_rate 0.5 $fuzz_sample;
    datadog_sample_rate 1;
    datadog_rum on;
    datadog_rum_csp auto;
    datadog_rum_config "v6" {
        "applicationId" "fuzz-application";
        "clientToken" "pubfuzz";
        "service" "fuzz";
        "allowedTracingUrls" "http://127.0.0.1";
        "sessionReplaySampleRate" "50";
    }
    include /etc/nginx/mime.types;
    large_client_header_buffers 4 64k;
    proxy_read_timeout 1s;  # nothing fuzzed waits that long upstream; answers stay under 2 s
    client_max_body_size 1m;
    keepalive_requests 10000;
    gzip on;
    limit_req_zone $binary_remote_addr zone=fuzz:1m rate=100r/s;
    upstream fuzz_gunicorn { server @UPSTREAM@; keepalive 8; }
    server {
        listen 127.0.0.1:@PORT@;
        server_name fuzz.test;
        @LOCATIONS@
    }
    server {
        listen 127.0.0.1:@PORT2@;
        server_name underscores.test;
        underscores_in_headers on;
        @LOCATIONS@
    }
    server {
        listen 127.0.0.1:@PORT3@;
        server_name helper.test;
        datadog_tracing off;
        datadog_rum off;
        location / {
            default_type text/html;
            add_header Content-Encoding gzip;
            return 200 "<html><head><title>not gzip</title></head><body>plain</body></html>";
        }
    }
"""


# [alert]s nginx itself writes for a request it refuses, module or not: a
# FastCGI request whose parameters exceed a record's 64 KB (a URI of 60 KB
# goes in three of them); nginx answers 500.
NGINX_OWN_ALERTS = re.compile(r"\[alert\] \d+#\d+: (\*\d+ )?(fastcgi request record|uwsgi request) is too big")


class _MetadataEcho:
    """gRPC handler answering with the metadata it received, as JSON."""

    def __init__(self, grpc):
        self._grpc = grpc

    def service(self, details):
        if details.method != GRPC_METHOD:
            return None

        def answer(request, context):
            return json.dumps(dict(context.invocation_metadata())).encode()

        return self._grpc.unary_unary_rpc_method_handler(answer)


def _wait_port(port, process, log, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"uWSGI did not listen on {port}:\n{Path(log).read_text(errors='replace')}")


class FuzzTarget:
    """Starts (start()) and stops (stop()) everything; observations for the
    fuzzer's checks. `error_log_level` stays at notice so nginx's per-request
    info lines do not drown the module's own lines (counted per request)."""

    def __init__(self, workers=1):
        self.workers = workers
        self.dir = Path(tempfile.mkdtemp(prefix="http-fuzz-"))
        self.agent = None
        self.upstream = None
        self.uwsgi = []
        self.grpc_server = None
        self.nginx = None
        self.log_offset = 0

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        # Debian's python3-grpcio, imported here so the generator needs none
        # of this; quiet, as the fuzzer's odd methods make it log.
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        import grpc

        self.agent = TestAgent(listen="127.0.0.1").start()
        self.upstream = Upstream(workers=2, access_log=False, log_dir=str(self.dir / "gunicorn")).start()
        ports = {}
        for protocol, option in (("FASTCGI", "--fastcgi-socket"), ("UWSGI", "--socket")):
            port = free_port()
            log = self.dir / f"uwsgi-{protocol.lower()}.log"
            process = subprocess.Popen(
                [UWSGI, option, f"127.0.0.1:{port}", "--chdir", str(HARNESS), "--module", "wsgi_echo",
                 "--master", "--processes", "1", "--die-on-term", "--logto", str(log),
                 # Its largest: with the default 4 KB, uWSGI drops a request
                 # with long headers without a word and nginx waits.
                 "--buffer-size", "65535"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.uwsgi.append(process)
            _wait_port(port, process, log)
            ports[protocol] = port
        ports["GRPC"] = free_port()
        self.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[_MetadataEcho(grpc)])
        self.grpc_server.add_insecure_port(f"127.0.0.1:{ports['GRPC']}")
        self.grpc_server.start()
        # A port nothing listens on: connect() is refused at once (502).
        ports["DEAD"] = free_port()

        http = HTTP_BLOCK.replace("@LOCATIONS@", LOCATIONS)
        self.nginx = Nginx(http, workers=self.workers, error_log_level="notice",
                           values={"AGENT_URL": self.agent.url, "UPSTREAM": self.upstream.address, **ports})
        html = self.nginx.prefix / "html"
        for sub in ("static", "ssi", "try"):
            (html / sub).mkdir(exist_ok=True)
        (html / "static" / "index.html").write_bytes(STATIC_PAGE)
        (html / "static" / "page.html").write_bytes(STATIC_PAGE)
        # Not gzip at all, but gzip_static serves it as `Content-Encoding: gzip`.
        (html / "static" / "page.html.gz").write_bytes(STATIC_PAGE)
        (html / "try" / "index.html").write_bytes(STATIC_PAGE)
        (html / "ssi" / "page.shtml").write_bytes(SSI_PAGE)
        self.nginx.start()
        self.mark()

    @property
    def ports(self):
        """The two fuzzed servers: plain, and with underscores_in_headers on."""
        return (self.nginx.port, self.nginx.port2)

    def stop(self):
        if self.nginx is not None:
            try:
                self.nginx.stop(fast=True)
            except Exception:
                pass
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=None)
        for process in self.uwsgi:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.uwsgi = []
        if self.upstream is not None:
            self.upstream.stop()
        if self.agent is not None:
            self.agent.stop()

    # --- observations ------------------------------------------------------------

    def mark(self):
        """Starts a new observation window (error-log lines, agent payloads)."""
        self.log_offset = self.nginx.error_log_size()
        self.agent.drain()
        self._sanitizer_seen = len(self.nginx.sanitizer_reports())

    def new_log_lines(self):
        try:
            with open(self.nginx.error_log_path, "rb") as log:
                log.seek(self.log_offset)
                data = log.read()
        except FileNotFoundError:
            return []
        return data.decode(errors="replace").splitlines()

    def new_crash_lines(self):
        from .nginx import CRASH_PATTERNS
        lines = [line for line in self.new_log_lines()
                 if CRASH_PATTERNS.search(line) and not NGINX_OWN_ALERTS.search(line)]
        reports = self.nginx.sanitizer_reports()
        return lines + reports[self._sanitizer_seen:]

    def new_module_lines(self):
        """The module's own lines (warn and above, the log's level is notice)
        in the window: none may be written per request."""
        return [line for line in self.new_log_lines()
                if "datadog" in line and not line.split("]", 1)[0].endswith("[notice")]

    def drain_agent(self, wait=0.0):
        """(spans, protocol violations) the agent got in the window; `wait`
        gives the workers' 100 ms flush time to send what they hold."""
        if wait:
            time.sleep(wait)
        requests, errors = self.agent.drain()
        spans = [s for p in requests if p.path == "/v0.4/traces" and p.accepted for t in p.traces for s in t]
        return spans, errors

    def health(self, timeout=5.0):
        """None if each fuzzed server answers GET /health within `timeout`,
        else what went wrong."""
        for port in self.ports:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                    s.settimeout(timeout)
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: health\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
            except OSError as e:
                return f"port {port}: {e!r}"
            if not data.startswith(b"HTTP/1.1 200"):
                return f"port {port}: answered {data[:80]!r}"
        return None
