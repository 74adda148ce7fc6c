"""Request limits in-process: nesting depth, Bundle entries, the time budget, and the IPG_* settings."""

from __future__ import annotations

import time
import warnings

import httpx
import orjson
import pytest
from ipg_validator.content.index import ContentIndex
from ipg_validator.core.errors import FhirError
from ipg_validator.core.jsonio import parse_json
from ipg_validator.core.limits import Limits, check_bundle_entries, depth_within
from ipg_validator.server import create_app
from ipg_validator.server.limits import TimeBudget
from ipg_validator.settings import SETTINGS, Settings, SettingsError, flag_overrides
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from conftest import ROOT
from support.server import in_thread

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FHIR = {"Content-Type": "application/fhir+json"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_within() -> None:
    assert depth_within(orjson.loads(nested(5)), 5) and not depth_within(orjson.loads(nested(6)), 5)
    assert depth_within({"a": [{"b": 1}], "c": "[[[[[[[["}, 3) and not depth_within({"a": [{"b": []}]}, 3)
    assert depth_within("scalar", 1) and depth_within({}, 1)


def test_parse_json_depth() -> None:
    assert parse_json(nested(100)) == orjson.loads(nested(100))
    with pytest.raises(FhirError) as deep:
        parse_json(nested(101))
    assert deep.value.status == 413 and "nested more than 100 levels" in deep.value.issues[0].text
    with pytest.raises(FhirError) as beyond:  # past orjson's own limit: the same clear answer
        parse_json(nested(5000), max_depth=None)
    assert beyond.value.status == 413 and "1024" in beyond.value.issues[0].text
    with pytest.raises(FhirError) as bad:
        parse_json(b"{nope")
    assert bad.value.status == 400


def test_bundle_entries() -> None:
    limits = Limits(max_bundle_entries=2)
    check_bundle_entries({"resourceType": "Bundle", "entry": [{}, {}]}, limits)
    check_bundle_entries({"resourceType": "Patient", "entry": [{}, {}, {}]}, limits)
    with pytest.raises(FhirError) as err:
        check_bundle_entries({"resourceType": "Bundle", "entry": [{}, {}, {}]}, limits)
    assert err.value.status == 413 and err.value.issues[0].expression == ("Bundle.entry",)
    with pytest.raises(FhirError):
        check_bundle_entries({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Bundle", "entry": [{}] * 3}}]}, limits)


def test_limits_over_http(index: ContentIndex) -> None:
    client = TestClient(create_app(index, limits=Limits(max_json_depth=20, max_bundle_entries=7), warm_up=False))
    deep = client.post("/fhir/Bundle/$validate", content=b'{"resourceType":"Bundle","x":' + nested(25) + b"}", headers=FHIR)
    assert deep.status_code == 413 and deep.json()["issue"][0]["code"] == "too-costly"
    many = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Basic"}}] * 8}
    assert client.post("/fhir/Bundle/$validate", content=orjson.dumps(many), headers=FHIR).status_code == 413
    example = (ROOT / "guidance" / "ipg672" / "examples" / "missing-x65-3.json").read_bytes()
    assert client.post("/fhir/Bundle/$validate", content=example, headers=FHIR).status_code == 200


def _slow_app(budget: float) -> Starlette:
    async def slow(request):  # type: ignore[no-untyped-def]
        await run_in_threadpool(time.sleep, 0.5)
        return PlainTextResponse("late")

    async def quick(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("quick")

    async def failing(request):  # type: ignore[no-untyped-def]
        await run_in_threadpool(time.sleep, 0.3)
        raise RuntimeError("after the deadline")

    app = Starlette(routes=[Route("/fhir/slow", slow), Route("/fhir/quick", quick), Route("/fhir/failing", failing), Route("/healthz", slow)])
    app.add_middleware(TimeBudget, seconds=budget)
    return app


def test_time_budget() -> None:
    with in_thread(_slow_app(0.05)) as base, httpx.Client(base_url=base, timeout=5) as client:
        started = time.monotonic()
        response = client.get("/fhir/slow")
        assert time.monotonic() - started < 0.45  # answered at the deadline, not when the work ends
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["issue"][0]["code"] == "timeout"
        assert client.get("/fhir/quick").text == "quick"  # the same connection, while the slow work goes on
        assert client.get("/fhir/failing").status_code == 503  # its failure after the 503 goes nowhere
        assert client.get("/healthz").text == "late"  # outside /fhir: no budget
    assert TestClient(_slow_app(0)).get("/fhir/slow").text == "late"  # 0: no budget


def test_settings_defaults_and_env() -> None:
    defaults = Settings.from_env({})
    assert defaults.limits == Limits() and defaults.time_budget == 30 and defaults.port == 8080 and defaults.workers >= 1
    settings = Settings.from_env({"IPG_MAX_BUNDLE_ENTRIES": "5", "IPG_MAX_JSON_DEPTH": "50", "IPG_TIME_BUDGET": "2.5",
                                  "IPG_WORKERS": "3", "IPG_CORS_ORIGINS": "https://a.example, https://b.example", "IPG_PORT": ""})
    assert settings.limits.max_bundle_entries == 5 and settings.limits.max_json_depth == 50
    assert settings.time_budget == 2.5 and settings.workers == 3 and settings.port == 8080
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert Settings.from_env(settings.to_env()) == settings  # what the workers rebuild
    for bad in ({"IPG_MAX_JSON_DEPTH": "2000"}, {"IPG_PORT": "http"}, {"IPG_LOG_LEVEL": "loud"}, {"IPG_TIME_BUDGET": "-1"}, {"IPG_WORKERS": "0"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings.from_env(bad)


def test_flags_override_env() -> None:
    assert flag_overrides(port=9000, workers=None, cors_origin=["https://x.example"]) == {"IPG_PORT": "9000", "IPG_CORS_ORIGINS": "https://x.example"}
    assert {s.env for s in SETTINGS} >= {"IPG_API_KEYS", "IPG_MAX_BODY_BYTES", "IPG_TIME_BUDGET"}


def test_every_setting_documented() -> None:
    doc = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.env}`" in doc, setting.env
