"""The plain ASGI middleware (server.observability.Observe) and the server stack choice (server.serving)."""

from __future__ import annotations

import asyncio
import builtins
import io
import json
import logging
from typing import Any

import pytest
from ipg_validator.server import serving
from ipg_validator.server.observability import REQUESTS, JsonLines, Observe, log_request

Message = dict[str, Any]


def _scope(path: str = "/fhir/metadata", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": headers or [], "query_string": b""}


def _call(app: Any, scope: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    try:
        asyncio.run(run())
    except RuntimeError:
        pass
    return sent


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/fhir+json"), (b"x-request-id", b"from-app")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _boom(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("boom")


@pytest.fixture
def access_lines(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The access log as `serve` configures it: one JsonLines handler on `ipg_validator`, into a buffer."""
    stream = io.StringIO()
    logger = logging.getLogger("ipg_validator")
    monkeypatch.setattr(logger, "handlers", [JsonLines(stream)])
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "level", logging.INFO)
    logging.getLogger("ipg_validator.access").setLevel(logging.NOTSET)
    logging.Logger.manager._clear_cache()
    return stream


def test_request_id_replaces_any_the_app_set_and_is_logged(access_lines: io.StringIO) -> None:
    sent = _call(Observe(_ok), _scope(headers=[(b"x-request-id", b"client-7")]))
    headers = sent[0]["headers"]
    assert [v for k, v in headers if k == b"x-request-id"] == [b"client-7"]
    assert (b"content-type", b"application/fhir+json") in headers
    line = json.loads(access_lines.getvalue().splitlines()[-1])
    assert line["request_id"] == "client-7" and line["status"] == 200 and line["operation"] == "metadata"
    assert line["logger"] == "ipg_validator.access" and line["message"] == "request" and line["level"] == "info"
    assert line["time"].endswith("+00:00") and isinstance(line["pid"], int)


def test_fast_line_equals_the_formatted_record(access_lines: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    fields = {"request_id": "r1", "method": "GET", "path": "/healthz", "operation": "healthz", "status": 200, "duration_ms": 0.5}
    log_request(fields)  # through JsonLines.write_fields
    fast = json.loads(access_lines.getvalue().splitlines()[-1])
    handler = logging.getLogger("ipg_validator").handlers[0]
    record = logging.getLogger("ipg_validator.access").makeRecord("ipg_validator.access", logging.INFO, "", 0, "request", (), None, extra={"fields": fields})
    formatted = json.loads(handler.format(record))
    assert {k: v for k, v in fast.items() if k != "time"} == {k: v for k, v in formatted.items() if k != "time"}


def test_other_logging_set_ups_still_get_records(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ipg_validator.access"):
        _call(Observe(_ok), _scope())
    records = [r for r in caplog.records if r.name == "ipg_validator.access"]
    assert len(records) == 1 and records[0].fields["status"] == 200  # type: ignore[attr-defined]
    assert len(records[0].fields["request_id"]) == 32  # type: ignore[attr-defined]


def test_generated_ids_differ() -> None:
    ids = set()
    for _ in range(50):
        sent = _call(Observe(_ok), _scope())
        ids.add(dict(sent[0]["headers"])[b"x-request-id"])
    assert len(ids) == 50


def test_an_app_that_raises_is_counted_and_logged_as_500(access_lines: io.StringIO) -> None:
    before = REQUESTS.labels(operation="metadata", status="500")._value.get()
    _call(Observe(_boom), _scope())
    assert REQUESTS.labels(operation="metadata", status="500")._value.get() == before + 1
    assert json.loads(access_lines.getvalue().splitlines()[-1])["status"] == 500


def test_the_app_answers_an_unexpected_error_as_an_outcome_without_a_trace(index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from ipg_validator.server import routes_terminology
    from ipg_validator.server.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    client = TestClient(create_app(index, warm_up=False), raise_server_exceptions=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(routes_terminology, "run_operation", broken)  # what every terminology route calls
    response = client.get("/fhir/CodeSystem/$lookup", params={"system": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4", "code": "J12.3"})
    assert response.status_code == 500 and response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome" and "internal detail" not in response.text
    assert "Traceback" not in response.text


def test_fast_stack_when_installed() -> None:
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    assert serving.server_stack() == ("uvloop", "httptools")


@pytest.mark.parametrize("missing", ["uvloop", "httptools"])
def test_stack_falls_back_when_a_part_is_missing(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    real_import = builtins.__import__

    def without(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == missing or name.startswith(missing + "."):
            raise ImportError(f"No module named {missing!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    monkeypatch.setattr(serving.importlib, "import_module", lambda name: without(name))
    loop, http = serving.server_stack()
    assert (loop == "asyncio") == (missing == "uvloop") and (http == "h11") == (missing == "httptools")
    from ipg_validator.settings import Settings

    options = serving.uvicorn_options(Settings())
    assert (options["loop"], options["http"]) == (loop, http) and options["ws"] == "none" and options["access_log"] is False


@pytest.mark.parametrize(("method", "length", "inline"), [
    ("GET", None, True), ("POST", "3500", True), ("POST", "16384", True), ("POST", "16385", False),
    ("POST", None, False), ("POST", "12abc", False),  # chunked or odd bodies go to the thread pool, where the time budget applies
])
def test_small_requests_are_answered_in_the_event_loop(method: str, length: str | None, inline: bool) -> None:
    from ipg_validator.server.offload import small
    from starlette.requests import Request

    headers = [(b"content-length", length.encode())] if length is not None else []
    assert small(Request({"type": "http", "method": method, "path": "/fhir/Bundle/$validate", "headers": headers})) is inline
