"""An R4 answer read as R5, as the HL7 runner's R4 client converts it before comparing.

R4 has no `ValueSet.expansion.property` or `expansion.contains.property`; an R4 server gives them
as their R5 cross-version extensions, which the conversion turns back into the R5 elements.
"""

from __future__ import annotations

from typing import Any

from ..terminology.messages import R5_CONTAINS_PROPERTY, R5_EXPANSION_PROPERTY


def to_r5(resource: Any) -> Any:
    """`resource` with the cross-version extensions of a ValueSet expansion as R5 elements (a copy)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "ValueSet" or not isinstance(resource.get("expansion"), dict):
        return resource
    expansion = _lift(resource["expansion"], R5_EXPANSION_PROPERTY)
    if isinstance(expansion.get("contains"), list):
        expansion["contains"] = [_contains(item) for item in expansion["contains"]]
    return {**resource, "expansion": expansion}


def _contains(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    out = _lift(item, R5_CONTAINS_PROPERTY)
    if isinstance(out.get("contains"), list):
        out["contains"] = [_contains(child) for child in out["contains"]]
    return out


def _lift(element: dict[str, Any], url: str) -> dict[str, Any]:
    """The element with each `url` extension moved to its `property` list ({code, uri or value[x]})."""
    extensions = [e for e in element.get("extension") or () if isinstance(e, dict)]
    lifted = [_element(e) for e in extensions if e.get("url") == url]
    if not lifted:
        return dict(element)
    out = {k: v for k, v in element.items() if k != "extension"}
    rest = [e for e in extensions if e.get("url") != url]
    if rest:
        out = {"extension": rest, **out}
    out["property"] = [*(element.get("property") or ()), *lifted]
    return out


def _element(extension: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in extension.get("extension") or ():
        name = part.get("url")
        value = next(((k, v) for k, v in part.items() if k.startswith("value")), None)
        if value is None:
            continue
        if name == "value":
            out[value[0]] = value[1]
        elif isinstance(name, str):
            out[name] = value[1]
    return out
