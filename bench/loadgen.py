"""What the HTTP benchmarks send, and the open-loop pass: `python -m bench.loadgen BASE ENDPOINT SECONDS RATE [CONNECTIONS]`.

The peak (closed-loop) passes are `wrk`'s (bench/wrk_load.py). `wrk` cannot send on a fixed
schedule and wrk2 is not packaged by Debian, so the open-loop pass is this client: raw HTTP/1.1
on keep-alive connections, every request's bytes made once beforehand, the answer read by its
Content-Length, on uvloop when installed. It sends on a fixed schedule (RATE per second), whether
or not earlier requests were answered; a request is timed from when it was written, or, when every
connection was still waiting for an answer, from when it was due (so a queue in front of the server
counts as latency). The event loop's timers tick in milliseconds, so requests leave in small
batches per tick; how late they left is reported too (`late_p99`). It costs a few tens of
microseconds of CPU per request (`client_cpu_us`), a small share of a core at the rates measured.
One second of warm-up is not counted. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from .bundles import sirt_bundle

VS = "https://ipg-validator.org/fhir/ValueSet/"
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
# Members, non-members and an NHS-format code, in turn.
CODES = [
    ("ipg672-procedures", OPCS4, "J12.3"), ("ipg672-procedures", OPCS4, "X65.3"), ("ipg672-procedures", OPCS4, "J12.4"),
    ("ipg672-procedures", OPCS4, "Y534"), ("ipg672-diagnoses", ICD10, "C78.7"), ("ipg672-diagnoses", ICD10, "Z85.1"),
]
FHIR_HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
WARM_UP = 1.0
CONNECTIONS = 32


def requests_of(name: str) -> tuple[str, list[str], bytes | None]:
    """(method, paths in turn, body) of `name`: `bare` and `healthz` (GET /healthz), `validate-code`
    (GET ValueSet/$validate-code over CODES) or `bundle` (POST a 10-entry Bundle to Bundle/$validate)."""
    if name in ("bare", "healthz"):
        return "GET", ["/healthz"], None
    if name == "validate-code":
        return "GET", ["/fhir/ValueSet/$validate-code?" + urlencode({"url": VS + vs, "system": system, "code": code}) for vs, system, code in CODES], None
    if name == "bundle":
        return "POST", ["/fhir/Bundle/$validate"], sirt_bundle(1)
    raise SystemExit(f"unknown endpoint {name!r}")


def raw_requests(host: str, name: str) -> list[bytes]:
    """Each request of `name` as the bytes sent on the wire."""
    method, paths, body = requests_of(name)
    out = []
    for path in paths:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
        if body is not None:
            head += "".join(f"{k}: {v}\r\n" for k, v in FHIR_HEADERS.items()) + f"Content-Length: {len(body)}\r\n"
        out.append(head.encode() + b"\r\n" + (body or b""))
    return out


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, the answer read by its Content-Length."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.buffer = bytearray()
        self.need: int | None = None
        self.status = 0
        self.since = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's transports do not subclass asyncio's)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, request: bytes, since: float) -> None:
        self.since = since
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self.pool.failed += 1
                assert self.transport is not None
                self.transport.close()
                return
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17:line_end if line_end > 0 else len(head)])
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            del self.buffer[:self.need]
            self.need = None
            self.pool.answered(self, self.status == 200)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self)


class _Pool:
    """Idle connections, and the requests due while every connection was busy."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.idle: deque[_Connection] = deque()
        self.waiting: deque[float] = deque()  # due times
        self.done: list[tuple[float, float]] = []  # (answered at, latency)
        self.late: list[float] = []
        self.failed = 0
        self.closed = 0
        self.sent = 0

    def dispatch(self, due: float) -> None:
        if self.idle:
            now = time.perf_counter()
            self.late.append(now - due)
            self._send(self.idle.popleft(), now)
        else:
            self.waiting.append(due)

    def _send(self, conn: _Connection, since: float) -> None:
        conn.send(self.requests[self.sent % len(self.requests)], since)
        self.sent += 1

    def answered(self, conn: _Connection, ok: bool) -> None:
        now = time.perf_counter()
        if ok:
            self.done.append((now, now - conn.since))
        else:
            self.failed += 1
        if self.waiting:
            self._send(conn, self.waiting.popleft())  # timed from when it was due: it waited for the server
        else:
            self.idle.append(conn)

    def lost(self, conn: _Connection) -> None:
        self.closed += 1
        if conn in self.idle:
            self.idle.remove(conn)


async def run(base: str, name: str, seconds: float, rate: float, connections: int = CONNECTIONS) -> dict[str, Any]:
    """One open-loop pass at `rate` requests per second; latency percentiles and what the client cost."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool = _Pool(raw_requests(f"{host}:{port}", name))
    loop = asyncio.get_running_loop()
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Connection(pool), host, port)
        pool.idle.append(conn)
    start = time.perf_counter() + 0.01
    measure_from, end = start + WARM_UP, start + WARM_UP + seconds
    cpu_start = wall_start = 0.0
    k = 0
    while (due := start + k / rate) < end:
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(max(due - now, 0.001))  # a tick at least: requests due within it leave together
            continue
        if not cpu_start and now >= measure_from:
            cpu_start, wall_start = time.process_time(), now
        while (due := start + k / rate) <= now and due < end:
            pool.dispatch(due)
            k += 1
    drain = time.perf_counter() + 30
    while (pool.waiting or len(pool.idle) + pool.closed < connections) and time.perf_counter() < drain:
        await asyncio.sleep(0.005)
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    sent_counted = max(1, int(seconds * rate))
    counted = sorted(lat for t, lat in pool.done if measure_from <= t)
    late = sorted(pool.late)
    return {
        "endpoint": name, "rate": rate, "seconds": seconds, "requests": len(counted), "errors": pool.failed + pool.closed,
        "rps": len([1 for t, _ in pool.done if measure_from <= t < end]) / seconds,
        "p50": _quantile(counted, 0.50), "p99": _quantile(counted, 0.99), "late_p99": _quantile(late, 0.99),
        "client_cpu_us": cpu / sent_counted * 1e6, "client_cpu_share": cpu / wall if wall > 0 else 0.0,
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str]) -> None:
    base, name, seconds, rate = argv[0], argv[1], float(argv[2]), float(argv[3])
    connections = int(argv[4]) if len(argv) > 4 else CONNECTIONS
    if not base.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("the load generator only talks to loopback")
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(base, name, seconds, rate, connections))
    else:
        result = uvloop.run(run(base, name, seconds, rate, connections))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
