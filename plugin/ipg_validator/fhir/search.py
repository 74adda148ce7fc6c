"""Read and search of the conformance resources held in the ContentIndex (FHIR REST semantics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..content.index import ContentIndex
from ..terminology.sources import split_canonical
from .capabilities import RESOURCE_TYPES
from ..core.errors import FhirError
from .parameters import Params

SUMMARY_DROPS = {"true": ("concept", "compose", "expansion", "text"), "data": ("text",), "false": ()}
SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


def read_resource(index: ContentIndex, kind: str, id: str) -> Mapping[str, Any]:
    """The resource of this type and id; an unknown type or id is a 404."""
    _check_type(kind)
    found = next((r for r in index.resources.get(kind, ()) if r.get("id") == id), None)
    if found is None:
        raise FhirError.of(404, "not-found", f"{kind}/{id} is not known to this server")
    return found


def search_bundle(index: ContentIndex, kind: str, query: Params, base: str, self_url: str | None = None) -> dict[str, Any]:
    """A searchset Bundle of the resources matching url, version, name and _id (all given must match)."""
    _check_type(kind)
    summary = (query.text("_summary") or "false").lower()
    if summary not in SUMMARY_DROPS and summary != "count":
        raise FhirError.of(400, "invalid", f"_summary={summary!r} is not supported: use true, false, data or count", "_summary")
    count = query.number("_count")
    matches = [r for r in index.resources.get(kind, ()) if _matches(r, query)]
    shown = [] if summary == "count" else matches[:count] if count is not None else matches
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(matches)}
    if self_url:
        bundle["link"] = [{"relation": "self", "url": self_url}]
    entries = [_entry(_summarised(r, summary), kind, base) for r in shown]
    if entries:
        bundle["entry"] = entries
    return bundle


def _check_type(kind: str) -> None:
    if kind not in RESOURCE_TYPES:
        raise FhirError.of(404, "not-found", f"Resource type {kind!r} is not served here: try {', '.join(RESOURCE_TYPES)}")


def _matches(resource: Mapping[str, Any], query: Params) -> bool:
    for url in query.all("url"):
        url, version = split_canonical(str(url))
        if resource.get("url") != url or (version and resource.get("version") != version):
            return False
    if any(resource.get("version") != str(v) for v in query.all("version")):
        return False
    if any(resource.get("id") != str(v) for v in query.all("_id")):
        return False
    name = str(resource.get("name") or "").casefold()
    return all(name.startswith(str(v).casefold()) for v in query.all("name"))


def _summarised(resource: Mapping[str, Any], summary: str) -> dict[str, Any]:
    drops = SUMMARY_DROPS.get(summary, ())
    out = {k: v for k, v in resource.items() if k not in drops}
    if drops:
        meta = dict(out.get("meta") or {})
        meta["tag"] = [*meta.get("tag", []), SUBSETTED]
        out["meta"] = meta
    return out


def _entry(resource: dict[str, Any], kind: str, base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if resource.get("id"):
        entry["fullUrl"] = f"{base}{kind}/{resource['id']}"
    entry["resource"] = resource
    entry["search"] = {"mode": "match"}
    return entry
