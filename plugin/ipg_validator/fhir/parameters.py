"""Parameters in (query string or Parameters resource) and out (validate-code, lookup results)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

from ..core.results import LookupResult, ValidationResult
from ..core.errors import FhirError
from ..core.outcome import operation_outcome
from .structure import check_structure

FHIR_CODE = re.compile(r"[^\s]+( [^\s]+)*")  # the R4 `code` datatype: no leading, trailing or double white space
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}
UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Params:
    """Operation parameters by name, whatever way they arrived; values keep their FHIR shape."""

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        self.items = [(name, value) for name, value in items]

    @classmethod
    def from_query(cls, query: Iterable[tuple[str, str]]) -> Params:
        """Query parameters; `_format` and the like are the HTTP layer's, and an empty value (`filter=`) is absent."""
        return cls((k, v) for k, v in query if not k.startswith("_") and v != "")

    @classmethod
    def from_resource(cls, resource: Any) -> Params:
        """Read a Parameters resource; anything else is a 400."""
        if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
            kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
            raise FhirError.of(400, "invalid", f"Expected a Parameters resource, got {kind!r}", "Parameters")
        check_structure(_envelope(resource))
        items = []
        for n, param in enumerate(resource.get("parameter") or []):
            if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                raise FhirError.of(400, "invalid", f"Parameters.parameter[{n}] has no name", f"Parameters.parameter[{n}]")
            items.append((param["name"], _value(param)))
        return cls(items)

    def get(self, name: str) -> Any:
        return next((v for k, v in self.items if k == name), None)

    def all(self, name: str) -> list[Any]:
        return [v for k, v in self.items if k == name]

    def text(self, name: str) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise FhirError.of(400, "invalid", f"Parameter '{name}' must be a simple value", name)
        return str(value).lower() if isinstance(value, bool) else str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise FhirError.of(400, "invalid", f"Parameter '{name}' must be true or false, not {value!r}", name)

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise FhirError.of(400, "invalid", f"Parameter '{name}' must be a whole number, not {value!r}", name) from None
        if number < 0:
            raise FhirError.of(400, "invalid", f"Parameter '{name}' must not be negative", name)
        return number


def _envelope(resource: dict[str, Any]) -> dict[str, Any]:
    """The Parameters without `tx-resource` resources (authored in any FHIR version; the engine reads only
    what it needs) and with uuids checked against FHIR's own pattern (any UUID version), for the R4B check."""

    def strip(param: Any) -> Any:
        if not isinstance(param, dict):
            return param
        dropped = ("resource", "valueUuid") if param.get("name") == "tx-resource" else ("valueUuid",)
        out = {k: v for k, v in param.items() if k not in dropped}
        if "valueUuid" in param:
            if not isinstance(param["valueUuid"], str) or not UUID.fullmatch(param["valueUuid"]):
                raise FhirError.of(400, "structure", f"Parameter '{param.get('name')}': {param['valueUuid']!r} is not a urn:uuid", str(param.get("name")))
            out["valueString"] = param["valueUuid"]
        if "part" in param and isinstance(param["part"], list):
            out["part"] = [strip(p) for p in param["part"]]
        if "resource" in param and "resource" not in out and "part" not in out:
            out["valueString"] = "(resource)"
        if param.get("name") in JUDGED:
            out = _tidy_codes(out)
        return out

    params = resource.get("parameter")
    if not isinstance(params, list):
        return resource
    return {**resource, "parameter": [strip(p) for p in params]}


JUDGED = ("code", "coding", "codeableConcept")  # the values $validate-code is asked to judge


def _tidy_codes(param: dict[str, Any]) -> dict[str, Any]:
    """The judged code with its white space collapsed, for the structure check only: white space around a code
    is a finding of the operation (as `code` in a query is), not a reason to refuse the whole request."""

    def tidy(code: Any) -> Any:
        return " ".join(code.split()) or code if isinstance(code, str) else code

    def coding(value: Any) -> Any:
        return {**value, "code": tidy(value["code"])} if isinstance(value, dict) and "code" in value else value

    out = dict(param)
    if "valueCode" in out:
        out["valueCode"] = tidy(out["valueCode"])
    if "valueCoding" in out:
        out["valueCoding"] = coding(out["valueCoding"])
    concept = out.get("valueCodeableConcept")
    if isinstance(concept, dict) and isinstance(concept.get("coding"), list):
        out["valueCodeableConcept"] = {**concept, "coding": [coding(c) for c in concept["coding"]]}
    return out


def _value(param: dict[str, Any]) -> Any:
    if "resource" in param:
        return param["resource"]
    if "part" in param:
        return Params((cast(str, p.get("name")), _value(p)) for p in param["part"] if isinstance(p, dict))
    for key, value in param.items():
        if key.startswith("value"):
            return value
    return None


def is_fhir_code(text: str) -> bool:
    """Whether `text` may be sent as a FHIR `code` value."""
    return FHIR_CODE.fullmatch(text) is not None


