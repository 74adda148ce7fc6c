"""The HL7 runner's R4 client: requests written down to R4, answers read back up, as it converts them.

The runner (org.hl7.fhir.validation 7.x) reads the test files as R5 and sends them through
org.hl7.fhir.convertors' R4 conversion (`to_r4`): R5-only elements become their cross-version
extensions (`versionAlgorithm`, the `child-of`/`descendent-leaf` filter operators on `_op`, a
ConceptMap's `unmapped.relationship`), ConceptMap relationships become R4 equivalences, and what
no FHIR version defines (`title:en`) is dropped. Answers come back through the same conversion
(`to_r5`): R4 has no `ValueSet.expansion.property` or `expansion.contains.property`, so an R4
server gives them as their R5 cross-version extensions, which become the R5 elements again; and
`OperationOutcome.issue.location` (deprecated, absent from the runner's model) and the
`implicitRules` that marks a lowered R5 element are dropped.
The rules are the ones observed from the real conversion (interop/hl7-validator's `Convert`).
"""

from __future__ import annotations

from typing import Any

from ipg_validator.terminology.filters import R5_FILTER_OP
from ipg_validator.terminology.messages import R5_CONTAINS_PROPERTY, R5_EXPANSION_PROPERTY

R5_VERSION_ALGORITHM = "http://hl7.org/fhir/5.0/StructureDefinition/extension-CanonicalResource.versionAlgorithm"
R5_UNMAPPED_RELATIONSHIP = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.group.unmapped.relationship"
OMITTED_CODE = "https://hl7.org/fhir/implicit-rules/omitted-mandatory-interversion-code"
R5_ONLY_OPS = frozenset({"child-of", "descendent-leaf"})
EQUIVALENCE = {"equivalent": "equivalent", "source-is-broader-than-target": "narrower",
               "source-is-narrower-than-target": "wider", "not-related-to": "disjoint", "related-to": "relatedto"}
SCOPES = {"sourceScopeUri": "sourceUri", "sourceScopeCanonical": "sourceCanonical",
          "targetScopeUri": "targetUri", "targetScopeCanonical": "targetCanonical"}


def to_r4(body: Any) -> Any:
    """A request body (Parameters, test files as R5) as the R4 client sends it (a copy)."""
    return _r4(_defined(body))


def _defined(value: Any) -> Any:
    """`value` without the JSON names no FHIR version defines (`title:en`): the parser drops them."""
    if isinstance(value, dict):
        return {k: _defined(v) for k, v in value.items() if ":" not in k}
    if isinstance(value, list):
        return [_defined(v) for v in value]
    return value


def _r4(resource: Any) -> Any:
    if not isinstance(resource, dict):
        return resource
    kind = resource.get("resourceType")
    if kind == "Parameters":
        return {**resource, "parameter": [_parameter(p) for p in resource.get("parameter") or ()]}
    out = dict(resource)
    for key in [k for k in out if k.startswith("versionAlgorithm")]:
        out["extension"] = [*(out.get("extension") or ()), {"url": R5_VERSION_ALGORITHM, key.replace("versionAlgorithm", "value"): out.pop(key)}]
    if kind == "ValueSet" and isinstance(out.get("compose"), dict):
        compose, lowered = _compose(out["compose"])
        out["compose"] = compose
        if lowered and "implicitRules" not in out:
            out = {"resourceType": kind, **({"id": out["id"]} if "id" in out else {}), "implicitRules": OMITTED_CODE, **out}
    if kind == "ConceptMap":
        out = {SCOPES.get(k, k): v for k, v in out.items()}
        out["group"] = [_group(g) for g in out.get("group") or ()]
    return out


def _parameter(param: Any) -> Any:
    if not isinstance(param, dict):
        return param
    out = dict(param)
    if out.get("valueBoolean") in ("true", "false"):
        out["valueBoolean"] = out["valueBoolean"] == "true"
    if "resource" in out:
        out["resource"] = _r4(out["resource"])
    if isinstance(out.get("part"), list):
        out["part"] = [_parameter(p) for p in out["part"]]
    return out


def _compose(compose: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The compose with R5-only filter operators on `_op` (and whether there were any)."""
    lowered = False
    out = dict(compose)
    for kind in ("include", "exclude"):
        if not isinstance(out.get(kind), list):
            continue
        rows = []
        for inc in out[kind]:
            if isinstance(inc, dict) and isinstance(inc.get("filter"), list):
                filters = []
                for flt in inc["filter"]:
                    if isinstance(flt, dict) and flt.get("op") in R5_ONLY_OPS:
                        lowered = True
                        flt = {("_op" if k == "op" else k): ({"extension": [{"url": R5_FILTER_OP, "valueCode": v}]} if k == "op" else v)
                               for k, v in flt.items()}
                    filters.append(flt)
                inc = {**inc, "filter": filters}
            rows.append(inc)
        out[kind] = rows
    return out, lowered


def _group(group: Any) -> Any:
    if not isinstance(group, dict):
        return group
    out = dict(group)
    out["element"] = [_element_map(e) for e in out.get("element") or ()]
    unmapped = out.get("unmapped")
    if isinstance(unmapped, dict) and "relationship" in unmapped:
        rest = {k: v for k, v in unmapped.items() if k != "relationship"}
        out["unmapped"] = {"extension": [*(rest.pop("extension", None) or ()), {"url": R5_UNMAPPED_RELATIONSHIP, "valueCode": unmapped["relationship"]}], **rest}
    return out


def _element_map(element: Any) -> Any:
    if not isinstance(element, dict) or not isinstance(element.get("target"), list):
        return element
    targets = [{("equivalence" if k == "relationship" else k): (EQUIVALENCE.get(v, v) if k == "relationship" else v) for k, v in t.items()}
               if isinstance(t, dict) else t for t in element["target"]]
    return {**element, "target": targets}


def to_r5(resource: Any) -> Any:
    """An R4 answer as the runner compares it: expansion extensions as R5 elements, no issue.location (a copy)."""
    if not isinstance(resource, dict):
        return resource
    if resource.get("implicitRules") == OMITTED_CODE:
        resource = {k: v for k, v in resource.items() if k != "implicitRules"}
    kind = resource.get("resourceType")
    if kind == "OperationOutcome" and isinstance(resource.get("issue"), list):
        return {**resource, "issue": [{k: v for k, v in i.items() if k != "location"} if isinstance(i, dict) else i for i in resource["issue"]]}
    if kind == "Parameters" and isinstance(resource.get("parameter"), list):
        return {**resource, "parameter": [{**p, "resource": to_r5(p["resource"])} if isinstance(p, dict) and "resource" in p else p
                                          for p in resource["parameter"]]}
    if kind != "ValueSet" or not isinstance(resource.get("expansion"), dict):
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
