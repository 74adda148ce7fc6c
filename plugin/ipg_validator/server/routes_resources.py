"""Conformance resources over HTTP: /metadata, read (`/{type}/{id}`) and search (`/{type}?url=...`).

The routes only call `fhir.search` and `fhir.capabilities`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..fhir.capabilities import capability_statement, rest_security, terminology_capabilities
from ..core.errors import FhirError
from ..fhir.parameters import Params
from ..fhir.search import read_resource, search_bundle
from .negotiation import respond
from .routing import FhirRoute, index_of

router = APIRouter(route_class=FhirRoute)

@router.get("/metadata")
async def metadata(request: Request, mode: str = "full") -> Response:
    """The CapabilityStatement, or with mode=terminology the TerminologyCapabilities."""
    base = _base(request, "metadata")
    if mode == "terminology":
        return respond(request, terminology_capabilities(index_of(request), base))
    if mode not in ("full", "normative"):
        raise FhirError.of(400, "invalid", f"mode={mode!r} is not supported: use full, normative or terminology", "mode")
    settings = getattr(request.app.state, "settings", None)
    security = rest_security(bool(settings and settings.api_keys), bool(settings and settings.cors_origins))
    return respond(request, capability_statement(index_of(request), base, security))


@router.get("/{kind}/{id}")
async def read(request: Request, kind: str, id: str) -> Response:
    """Read one conformance resource by id."""
    return respond(request, read_resource(index_of(request), kind, id))


@router.get("/{kind}")
async def search(request: Request, kind: str) -> Response:
    """Search conformance resources; no match is an empty searchset, not an error."""
    query = Params(request.query_params.multi_items())
    return respond(request, search_bundle(index_of(request), kind, query, _base(request, kind), str(request.url)))


def _base(request: Request, tail: str) -> str:
    """The FHIR base URL (ending in '/') of a request whose path ends in `/{tail}`."""
    url = str(request.url.replace(query="", fragment=""))
    return url[: -len(tail)] if url.endswith(tail) else url.rsplit("/", 1)[0] + "/"