def validation_parameters(result: ValidationResult, codeable_concept: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Parameters answer of $validate-code."""
    out: list[dict[str, Any]] = [{"name": "result", "valueBoolean": result.result}]
    if result.message:
        out.append({"name": "message", "valueString": result.message})
    if result.display:
        out.append({"name": "display", "valueString": result.display})
    if result.code and is_fhir_code(result.code):  # a code with stray white space is reported, not echoed
        out.append({"name": "code", "valueCode": result.code})
    if result.system:
        out.append({"name": "system", "valueUri": result.system})
    if result.version:
        out.append({"name": "version", "valueString": result.version})
    if result.inactive:
        out.append({"name": "inactive", "valueBoolean": True})
    if result.status:
        out.append({"name": "status", "valueCode": str(result.status)})
    if codeable_concept is not None:
        out.append({"name": "codeableConcept", "valueCodeableConcept": codeable_concept})
    normalized = result.normalized_code or result.code
    if (result.normalised_from or result.normalized_code) and normalized and is_fhir_code(normalized):
        out.append({"name": "normalized-code", "valueCode": normalized})
    if result.issues:
        out.append({"name": "issues", "resource": terminology_outcome(result.issues)})
    unknown = "x-unknown-system" if result.unknown_in_value_set else "x-caused-by-unknown-system"
    for system in result.unknown_systems:
        out.append({"name": unknown, "valueCanonical": system})
    return {"resourceType": "Parameters", "parameter": out}


def terminology_outcome(issues: Any) -> dict[str, Any]:
    """An OperationOutcome as terminology servers give it (tx.fhir.org sends `location` beside `expression` in R4)."""
    return operation_outcome(issues)


def lookup_parameters(result: LookupResult, wanted: frozenset[str] | None = None, supplements: Sequence[str] = ()) -> dict[str, Any]:
    """The Parameters answer of $lookup; with `wanted` (the request's `property` codes) only those
    properties, and designations and the definition only when named (name, display, abstract always);
    `supplements`: the supplements used (`used-supplement`)."""
    def shown(code: str) -> bool:
        return wanted is None or code in wanted

    out: list[dict[str, Any]] = [{"name": "name", "valueString": result.name or result.system}]
    if result.version:
        out.append({"name": "version", "valueString": result.version})
    out.append({"name": "code", "valueCode": result.code})
    out.append({"name": "system", "valueUri": result.system})
    if result.display:
        out.append({"name": "display", "valueString": result.display})
    if result.definition and shown("definition"):
        out.append({"name": "definition", "valueString": result.definition})
    out.append({"name": "abstract", "valueBoolean": result.abstract})
    for designation in result.designations if shown("designation") else ():
        parts = [{"name": k, _value_key(k, designation[k]): designation[k]} for k in ("language", "use", "source", "value") if k in designation]
        out.append({"name": "designation", "part": parts})
    for code, value in ((c, _coding(v) if isinstance(v, dict) else v) for c, v in result.properties if shown(c)):
        if value is None or value == "" or value == {}:  # no value (or none FHIR can carry): nothing to send
            continue
        declared = result.property_types.get(code)
        typed = {f"value{declared[0].upper()}{declared[1:]}": value} if declared and _fits(declared, value) else _typed(value)
        out.append({"name": "property", "part": [{"name": "code", "valueCode": code}, {"name": "value", **typed}]})
    out += [{"name": "used-supplement", "valueCanonical": used} for used in supplements]
    # No `issues` resource: $lookup defines none, and Pathling reads every top-level parameter
    # without parts as a property and fails on one without a value (docs/clients.md).
    return {"resourceType": "Parameters", "parameter": out}


def _value_key(name: str, value: Any) -> str:
    return {"language": "valueCode", "use": "valueCoding", "source": "valueCanonical"}.get(name, "valueString")


DECLARED_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "code": str, "string": str, "uri": str, "dateTime": str, "boolean": bool, "integer": int, "decimal": (int, float, str), "Coding": dict,
}


def _fits(declared: str, value: Any) -> bool:
    """Whether `value` (as the CodeSystem gave it) is valid JSON for a property of the type the CodeSystem declares."""
    kind = DECLARED_PYTHON_TYPES.get(declared)
    if kind is None or (isinstance(value, bool) and declared != "boolean"):
        return False
    return isinstance(value, kind) and (declared != "code" or (isinstance(value, str) and is_fhir_code(value)))


def _coding(value: dict[str, Any]) -> dict[str, Any]:
    """A Coding property value with only its string elements (a CodeSystem may send anything)."""
    return {k: value[k] for k in ("system", "version", "code", "display") if isinstance(value.get(k), str) and value[k]}


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, dict):
        return {"valueCoding": value}
    return {"valueCode": value} if isinstance(value, str) and is_fhir_code(value) and " " not in value else {"valueString": str(value)}
