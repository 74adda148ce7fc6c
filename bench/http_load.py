"""Over HTTP on loopback: a bare FastAPI endpoint (bench.bare) and `ipg-validator serve`, both with WORKERS
workers and the same uvicorn settings, one after the other, each loaded by `wrk` and then by the
open-loop client (bench.loadgen).

Per endpoint: PASSES closed-loop `wrk` passes of SECONDS (CONNECTIONS connections, one thread),
after one unmeasured pass of a second: the peak rate is their median (min and max shown); then one
open-loop pass of OPEN_SECONDS at half that rate gives the latency a server sees when it is not
saturated. The server's CPU per request comes from /proc (its workers' user + system time over the
peak passes), and the machine's load average is read before each endpoint.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import wrk_load
from .server import Server, cpu_seconds, free_port

WORKERS = 2
PASSES = 3
SECONDS = 4.0
OPEN_SECONDS = 8.0
ENDPOINTS = ("healthz", "validate-code", "bundle")


@dataclass
class Endpoint:
    """What one endpoint did: its peak passes, the open-loop pass and what the server's workers spent."""

    peaks: list[dict[str, Any]]
    server_cpu: float  # worker CPU seconds per request over the peak passes
    half: dict[str, Any]
    load: float  # 1-minute load average when the endpoint's passes began
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return statistics.median(p["rps"] for p in self.peaks)

    @property
    def rps_range(self) -> tuple[float, float]:
        return min(p["rps"] for p in self.peaks), max(p["rps"] for p in self.peaks)

    def latency(self, q: str) -> float:
        """The peak passes' median p50 or p99."""
        return statistics.median(p[q] for p in self.peaks)


def run() -> tuple[dict[str, Endpoint], int]:
    """{"bare": ..., endpoint: ...} and the number of workers."""
    out: dict[str, Endpoint] = {}
    with Bare(WORKERS) as bare:
        bare.wait_ready()
        out["bare"] = measure(bare.base, bare.worker_pids(), "bare")
    with Server(workers=WORKERS) as server:
        server.wait_ready()
        server.wait_workers()
        workers = server.worker_pids()
        for name in ENDPOINTS:
            out[name] = measure(server.base, workers, name)
    return out, WORKERS


def measure(base: str, workers: Sequence[int], name: str) -> Endpoint:
    """The peak passes, then the open-loop pass at half the peak."""
    load = os.getloadavg()[0]
    wrk_load.run(base, name, 1.0)  # connections made, caches warm: not counted
    before = cpu_seconds(workers)
    peaks = []
    for _ in range(PASSES):
        peaks.append(_checked(name, wrk_load.run(base, name, SECONDS)))
    spent = cpu_seconds(workers) - before
    answered = sum(p["requests"] for p in peaks)
    endpoint = Endpoint(peaks, spent / answered if answered else float("nan"), {}, load)
    endpoint.half = _checked(name, open_loop(base, name, endpoint.rps / 2))
    return endpoint


def open_loop(base: str, name: str, rate: float) -> dict[str, Any]:
    """One pass of bench.loadgen in its own process."""
    command = [sys.executable, "-m", "bench.loadgen", base, name, str(OPEN_SECONDS), f"{rate:.1f}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=OPEN_SECONDS + 60, check=True)
    return dict(json.loads(done.stdout))


def _checked(name: str, result: dict[str, Any]) -> dict[str, Any]:
    if result["errors"]:
        raise RuntimeError(f"{name}: {result['errors']} requests failed")
    return result


class Bare(Server):
    """bench.bare (a bare FastAPI endpoint) served like `ipg-validator serve --workers N`, on a free loopback port."""

    def __init__(self, workers: int = 2) -> None:  # noqa: D107  (no super().__init__: another command)
        import tempfile

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.started = time.perf_counter()
        self.log = tempfile.NamedTemporaryFile(prefix="ipg-bench-bare-", suffix=".log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPG_") and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.process = subprocess.Popen([sys.executable, "-m", "bench.bare", str(self.port), str(workers)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until /healthz answers, on every worker's behalf (a few requests)."""
        import httpx

        with httpx.Client(base_url=self.base, timeout=2.0) as client:
            while time.perf_counter() - self.started < timeout:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the bare server exited with {self.process.returncode}")
                try:
                    if client.get("/healthz").status_code == 200 and len(self.worker_pids()) >= self.workers:
                        time.sleep(0.5)  # the other worker too
                        return time.perf_counter() - self.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"the bare server was not ready within {timeout} s")
