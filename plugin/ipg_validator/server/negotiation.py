"""Content negotiation: FHIR JSON out, FHIR JSON (or plain JSON) in, everything else refused.

Every refusal is a FhirError, so it reaches the client as an OperationOutcome.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..fhir.errors import FhirError
from ..fhir.jsonio import FHIR_JSON, dump_json, parse_json
from ..fhir.limits import Limits, check_bundle_entries
from ..fhir.outcome import operation_outcome
from ..fhir.parameters import Params

FHIR_JSON_UTF8 = f"{FHIR_JSON}; charset=utf-8"
JSON_TYPES = frozenset({FHIR_JSON, "application/json"})
FORMAT_JSON = frozenset({"json", "application/json", FHIR_JSON})
XML_TYPES = frozenset({"application/fhir+xml", "application/xml", "text/xml", "xml"})
UTF8 = frozenset({"utf-8", "utf8"})


class FhirResponse(Response):
    """A FHIR resource as `application/fhir+json; charset=utf-8`, serialised with orjson."""

    media_type = FHIR_JSON_UTF8

    def __init__(self, content: Any, status_code: int = 200, *, pretty: bool = False, headers: dict[str, str] | None = None) -> None:
        self._pretty = pretty
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content: Any) -> bytes:
        return dump_json(content, pretty=self._pretty)


def respond(request: Request, resource: Any, status_code: int = 200) -> FhirResponse:
    """The resource as the response; `_pretty=true` indents it for people reading it."""
    pretty = request.query_params.get("_pretty", "").lower() == "true"
    return FhirResponse(resource, status_code, pretty=pretty)


def error_response(exc: FhirError, headers: dict[str, str] | None = None) -> FhirResponse:
    """A FhirError as its status and OperationOutcome."""
    return FhirResponse(operation_outcome(exc.issues), exc.status, headers=headers)


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


def negotiate(request: Request) -> None:
    """Refuse `_format` other than JSON (415) and an Accept header that only wants XML (406)."""
    for fmt in request.query_params.getlist("_format"):
        if fmt.strip().lower() not in FORMAT_JSON:
            raise FhirError.of(415, "not-supported", f"_format {fmt!r} is not supported: this server only supports JSON (application/fhir+json)", "_format")
    accept = request.headers.get("accept")
    if not accept:
        return
    wanted = []
    for item in accept.split(","):
        kind, params = _media_type(item)
        if kind and params.get("q", "1") not in ("0", "0.0", "0.00", "0.000"):
            wanted.append(kind)
    if wanted and all(kind in XML_TYPES for kind in wanted):
        raise FhirError.of(406, "not-supported", f"Cannot answer in {accept!r}: this server only supports JSON (application/fhir+json)")


def check_content_type(request: Request) -> None:
    """Accept FHIR JSON or JSON bodies in UTF-8 (no Content-Type counts as JSON); others are a 415."""
    header = request.headers.get("content-type")
    if not header or not header.strip():
        return
    kind, params = _media_type(header)
    if kind not in JSON_TYPES:
        raise FhirError.of(415, "not-supported", f"Content-Type {kind!r} is not supported: send application/fhir+json or application/json")
    charset = params.get("charset")
    if charset is not None and charset not in UTF8:
        raise FhirError.of(415, "not-supported", f"charset {charset!r} is not supported: send UTF-8")


async def read_body(request: Request, limits: Limits) -> bytes:
    """The body, refused with 413 once over the limit: by Content-Length first, then as it streams."""
    limit = limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def read_resource(request: Request, limits: Limits) -> Any:
    """The request body as parsed JSON, after the Content-Type, size, nesting-depth and Bundle-entries checks."""
    check_content_type(request)
    resource = parse_json(await read_body(request, limits), max_depth=limits.max_json_depth)
    check_bundle_entries(resource, limits)
    return resource


async def read_params(request: Request, limits: Limits) -> Params:
    """Operation parameters: the query string for GET, a well-formed Parameters resource for POST."""
    if request.method == "POST":
        resource = await read_resource(request, limits)
        return Params.from_resource(resource)
    return Params.from_query(request.query_params.multi_items())


def _too_large(limit: int) -> FhirError:
    return FhirError.of(413, "too-costly", f"The request body is larger than the limit of {limit} bytes")
