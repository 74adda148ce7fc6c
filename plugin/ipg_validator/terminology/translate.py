"""ConceptMap $translate: the codes a ConceptMap maps a source code to, or in reverse the source
codes that map to a target code.

ConceptMaps are read as they come, R4 (`equivalence`, `sourceUri`) or R5 (`relationship`,
`sourceScopeUri`), since requests carry either; answers use the R4 equivalence codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Resource = Mapping[str, Any]

# R5 relationship (source to target) -> R4 equivalence (the target relative to the source)
EQUIVALENCE_OF = {
    "related-to": "relatedto",
    "equivalent": "equivalent",
    "source-is-narrower-than-target": "wider",
    "source-is-broader-than-target": "narrower",
    "not-related-to": "disjoint",
}
NOT_A_MATCH = frozenset({"unmatched", "disjoint"})  # returned, but never make `result` true


@dataclass(frozen=True)
class MapCoding:
    """A code in a system, as a translation names it."""

    system: str | None
    code: str
    display: str | None = None


@dataclass(frozen=True)
class TranslateRequest:
    """What to translate: a code (in `system`), and the optional narrowing of maps and targets.

    With `reverse`, `code` and `system` name a target concept and the answer lists its sources."""

    code: str
    system: str | None = None
    target_system: str | None = None
    source_scope: str | None = None
    target_scope: str | None = None
    reverse: bool = False


@dataclass(frozen=True)
class Match:
    """One translation: the concept, how it relates, the map it came from, and (reverse) the source."""

    concept: MapCoding
    equivalence: str
    origin_map: str
    source: MapCoding | None = None


@dataclass(frozen=True)
class Translation:
    result: bool
    message: str | None
    matches: tuple[Match, ...]


def translate(maps: Iterable[Resource], request: TranslateRequest) -> Translation:
    """Every match of `request` in `maps`; `result` is true when one is neither unmatched nor disjoint."""
    matches: list[Match] = []
    for concept_map in maps:
        if not _in_scope(concept_map, request):
            continue
        origin = _canonical(concept_map)
        for group in _list(concept_map.get("group")):
            found = _reverse(group, request, origin) if request.reverse else _forward(group, request, origin)
            matches += [m for m in found if m not in matches]
    result = any(m.equivalence not in NOT_A_MATCH for m in matches)
    message = None if result else _no_match(request, matches)
    return Translation(result, message, tuple(matches))


def equivalence(target: Mapping[str, Any]) -> str:
    """A target's R4 equivalence, from `equivalence` (R4) or `relationship` (R5)."""
    if isinstance(target.get("equivalence"), str):
        return str(target["equivalence"])
    return EQUIVALENCE_OF.get(str(target.get("relationship")), "equivalent")


SCOPE_ELEMENTS = tuple(f"{side}{kind}" for side in ("source", "target") for kind in ("Uri", "Canonical", "ScopeUri", "ScopeCanonical"))
GROUP_TEXTS = ("source", "target")
ELEMENT_TEXTS = ("code", "display")
TARGET_TEXTS = ("code", "display", "equivalence", "relationship")
UNMAPPED_TEXTS = ("mode", "code", "display", "relationship")


def malformed_element(concept_map: Resource) -> tuple[str, Any] | None:
    """The path (`ConceptMap.group[0].target`) and value of the first element $translate reads that is not
    a string with content (FHIR has no empty strings: `""` would be answered as a code), or None."""
    paths = [(f"ConceptMap.{name}", concept_map.get(name)) for name in ("url", "version", *SCOPE_ELEMENTS)]
    for g, group in enumerate(_list(concept_map.get("group"))):
        at = f"ConceptMap.group[{g}]"
        paths += [(f"{at}.{name}", group.get(name)) for name in GROUP_TEXTS]
        unmapped = group.get("unmapped")
        if isinstance(unmapped, Mapping):
            paths += [(f"{at}.unmapped.{name}", unmapped.get(name)) for name in UNMAPPED_TEXTS]
        for e, element in enumerate(_list(group.get("element"))):
            paths += [(f"{at}.element[{e}].{name}", element.get(name)) for name in ELEMENT_TEXTS]
            for t, mapped in enumerate(_list(element.get("target"))):
                paths += [(f"{at}.element[{e}].target[{t}].{name}", mapped.get(name)) for name in TARGET_TEXTS]
    return next(((path, value) for path, value in paths if value is not None and not (isinstance(value, str) and value.strip())), None)


