"""JSON in and out with orjson; bodies that are not JSON become a 400 OperationOutcome."""

from __future__ import annotations

from typing import Any

import orjson

from .errors import FhirError
from .limits import ORJSON_MAX_DEPTH, Limits, depth_within, too_deep

FHIR_JSON = "application/fhir+json"
MAX_DEPTH = Limits.max_json_depth


def parse_json(body: bytes, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Parse a request body; not-JSON is a FhirError(400) saying where it broke, JSON nested deeper
    than `max_depth` a FhirError(413) (None: only orjson's own limit of 1024 levels)."""
    if not body.strip():
        raise FhirError.of(400, "structure", "The request body is empty: send a FHIR resource as JSON")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if exc.msg == "depth limit exceeded":  # orjson's own limit, ORJSON_MAX_DEPTH
            raise too_deep(max_depth if max_depth is not None else ORJSON_MAX_DEPTH) from None
        raise FhirError.of(400, "structure", f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if max_depth is not None and not depth_within(value, max_depth):
        raise too_deep(max_depth)
    return value


def dump_json(resource: Any, *, pretty: bool = False) -> bytes:
    """Serialise a resource (pretty for people, compact on the wire)."""
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2 if pretty else 0)
