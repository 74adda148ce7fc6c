"""The ValueSet resource answering $expand, in the shape terminology clients expect (tx.fhir.org's).

The request's expansion parameters are echoed, then one `used-codesystem` per code system
release; each `contains` item has system, code, display, and abstract/inactive when true.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..terminology.hierarchy import flatten
from ..terminology.results import Expansion, ExpansionItem
from ..terminology.status import STANDARDS_STATUS
from .parameters import Params

EXPANSION_MESSAGE = "http://hl7.org/fhir/StructureDefinition/valueset-expansion-message"
ECHOED = ("filter", "offset", "count", "activeOnly", "includeDesignations", "includeDefinition",
          "excludeNested", "property", "designation")
ECHO_TYPES = {"designation": "valueString"}  # echoed with this type whatever the value looks like
UNCLOSED = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed"
UNCLOSED_REASON = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason"
STATUS_URI = "http://hl7.org/fhir/concept-properties#status"
DROPPED = ("compose", "text", "expansion", "meta", "description")


def expansion_resource(vs: Mapping[str, Any], exp: Expansion, params: Params) -> dict[str, Any]:
    """`vs` (without its compose) with the expansion `exp` of the request `params`."""
    echoed = [{"name": name, **echo_value(value, ECHO_TYPES.get(name))} for name, value in params.items if name in ECHOED]
    if exp.display_language:  # from displayLanguage, else Accept-Language, else the value set's own
        echoed.append({"name": "displayLanguage", "valueCode": exp.display_language})
    echoed += [{"name": name, "valueUri": canonical} for name, canonical in exp.version_rules]  # the rules that applied
    echoed += [{"name": "used-codesystem", "valueUri": used} for used in exp.used_code_systems]
    echoed += [{"name": "used-fragment", "valueUri": used} for used in exp.fragments]
    echoed += [{"name": "used-valueset", "valueUri": used} for used in exp.used_value_sets]
    echoed += [{"name": f"warning-{status}", "valueUri": ref} for status, ref in exp.statuses]
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "total": exp.total,
        "offset": exp.offset,
        "parameter": echoed,
        "property": [{"code": "status", "uri": STATUS_URI}] if any(_status(i) for i in flatten(exp.items)) else [],
        "contains": [contains_item(i) for i in exp.items],
    }
    extensions = [{"url": EXPANSION_MESSAGE, "valueString": i.text} for i in exp.issues]
    if exp.fragments:
        extensions.append({"url": UNCLOSED, "valueBoolean": True})
        extensions += [{"url": UNCLOSED_REASON, "valueString": f"This extension is based on a fragment of the code system {used.split('|')[0]}"}
                       for used in exp.fragments]
    if extensions:
        expansion = {"extension": extensions, **expansion}
    out = {k: v for k, v in vs.items() if k not in DROPPED}
    # the value set's own standards status is answered as a `warning-<status>` parameter instead
    kept = [e for e in out.get("extension") or () if not (isinstance(e, Mapping) and e.get("url") == STANDARDS_STATUS)]
    out.pop("extension", None)
    if kept:
        out = {"resourceType": out.get("resourceType", "ValueSet"), "extension": kept, **out}
    out["expansion"] = {k: v for k, v in expansion.items() if v != []}
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


def contains_item(item: ExpansionItem) -> dict[str, Any]:
    """One `expansion.contains` entry."""
    out: dict[str, Any] = {"extension": list(item.extensions)} if item.extensions else {}
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
    status = _status(item)
    if status:
        out["property"] = [{"code": "status", "valueCode": status}]
    if item.contains:
        out["contains"] = [contains_item(child) for child in item.contains]
    return out


def _status(item: ExpansionItem) -> str | None:
    return next((str(v) for name, v in item.properties if name == "status"), None)