def _text(value: Any) -> str | None:
    """`value` when it is a string (the only JSON type a map's codes, systems and displays may have), else None."""
    return value if isinstance(value, str) else None


def _forward(group: Mapping[str, Any], request: TranslateRequest, origin: str) -> Iterator[Match]:
    source, target = _text(group.get("source")), _text(group.get("target"))
    if not _systems_match(request, given=source, other=target):
        return
    elements = [e for e in _list(group.get("element")) if e.get("code") == request.code]
    for element in elements:
        for mapped in _list(element.get("target")):
            if isinstance(mapped.get("code"), str):
                yield Match(MapCoding(target, mapped["code"], _text(mapped.get("display"))), equivalence(mapped), origin)
            elif equivalence(mapped) in NOT_A_MATCH:
                yield Match(MapCoding(target, request.code), equivalence(mapped), origin)
    if not elements:
        yield from _unmapped(group, request, origin)


def _unmapped(group: Mapping[str, Any], request: TranslateRequest, origin: str) -> Iterator[Match]:
    """What `group.unmapped` says of a code the group does not list (a fixed code, or the code itself)."""
    unmapped = group.get("unmapped")
    if not isinstance(unmapped, Mapping):
        return
    mode, target = unmapped.get("mode"), _text(group.get("target"))
    if mode == "fixed" and isinstance(unmapped.get("code"), str):
        yield Match(MapCoding(target, unmapped["code"], _text(unmapped.get("display"))), _unmapped_equivalence(unmapped, "inexact"), origin)
    elif mode in ("provided", "use-source-code"):
        yield Match(MapCoding(target, request.code), _unmapped_equivalence(unmapped, "equal"), origin)


def _unmapped_equivalence(unmapped: Mapping[str, Any], default: str) -> str:
    return EQUIVALENCE_OF.get(str(unmapped.get("relationship")), default)


def _reverse(group: Mapping[str, Any], request: TranslateRequest, origin: str) -> Iterator[Match]:
    source, target = _text(group.get("source")), _text(group.get("target"))
    if not _systems_match(request, given=target, other=source):
        return
    given = MapCoding(target, request.code)
    for element in _list(group.get("element")):
        for mapped in _list(element.get("target")):
            if mapped.get("code") == request.code and isinstance(element.get("code"), str):
                yield Match(given, equivalence(mapped), origin, MapCoding(source, element["code"], _text(element.get("display"))))


def _systems_match(request: TranslateRequest, *, given: Any, other: Any) -> bool:
    """The group maps from the system of the given code, to the system asked for (when named)."""
    return request.system in (None, given) and request.target_system in (None, other)


def _in_scope(concept_map: Resource, request: TranslateRequest) -> bool:
    """The map's source and target value sets, when the request names them."""
    wanted = (request.target_scope, request.source_scope) if request.reverse else (request.source_scope, request.target_scope)
    for side, scope in zip(("source", "target"), wanted):
        if scope is None:
            continue
        named = {_text(concept_map.get(f"{side}{kind}")) for kind in ("Uri", "Canonical", "ScopeUri", "ScopeCanonical")}
        if scope not in named and scope.partition("|")[0] not in named:
            return False
    return True


def _no_match(request: TranslateRequest, matches: list[Match]) -> str:
    where = f" in system '{request.system}'" if request.system else ""
    if matches:
        return f"The code '{request.code}'{where} is mapped only as unmatched or disjoint"
    direction = "to" if request.reverse else "from"
    return f"No translation found {direction} the code '{request.code}'{where}"


def _canonical(concept_map: Resource) -> str:
    url, version = _text(concept_map.get("url")) or "", _text(concept_map.get("version"))
    return f"{url}|{version}" if version else url


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
