"""The first requests a freshly started worker answers against the ones after: `ipg-validator serve
--workers 1`, ready, then a Bundle $validate and a ValueSet/$validate-code, each first once and then
REPEATS times. Times are the server's own (`duration_ms` of its access-log line), so the client and
the connection do not count; median of RUNS starts for the first request."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import httpx

from .bundles import sirt_bundle
from .loadgen import CODES, VS
from .server import Server
from .timing import Timing

RUNS = 3
REPEATS = 30
FHIR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


def run() -> dict[str, tuple[Timing, Timing]]:
    """{request: (first request of a worker, later requests)} in seconds."""
    firsts: dict[str, list[float]] = {"bundle": [], "validate-code": []}
    later: dict[str, list[float]] = {"bundle": [], "validate-code": []}
    body = sirt_bundle(1)
    for _ in range(RUNS):
        with Server(workers=1) as server:
            server.wait_ready()
            with httpx.Client(base_url=server.base, timeout=30.0) as client:
                for n in range(REPEATS + 1):
                    client.post("/fhir/Bundle/$validate", content=body, headers={**FHIR, "X-Request-Id": f"bundle-{n}"})
                    vs, system, code = CODES[n % len(CODES)]
                    client.get("/fhir/ValueSet/$validate-code", params={"url": VS + vs, "system": system, "code": code},
                               headers={"X-Request-Id": f"validate-code-{n}"})
            durations = _durations(Path(server.log.name))
            for name in firsts:
                firsts[name].append(durations[f"{name}-0"])
                later[name] += [durations[f"{name}-{n}"] for n in range(1, REPEATS + 1)]
    return {name: (_timing(firsts[name]), _timing(later[name])) for name in firsts}


def _durations(log: Path) -> dict[str, float]:
    """Seconds per request id, from the server's JSON access-log lines."""
    out = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "duration_ms" in record:
            out[str(record.get("request_id"))] = float(record["duration_ms"]) / 1000
    return out


def _timing(values: list[float]) -> Timing:
    return Timing(statistics.median(values), min(values), max(values))


if __name__ == "__main__":
    for name, (first, rest) in run().items():
        print(f"{name}: first {first.median * 1e3:.2f} ms ({first.low * 1e3:.2f}-{first.high * 1e3:.2f}), "
              f"later {rest.median * 1e3:.2f} ms ({rest.low * 1e3:.2f}-{rest.high * 1e3:.2f}), ratio {first.median / rest.median:.2f}x")
