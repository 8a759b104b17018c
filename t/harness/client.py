"""Tiny HTTP clients for tests: a parsed one (http.client, keeps duplicate
headers) and a raw one that returns the bytes on the wire, for framing checks."""

import http.client
import socket
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    reason: str
    headers: list = field(default_factory=list)  # [(name, value)] in wire order
    body: bytes = b""

    def header(self, name, default=None):
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def header_values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        import json
        return json.loads(self.body)


def request(port, path="/", method="GET", headers=None, body=None, host="127.0.0.1", timeout=10):
    """One request on a fresh connection; `headers` may be a dict or a list of
    pairs (to send duplicates)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if not any(k.lower() == "host" for k, _ in pairs):
            conn.putheader("Host", "localhost")
        for name, value in pairs:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        data = reply.read()
        return Response(reply.status, reply.reason, list(reply.getheaders()), data)
    finally:
        conn.close()


def get(port, path="/", **kwargs):
    return request(port, path, **kwargs)


def raw_request(port, data, host="127.0.0.1", timeout=10):
    """Sends raw bytes and returns everything the server sends until it closes."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_chunked(payload):
    """Split a chunked body into its chunks; asserts the framing is valid."""
    chunks = []
    while True:
        size_line, _, payload = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert payload == b"\r\n", "no trailers expected"
            return chunks
        chunks.append(payload[:size])
        assert payload[size:size + 2] == b"\r\n"
        payload = payload[size + 2:]
