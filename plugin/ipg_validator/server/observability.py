"""One JSON log line per request, and Prometheus metrics (`GET /metrics`).

The log line holds the request id (the client's `X-Request-Id`, else a new one, echoed in the
response), method, path, operation, status and duration, and for $validate the number of issues
by severity. Never a body, a query string or a header value other than the request id: no
patient data reaches the logs.

Metrics work with several uvicorn worker processes: `ipg-validator serve --workers N` points
`PROMETHEUS_MULTIPROC_DIR` at an empty folder before the workers start, each worker writes its
samples there, and `/metrics` (whichever worker answers) adds up every worker's samples.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from collections import Counter as Tally
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.outcome import TX_ISSUE_TYPE
from ..core.results import SEVERITY_ORDER

ACCESS_LOG = logging.getLogger("ipg_validator.access")
REQUEST_ID = "x-request-id"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
WARM_UP_EXTENSION = "ipg-validator.warm-up"  # an ASGI scope extension (clients cannot set one): the start-up's own requests
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_OPEN = ("healthz", "readyz", "metrics")
_TYPES = frozenset({"CodeSystem", "ValueSet", "NamingSystem", "StructureDefinition", "OperationDefinition",
                    "CapabilityStatement", "TerminologyCapabilities", "Bundle", "Procedure", "Condition"})
_OPERATIONS = frozenset({"$validate", "$validate-code", "$expand", "$lookup", "$subsumes", "$translate"})

REQUESTS = Counter("ipg_requests_total", "HTTP requests answered, by operation and status", ["operation", "status"])
LATENCY = Histogram(
    "ipg_request_duration_seconds", "Time to answer a request, by operation and status", ["operation", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FINDINGS = Counter("ipg_validation_findings_total", "Issues reported by $validate, by rule (or message) id and severity", ["rule", "severity"])
WARM_UP_SECONDS = Histogram("ipg_warm_up_seconds", "Time each worker spent at start answering one request of each kind through itself (not client traffic)",
                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
WARM_UP_REQUESTS = Counter("ipg_warm_up_requests_total", "Requests each worker sent through itself at start, by status (not client traffic)", ["status"])
CONTENT_LOAD = Gauge("ipg_content_load_seconds", "Seconds taken to load and index the content at start", multiprocess_mode="max")
CONTENT_RESOURCES = Gauge("ipg_content_resources", "Content loaded, by resource type (rules: guidance rules)", ["type"], multiprocess_mode="max")
GUIDANCE_PACKS = Gauge("ipg_guidance_pack_rules", "Guidance packs loaded: the rules each holds, by pack id, guidance and version",
                       ["pack", "guidance", "version"], multiprocess_mode="max")


def operation_of(method: str, path: str) -> str:
    """A bounded name for what a request asks: `ValueSet/$validate-code`, `read`, `metadata`, `healthz`, ..."""
    key = (method, path)
    found = _OPERATION_MEMO.get(key)
    if found is None:
        found = _operation_of(method, path)
        if len(_OPERATION_MEMO) < _MEMO_LIMIT:  # paths of reads carry ids: bounded, first come first kept
            _OPERATION_MEMO[key] = found
    return found


_OPERATION_MEMO: dict[tuple[str, str], str] = {}
_MEMO_LIMIT = 4096


def _operation_of(method: str, path: str) -> str:
    if path.strip("/") in _OPEN:
        return path.strip("/")
    if path != "/fhir" and not path.startswith("/fhir/"):
        return "other"
    parts = [p for p in path[len("/fhir"):].split("/") if p]
    if not parts:
        return "other"
    kind = parts[0] if parts[0] in _TYPES else "other"
    if parts[-1].startswith("$"):
        return f"{kind}/{parts[-1] if parts[-1] in _OPERATIONS else '$other'}"
    if parts == ["metadata"]:
        return "metadata"
    if method == "OPTIONS":
        return "options"
    return {1: f"{kind}/search", 2: f"{kind}/read"}.get(len(parts), "other")


def request_id(scope: Scope) -> str:
    """The client's X-Request-Id when it is a plain token of up to 128 characters, else a new random id
    (32 hex digits, as a UUID's; from `random`, which reseeds in every forked worker: ids, not secrets)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1")).strip()
            if _SAFE_ID.fullmatch(text):
                return text
    return f"{random.getrandbits(128):032x}"


class Observe:
    """ASGI middleware: request id, one JSON log line and the metrics, for every HTTP request.

    Plain ASGI (no BaseHTTPMiddleware, no Request object): it reads the scope, adds the X-Request-Id
    header to the response start and records when the last body message leaves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or WARM_UP_EXTENSION in scope.get("extensions", ()):
            await self.app(scope, receive, send)  # the warm-up is not traffic: neither logged nor counted
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        method, path = scope["method"], scope["path"]
        operation = operation_of(method, path)
        keep_body = operation.endswith("/$validate")
        body: list[bytes] = []
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            seconds = time.perf_counter() - started
            requests, latency = _series(operation, status)
            requests.inc()
            latency.observe(seconds)
            fields: dict[str, Any] = {
                "request_id": rid, "method": method, "path": path[:256],
                "operation": operation, "status": status, "duration_ms": round(seconds * 1000, 2),
            }
            if keep_body and status == 200:
                outcome = scope["state"].get("outcome")  # set by the $validate routes
                fields["issues"] = _count_findings(outcome if isinstance(outcome, dict) else b"".join(body))
            log_request(fields)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*(h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"),
                                      (b"x-request-id", rid.encode("latin-1"))]
            elif kind == "http.response.body":
                if keep_body:
                    body.append(message.get("body", b""))
                if not message.get("more_body", False) and not recorded:
                    record()  # before the last byte leaves: a client that has its answer sees it counted
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not recorded:
                record()


def log_request(fields: dict[str, Any]) -> None:
    """The access-log line of one request: written straight by the JSON-lines handler when that is all the
    configuration does with it (as `serve` sets it up), else as a record through the logging module."""
    sink = _access_sink()
    if sink is not None:
        sink.write_fields(ACCESS_LOG.name, "request", fields)
    elif ACCESS_LOG.isEnabledFor(logging.INFO):  # a record made directly: no walk up the stack for the caller
        ACCESS_LOG.handle(ACCESS_LOG.makeRecord(ACCESS_LOG.name, logging.INFO, "", 0, "request", (), None, extra={"fields": fields}))


def _access_sink() -> JsonLines | None:
    """The one JsonLines handler the access log reaches, when nothing else (filter, other handler) is in the way."""
    logger = ACCESS_LOG
    if logger.handlers or logger.filters or not logger.propagate or not logger.isEnabledFor(logging.INFO):
        return None
    parent = logger.parent
    if parent is None or parent.propagate or parent.filters or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if type(handler) is not JsonLines or handler.filters or handler.level > logging.INFO:
        return None
    return handler


_SERIES: dict[tuple[str, int], tuple[Any, Any]] = {}


def _series(operation: str, status: int) -> tuple[Any, Any]:
    """The request counter and latency histogram of (operation, status); both label sets are bounded."""
    found = _SERIES.get((operation, status))
    if found is None:
        labels = {"operation": operation, "status": str(status)}
        found = _SERIES[(operation, status)] = (REQUESTS.labels(**labels), LATENCY.labels(**labels))
    return found


_FINDING_SERIES: dict[tuple[str, str], Any] = {}


def _finding(rule: str, severity: str) -> Any:
    """The findings counter of (rule, severity), looked up once (rule ids, message ids and severities are bounded sets)."""
    found = _FINDING_SERIES.get((rule, severity))
    if found is None:
        found = _FINDING_SERIES[(rule, severity)] = FINDINGS.labels(rule=rule, severity=severity)
    return found


def _count_findings(answer: bytes | dict[str, Any]) -> dict[str, int]:
    """Issues by severity in a $validate OperationOutcome (as sent, or its bytes); also counted per rule id in the metrics."""
    try:
        outcome = answer if isinstance(answer, dict) else orjson.loads(answer)
    except orjson.JSONDecodeError:
        return {}
    issues = outcome.get("issue") if isinstance(outcome, dict) else None
    severities: Tally[str] = Tally()
    for issue in issues if isinstance(issues, list) else ():
        if not isinstance(issue, dict):
            continue
        severity = str(issue.get("severity", "unknown"))
        severities[severity] += 1
        _finding(_rule_of(issue), severity).inc()
    return {s: severities[s] for s in sorted(severities, key=lambda s: SEVERITY_ORDER.get(s, 9))}


def _rule_of(issue: dict[str, Any]) -> str:
    """The guidance rule id (the code of a rule set's own code system: any but tx-issue-type, so every
    loaded guidance counts alike); else the message id; else the issue code (all bounded sets)."""
    codings = (issue.get("details") or {}).get("coding") or []
    for coding in codings:
        if isinstance(coding, dict) and coding.get("system") not in (None, TX_ISSUE_TYPE) and coding.get("code"):
            return str(coding["code"])
    for ext in issue.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == MESSAGE_ID and ext.get("valueString"):
            return str(ext["valueString"])[:64]
    return f"issue-{issue.get('code', 'unknown')}"


def record_warm_up(seconds: float, statuses: Iterable[int]) -> None:
    """The start-up warm-up's own figures. Recording them also sets up this worker's counter and histogram
    files (prometheus multiprocess mode), which the first client request would otherwise pay for."""
    WARM_UP_SECONDS.observe(seconds)
    for status in statuses:
        WARM_UP_REQUESTS.labels(status=str(status)).inc()


def record_content(load_seconds: float, counts: dict[str, int]) -> None:
    """Set the content gauges (each worker sets its own; /metrics shows the largest)."""
    CONTENT_LOAD.set(load_seconds)
    for kind, count in counts.items():
        CONTENT_RESOURCES.labels(type=kind).set(count)


def record_packs(packs: Iterable[tuple[str, str, str, int]]) -> None:
    """Set the guidance-pack gauge: (pack id, guidance, version, how many rules) of each loaded pack."""
    for pack, guidance, version, rules in packs:
        GUIDANCE_PACKS.labels(pack=pack, guidance=guidance, version=version).set(rules)


def metrics_response() -> Response:
    """The Prometheus text exposition: every worker's samples when in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        error = self.formatException(record.exc_info) if record.exc_info else None
        return json_line(record.created, record.levelname.lower(), record.name, record.getMessage(), record.process,
                         fields if isinstance(fields, dict) else None, error)


def json_line(created: float, level: str, logger: str, message: str, pid: int | None,
              fields: dict[str, Any] | None = None, error: str | None = None) -> str:
    """One log line: time (UTC, milliseconds), level, logger, message, pid, then the fields (and the error)."""
    out: dict[str, Any] = {"time": _utc_time(created), "level": level, "logger": logger, "message": message, "pid": pid}
    if fields:
        out.update(fields)
    if error is not None:
        out["error"] = error
    try:
        return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson cannot write (an integer past 64 bits): the standard library can
        return json.dumps(out, default=str)


_second: tuple[int, str] = (-1, "")  # the last whole second written and its text: one datetime per second, not per line


def _utc_time(created: float) -> str:
    global _second
    whole = int(created)
    second, text = _second
    if second != whole:
        text = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _second = (whole, text)
    return f"{text}.{int((created - whole) * 1000):03d}+00:00"


class JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The log handler of `serve`: JSON lines on a stream. The access log hands it its fields directly
    (`write_fields`), the same line JsonFormatter makes of a record, without building the record."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter())

    def write_fields(self, logger: str, message: str, fields: dict[str, Any]) -> None:
        line = json_line(time.time(), "info", logger, message, os.getpid(), fields)
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except Exception:  # noqa: BLE001  (as logging does: a broken stream never fails the request)
                self.handleError(logging.makeLogRecord({"msg": message, "name": logger}))


def log_config(level: str) -> dict[str, Any]:
    """logging.dictConfig for uvicorn and the service: JSON lines on stderr."""
    upper = "DEBUG" if level.lower() == "trace" else level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"class": f"{__name__}.JsonLines", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "ipg_validator": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }
