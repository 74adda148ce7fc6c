"""JSON in and out with orjson; bodies that are not JSON become a 400 OperationOutcome."""

from __future__ import annotations

from typing import Any

import orjson

from .errors import FhirError

FHIR_JSON = "application/fhir+json"


def parse_json(body: bytes) -> Any:
    """Parse a request body; not-JSON is a FhirError(400) saying where it broke."""
    if not body.strip():
        raise FhirError.of(400, "structure", "The request body is empty: send a FHIR resource as JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FhirError.of(400, "structure", f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def dump_json(resource: Any, *, pretty: bool = False) -> bytes:
    """Serialise a resource (pretty for people, compact on the wire)."""
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2 if pretty else 0)
