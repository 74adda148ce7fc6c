"""`make soak`: the server as a user runs it, under a steady loopback load, with zero errors and flat memory.

Starts `ipg-validator serve --workers 2` on a free 127.0.0.1 port, waits for /readyz, sends a
warm-up load, reads the resident memory of the server processes (the parent and its workers,
summed from /proc), then sends a steady mixed load (ValueSet/$validate-code, ValueSet/$expand,
CodeSystem/$lookup, Bundle/$validate; a fixed number of requests at a fixed rate, loopback only)
and reads the memory again. Prints the figures; exits 1 when a request failed (an exception, or a
status other than the one expected) or memory at the end is more than 10% above after warm-up.

    python -m bench.soak [--duration 60] [--warmup 15] [--rate 40] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from .procs import memory_mb, process_tree

ROOT = Path(__file__).resolve().parents[1]
VS = "https://ipg-validator.org/fhir/ValueSet/"
OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
FHIR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
MEMORY_TOLERANCE = 0.10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests_mix() -> list[tuple[str, str, str, Any, int]]:
    """(name, method, path, params or body, expected status): the operations a client mixes."""
    mix: list[tuple[str, str, str, Any, int]] = []
    for code in ("J12.3", "X65.3", "Y53.4", "J12.4", "J123"):
        mix.append(("validate-code", "GET", "/fhir/ValueSet/$validate-code", {"url": VS + "ipg672-procedures", "system": OPCS4, "code": code}, 200))
    for code in ("C78.7", "C18.7", "Z85.0"):
        mix.append(("validate-code", "GET", "/fhir/ValueSet/$validate-code", {"url": VS + "ipg672-diagnoses", "system": ICD10, "code": code}, 200))
    mix.append(("expand", "GET", "/fhir/ValueSet/$expand", {"url": VS + "ipg672-diagnoses"}, 200))
    mix.append(("expand", "GET", "/fhir/ValueSet/$expand", {"url": VS + "ipg672-procedures", "filter": "liver"}, 200))
    mix.append(("lookup", "GET", "/fhir/CodeSystem/$lookup", {"system": OPCS4, "code": "J12.3"}, 200))
    mix.append(("lookup", "GET", "/fhir/CodeSystem/$lookup", {"system": ICD10, "code": "C78.7"}, 200))
    for path in sorted((ROOT / "guidance" / "ipg672" / "examples").glob("*.json")):
        if not path.name.endswith(".expected.json"):
            mix.append(("Bundle/$validate", "POST", "/fhir/Bundle/$validate", path.read_bytes(), 200))
    return mix


class Load:
    """A fixed number of requests at a steady rate, spread over a few threads."""

    def __init__(self, base: str, rate: float, threads: int) -> None:
        self.base, self.rate, self.threads = base, rate, threads
        self.mix = requests_mix()
        self.lock = threading.Lock()
        self.sent: Counter[str] = Counter()
        self.errors: list[str] = []
        self.latency: list[float] = []

    def run(self, seconds: float) -> None:
        total = int(seconds * self.rate)
        start = time.monotonic() + 0.2
        schedule = iter(range(total))

        def worker() -> None:
            session = requests.Session()
            while True:
                with self.lock:
                    n = next(schedule, None)
                if n is None:
                    return
                delay = start + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.one(session, self.mix[n % len(self.mix)])

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    def one(self, session: requests.Session, request: tuple[str, str, str, Any, int]) -> None:
        name, method, path, data, expected = request
        began = time.perf_counter()
        try:
            if method == "GET":
                response = session.get(self.base + path, params=data, headers=FHIR, timeout=30)
            else:
                response = session.post(self.base + path, data=data, headers=FHIR, timeout=30)
            ok = response.status_code == expected and response.json().get("resourceType") is not None
            problem = None if ok else f"{name}: HTTP {response.status_code}"
        except (requests.RequestException, ValueError) as exc:
            problem = f"{name}: {type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - began
        with self.lock:
            self.sent[name] += 1
            self.latency.append(elapsed)
            if problem:
                self.errors.append(problem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_SECONDS", 60)), help="seconds of measured load (default 60)")
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("SOAK_WARMUP", 15)), help="seconds of warm-up load before the first memory reading")
    parser.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 40)), help="requests per second (default 40)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args(argv)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exe = Path(sys.executable).with_name("ipg-validator")
    command = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers), "--log-level", "warning"]
    print(f"soak: {' '.join(command[1:])}")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                print(f"soak: the server exited with {server.returncode}: {server.stderr.read().decode(errors='replace')[-2000:]}")
                return 1
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                print("soak: the server was not ready within 120 s")
                return 1
            time.sleep(0.25)
        time.sleep(1)  # every worker up
        Load(base, args.rate, args.threads).run(args.warmup)
        pids = process_tree(server.pid)
        warm = sum(memory_mb(pids, "status", "VmRSS").values())
        load = Load(base, args.rate, args.threads)
        began = time.monotonic()
        load.run(args.duration)
        took = time.monotonic() - began
        end = sum(memory_mb(process_tree(server.pid), "status", "VmRSS").values())
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group, started above
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    total = sum(load.sent.values())
    growth = (end - warm) / warm if warm else 0.0
    lat = sorted(load.latency)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0  # noqa: E731
    print(f"soak: {total} requests in {took:.1f} s ({total / took:.1f}/s; target {args.rate:g}/s), {len(load.errors)} errors")
    print("soak: by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(load.sent.items())))
    print(f"soak: latency ms: median {statistics.median(lat) * 1000 if lat else 0:.1f}, p95 {p(0.95):.1f}, p99 {p(0.99):.1f}, max {p(1.0):.1f}")
    print(f"soak: server processes {len(pids)}; RSS after warm-up {warm:.1f} MiB, at the end {end:.1f} MiB ({growth:+.1%}; limit +{MEMORY_TOLERANCE:.0%})")
    for problem, count in Counter(load.errors).most_common(10):
        print(f"soak: error x{count}: {problem}")
    failed = bool(load.errors) or growth > MEMORY_TOLERANCE or total == 0
    print("soak: FAIL" if failed else "soak: PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
