"""GET /healthz (the process answers), GET /readyz (content loaded and warm), GET /metrics; and the warm-up.

These live outside /fhir and are always open. /readyz answers 503 until the content is loaded
and a first validation has run, then 200 with what is loaded: counts of code systems, value
sets, profiles and rules, and the version of each code system release and value set.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message

from ..content.index import ContentIndex
from ..fhir.capabilities import FHIR_VERSION, content_summary, software_version
from ..core.jsonio import dump_json, parse_json
from ..core.limits import Limits
from ..fhir.parameters import Params
from ..fhir.terminology_ops import expand_op, validate_code_op
from ..fhir.validate_op import validate_operation
from ..web.examples import examples_folder
from .observability import WARM_UP_EXTENSION, metrics_response

router = APIRouter()

OPCS4 = "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"
ICD10 = "http://hl7.org/fhir/sid/icd-10-uk"
VS = "https://ipg-validator.org/fhir/ValueSet/"


_ALIVE = b'{"status":"ok"}'
_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    """The process is alive and answering (a body written once, not encoded per request)."""
    return Response(_ALIVE, media_type="application/json", headers=_NO_STORE)


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Ready once the content is loaded and warm: 200 with what is loaded, else 503."""
    state = request.app.state
    index: ContentIndex | None = getattr(state, "index", None)
    if index is None or not getattr(state, "ready", False):
        return JSONResponse({"status": "starting"}, status_code=503, headers={"Cache-Control": "no-store", "Retry-After": "1"})
    return JSONResponse(readiness(index, getattr(state, "content_load_seconds", None)), headers={"Cache-Control": "no-store"})


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus metrics (every worker's, in multi-process mode)."""
    return metrics_response()


def readiness(index: ContentIndex, load_seconds: float | None) -> dict[str, Any]:
    """The /readyz body: counts and versions of the loaded content."""
    counts = index.counts()
    return {
        "status": "ready",
        "software": {"name": "ipg-validator", "version": software_version()},
        "fhirVersion": FHIR_VERSION,
        "counts": {
            "codeSystems": counts.get("CodeSystem", 0),
            "valueSets": counts.get("ValueSet", 0),
            "namingSystems": counts.get("NamingSystem", 0),
            "profiles": counts.get("StructureDefinition", 0),
            "rules": counts.get("rules", 0),
        },
        "codeSystems": content_summary(index),
        "valueSets": [{"url": url, "version": vs.get("version")} for url, versions in sorted(index.value_sets.items()) for vs in versions],
        "ruleSets": [{"id": rs.id, "title": rs.title} for rs in index.rule_sets],
        "contentLoadSeconds": round(load_seconds, 3) if load_seconds is not None else None,
    }


def _warm_bundle() -> dict[str, Any]:
    patient, encounter = "urn:uuid:00000000-0000-4000-8000-000000000001", "urn:uuid:00000000-0000-4000-8000-000000000002"
    def coded(n: int, kind: str, system: str, code: str) -> dict[str, Any]:
        resource: dict[str, Any] = {"resourceType": kind, "subject": {"reference": patient}, "encounter": {"reference": encounter},
                                    "code": {"coding": [{"system": system, "code": code}]}}
        if kind == "Procedure":
            resource["status"] = "completed"
        return {"fullUrl": f"urn:uuid:00000000-0000-4000-8001-{n:012d}", "resource": resource}
    entries = [
        {"fullUrl": patient, "resource": {"resourceType": "Patient"}},
        {"fullUrl": encounter, "resource": {"resourceType": "Encounter", "status": "finished", "subject": {"reference": patient},
                                            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SS"}}},
        *(coded(n, "Procedure", OPCS4, code) for n, code in enumerate(("J12.3", "X65.3", "Y36.4", "Y53.4"))),
        *(coded(n + 10, "Condition", ICD10, code) for n, code in enumerate(("C78.7", "C18.7"))),
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _shipped_examples() -> list[Path]:
    folder = examples_folder()
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json")) if folder else []


def warm(index: ContentIndex, limits: Limits = Limits()) -> float:
    """Run each kind of work once (JSON, structure models, rules, membership, expansion) so the
    first request is as fast as later ones; returns the seconds it took."""
    started = time.perf_counter()
    body = parse_json(dump_json(_warm_bundle()), max_depth=limits.max_json_depth)
    dump_json(validate_operation(index, body, "Bundle"))
    for example in _shipped_examples():  # realistic Bundles: the R4B models import each data type on first use
        dump_json(validate_operation(index, parse_json(example.read_bytes()), "Bundle"))
    for kind, system, code in (("Procedure", OPCS4, "J12.3"), ("Condition", ICD10, "C78.7")):
        validate_operation(index, {"resourceType": kind, "status": "completed", "subject": {"reference": "Patient/x"},
                                   "code": {"coding": [{"system": system, "code": code}]}}, kind)
    params = Params([("url", VS + "ipg672-procedures"), ("system", OPCS4), ("code", "J12.3")])
    try:
        validate_code_op(index, params, resource_type="ValueSet", limits=limits)
        expand_op(index, Params([("url", VS + "ipg672-diagnoses")]), limits=limits)
    except Exception:  # noqa: BLE001  (other content may lack these sets: warming is best effort)
        pass
    return time.perf_counter() - started


def _route_requests() -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, path, query, JSON body) of each kind of request clients send."""
    coded = {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/x"},
             "code": {"coding": [{"system": OPCS4, "code": "X65.3"}]}}
    condition = {**coded, "resourceType": "Condition", "code": {"coding": [{"system": ICD10, "code": "C18.7"}]}}
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS + "ipg672-diagnoses"}, {"name": "coding", "valueCoding": {"system": ICD10, "code": "C78.7"}}]}
    return [
        ("GET", "/healthz", {}, b""),
        ("GET", "/readyz", {}, b""),
        ("POST", "/fhir/Bundle/$validate", {}, dump_json(_warm_bundle())),
        ("POST", "/fhir/Procedure/$validate", {}, dump_json(coded)),
        ("POST", "/fhir/Condition/$validate", {}, dump_json(condition)),
        ("GET", "/fhir/ValueSet/$validate-code", {"url": VS + "ipg672-procedures", "system": OPCS4, "code": "X65.3"}, b""),
        ("POST", "/fhir/ValueSet/$validate-code", {}, dump_json(parameters)),
        ("GET", "/fhir/CodeSystem/$validate-code", {"url": ICD10, "code": "C78.7"}, b""),
        ("GET", "/fhir/CodeSystem/$lookup", {"system": OPCS4, "code": "J12.3"}, b""),
        ("GET", "/fhir/ValueSet/$expand", {"url": VS + "ipg672-procedures"}, b""),
        ("GET", "/fhir/metadata", {}, b""),
    ]


async def warm_routes(app: ASGIApp, api_key: str | None = None) -> dict[str, int]:
    """Send each kind of request once through `app` (every middleware, the real routes) so that the
    framework's per-route set-up is done before the first client; marked as warm-up, so the access
    log and the metrics leave them out. Returns the status of each, by path."""
    statuses: dict[str, int] = {}
    headers = [(b"host", b"warm-up"), (b"content-type", b"application/fhir+json"), (b"accept", b"application/fhir+json")]
    if api_key:
        headers.append((b"authorization", b"Bearer " + api_key.encode()))
    for method, path, query, body in _route_requests():
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": urlencode(query).encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), "extensions": {WARM_UP_EXTENSION: {}},
        }
        answer: list[Message] = []
        try:
            await app(scope, _Body(body), _collect(answer))
        except Exception:  # noqa: BLE001  (the app re-raises what it answered 500 to: warming is best effort)
            pass
        statuses[f"{method} {path}"] = next((int(m["status"]) for m in answer if m["type"] == "http.response.start"), 500)
    return statuses


class _Body:
    """An ASGI `receive` that gives one request body, then says the client left."""

    def __init__(self, body: bytes) -> None:
        self.body: bytes | None = body

    async def __call__(self) -> Message:
        if self.body is None:
            return {"type": "http.disconnect"}
        body, self.body = self.body, None
        return {"type": "http.request", "body": body, "more_body": False}


def _collect(into: list[Message]) -> Any:
    async def send(message: Message) -> None:
        into.append(message)

    return send
