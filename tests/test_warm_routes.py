"""The start-up warm-up sends each kind of request through the app itself (every middleware, the
real routes), and it is not traffic: no access-log line, no metric sample."""

from __future__ import annotations

import asyncio
import logging
import warnings

import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.server import create_app
from ipg_validator.server.warm import warm_routes
from ipg_validator.server.observability import FINDINGS, LATENCY, REQUESTS, WARM_UP_EXTENSION, WARM_UP_REQUESTS, WARM_UP_SECONDS
from ipg_validator.settings import Settings
from prometheus_client import Metric

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _samples(*metrics: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of these metrics, by name and labels."""
    out = {}
    for metric in metrics:
        for family in metric.collect():  # type: ignore[attr-defined]
            assert isinstance(family, Metric)
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_every_warm_request_is_answered(index: ContentIndex) -> None:
    statuses = asyncio.run(warm_routes(create_app(index, warm_up=False), index))
    assert len(statuses) >= 10 and set(statuses.values()) == {200}, statuses


def test_warm_requests_pass_the_api_key_check(index: ContentIndex) -> None:
    app = create_app(index, settings=Settings(api_keys=("secret-key",)), warm_up=False)
    assert set(asyncio.run(warm_routes(app, index, "secret-key")).values()) == {200}
    assert asyncio.run(warm_routes(app, index))["POST /fhir/Bundle/$validate"] == 401  # the check itself still holds


def test_warm_up_is_neither_logged_nor_counted(index: ContentIndex, caplog: pytest.LogCaptureFixture) -> None:
    before = _samples(REQUESTS, LATENCY, FINDINGS)
    with caplog.at_level(logging.INFO, logger="ipg_validator.access"):
        app = create_app(index)
        with TestClient(app) as client:  # the lifespan runs the warm-up
            assert _samples(REQUESTS, LATENCY, FINDINGS) == before
            assert not [r for r in caplog.records if r.name == "ipg_validator.access"]
            client.get("/healthz")  # a real request is both
    assert len([r for r in caplog.records if r.name == "ipg_validator.access"]) == 1
    healthz = ("ipg_requests_total", (("operation", "healthz"), ("status", "200")))
    assert _samples(REQUESTS)[healthz] == before.get(healthz, 0) + 1


def test_warm_up_is_off_when_asked(index: ContentIndex) -> None:
    app = create_app(index, warm_up=False)
    assert app.state.warm_routes is False


def test_warm_up_has_its_own_figures(index: ContentIndex) -> None:
    """The warm-up is counted apart from traffic: its requests by status, and how long it took."""
    before = _samples(WARM_UP_REQUESTS, WARM_UP_SECONDS)
    with TestClient(create_app(index)):
        after = _samples(WARM_UP_REQUESTS, WARM_UP_SECONDS)
    ok = ("ipg_warm_up_requests_total", (("status", "200"),))
    assert after[ok] - before.get(ok, 0) >= 10
    assert after[("ipg_warm_up_seconds_count", ())] == before.get(("ipg_warm_up_seconds_count", ()), 0) + 1


def test_the_warm_up_mark_is_the_scope_extension(index: ContentIndex) -> None:
    """A request carrying the warm-up extension (which an HTTP client cannot set) is left out of the metrics."""
    app = create_app(index, warm_up=False)
    before = _samples(REQUESTS)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/healthz", "raw_path": b"/healthz", "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "extensions": {WARM_UP_EXTENSION: {}}}
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert _samples(REQUESTS) == before
