"""Content negotiation: FHIR JSON or FHIR XML in and out, everything else refused.

The answer's format is `_format` if given, else the preferred of JSON and XML in `Accept`, else
the format the body came in, else JSON. An XML body is read into its JSON form (fhir.xml) before
anything else sees it, so every check and every FHIRPath is the same for both. Every refusal is
a FhirError, so it reaches the client as an OperationOutcome.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..core.errors import FhirError
from ..core.jsonio import FHIR_JSON, dump_json, parse_json
from ..core.limits import Limits, check_bundle_entries
from ..core.outcome import operation_outcome
from ..fhir.parameters import Params
from ..fhir.xml import FHIR_XML, XmlWriteError, dump_xml, parse_xml

FHIR_JSON_UTF8 = f"{FHIR_JSON}; charset=utf-8"
FHIR_XML_UTF8 = f"{FHIR_XML}; charset=utf-8"
JSON_TYPES = frozenset({FHIR_JSON, "application/json"})
FORMAT_JSON = frozenset({"json", "application/json", FHIR_JSON, "text/json"})
XML_TYPES = frozenset({FHIR_XML, "application/xml", "text/xml", "xml"})
XML_MEDIA = XML_TYPES - {"xml"}  # `xml` is a _format value, not a media type
UTF8 = frozenset({"utf-8", "utf8"})
JSON, XML = "json", "xml"
_BODY_FORMAT = "ipg_validator_body_format"


class FhirResponse(Response):
    """A FHIR resource as `application/fhir+json; charset=utf-8`, serialised with orjson."""

    media_type = FHIR_JSON_UTF8

    def __init__(self, content: Any, status_code: int = 200, *, pretty: bool = False, headers: dict[str, str] | None = None) -> None:
        self._pretty = pretty
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content: Any) -> bytes:
        return dump_json(content, pretty=self._pretty)


class FhirXmlResponse(FhirResponse):
    """A FHIR resource as `application/fhir+xml; charset=utf-8` (fhir.xml)."""

    media_type = FHIR_XML_UTF8

    def render(self, content: Any) -> bytes:
        return dump_xml(content, pretty=self._pretty)


def respond(request: Request, resource: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The resource as the response, in the negotiated format; `_pretty=true` indents it for people reading it."""
    pretty = request.query_params.get("_pretty", "").lower() == "true"
    if answer_format(request) == XML:
        try:
            return FhirXmlResponse(resource, status_code, pretty=pretty, headers=headers)
        except XmlWriteError as exc:
            refused = FhirError.of(406, "not-supported", f"This answer cannot be written as XML ({exc}): ask for JSON (_format=json)")
            return FhirXmlResponse(operation_outcome(refused.issues), refused.status, pretty=pretty)
    return FhirResponse(resource, status_code, pretty=pretty, headers=headers)


def error_response(exc: FhirError, headers: dict[str, str] | None = None, request: Request | None = None) -> Response:
    """A FhirError as its status and OperationOutcome (in the negotiated format when `request` is given, else JSON)."""
    if request is not None:
        return respond(request, operation_outcome(exc.issues), exc.status, headers)
    return FhirResponse(operation_outcome(exc.issues), exc.status, headers=headers)


def answer_format(request: Request) -> str:
    """JSON or XML: `_format`, else the preferred of the two in Accept, else the body's format, else JSON."""
    for fmt in request.query_params.getlist("_format"):
        kind = _media_type(fmt)[0]
        if kind in XML_TYPES:
            return XML
        if kind in FORMAT_JSON:
            return JSON
    accept = request.headers.get("accept")
    if accept:
        best, best_q = None, 0.0
        for item in accept.split(","):
            kind, params = _media_type(item)
            found = XML if kind in XML_TYPES else JSON if kind in FORMAT_JSON else None
            q = _quality(params.get("q"))
            if found is not None and (q > best_q or q == best_q > 0 and found == JSON):  # a tie goes to JSON (HAPI lists both at q=1)
                best, best_q = found, q
        if best is not None:
            return best
    return XML if body_format(request) == XML else JSON


def _quality(value: str | None) -> float:
    try:
        q = float(value) if value is not None else 1.0
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = header.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    # `_format=application/fhir+xml` unescaped in a URL arrives with a space for the '+'
    return kind.strip().lower().replace(" ", "+"), params


def negotiate(request: Request) -> None:
    """Refuse `_format` other than JSON or XML (415)."""
    for fmt in request.query_params.getlist("_format"):
        kind = _media_type(fmt)[0]
        if kind not in FORMAT_JSON and kind not in XML_TYPES:
            raise FhirError.of(415, "not-supported", f"_format {fmt[:100]!r} is not supported: use json or xml "
                               "(application/fhir+json, application/fhir+xml)", "_format")


def body_format(request: Request) -> str | None:
    """The format the body came in (as read, else as its Content-Type names it): JSON, XML, or None when unknown."""
    read = getattr(request.state, _BODY_FORMAT, None)
    if read is not None:
        return str(read)
    header = request.headers.get("content-type")
    if not header or not header.strip():
        return None
    kind = _media_type(header)[0]
    return XML if kind in XML_MEDIA else JSON


def check_content_type(request: Request) -> str | None:
    """FHIR JSON, JSON or FHIR XML bodies in UTF-8 are read (JSON, XML, or None: no Content-Type); others are a 415."""
    header = request.headers.get("content-type")
    if not header or not header.strip():
        return None
    kind, params = _media_type(header)
    if kind not in JSON_TYPES and kind not in XML_MEDIA:
        raise FhirError.of(415, "not-supported", f"Content-Type {kind[:100]!r} is not supported: send application/fhir+json or application/fhir+xml")
    charset = params.get("charset")
    if charset is not None and charset not in UTF8:
        raise FhirError.of(415, "not-supported", f"charset {charset[:40]!r} is not supported: send UTF-8")
    return XML if kind in XML_MEDIA else JSON


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
    """The request body in its JSON form, after the Content-Type, size, nesting-depth and Bundle-entries checks.

    XML is read by its Content-Type, or without one when the body starts with '<' (JSON cannot).
    """
    kind = check_content_type(request)
    body = await read_body(request, limits)
    if kind is None and body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        kind = XML
    setattr(request.state, _BODY_FORMAT, kind or JSON)
    if kind == XML:
        resource = parse_xml(body, max_depth=limits.max_json_depth)
    else:
        resource = parse_json(body, max_depth=limits.max_json_depth)
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
