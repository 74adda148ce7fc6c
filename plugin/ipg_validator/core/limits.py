"""Request limits with safe defaults; each one exceeded is answered with an OperationOutcome.

| limit                    | default  | answer                      | checked in                          |
|--------------------------|----------|-----------------------------|-------------------------------------|
| `max_body_bytes`         | 10 MiB   | 413 too-costly              | server.negotiation.read_body        |
| `max_json_depth`         | 100      | 413 too-costly              | fhir.jsonio.parse_json              |
| `max_bundle_entries`     | 10,000   | 413 too-costly              | `check_bundle_entries` (below)      |
| `max_tx_resources`       | 50       | 413 too-costly              | fhir.terminology_ops.supplied_resources |
| `max_tx_resource_bytes`  | 5 MiB    | 413 too-costly              | fhir.terminology_ops.supplied_resources |
| `max_expansion`          | 10,000   | 422 too-costly              | fhir.terminology_ops.expand_op      |
| `default_expansion_count`| 1,000    | 422 too-costly (no `count`) | fhir.terminology_ops.expand_op      |

The per-request time budget is a server setting (`server.limits.TimeBudget`, 503).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FhirError

# orjson refuses JSON nested deeper than this itself; a larger max_json_depth cannot be honoured.
ORJSON_MAX_DEPTH = 1024


@dataclass(frozen=True)
class Limits:
    """How much one request may ask of the server."""

    max_body_bytes: int = 10 * 1024 * 1024
    max_tx_resources: int = 50
    max_tx_resource_bytes: int = 5 * 1024 * 1024
    max_expansion: int = 10_000
    default_expansion_count: int = 1_000
    max_json_depth: int = 100
    max_bundle_entries: int = 10_000


def depth_within(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests no deeper than `limit` (an object or array is one level), without recursion."""
    level = [value] if value.__class__ is dict or value.__class__ is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        below: list[Any] = []
        for item in level:
            below += [v for v in (item.values() if item.__class__ is dict else item) if v.__class__ is dict or v.__class__ is list]
        level = below
    return True


def too_deep(limit: int) -> FhirError:
    """The answer to JSON nested deeper than `limit`."""
    return FhirError.of(
        413, "too-costly",
        f"The JSON is nested more than {min(limit, ORJSON_MAX_DEPTH)} levels deep (objects and arrays inside each other): "
        "FHIR resources need far fewer; the limit protects the server",
    )


def check_bundle_entries(resource: Any, limits: Limits) -> None:
    """Refuse (413) a Bundle, sent as is or as a Parameters `resource`, holding more than `max_bundle_entries` entries."""
    for bundle, where in _bundles(resource):
        entries = bundle.get("entry")
        if isinstance(entries, list) and len(entries) > limits.max_bundle_entries:
            raise FhirError.of(
                413, "too-costly",
                f"The Bundle has {len(entries)} entries; the limit is {limits.max_bundle_entries} per request: send it in smaller Bundles",
                where,
            )


def _bundles(resource: Any) -> list[tuple[dict[str, Any], str]]:
    if not isinstance(resource, dict):
        return []
    if resource.get("resourceType") == "Bundle":
        return [(resource, "Bundle.entry")]
    found = []
    if resource.get("resourceType") == "Parameters" and isinstance(resource.get("parameter"), list):
        for n, param in enumerate(resource["parameter"]):
            inner = param.get("resource") if isinstance(param, dict) else None
            if isinstance(inner, dict) and inner.get("resourceType") == "Bundle":
                found.append((inner, f"Parameters.parameter[{n}].resource.entry"))
    return found
