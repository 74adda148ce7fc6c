"""The load generator, run in its own process: `python -m bench.loadgen BASE ENDPOINT SECONDS CONCURRENCY [RATE]`.

An asyncio httpx client on loopback, for a bounded time and with a bounded number of requests in
flight. Without RATE it is closed-loop (CONCURRENCY clients each sending the next request as soon
as the last is answered: the peak rate); with RATE it sends on a fixed schedule (open loop) and
times each request from when it was due, so a queue in front of the server counts as latency.
One second of warm-up is not counted. Prints one JSON object: requests, errors, requests per
second (median, min and max over one-second windows), p50 and p99 latency in seconds, and the
CPU this client used (a client near 100% of a core is itself the limit).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
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
WARM_UP = 1.0

Request = Callable[[httpx.AsyncClient, int], Any]


def endpoint(name: str) -> Request:
    """What one request of `name` sends: `healthz`, `validate-code` or `bundle` (a 10-entry Bundle)."""
    if name == "healthz":
        return lambda client, n: client.get("/healthz")
    if name == "validate-code":
        queries = [{"url": VS + vs, "system": system, "code": code} for vs, system, code in CODES]
        return lambda client, n: client.get("/fhir/ValueSet/$validate-code", params=queries[n % len(queries)])
    if name == "bundle":
        body = sirt_bundle(1)
        headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
        return lambda client, n: client.post("/fhir/Bundle/$validate", content=body, headers=headers)
    raise SystemExit(f"unknown endpoint {name!r}")


async def run(base: str, name: str, seconds: float, concurrency: int, rate: float | None) -> dict[str, Any]:
    send = endpoint(name)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done: list[tuple[float, float]] = []  # (finished at, latency)
    errors = 0
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        counter = iter(range(1 << 62))

        async def one(due: float) -> None:
            nonlocal errors
            try:
                response = await send(client, next(counter))
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            finished = time.perf_counter()
            if ok:
                done.append((finished, finished - due))
            else:
                errors += 1

        start = time.perf_counter()
        measure_from, end = start + WARM_UP, start + WARM_UP + seconds
        cpu_start: list[float] = []
        if rate is None:
            async def loop() -> None:
                while (now := time.perf_counter()) < end:
                    await one(now)
            watcher = asyncio.create_task(_mark_cpu(measure_from, cpu_start))
            await asyncio.gather(*(loop() for _ in range(concurrency)))
            await watcher
        else:
            gate = asyncio.Semaphore(concurrency)
            tasks: set[asyncio.Task[None]] = set()

            async def gated(due: float) -> None:
                async with gate:
                    await one(due)

            watcher = asyncio.create_task(_mark_cpu(measure_from, cpu_start))
            k = 0
            while (due := start + k / rate) < end:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(gated(due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                k += 1
            await watcher
            if tasks:
                await asyncio.gather(*tasks)
        cpu = time.process_time() - (cpu_start[0] if cpu_start else 0.0)
        wall = max(time.perf_counter(), end) - measure_from
    counted = [(t, lat) for t, lat in done if measure_from <= t < end]
    windows = [0] * max(1, int(seconds))
    for t, _ in counted:
        slot = int(t - measure_from)
        if slot < len(windows):
            windows[slot] += 1
    latencies = sorted(lat for _, lat in counted)
    return {
        "endpoint": name, "requests": len(counted), "errors": errors, "seconds": seconds,
        "rps": statistics.median(windows), "rps_min": min(windows), "rps_max": max(windows),
        "p50": _quantile(latencies, 0.50), "p99": _quantile(latencies, 0.99),
        "client_cpu": cpu / wall if wall > 0 else 0.0, "rate": rate, "concurrency": concurrency,
    }


async def _mark_cpu(at: float, out: list[float]) -> None:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    out.append(time.process_time())


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str]) -> None:
    base, name, seconds, concurrency = argv[0], argv[1], float(argv[2]), int(argv[3])
    rate = float(argv[4]) if len(argv) > 4 else None
    if not base.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("the load generator only talks to loopback")
    print(orjson.dumps(asyncio.run(run(base, name, seconds, concurrency, rate))).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
