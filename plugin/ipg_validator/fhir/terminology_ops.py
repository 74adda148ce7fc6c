"""The terminology operations ($validate-code, $expand, $lookup) from Parameters to FHIR resources.

Shared by the HTTP routers and the CLI so both answer with the same resources.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..content.index import ContentIndex
from ..terminology.compose import ComposeError
from ..terminology.expand import expand
from ..terminology.lookup import lookup
from ..terminology import messages
from ..terminology.results import Coding
from ..terminology.sources import RequestResources, SourceChain, split_canonical
from ..terminology.validate import ValidateOptions, validate_code
from .errors import FhirError
from .jsonio import dump_json
from .limits import Limits
from .outcome import issue_json
from .parameters import Params, lookup_parameters, validation_parameters

Resource = Mapping[str, Any]


def sources_for(index: ContentIndex, params: Params, limits: Limits) -> SourceChain:
    """The content index, behind the request's own `tx-resource`s (used for this request only)."""
    supplied = [r for r in params.all("tx-resource") if isinstance(r, dict)]
    if len(supplied) > limits.max_tx_resources:
        raise FhirError.of(413, "too-costly", f"Too many tx-resource parameters ({len(supplied)}; the limit is {limits.max_tx_resources})", "tx-resource")
    if supplied and len(dump_json(supplied)) > limits.max_tx_resource_bytes:
        raise FhirError.of(413, "too-costly", f"The tx-resource parameters are larger than {limits.max_tx_resource_bytes} bytes", "tx-resource")
    inline = params.get("valueSet")
    if isinstance(inline, dict):
        supplied.append(inline)
    return SourceChain([RequestResources(supplied), index] if supplied else [index])


def validate_code_op(index: ContentIndex, params: Params, *, resource_type: str, instance: str | None = None, limits: Limits = Limits()) -> dict[str, Any]:
    """ValueSet/$validate-code or CodeSystem/$validate-code."""
    sources = sources_for(index, params, limits)
    value_set = _value_set(index, sources, params, instance) if resource_type == "ValueSet" else None
    codings, cc = _codings(params, resource_type, index, instance)
    options = ValidateOptions(
        lenient_display=params.flag("lenient-display-validation"),
        abstract_ok=params.flag("abstract", True),
        membership_only=params.flag("valueset-membership-only"),
    )
    result = validate_code(sources, codings, value_set=value_set, options=options, codeable_concept=cc is not None)
    return validation_parameters(result, cc)


def expand_op(index: ContentIndex, params: Params, *, instance: str | None = None, limits: Limits = Limits()) -> dict[str, Any]:
    """ValueSet/$expand: the value set with an `expansion`, paged by offset and count."""
    sources = sources_for(index, params, limits)
    vs = _value_set(index, sources, params, instance)
    count = params.number("count", limits.default_expansion_count)
    try:
        exp = expand(
            sources, vs, text=params.text("filter"), offset=params.number("offset", 0) or 0,
            count=min(count if count is not None else limits.max_expansion, limits.max_expansion),
            active_only=params.flag("activeOnly"), max_items=limits.max_expansion,
        )
    except ComposeError as exc:
        raise FhirError(_status_for(exc.issue.code), [exc.issue]) from None
    echoed = [{"name": name, **_typed(value)} for name, value in params.items if name in _ECHOED]
    echoed += [{"name": "used-codesystem", "valueUri": used} for used in exp.used_code_systems]
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "total": exp.total,
        "offset": exp.offset,
        "parameter": echoed,
        "contains": [_contains(i) for i in exp.items],
    }
    if exp.issues:
        expansion["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/valueset-expansion-message", "valueString": i.text} for i in exp.issues]
    out = {k: v for k, v in vs.items() if k not in ("compose", "text", "expansion")}
    out["expansion"] = {k: v for k, v in expansion.items() if v != []}
    return out


