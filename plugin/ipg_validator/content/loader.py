"""Load content folders into the immutable ContentIndex, once, at start.

A broken file stops the load with a ContentError naming the file and the problem, so a
server never starts on half its content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
from pydantic import ValidationError

from ..core.frozen import frozen
from ..core.models import model_class
from .ruleset import BUNDLE_LEVEL, RuleError, RuleSet, read_rule_set
from .codesystem import FRAGMENT_CONTENT, CodeSystemIndex, index_code_system
from ..core.versions import version_key
from .index import ContentIndex
from .paths import EXAMPLES, shipped_content

RULES_SUFFIX = ".rules.json"
# Above this many concepts a CodeSystem's concepts get a fast structural check instead of the
# pydantic model (a 12,000-code release would take 1.7 s); its other elements still use the model.
MODEL_CHECKED_CONCEPTS = 2_000


class ContentError(Exception):
    """A content file that cannot be loaded: names the file and what is wrong with it."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def load_content(folders: Iterable[Path | str] | None = None, *, include_shipped: bool = True) -> ContentIndex:
    """Build the index from the shipped content plus `folders` (later folders may add releases)."""
    paths = [*(shipped_content() if include_shipped else []), *(Path(f) for f in folders or ())]
    resources: list[tuple[Path, dict[str, Any]]] = []
    rule_files: list[tuple[Path, dict[str, Any]]] = []
    for folder in paths:
        for file in _content_files(folder):
            data = _read_json(file)
            if file.name.endswith(RULES_SUFFIX):
                rule_files.append((file, data))
            else:
                resources.append((file, frozen(_check_resource(file, data))))  # read-only from here: shared by every request
    shared, packs = _rule_sets(rule_files)
    index = _build(resources, [data for _, data in rule_files], [str(p) for p in paths])
    for rule_set in packs:
        _check_rule_value_sets(index, rule_set)
    return replace(index, rule_sets=packs, bundle_rules=shared)


def _rule_sets(files: list[tuple[Path, dict[str, Any]]]) -> tuple[RuleSet | None, tuple[RuleSet, ...]]:
    """The Bundle-level rule set (one at most) and the guidance packs read over it, in load order."""
    levels = [(file, data) for file, data in files if isinstance(data, dict) and data.get("level") == BUNDLE_LEVEL]
    if len(levels) > 1:
        raise ContentError(levels[1][0], f"a second Bundle-level rules file (the first is {levels[0][0]}): load one")
    shared = _rule_set(*levels[0]) if levels else None
    packs: list[RuleSet] = []
    for file, data in files:
        if levels and file == levels[0][0]:
            continue
        if shared is None:
            raise ContentError(file, "a guidance pack needs the Bundle-level rules (guidance/bundle.rules.json) loaded beside it")
        pack = _rule_set(file, data, shared)
        if any(p.id == pack.id for p in packs):
            raise ContentError(file, f"a second guidance pack with the id {pack.id!r}: pack ids are unique")
        for rule in pack.rules:  # a finding's rule id says which rule it is, whatever the pack
            owner = next((other.id for other in (shared, *packs) if any(r.id == rule.id for r in other.rules)), None)
            if owner is not None:
                raise ContentError(file, f"rule id {rule.id!r} is already a rule of {owner}: rule ids are unique across the loaded rules")
        packs.append(pack)
    return (replace(shared, packs=tuple(packs)) if shared is not None else None), tuple(packs)


def _content_files(folder: Path) -> list[Path]:
    if not folder.exists():
        raise ContentError(folder, "content folder does not exist")
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*.json") if p.is_file() and not p.name.startswith(".")
                  and EXAMPLES not in p.relative_to(folder).parts[:-1])


