"""ConceptMap/$translate from Parameters to a Parameters answer.

Takes the R4 parameter names (code, system, coding, codeableConcept, targetsystem, source,
target, reverse) and the R5 ones (sourceCode, sourceSystem, sourceCoding, targetCode,
targetSystem, sourceScope, targetScope) that clients send to either version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..content.index import ContentIndex
from ..terminology.sources import split_canonical
from ..terminology import messages
from ..terminology.translate import MapCoding, Match, TranslateRequest, Translation, malformed_element, translate
from ..core.errors import FhirError
from ..core.limits import Limits
from .parameters import Params
from .terminology_ops import supplied_resources

Resource = Mapping[str, Any]


TARGET_INPUTS = ("targetCode", "targetCoding", "targetCodeableConcept")  # R5: translate in reverse


def translate_op(index: ContentIndex, params: Params, *, instance: str | None = None, limits: Limits = Limits()) -> dict[str, Any]:
    """ConceptMap/$translate (or ConceptMap/{id}/$translate): the matches of each given coding."""
    maps = _concept_maps(index, params, instance, limits)
    requests = _requests(params)
    if not requests:
        raise FhirError.of(400, "required", "Nothing to translate: give code and system (or sourceCode/targetCode), coding or codeableConcept", "code")
    answers = [translate(maps, request) for request in requests]
    matches = [m for answer in answers for m in answer.matches]
    return _parameters(Translation(any(a.result for a in answers), _message(answers), tuple(matches)))


def _concept_maps(index: ContentIndex, params: Params, instance: str | None, limits: Limits) -> list[Resource]:
    """The maps to use: the inline `conceptMap`, the one named by url or id, or every map known."""
    inline = params.get("conceptMap")
    if isinstance(inline, dict):
        return _checked([inline], "conceptMap")
    known = _checked([r for r in supplied_resources(params, limits) if r.get("resourceType") == "ConceptMap"], "tx-resource")
    known += list(index.resources.get("ConceptMap", ()))
    if instance is not None:
        chosen = [m for m in known if m.get("id") == instance]
        if not chosen:
            raise FhirError.of(404, "not-found", f"ConceptMap/{instance} is not known to this server", "ConceptMap")
        return chosen
    url = params.text("url")
    if url is None:
        return known
    url, version = split_canonical(url)
    version = params.text("conceptMapVersion") or version
    chosen = [m for m in known if m.get("url") == url and (version is None or m.get("version") == version)]
    if not chosen:
        shown = f"{url}|{version}" if version else url
        raise FhirError.of(404, "not-found", f"The ConceptMap '{shown}' is not known to this server", "url")
    return chosen


def _checked(maps: list[Resource], parameter: str) -> list[Resource]:
    """`maps` (sent with the request), refused (400) when an element $translate reads is not a string."""
    for concept_map in maps:
        found = malformed_element(concept_map)
        if found is not None:
            raise FhirError(400, [messages.not_a_string(*found, parameter)])
    return maps


def _requests(params: Params) -> list[TranslateRequest]:
    """One request per given code, coding or codeableConcept coding, read by R4 or R5 names."""
    if any(params.get(name) is not None for name in TARGET_INPUTS):
        reverse, given = True, "target"
        code, system = params.text("targetCode"), params.text("targetSystem")
        other = params.text("sourceSystem") or params.text("system")  # the system of the sources wanted
    else:
        reverse, given = params.flag("reverse"), "source"
        code, system = params.text("sourceCode") or params.text("code"), params.text("system") or params.text("sourceSystem")
        other = params.text("targetsystem") or params.text("targetSystem")
    found: list[tuple[str, str | None]] = [(code, system)] if code else []
    codings = [params.get(f"{given}Coding") or params.get("coding")]
    concept = params.get(f"{given}CodeableConcept") or params.get("codeableConcept")
    if isinstance(concept, dict):
        codings += concept.get("coding") or []
    found += [(c["code"], c.get("system")) for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]
    source_scope = params.text("sourceScope") or params.text("source")
    target_scope = params.text("targetScope") or params.text("target")
    return [TranslateRequest(code, system, other, source_scope, target_scope, reverse) for code, system in found]


def _message(answers: list[Translation]) -> str | None:
    if any(a.result for a in answers):
        return None
    return "; ".join(a.message for a in answers if a.message) or None


def _parameters(translation: Translation) -> dict[str, Any]:
    out: list[dict[str, Any]] = [{"name": "result", "valueBoolean": translation.result}]
    if translation.message:
        out.append({"name": "message", "valueString": translation.message})
    out += [{"name": "match", "part": _match_parts(m)} for m in translation.matches]
    return {"resourceType": "Parameters", "parameter": out}


def _match_parts(match: Match) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {"name": "concept", "valueCoding": _coding(match.concept)},
        {"name": "equivalence", "valueCode": match.equivalence},
        {"name": "originMap", "valueCanonical": match.origin_map},
    ]
    if match.source is not None:
        parts.append({"name": "source", "valueCoding": _coding(match.source)})
    return parts


def _coding(coding: MapCoding) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if coding.system:
        out["system"] = coding.system
    out["code"] = coding.code
    if coding.display:
        out["display"] = coding.display
    return out
