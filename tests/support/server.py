"""`ipg-validator serve` started as a user starts it, on a free loopback port, for tests of real clients."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

START_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback TCP port nobody is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script() -> str:
    """The installed `ipg-validator` command next to this interpreter."""
    found = Path(sys.executable).parent / ("ipg-validator.exe" if os.name == "nt" else "ipg-validator")
    assert found.exists(), f"the ipg-validator script is not installed next to {sys.executable}"
    return str(found)


@contextmanager
def serving(access_log: Path | None = None) -> Iterator[str]:
    """`ipg-validator serve` on a free port; yields its FHIR base URL once /fhir/metadata answers, stops it after.

    With `access_log`, the server logs at `info` and its log lines (one JSON line per request) go to that file."""
    port = free_port()
    level = "info" if access_log is not None else "warning"
    log = access_log.open("wb") if access_log is not None else None
    proc = subprocess.Popen(
        [script(), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", level],
        stdout=log if log is not None else subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/fhir"
    try:
        _wait_until_ready(proc, url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if log is not None:
            log.close()


def _wait_until_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    """Poll /metadata until it answers 200; fail the test if the process exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"ipg-validator serve exited with {proc.returncode}: {output}")
        try:
            if requests.get(f"{url}/metadata", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"ipg-validator serve did not answer /fhir/metadata within {START_TIMEOUT:.0f} s")
        time.sleep(0.1)


@contextmanager
def in_thread(app: Any) -> Iterator[str]:
    """`app` served by a real uvicorn in a background thread on a free loopback port (bound here, so no other
    process can take it first); yields the base URL once it serves. A client sees each answer when its last byte
    is sent, not when the application returns, which is all TestClient can tell."""
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def log_lines(log: Path) -> list[dict[str, Any]]:
    """The JSON log lines `serve` wrote to `log` (lines that are not a JSON object skipped)."""
    out = []
    for text in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            found = json.loads(text)
        except ValueError:
            continue
        if isinstance(found, dict):
            out.append(found)
    return out


def logged_requests(log: Path) -> list[dict[str, Any]]:
    """The access-log line of every request the server answered."""
    return [line for line in log_lines(log) if line.get("message") == "request"]
