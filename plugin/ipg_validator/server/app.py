"""The FastAPI application: the FHIR router at /fhir, content loaded once, every error an OperationOutcome.

Standalone::

    app = create_app(content=["/path/to/trud-release"])   # serve with uvicorn

Inside another FastAPI app, mount the router under any prefix and give it the content::

    from ipg_validator.content.loader import load_content
    from ipg_validator.server import fhir_router

    host.include_router(fhir_router(), prefix="/fhir")
    host.state.index = load_content()          # or: fhir_router(index=load_content())

The router answers its own FhirErrors (415, 413, 404 not-found, ...) as OperationOutcomes, so it
needs none of the handlers below; those cover what happens outside it (unknown routes, 405, 500).

The standalone app adds, around the router: /healthz, /readyz and /metrics (server.health), a
JSON log line and metrics per request (server.observability), bearer tokens and CORS when
configured (server.access) and the per-request time budget (server.limits). `ipg-validator serve`
runs `app_from_environment`, which builds the app from the `IPG_*` variables (settings.py).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from dataclasses import replace
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..content.index import ContentIndex
from ..content.loader import load_content
from ..core.errors import FhirError
from ..core.jsonio import FHIR_JSON
from ..core.limits import Limits
from ..fhir.capabilities import software_version
from ..settings import Settings
from .access import BearerAuth, cors
from .health import router as health_router
from .warm import warm, warm_routes
from .limits import TimeBudget
from .negotiation import error_response
from .observability import Observe, record_content, record_packs, record_warm_up
from .routes_resources import router as resources_router
from .routes_terminology import router as terminology_router
from .routes_validate import router as validate_router
from .routing import FhirRoute, add_routes, binder
from .web import web_router

log = logging.getLogger("ipg_validator.server")

_HTTP_ISSUE = {404: "not-found", 405: "not-supported", 406: "not-supported", 413: "too-costly", 415: "not-supported"}


def fhir_router(index: ContentIndex | None = None, *, limits: Limits | None = None) -> APIRouter:
    """Every FHIR route; content from `index`/`limits` when given, else from `app.state.index`/`.limits`."""
    bound = [Depends(binder(index, limits))] if index is not None or limits is not None else []  # else app.state's
    router = APIRouter(route_class=FhirRoute, dependencies=bound)
    add_routes(router, terminology_router)  # first: `/ValueSet/$expand` is not a read of id "$expand"
    add_routes(router, validate_router)  # Resource/$validate (POST) before the generic read/search routes
    add_routes(router, resources_router)
    return router


def create_app(
    index: ContentIndex | None = None,
    *,
    content: Sequence[Path | str] = (),
    limits: Limits | None = None,
    settings: Settings | None = None,
    warm_up: bool = True,
    load_seconds: float | None = None,
) -> FastAPI:
    """The service, with `index` or the content loaded now from the shipped folders plus `content`.

    `settings` (default: the defaults, with `limits` when given) adds the time budget, the API keys
    and the CORS origins; `warm_up` runs a first validation before the app is returned;
    `load_seconds` is how long loading `index` took (for /readyz and the metrics).
    """
    if settings is None:
        settings = Settings(limits=limits) if limits is not None else Settings()
    elif limits is not None:
        settings = replace(settings, limits=limits)
    app = FastAPI(
        title="ipg-validator",
        version=software_version(),
        description="FHIR R4 terminology validation of NHS clinical coding against NICE guidance packs, over OPCS-4 and ICD-10 UK",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=_warm_event_loop,
    )
    app.state.ready = False
    started = time.perf_counter()
    app.state.index = index if index is not None else load_content(content)
    app.state.content_load_seconds = time.perf_counter() - started if index is None else load_seconds
    if app.state.content_load_seconds is not None:
        record_content(app.state.content_load_seconds, app.state.index.counts())
    record_packs((rules.id, rules.guidance, rules.version, len(rules.rules)) for rules in app.state.index.rule_sets)
    app.state.limits = settings.limits
    app.state.settings = settings
    add_routes(app.router, health_router)  # flat: no router branch to match on every request
    add_routes(app.router, fhir_router(), prefix="/fhir")
    add_routes(app.router, web_router(fhir_base="/fhir"))  # the web page at / and /reference
    app.openapi = lambda: fhir_openapi(app)  # type: ignore[method-assign]
    app.add_exception_handler(FhirError, _fhir_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    # add_middleware wraps what is there: the last added runs first (Observe sees every answer).
    if settings.time_budget > 0:
        app.add_middleware(TimeBudget, seconds=settings.time_budget)
    if settings.api_keys:
        app.add_middleware(BearerAuth, keys=settings.api_keys)
    if settings.cors_origins:
        app.add_middleware(cors, origins=settings.cors_origins)
    app.add_middleware(Observe)
    if warm_up:
        warm(app.state.index, settings.limits)
    app.state.warm_routes = warm_up  # through the app itself, once it serves (the lifespan below)
    app.state.ready = True
    return app


@asynccontextmanager
async def _warm_event_loop(app: FastAPI) -> AsyncIterator[None]:
    """Before the first request, in the serving event loop: set up the thread pool the operations run in
    (its first use costs about 18 ms), then send each kind of request once through the app, so the
    framework's per-route set-up (about 10 ms on the first Bundle) is done too. The content and
    models are warmed when the app is created."""
    await run_in_threadpool(lambda: None)
    if getattr(app.state, "warm_routes", False):
        keys = app.state.settings.api_keys
        started = time.perf_counter()
        statuses = await warm_routes(app, app.state.index, keys[0] if keys else None)
        record_warm_up(time.perf_counter() - started, statuses.values())
    yield


_preloaded: tuple[ContentIndex, float] | None = None


def preload(index: ContentIndex | None, load_seconds: float | None) -> None:
    """Content already loaded from the `IPG_CONTENT` folders, for workers forked from this process
    (server.serving); `app_from_environment` then uses it instead of loading it again."""
    global _preloaded
    _preloaded = (index, load_seconds) if index is not None and load_seconds is not None else None


def app_from_environment() -> FastAPI:
    """The app as `ipg-validator serve` runs it in each worker: settings and content from `IPG_*` variables
    (the content as loaded before the fork, when the worker was forked from `ipg-validator serve`)."""
    settings = Settings.from_env(os.environ)
    if _preloaded is not None:
        index, load_seconds = _preloaded
    else:
        started = time.perf_counter()
        index = load_content(settings.content)
        load_seconds = time.perf_counter() - started
    app = create_app(index, settings=settings, load_seconds=load_seconds)
    log.info("content loaded and warm", extra={"fields": {"content_load_seconds": round(load_seconds, 3), "counts": index.counts()}})
    return app


_RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
_OUTCOME = {"type": "object", "required": ["resourceType", "issue"],
            "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "minItems": 1, "items": {"type": "object"}}}}


def _body_types(path: str) -> list[str]:
    kind = path.removeprefix("/fhir/").split("/")[0]
    return [kind, "Parameters"] if path.endswith("/$validate") else ["Parameters"]


def fhir_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI description (`app.openapi()`; not served, `openapi_url` is None) with what the routes
    read from the request themselves: POST bodies as FHIR JSON resources, every answer FHIR JSON, and
    errors as OperationOutcomes. Used by the schemathesis tests."""
    if app.openapi_schema is None:
        with warnings.catch_warnings():  # routes answering GET and POST share an operationId: made unique below
            warnings.simplefilter("ignore")
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                operation["operationId"] = f"{method}_{path}"
            if not path.startswith("/fhir/"):
                continue
            for method, operation in operations.items():
                operation["responses"] = {
                    "200": {"description": "A FHIR resource", "content": {FHIR_JSON: {"schema": _RESOURCE}}},
                    "default": {"description": "An OperationOutcome saying why not", "content": {FHIR_JSON: {"schema": _OUTCOME}}},
                }
                if method == "post":
                    body = {**_RESOURCE, "properties": {"resourceType": {"enum": _body_types(path)}}}
                    operation["requestBody"] = {"required": True, "content": {FHIR_JSON: {"schema": body}}}
        app.openapi_schema = schema
    return app.openapi_schema


async def _fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    where = [".".join(str(part) for part in err.get("loc", ())) for err in exc.errors()]
    return error_response(FhirError.of(400, "invalid", f"The request is not valid: {', '.join(where) or 'unknown'}"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        text = f"There is nothing at {request.url.path}"
    elif exc.status_code == 405:
        text = f"{request.method} is not allowed on {request.url.path}"
    else:
        text = str(exc.detail)
    code = _HTTP_ISSUE.get(exc.status_code, "processing")
    return error_response(FhirError.of(exc.status_code, code, text), headers=dict(exc.headers) if exc.headers is not None else None)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("Unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(FhirError.of(500, "exception", "The server could not answer this request (an internal error was logged)"))
