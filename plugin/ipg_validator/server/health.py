"""GET /healthz (the process answers), GET /readyz (content loaded and warm), GET /metrics.

These live outside /fhir and are always open. /readyz answers 503 until the content is loaded
and a first validation has run, then 200 with what is loaded: counts of code systems, value
sets, profiles and rules, and the version of each code system release and value set.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..content.index import ContentIndex
from ..fhir.capabilities import FHIR_VERSION, content_summary, software_version
from .observability import metrics_response

router = APIRouter()

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
