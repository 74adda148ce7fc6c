"""JSON in and out with orjson; bodies that are not JSON become a 400 OperationOutcome."""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errors import FhirError
from .limits import ORJSON_MAX_DEPTH, Limits, depth_within, too_deep

FHIR_JSON = "application/fhir+json"
MAX_DEPTH = Limits.max_json_depth
UTF8_BOM = b"\xef\xbb\xbf"
_UNPARSED: Any = object()


def parse_json(body: bytes, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Parse a request body; not-JSON is a FhirError(400) saying where it broke, JSON nested deeper
    than `max_depth` a FhirError(413) (None: only orjson's own limit of 1024 levels).

    A leading UTF-8 byte order mark is skipped (as the command line does); an object with the same
    property twice is a 400, since readers disagree on which of the two counts.
    """
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM):]
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
    duplicate = duplicate_key(body, value)
    if duplicate is not None:
        raise FhirError.of(400, "structure", duplicate_text(duplicate))
    return value


def duplicate_key(body: bytes | str, parsed: Any = _UNPARSED) -> str | None:
    """The first property that appears twice in one object of `body` (JSON already known to parse), or None.

    Given `parsed` (orjson's reading of `body`), the body is first compared with orjson's writing of
    it: identical, or (without `\\u` escapes) with as many colons, since orjson writes one per kept
    property plus those inside strings and a repeated property adds at least one. Only when that
    fails is the body read again.
    """
    if parsed is not _UNPARSED and _colons_agree(body, parsed):
        return None

    def pairs(items: list[tuple[str, Any]]) -> None:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except _Duplicate as dup:
        return dup.key
    except (RecursionError, ValueError):
        return None  # nested past Python's recursion limit (only with max_json_depth near 1024), or not JSON here
    return None


def _colons_agree(body: bytes | str, parsed: Any) -> bool:
    """Whether `body` is orjson's own compact writing of `parsed` (so no object in it repeats a key), or
    has no \\u escape (which could spell a colon another way) and as many colons as that writing.
    False also when orjson cannot write it (nested past 255 levels)."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        written = orjson.dumps(parsed)
    except orjson.JSONEncodeError:
        return False
    if written == raw:
        return True
    if b"\\" in raw and b"\\u" in raw:
        return False
    return raw.count(b":") == written.count(b":")


def duplicate_text(key: str) -> str:
    """The message for an object with the property `key` twice."""
    return (f"The JSON has an object with the property {key!r} more than once: "
            "JSON readers disagree on which one counts, so send each property once")


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def dump_json(resource: Any, *, pretty: bool = False) -> bytes:
    """Serialise a resource (pretty for people, compact on the wire)."""
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2 if pretty else 0)
