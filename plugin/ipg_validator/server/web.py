"""The web page: `/` validates a Bundle, `/reference` lists the code sets, profiles and rules.

The pages are static files that call the FHIR API (`$validate`, ValueSet search and `$expand`,
`/metadata`); `/web/api/` adds only what that API does not give: the shipped examples, the
rules files, and each encounter's checklist. The routes call plain functions in `ipg_validator.web`.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from ..content.index import ContentIndex
from ..fhir.capabilities import software_version
from ..core.errors import FhirError
from ..core.limits import Limits
from ..web import STATIC
from ..web.checklist import bundle_checklists
from ..web.examples import example_list, example_path
from .access import BearerAuth
from .negotiation import read_resource
from .routing import PageRoute, index_of, limits_of

PAGES = {"/": "index.html", "/reference": "reference.html"}
# The pages load only their own files: no CDN, no inline script, nothing from another origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}


def static_files(folder: Path = STATIC) -> dict[str, Path]:
    """The files the page may load, by name: only what is in the folder, so no path reaches outside it."""
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")} if folder.is_dir() else {}


def page_settings(limits: Limits, fhir_base: str, api_keys: Sequence[str] = (), guidance: str = "") -> dict[str, Any]:
    """What the page needs to know about this server (whether it asks for an API key, never the keys; the loaded
    guidance packs' names, "IPG672")."""
    return {"fhirBase": fhir_base, "maxBodyBytes": limits.max_body_bytes, "version": software_version(), "apiKeyRequired": bool(api_keys),
            "guidance": guidance}


def api_keys_of(request: Request) -> tuple[str, ...]:
    """The API keys the app was configured with (none: the service is open)."""
    return tuple(getattr(getattr(request.app.state, "settings", None), "api_keys", ()) or ())


def check_api_key(keys: Sequence[str], authorization: str | None) -> None:
    """The checklist runs the validator on the body, so it asks for the same bearer key as /fhir when keys are set."""
    if not keys:
        return
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise FhirError.of(401, "login", "This server needs an API key: send it as 'Authorization: Bearer <key>'")
    if not BearerAuth(_no_app, keys).known(token.strip().encode("utf-8")):
        raise FhirError.of(401, "login", "The API key is not known to this server")


async def _no_app(scope: Any, receive: Any, send: Any) -> None:  # BearerAuth is used here only to compare keys
    return None


def rule_files(index: ContentIndex) -> dict[str, Any]:
    """The loaded guidance rules files, as written (ids, severities, standards, message templates)."""
    return {"ruleSets": [_plain(rules) for rules in index.rules]}


def _plain(value: Any) -> Any:
    """Frozen content (mapping proxies, tuples) as plain JSON data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def web_router(fhir_base: str = "/fhir") -> APIRouter:
    """The pages, their static files and `/web/api/`; the FHIR router must be served at `fhir_base`."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)
    files = static_files()

    for path, name in PAGES.items():
        router.add_api_route(path, _page(files.get(name)), methods=["GET"], name=f"page {name}")

    @router.get("/web/static/{name}")
    async def static(name: str) -> Response:
        found = files.get(name)
        if found is None:
            raise FhirError.of(404, "not-found", f"There is no file {name!r} in the page's static files")
        media = STATIC_TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return FileResponse(found, media_type=media, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    @router.get("/web/api/settings")
    async def settings(request: Request) -> Response:
        return JSONResponse(page_settings(limits_of(request), fhir_base, api_keys_of(request), index_of(request).guidance))

    @router.get("/web/api/examples")
    async def examples(request: Request) -> Response:
        folders = index_of(request).example_folders()
        return JSONResponse({"examples": await run_in_threadpool(example_list, folders)})

    @router.get("/web/api/examples/{name}")
    async def example(request: Request, name: str) -> Response:
        found = example_path(name, index_of(request).example_folders())
        if found is None:
            raise FhirError.of(404, "not-found", f"There is no example called {name!r}")
        return FileResponse(found, media_type="application/fhir+json", headers={"Cache-Control": "no-cache"})

    @router.get("/web/api/rules")
    async def rules(request: Request) -> Response:
        return JSONResponse(rule_files(index_of(request)))

    @router.post("/web/api/checklist")
    async def checklist(request: Request) -> Response:
        """Each encounter's checklist; the body is read as `Bundle/$validate` reads it (400, 413, 415 alike)."""
        check_api_key(api_keys_of(request), request.headers.get("authorization"))
        body = await read_resource(request, limits_of(request))
        found = await run_in_threadpool(bundle_checklists, index_of(request), body, profile=request.query_params.get("profile"))
        return JSONResponse({"encounters": found})

    return router


def _page(found: Path | None) -> Any:
    async def page() -> Response:
        if found is None:
            raise FhirError.of(404, "not-found", "The web page is not installed")
        return FileResponse(found, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return page
