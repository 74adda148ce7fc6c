"""A recording loopback proxy in front of `ipg-validator serve`: what a real client sent, exactly.

The server's access log names the operation and status but not the query string, headers or body,
which is what docs/clients.md documents; the proxy keeps all of them and forwards every request
unchanged, answering with the server's own status, headers and body.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"})


@dataclass(frozen=True)
class Recorded:
    """One request as the client sent it, and the status the server answered."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    body: bytes
    status: int

    def params(self, name: str) -> list[str]:
        """Every value of query parameter `name`, in order."""
        return [v for k, v in self.query if k == name]


@dataclass
class Recording:
    """The requests seen so far, in arrival order (thread-safe)."""

    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Recorded) -> None:
        with self.lock:
            self.requests.append(request)

    def take(self) -> list[Recorded]:
        """The requests recorded since the last take, removed from the recording."""
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


def _handler(upstream: str, recording: Recording) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            finally:
                conn.close()
            url = urlsplit(self.path)
            recording.add(Recorded(self.command, url.path, tuple(parse_qsl(url.query, keep_blank_values=True)),
                                   {k.lower(): v for k, v in self.headers.items()}, body, answer.status))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Quiet: the recording is the log."""

    return Forward


@contextmanager
def recording_proxy(upstream_base: str) -> Iterator[tuple[str, Recording]]:
    """A proxy on a free loopback port forwarding to `upstream_base` (a FHIR base URL); yields its FHIR base and the recording."""
    recording = Recording()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream_base, recording))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="recording-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{urlsplit(upstream_base).path}", recording
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
