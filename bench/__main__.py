"""`make bench`: every benchmark, one table; each figure beside a baseline measured in the same run.

In process: median of repeated rounds (min and max shown). Over HTTP: requests per second as the
median of one-second windows of a 10 s pass (min and max windows shown), latency percentiles over
the pass. Start-up: median of three starts (min and max shown).
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from . import bundle_validation, first_request, http_load, startup, validate_code, wrk_load
from .timing import Timing


@dataclass
class Row:
    name: str
    value: str
    low: str
    high: str
    baseline: str
    base_value: str
    ratio: float | None
    target: str = ""
    met: bool | None = None


def _us(t: Timing) -> tuple[str, str, str]:
    return f"{t.median * 1e6:,.1f} µs", f"{t.low * 1e6:,.1f}", f"{t.high * 1e6:,.1f}"


def in_process() -> tuple[list[Row], Timing]:
    rows = []
    for name, timing, base in validate_code.run():
        rows.append(Row(name, *_us(timing), "dict membership of the normalised code", _us(base)[0], timing.median / base.median))
    bundle_10 = None
    per_entry: dict[int, float] = {}
    for name, timing, base, base_name, entries, mode in bundle_validation.run():
        ratio = timing.median / base.median
        target, met = "", None
        if mode == "full" and base_name == "fhir.resources R4B parse":
            target, met = "≤ 1.3x", ratio <= 1.3
            per_entry[entries] = timing.median / entries
            if entries == 10:
                bundle_10 = timing
        if mode == "coding-only":
            target, met = "≤ 5x", ratio <= 5
        rows.append(Row(name, *_us(timing), base_name, _us(base)[0], ratio, target, met))
    big, small = max(per_entry), min(per_entry)
    rows.append(Row(f"$validate per entry, {big:,} vs {small} entries", f"{per_entry[big] * 1e6:,.1f} µs", "", "",
                    f"per entry at {small} entries", f"{per_entry[small] * 1e6:,.1f} µs", per_entry[big] / per_entry[small], "linear: ≈ 1x"))
    assert bundle_10 is not None
    return rows, bundle_10


def over_http(bundle_10: Timing) -> list[Row]:
    endpoints, workers = http_load.run()
    bare = endpoints["bare"]
    rows = []
    names = {"bare": "HTTP GET /healthz of a bare FastAPI app (baseline)", "healthz": "HTTP GET /healthz",
             "validate-code": "HTTP GET ValueSet/$validate-code", "bundle": "HTTP POST Bundle/$validate (10 entries)"}
    targets = {"healthz": 0.90, "validate-code": 0.80}
    for key, e in endpoints.items():
        low, high = e.rps_range
        value = f"{e.rps:,.0f} req/s"
        name = f"{names[key]} peak, wrk {wrk_load.CONNECTIONS} conns (load {e.load:.1f})"
        if key == "bare":
            rows.append(Row(name, value, f"{low:,.0f}", f"{high:,.0f}", "", "", None))
        else:
            goal = targets.get(key)
            rows.append(Row(name, value, f"{low:,.0f}", f"{high:,.0f}", "bare endpoint, same run", f"{bare.rps:,.0f} req/s", e.rps / bare.rps,
                            f"≥ {goal:.2f}x" if goal else "", e.rps / bare.rps >= goal if goal else None))
        if key == "bundle":
            allowed = workers / bundle_10.median
            rows.append(Row(f"{names[key]} peak", value, f"{low:,.0f}", f"{high:,.0f}", f"in-process rate on {workers} workers", f"{allowed:,.0f} req/s",
                            e.rps / allowed, "≥ 0.80x", e.rps / allowed >= 0.80))
        rows.append(Row("  server CPU per request", f"{e.server_cpu * 1e6:,.0f} µs", "", "", "" if key == "bare" else "bare endpoint",
                        "" if key == "bare" else f"{bare.server_cpu * 1e6:,.0f} µs", None if key == "bare" else e.server_cpu / bare.server_cpu))
        rows.append(Row("  latency at peak: p99", _ms(e.latency("p99")), "", "", "p50 at peak", _ms(e.latency("p50")), _ratio(e.latency("p99"), e.latency("p50"))))
        h = e.half
        ratio = _ratio(h["p99"], h["p50"])
        rows.append(Row(f"  open loop at half peak ({h['rate']:,.0f} req/s sent, {h['rps']:,.0f} answered; client {h['client_cpu_us']:,.0f} µs CPU/req): p99",
                        _ms(h["p99"]), "", "", "p50 at half peak", _ms(h["p50"]), ratio, "< 3x", ratio < 3))
    return rows


def first_requests() -> list[Row]:
    rows = []
    names = {"bundle": "first POST Bundle/$validate of a worker", "validate-code": "first GET ValueSet/$validate-code of a worker"}
    for key, (first, later) in first_request.run().items():
        ms = f"{first.median * 1e3:,.2f} ms", f"{first.low * 1e3:,.2f}", f"{first.high * 1e3:,.2f}"
        rows.append(Row(f"{names[key]} (server time)", *ms, "later requests, same worker", f"{later.median * 1e3:,.2f} ms",
                        first.median / later.median, "≈ 1x"))
    return rows


def starting() -> list[Row]:
    rows = []
    results = startup.run()
    first = next(iter(results.values()))
    for name, s in results.items():
        label = f"{name} ({s.codes:,} codes)"
        rows.append(Row(f"start-up to /readyz, {label}", f"{s.ready.median:.2f} s", f"{s.ready.low:.2f}", f"{s.ready.high:.2f}",
                        "" if s is first else "shipped fragments", "" if s is first else f"{first.ready.median:.2f} s",
                        None if s is first else s.ready.median / first.ready.median, "< 2 s", s.ready.median < 2))
        rows.append(Row("  every worker loaded and warm", f"{s.all_workers.median:.2f} s", f"{s.all_workers.low:.2f}", f"{s.all_workers.high:.2f}", "", "", None))
        rows.append(Row("  resident memory, all server processes: sum of VmRSS", f"{s.rss_total.median:,.0f} MB", f"{s.rss_total.low:,.0f}",
                        f"{s.rss_total.high:,.0f}", "" if s is first else "shipped fragments", "" if s is first else f"{first.rss_total.median:,.0f} MB",
                        None if s is first else s.rss_total.median / first.rss_total.median, "< 250 MB", s.rss_total.median < 250))
        rows.append(Row("  resident memory, all server processes: sum of PSS", f"{s.pss_total.median:,.0f} MB", f"{s.pss_total.low:,.0f}",
                        f"{s.pss_total.high:,.0f}", "" if s is first else "shipped fragments", "" if s is first else f"{first.pss_total.median:,.0f} MB",
                        None if s is first else s.pss_total.median / first.pss_total.median, "< 250 MB", s.pss_total.median < 250))
        rows.append(Row("  resident memory, largest worker", f"{s.rss_worker.median:,.0f} MB", f"{s.rss_worker.low:,.0f}", f"{s.rss_worker.high:,.0f}",
                        "", "", None, "< 250 MB", s.rss_worker.median < 250))
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else float("nan")


def main() -> None:
    only = set(os.environ.get("BENCH_ONLY", "in-process,http,first,start-up").split(","))  # a part of the run, e.g. BENCH_ONLY=in-process,http
    rows, bundle_10 = in_process()
    if "in-process" not in only:
        rows = []
    if "http" in only:
        rows += over_http(bundle_10)
    if "first" in only:
        rows += first_requests()
    if "start-up" in only:
        rows += starting()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    table = Table(title=f"ipg-validator benchmarks ({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {cpu})")
    for column in ("benchmark", "median", "min", "max", "baseline", "baseline median", "ratio", "target"):
        table.add_column(column, justify="left" if column in ("benchmark", "baseline") else "right")
    for r in rows:
        verdict = "" if r.met is None else (" met" if r.met else " MISSED")
        table.add_row(r.name, r.value, r.low, r.high, r.baseline, r.base_value, "" if r.ratio is None else f"{r.ratio:.2f}x", r.target + verdict)
    Console(width=190).print(table)
    print("Every baseline is measured in the same run, on the same machine; the HTTP load generators (wrk, bench.loadgen) run on the same cores;"
          f" load average at the end {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min).")


if __name__ == "__main__":
    main()
