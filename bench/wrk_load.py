"""The closed-loop (peak) passes: `wrk` with CONNECTIONS keep-alive connections, each sending its next
request as soon as the last is answered, on one thread (the server's workers need the other cores).

GET endpoints cycle through their paths (bench/wrk/paths.lua); the Bundle is POSTed from a file
(bench/wrk/post.lua). `wrk` is the Debian package of that name; `make bench` installs it when missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .loadgen import requests_of

SCRIPTS = Path(__file__).with_name("wrk")
CONNECTIONS = 16
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def available() -> bool:
    """Whether `wrk` is on PATH."""
    return shutil.which("wrk") is not None


def run(base: str, name: str, seconds: float, connections: int = CONNECTIONS) -> dict[str, Any]:
    """One `wrk` pass against `name` (see loadgen.requests_of): requests, errors, req/s, p50 and p99 in seconds."""
    method, paths, body = requests_of(name)
    with tempfile.TemporaryDirectory(prefix="ipg-bench-wrk-") as tmp:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "30s"]
        if body is not None:
            file = Path(tmp) / "body.json"
            file.write_bytes(body)
            command += ["-s", str(SCRIPTS / "post.lua"), base + paths[0], "--", str(file)]
        else:
            command += ["-s", str(SCRIPTS / "paths.lua"), base + paths[0], "--", *paths]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse(done.stdout)


def parse(out: str) -> dict[str, Any]:
    """The figures of wrk's report (with --latency)."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(int(g) for g in sockets.groups()) if sockets else 0)
    latency = {q: _seconds(v) for q, v in re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+\w+)", out, re.M)}
    return {"requests": requests, "rps": rps, "errors": errors, "p50": latency.get("50", float("nan")), "p99": latency.get("99", float("nan"))}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]
