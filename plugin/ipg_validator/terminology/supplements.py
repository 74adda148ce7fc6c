"""CodeSystem supplements (`useSupplement`, a value set's `valueset-supplement` extension).

A supplement's designations, properties and property declarations are merged into the code
system it supplements; the merged release then stands in front of the request's sources.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import messages
from ..content.codesystem import CodeSystemIndex, objects
from .properties import value_key
from ..core.results import Issue
from .sources import RequestResources, SourceChain, split_canonical

Resource = Mapping[str, Any]


class SupplementMissing(Exception):
    """A supplement the request or the value set requires is not known."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.text)
        self.issue = issue


def required_supplements(requested: Iterable[str], vs: Resource | None = None) -> list[str]:
    """The supplement canonicals asked for: `useSupplement` values, then the value set's extensions."""
    found = [str(r) for r in requested if r]
    for ext in (vs or {}).get("extension") or ():
        if isinstance(ext, Mapping) and ext.get("url") == messages.VALUESET_SUPPLEMENT:
            value = ext.get("valueCanonical") or ext.get("valueUri")
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found


def with_supplements(sources: SourceChain, canonicals: Sequence[str]) -> tuple[SourceChain, list[str]]:
    """`sources` with each supplement merged into its code system, and the supplements used (`url|version`).

    Raises SupplementMissing for a supplement no source knows."""
    merged: dict[str, dict[str, Any]] = {}
    used: list[str] = []
    for canonical in canonicals:
        url, version = split_canonical(canonical)
        supplement = sources.code_system(url, version)
        if supplement is None or supplement.content != "supplement":
            raise SupplementMissing(messages.supplement_missing(canonical))
        base_url, base_version = split_canonical(str(supplement.resource.get("supplements") or ""))
        base = merged.get(base_url) or _copy(sources.code_system(base_url, base_version))
        if base is None:
            raise SupplementMissing(messages.supplement_base_unknown(canonical, base_url, base_version))
        merged[base_url] = merge(base, supplement)
        used.append(f"{supplement.url}|{supplement.version}" if supplement.version else supplement.url)
    if not merged:
        return sources, used
    return SourceChain([RequestResources(merged.values()), *sources.sources]), used


def merge(base: dict[str, Any], supplement: CodeSystemIndex) -> dict[str, Any]:
    """`base` (a CodeSystem resource, changed in place) with the supplement's declarations and concept content."""
    declared = {p.get("code") for p in objects(base.get("property"))}
    extra = [p for p in objects(supplement.resource.get("property")) if p.get("code") not in declared]
    if extra:
        base["property"] = [*objects(base.get("property")), *extra]
    language = supplement.language
    for concept in _concepts(_dicts(base.get("concept"))):
        added = supplement.concepts.get(concept["code"]) if isinstance(concept.get("code"), str) else None
        if added is None:
            continue
        designations = [d if "language" in d or not language else {"language": language, **d} for d in added.designations]
        if designations:
            concept["designation"] = [*objects(concept.get("designation")), *designations]
        props = [{"code": code, **_value(supplement, code, value)} for code, value in added.properties]
        if props:
            concept["property"] = [*objects(concept.get("property")), *props]
        if added.extensions:  # label, itemWeight, rendering, ...: the supplement's say about the concept
            concept["extension"] = [*objects(concept.get("extension")), *added.extensions]
        if added.display and not concept.get("display"):
            concept["display"] = added.display
    return base


def supplement_designations(sources: SourceChain, used: Sequence[str], code: str,
                            designations: Sequence[Resource]) -> list[Resource]:
    """`designations` of `code`, the code system's own first, then each one a supplement added, with its `source`."""
    added: dict[tuple[Any, Any], str] = {}
    for canonical in used:
        url, version = split_canonical(canonical)
        supplement = sources.code_system(url, version)
        concept = supplement.get(code) if supplement is not None else None
        language = supplement.language if supplement is not None else None
        for d in concept.designations if concept is not None else ():
            added.setdefault((d.get("language") or language, d.get("value")), canonical)
    own = [d for d in designations if (d.get("language"), d.get("value")) not in added]
    return own + [{**d, "source": added[(d.get("language"), d.get("value"))]} for d in designations
                  if (d.get("language"), d.get("value")) in added]


def _copy(cs: CodeSystemIndex | None) -> dict[str, Any] | None:
    return None if cs is None else copy.deepcopy(dict(cs.resource))


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of an array in the copy being merged (plain dicts: it is ours to change)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _concepts(items: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for item in items:
        yield item
        yield from _concepts(_dicts(item.get("concept")))


def _value(supplement: CodeSystemIndex, code: str, value: Any) -> dict[str, Any]:
    """A property value keyed by the type the supplement declares for it (string when undeclared)."""
    kind = next((p["type"] for p in objects(supplement.resource.get("property")) if p.get("code") == code and isinstance(p.get("type"), str)), "string")
    return {value_key(kind): value}


def supplementing(sources: SourceChain, used: Iterable[str], system: str) -> list[str]:
    """The supplements among `used` (`url|version`) that supplement `system`."""
    found = []
    for canonical in used:
        supplement = sources.code_system(*split_canonical(canonical))
        if supplement is not None and split_canonical(str(supplement.resource.get("supplements") or ""))[0] == system:
            found.append(canonical)
    return found