def lookup_op(index: ContentIndex, params: Params, *, limits: Limits = Limits()) -> dict[str, Any]:
    """CodeSystem/$lookup by system and code, or by coding."""
    sources = sources_for(index, params, limits)
    coding = params.get("coding")
    system = coding.get("system") if isinstance(coding, dict) else params.text("system")
    code = coding.get("code") if isinstance(coding, dict) else params.text("code")
    version = coding.get("version") if isinstance(coding, dict) else params.text("version")
    if not system or not code:
        raise FhirError.of(400, "required", "$lookup needs a system and a code (or a coding)", "code" if system else "system")
    result = lookup(sources, system, code, version)
    if not result.found:
        known_system = not any(i.is_error for i in result.issues)
        missing = [messages.code_not_found(result.system, result.code, "code")] if known_system else []
        raise FhirError(404, [*missing, *result.issues])
    return lookup_parameters(result)


_ECHOED = {"filter", "offset", "count", "activeOnly", "displayLanguage", "includeDesignations", "includeDefinition", "excludeNested", "valueSetVersion"}


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    text = str(value)
    if text.isdigit():
        return {"valueInteger": int(text)}
    if text in ("true", "false"):
        return {"valueBoolean": text == "true"}
    return {"valueString": text}


def _contains(item: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"system": item.system}
    if item.version:
        out["version"] = item.version
    if item.abstract:
        out["abstract"] = True
    if item.inactive:
        out["inactive"] = True
    out["code"] = item.code
    if item.display:
        out["display"] = item.display
    return out


def _value_set(index: ContentIndex, sources: SourceChain, params: Params, instance: str | None) -> Resource:
    if instance is not None:
        vs = next((r for r in index.resources.get("ValueSet", ()) if r.get("id") == instance), None)
        if vs is None:
            raise FhirError.of(404, "not-found", f"ValueSet/{instance} is not known to this server")
        return vs
    inline = params.get("valueSet")
    if isinstance(inline, dict):
        if inline.get("resourceType") != "ValueSet":
            raise FhirError.of(400, "invalid", "The valueSet parameter must be a ValueSet resource", "valueSet")
        return inline
    url = params.text("url") or params.text("context")
    if not url:
        raise FhirError.of(400, "required", "No value set was given: send url, valueSet, or call the operation on a ValueSet instance", "url")
    url, version = split_canonical(url)
    vs = sources.value_set(url, params.text("valueSetVersion") or version)
    if vs is None:
        raise FhirError.of(404, "not-found", f"A definition for the value Set '{url}' could not be found", "url", "not-found")
    return vs


def _codings(params: Params, resource_type: str, index: ContentIndex, instance: str | None) -> tuple[list[Coding], dict[str, Any] | None]:
    cc = params.get("codeableConcept")
    if isinstance(cc, dict):
        codings = [_coding(c, f"CodeableConcept.coding[{n}]") for n, c in enumerate(cc.get("coding") or [])]
        if not codings:
            raise FhirError.of(400, "required", "The codeableConcept has no coding to validate", "CodeableConcept.coding")
        return codings, cc
    coding = params.get("coding")
    if isinstance(coding, dict):
        return [_coding(coding, "Coding")], None
    code = params.text("code")
    if code is None:
        raise FhirError.of(400, "required", "Nothing to validate: send code (with system), coding or codeableConcept", "code")
    system = params.text("system")
    version = params.text("systemVersion") or params.text("version")
    if resource_type == "CodeSystem":
        system = system or params.text("url") or _instance_url(index, instance)
        version = params.text("version") or version
    return [Coding(system, code, version, params.text("display"))], None


def _coding(value: Any, path: str) -> Coding:
    if not isinstance(value, dict):
        raise FhirError.of(400, "invalid", f"{path} must be a Coding", path)
    return Coding(value.get("system"), value.get("code"), value.get("version"), value.get("display"), path)


def _instance_url(index: ContentIndex, instance: str | None) -> str | None:
    if instance is None:
        return None
    cs = next((r for r in index.resources.get("CodeSystem", ()) if r.get("id") == instance), None)
    if cs is None:
        raise FhirError.of(404, "not-found", f"CodeSystem/{instance} is not known to this server")
    return cs["url"]


def _status_for(code: str) -> int:
    return {"not-found": 404, "too-costly": 422}.get(code, 400)


__all__ = ["expand_op", "lookup_op", "sources_for", "validate_code_op", "issue_json"]
