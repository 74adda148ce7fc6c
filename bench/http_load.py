"""Over HTTP on loopback: `ipg-validator serve --workers 2`, and the load generator (bench.loadgen) in another process.

Per endpoint: a closed-loop pass (CONCURRENCY requests in flight) gives the peak rate; a second,
open-loop pass at half that rate gives the latency a server sees when it is not saturated. The
server's CPU per request comes from /proc (its workers' user + system time over the pass).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from .server import Server

WORKERS = 2
SECONDS = 10.0  # per pass, after one second of warm-up
CONCURRENCY = 16
ENDPOINTS = ("healthz", "validate-code", "bundle")


@dataclass
class Pass:
    """One load-generator pass and what the server's workers spent on it."""

    result: dict[str, Any]
    server_cpu: float  # worker CPU seconds per request

    @property
    def rps(self) -> float:
        return float(self.result["rps"])


def run() -> tuple[dict[str, tuple[Pass, Pass]], int]:
    """{endpoint: (peak pass, half-peak pass)} and the number of workers."""
    out: dict[str, tuple[Pass, Pass]] = {}
    with Server(workers=WORKERS) as server:
        server.wait_ready()
        server.wait_workers()
        workers = server.worker_pids()
        for name in ENDPOINTS:
            peak = _pass(server, workers, name, None)
            half = _pass(server, workers, name, peak.rps / 2)
            out[name] = (peak, half)
    return out, WORKERS


def _pass(server: Server, workers: list[int], name: str, rate: float | None) -> Pass:
    command = [sys.executable, "-m", "bench.loadgen", server.base, name, str(SECONDS), str(CONCURRENCY)]
    if rate is not None:
        command.append(f"{rate:.1f}")
    before = server.cpu_seconds(workers)
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 60, check=True)
    spent = server.cpu_seconds(workers) - before
    result = json.loads(done.stdout)
    if result["errors"]:
        raise RuntimeError(f"{name}: {result['errors']} requests failed")
    answered = result["requests"] * (1 + 1.0 / SECONDS)  # the warm-up second is served too (roughly at the same rate)
    return Pass(result, spent / answered if answered else float("nan"))