def _read_json(file: Path) -> Any:
    try:
        return orjson.loads(file.read_bytes())
    except OSError as exc:
        raise ContentError(file, f"cannot be read ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise ContentError(file, f"is not valid JSON ({exc})") from None


def _check_resource(file: Path, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise ContentError(file, "is not a FHIR resource (no resourceType)")
    kind = data["resourceType"]
    cls = model_class(kind)
    if cls is None:
        raise ContentError(file, f"unknown resourceType {kind!r}")
    large = kind == "CodeSystem" and _count_concepts(data.get("concept")) > MODEL_CHECKED_CONCEPTS
    try:
        cls.model_validate({k: v for k, v in data.items() if k != "concept"} if large else data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ContentError(file, f"invalid {kind}: {where}: {first['msg']}") from None
    if large:
        _check_concepts(file, data["concept"], "concept")
    if kind in ("CodeSystem", "ValueSet", "StructureDefinition") and not data.get("url"):
        raise ContentError(file, f"{kind} has no url")
    # The models check that a code is a code, not that it is one of a required binding's codes.
    for element, allowed in _REQUIRED_CODES.get(kind, {}).items():
        if element in data and data[element] not in allowed:
            raise ContentError(file, f"invalid {kind}: {element}: {data[element]!r} is not one of {', '.join(sorted(allowed))}")
    return data


_STATUS = frozenset({"draft", "active", "retired", "unknown"})
_REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "CodeSystem": {"status": _STATUS, "content": frozenset({"not-present", "example", "fragment", "complete", "supplement"})},
    "ValueSet": {"status": _STATUS},
    "NamingSystem": {"status": _STATUS, "kind": frozenset({"codesystem", "identifier", "root"})},
    "StructureDefinition": {"status": _STATUS},
}


def _count_concepts(concepts: Any) -> int:
    if not isinstance(concepts, list):
        return 0
    return len(concepts) + sum(_count_concepts(c.get("concept")) for c in concepts if isinstance(c, dict))


def _check_concepts(file: Path, concepts: Any, where: str) -> None:
    """The shape the R4 model would enforce on concepts: a code, string display, valued properties."""
    if not isinstance(concepts, list):
        raise ContentError(file, f"invalid CodeSystem: {where}: must be a list")
    for n, concept in enumerate(concepts):
        here = f"{where}.{n}"
        if not isinstance(concept, dict) or not isinstance(concept.get("code"), str) or not concept["code"].strip():
            raise ContentError(file, f"invalid CodeSystem: {here}.code: a concept needs a non-empty code")
        if not isinstance(concept.get("display", ""), str):
            raise ContentError(file, f"invalid CodeSystem: {here}.display: must be a string")
        for m, prop in enumerate(concept.get("property", ())):
            if not isinstance(prop, dict) or not prop.get("code") or not any(k.startswith("value") for k in prop):
                raise ContentError(file, f"invalid CodeSystem: {here}.property.{m}: needs a code and a value")
        if "concept" in concept:
            _check_concepts(file, concept["concept"], f"{here}.concept")


def _rule_set(file: Path, data: dict[str, Any], base: RuleSet | None = None) -> RuleSet:
    try:
        return replace(read_rule_set(data, base), folder=str(file.parent))
    except RuleError as exc:
        raise ContentError(file, f"invalid rules file: {exc}") from None


def _check_rule_value_sets(index: ContentIndex, rule_set: RuleSet) -> None:
    """Every value set a rule names must be loaded, so a rule never silently matches nothing."""
    for url in (rule_set.scope_value_set, *(u for r in rule_set.rules for u in r.value_sets)):
        if index.value_set(url) is None:
            raise ContentError(f"rules {rule_set.id}", f"names the value set {url}, which is not loaded")


def _build(resources: list[tuple[Path, dict[str, Any]]], rules: list[dict[str, Any]], sources: list[str]) -> ContentIndex:
    by_type: dict[str, list[dict[str, Any]]] = {}
    systems: dict[str, list[CodeSystemIndex]] = {}
    value_sets: dict[str, list[dict[str, Any]]] = {}
    aliases: dict[str, str] = {}
    for file, data in resources:
        kind = data["resourceType"]
        by_type.setdefault(kind, []).append(data)
        if kind == "CodeSystem":
            systems.setdefault(data["url"], []).append(index_code_system(data))
        elif kind == "ValueSet":
            value_sets.setdefault(data["url"], []).append(data)
        elif kind == "NamingSystem":
            _add_aliases(file, data, aliases)
    replaced: list[str] = []
    for url, versions in systems.items():
        complete = [cs for cs in versions if not cs.is_fragment]
        if complete and len(complete) < len(versions):
            replaced += [f"{url}|{cs.version}" for cs in versions if cs.is_fragment]
            systems[url] = complete
            by_type["CodeSystem"] = [
                r for r in by_type["CodeSystem"] if r["url"] != url or r.get("content") not in FRAGMENT_CONTENT
            ]
    return ContentIndex(
        code_systems=_frozen({url: _newest_first(v, lambda cs: cs.version) for url, v in systems.items()}),
        value_sets=_frozen({url: _newest_first(v, lambda vs: vs.get("version")) for url, v in value_sets.items()}),
        aliases=MappingProxyType(aliases),
        resources=_frozen({kind: tuple(items) for kind, items in by_type.items()}),
        rules=tuple(frozen(r) for r in rules),
        sources=tuple(sources),
        replaced=tuple(replaced),
    )


def _add_aliases(file: Path, data: Mapping[str, Any], aliases: dict[str, str]) -> None:
    uris = [u for u in data.get("uniqueId", []) if u.get("type") == "uri"]
    preferred = [u["value"] for u in uris if u.get("preferred")]
    if len(preferred) != 1:
        raise ContentError(file, "a NamingSystem needs exactly one preferred uri uniqueId (the canonical URI)")
    for uid in uris:
        if not uid.get("preferred"):
            aliases[uid["value"]] = preferred[0]


def _newest_first(items: list[Any], version_of: Any) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda item: version_key(version_of(item)), reverse=True))


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({key: tuple(value) for key, value in mapping.items()})
