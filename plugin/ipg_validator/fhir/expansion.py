"""The ValueSet resource answering $expand, in the shape terminology clients expect (tx.fhir.org's).

The request's expansion parameters are echoed, then one `used-codesystem` per code system
release; each `contains` item has system, code, display, and abstract/inactive when true.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..terminology import messages
from ..terminology.hierarchy import flatten
from ..terminology.multirelease import VERSIONS_MATCH
from ..terminology.properties import DEFINITION, EXTENSION_DEFS, property_values, value_key
from ..core.results import Expansion, ExpansionItem, PropertyDef
from ..content.codesystem import STANDARDS_STATUS
from .parameters import Params

EXPANSION_MESSAGE = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-message"
# `property` is answered by the declarations in expansion.property, not echoed (tx.fhir.org)
ECHOED = ("filter", "offset", "count", "activeOnly", "includeDesignations", "includeDefinition",
          "excludeNested", "designation")
ECHO_TYPES = {"designation": "valueString"}  # echoed with this type whatever the value looks like
UNCLOSED = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed"
UNCLOSED_REASON = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason"
DROPPED = ("compose", "text", "expansion", "meta", "description")


def expansion_resource(vs: Mapping[str, Any], exp: Expansion, params: Params, supplements: Sequence[str] = ()) -> dict[str, Any]:
    """`vs` (without its compose) with the expansion `exp` of the request `params` (and the supplements applied)."""
    echoed = [{"name": name, **echo_value(value, ECHO_TYPES.get(name))} for name, value in params.items if name in ECHOED]
    if exp.display_language:  # from displayLanguage, else Accept-Language, else the value set's own
        echoed.append({"name": "displayLanguage", "valueCode": exp.display_language})
    echoed += [{"name": name, "valueUri": canonical} for name, canonical in exp.version_rules]  # the rules that applied
    echoed += [{"name": "used-codesystem", "valueUri": used} for used in exp.used_code_systems]
    echoed += [{"name": "used-supplement", "valueUri": used} for used in supplements]
    echoed += [{"name": "used-fragment", "valueUri": used} for used in exp.fragments]
    echoed += [{"name": "used-valueset", "valueUri": used} for used in exp.used_value_sets]
    echoed += [{"name": f"warning-{status}", "valueUri": ref} for status, ref in exp.statuses]
    if exp.versions_match:
        echoed.append({"name": VERSIONS_MATCH, "valueBoolean": True})
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "total": exp.total,
        "offset": exp.offset if _paged(exp, params) else None,
        "parameter": echoed,
        "contains": [contains_item(i, _requested(exp)) for i in exp.items],
    }
    # R4 has no expansion.property or contains.property: both go in their R5 cross-version extensions
    extensions: list[dict[str, Any]] = [{"url": messages.R5_EXPANSION_PROPERTY, "extension": _parts(d)} for d in _declarations(exp)]
    extensions += [{"url": EXPANSION_MESSAGE, "valueString": i.text} for i in exp.issues]
    if exp.fragments:
        extensions.append({"url": UNCLOSED, "valueBoolean": True})
        extensions += [{"url": UNCLOSED_REASON, "valueString": messages.unclosed_reason(used.split('|')[0])}
                       for used in exp.fragments]
    if extensions:
        expansion = {"extension": extensions, **expansion}
    # includeDefinition: the value set's definition (its compose) stays in the answer
    dropped = [k for k in DROPPED if not (k == "compose" and params.flag("includeDefinition"))]
    out = {k: v for k, v in vs.items() if k not in dropped}
    # the value set's own standards status is answered as a `warning-<status>` parameter instead
    kept = [e for e in out.get("extension") or () if not (isinstance(e, Mapping) and e.get("url") == STANDARDS_STATUS)]
    out.pop("extension", None)
    if kept:
        out = {"resourceType": out.get("resourceType", "ValueSet"), "extension": kept, **out}
    out["expansion"] = {k: v for k, v in expansion.items() if v != [] and v is not None}
    return out


def echo_value(value: Any, kind: str | None = None) -> dict[str, Any]:
    """A request parameter's value as echoed in `expansion.parameter`, keeping its FHIR type (`kind` when given)."""
    if kind:
        return {kind: str(value)}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    text = str(value)
    if text.isdigit():
        return {"valueInteger": int(text)}
    if text in ("true", "false"):
        return {"valueBoolean": text == "true"}
    if "|" in text and "://" in text:
        return {"valueUri": text}
    return {"valueString": text}


def _requested(exp: Expansion) -> list[PropertyDef]:
    """The requested properties answered on `contains` (status is said whenever it is not active)."""
    return [d for d in exp.properties if d.code != "status"]


def _declarations(exp: Expansion) -> list[dict[str, Any]]:
    """expansion.property: definition first, then the concept-extension ones (weight, label, order), status when
    a code has one, then the other requested properties."""
    wanted = _requested(exp)
    out = [d for d in wanted if d.code == DEFINITION] + [d for d in wanted if d in EXTENSION_DEFS]
    if any(_status(i) for i in flatten(exp.items)):
        out.append(PropertyDef("status", messages.STATUS_PROPERTY_URI, "code"))
    out += [d for d in wanted if d.code != DEFINITION and d not in EXTENSION_DEFS]
    return [{"code": d.code, "uri": d.uri} if d.uri else {"code": d.code} for d in out]


def contains_item(item: ExpansionItem, wanted: list[PropertyDef] | None = None) -> dict[str, Any]:
    """One `expansion.contains` entry, with the `wanted` properties (`property=definition` gives the definition)."""
    props = [{"code": d.code, value_key(d.type): value} for d, value in property_values(item, wanted or [])]
    status = _status(item)
    if status:
        props.append({"code": "status", "valueCode": status})
    extensions = [*item.extensions,  # R4 has no contains.property: its R5 cross-version extension
                  *({"url": messages.R5_CONTAINS_PROPERTY, "extension": _parts(p)} for p in sorted(props, key=lambda p: p["code"]))]
    out: dict[str, Any] = {"extension": extensions} if extensions else {}
    out["system"] = item.system
    if item.abstract:
        out["abstract"] = True
    if item.inactive:
        out["inactive"] = True
    if item.show_version and item.version:
        out["version"] = item.version
    out["code"] = item.code
    if item.display:
        out["display"] = item.display
    if item.designations:
        out["designation"] = list(item.designations)
    if item.contains:
        out["contains"] = [contains_item(child, wanted) for child in item.contains]
    return out


def _parts(element: dict[str, Any]) -> list[dict[str, Any]]:
    """An R5 element (`{"code": ..., "uri" or "valueX": ...}`) as the sub-extensions of its cross-version extension."""
    parts: list[dict[str, Any]] = [{"url": "code", "valueCode": element["code"]}]
    for key, value in element.items():
        if key == "uri":
            parts.append({"url": "uri", "valueUri": value})
        elif key.startswith("value"):
            parts.append({"url": "value", key: value})
    return parts


def _paged(exp: Expansion, params: Params) -> bool:
    """Whether the answer is a page: the request asked for one, or not every code fits (then `offset` is said)."""
    return params.get("offset") is not None or params.get("count") is not None or sum(1 for _ in flatten(exp.items)) < exp.total


def _status(item: ExpansionItem) -> str | None:
    """The concept's status when it is not plain `active` (only retired, deprecated, ... are worth saying)."""
    return next((str(v) for name, v in item.properties if name == "status" and v != "active"), None)
