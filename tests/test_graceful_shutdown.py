"""Graceful shutdown: SIGTERM lets a request in flight finish with its answer, then the server exits."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from test_serve_process import FHIR, Server, start

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bundles import sirt_bundle  # noqa: E402  (the benchmarks' Bundle generator)

ENCOUNTERS = 900  # 9,000 entries: over a second of validation, well inside the entry limit


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start(tmp_path, "graceful", ["--workers", "1", "--graceful-timeout", "60"], {})


def test_request_in_flight_finishes_after_sigterm(server: Server) -> None:
    body = sirt_bundle(ENCOUNTERS)
    answer: dict[str, object] = {}

    def post() -> None:
        response = requests.post(server.base + "/fhir/Bundle/$validate", data=body, headers=FHIR, timeout=120)
        answer["status"], answer["body"] = response.status_code, response.json()

    sender = threading.Thread(target=post)
    started = time.monotonic()
    sender.start()
    time.sleep(0.5)  # the body is sent within milliseconds; its validation takes over a second
    assert "status" not in answer, "the request finished before the signal: the test proves nothing"
    server.process.send_signal(signal.SIGTERM)
    sender.join(timeout=120)
    assert answer.get("status") == 200, answer
    outcome = answer["body"]
    assert isinstance(outcome, dict) and outcome["resourceType"] == "OperationOutcome"
    summaries = [i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == "ipg672-summary"]
    assert len(summaries) == ENCOUNTERS  # the whole answer, not a cut-off one
    # uvicorn re-raises the signal it handled once shutdown is complete, so the status says "SIGTERM"
    assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert any("shutdown" in line.get("message", "").lower() for line in server.lines()), server.log.read_text()[-2000:]
    assert time.monotonic() - started < 120
    with pytest.raises(requests.ConnectionError):
        requests.get(server.base + "/healthz", timeout=2)
