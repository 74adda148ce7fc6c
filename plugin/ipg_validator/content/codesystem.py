"""An immutable, indexed view of one CodeSystem resource: concepts by code, hierarchy, properties."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

NOT_SELECTABLE = "notSelectable"
NOT_SELECTABLE_URI = "http://hl7.org/fhir/concept-properties#notSelectable"
STATUS = "status"
INACTIVE = "inactive"
FRAGMENT_CONTENT = ("fragment", "example", "not-present")
STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
LANGUAGE_CODE = re.compile(r"[^\s]+")  # a designation language: a FHIR code without spaces (else read as none)
NO_LONGER_CURRENT = ("deprecated", "withdrawn")  # standards statuses of a concept or designation no longer to be used


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept of a code system, with its place in the hierarchy."""

    code: str
    display: str | None
    definition: str | None = None
    parents: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    properties: tuple[tuple[str, Any], ...] = ()
    designations: tuple[Mapping[str, Any], ...] = ()
    abstract: bool = False  # a notSelectable property (by code, or by the concept-properties URI) is true
    standards_status: str | None = None  # the concept's structuredefinition-standards-status (deprecated, ...)
    extensions: tuple[Mapping[str, Any], ...] = ()  # the concept's own extensions (label, conceptOrder, rendering, ...)

    def value_of(self, code: str) -> Any:
        """The first value of property `code`, or None."""
        for name, value in self.properties:
            if name == code:
                return value
        return None

    @property
    def not_selectable(self) -> bool:
        return self.abstract or self.value_of(NOT_SELECTABLE) is True

    @property
    def inactive(self) -> bool:
        status = self.value_of(STATUS)
        return self.value_of(INACTIVE) is True or status in ("retired", "inactive")

    @property
    def status(self) -> str | None:
        return cast("str | None", self.value_of(STATUS))


@dataclass(frozen=True)
class CodeSystemIndex:
    """A CodeSystem resource indexed for lookups; built once, then read-only."""

    resource: Mapping[str, Any]
    concepts: Mapping[str, Concept]
    roots: tuple[str, ...]
    folded: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.resource["url"])

    @property
    def version(self) -> str | None:
        return text(self.resource.get("version"))

    @property
    def language(self) -> str | None:
        """The code system's language (that of its displays); a value that is not a string is no language."""
        return text(self.resource.get("language"))

    @property
    def content(self) -> str:
        return str(self.resource.get("content", "complete"))

    @property
    def is_fragment(self) -> bool:
        return self.content in FRAGMENT_CONTENT

    @property
    def case_sensitive(self) -> bool:
        return bool(self.resource.get("caseSensitive", False))

    @property
    def title(self) -> str:
        return self.resource.get("title") or self.resource.get("name") or self.url

    def get(self, code: str) -> Concept | None:
        """The concept with this code (case-folded when the system is not case sensitive)."""
        concept = self.concepts.get(code)
        if concept is None and not self.case_sensitive:
            exact = self.folded.get(code.casefold())
            concept = self.concepts.get(exact) if exact else None
        return concept

    def ancestors(self, code: str) -> set[str]:
        """Every code above `code` in the hierarchy."""
        seen: set[str] = set()
        stack = list(self.concepts[code].parents) if code in self.concepts else []
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                stack.extend(self.concepts[parent].parents if parent in self.concepts else ())
        return seen

    def descendants(self, code: str) -> list[str]:
        """Every code below `code`, depth first in definition order."""
        out: list[str] = []
        seen: set[str] = set()
        stack = list(reversed(self.concepts[code].children)) if code in self.concepts else []
        while stack:
            child = stack.pop()
            if child not in seen:
                seen.add(child)
                out.append(child)
                stack.extend(reversed(self.concepts[child].children))
        return out

    def walk(self) -> Iterator[Concept]:
        """Every concept once, depth first in definition order."""
        seen: set[str] = set()
        stack = list(reversed(self.roots))
        while stack:
            code = stack.pop()
            if code not in seen:
                seen.add(code)
                concept = self.concepts[code]
                yield concept
                stack.extend(reversed(concept.children))


def text(value: Any) -> str | None:
    """`value` when it is a string, else None: an element of the wrong JSON type is read as absent."""
    return value if isinstance(value, str) else None


def objects(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects of an array element; anything else (not an array, items that are not objects) is skipped."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _designation(d: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A designation as the engine reads it: a string value (else dropped), a language code, and a use of the
    Coding's string elements; a language or use of another JSON type (or an empty one) is read as absent."""
    if not text(d.get("value")):
        return None
    out = {k: v for k, v in d.items() if k not in ("language", "use")}
    if text(d.get("language")) and LANGUAGE_CODE.fullmatch(d["language"]):
        out["language"] = d["language"]
    use = d.get("use")
    use = {k: use[k] for k in ("system", "version", "code", "display") if text(use.get(k))} if isinstance(use, Mapping) else None
    if use:
        out["use"] = use
    return out


def _property_value(prop: Mapping[str, Any]) -> Any:
    for key, value in prop.items():
        if key.startswith("value"):
            return value
    return None


def index_code_system(resource: Mapping[str, Any]) -> CodeSystemIndex:
    """Index a CodeSystem: nested concepts and `parent`/`child` properties both give hierarchy."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    raw: dict[str, Mapping[str, Any]] = {}
    order: list[str] = []

    def visit(items: list[Mapping[str, Any]], parent: str | None) -> None:
        for item in items:
            code = item.get("code")
            if not isinstance(code, str):
                continue
            if code not in raw:
                raw[code] = item
                order.append(code)
            if parent is not None:
                _link(parents, children, parent, code)
            visit(objects(item.get("concept")), code)

    visit(objects(resource.get("concept")), None)
    for code, item in raw.items():
        for prop in objects(item.get("property")):
            value = _property_value(prop)
            if prop.get("code") == "parent" and isinstance(value, str):
                _link(parents, children, value, code)
            elif prop.get("code") == "child" and isinstance(value, str):
                _link(parents, children, code, value)

    abstract_codes = {NOT_SELECTABLE} | {p["code"] for p in objects(resource.get("property"))
                                         if p.get("uri") == NOT_SELECTABLE_URI and isinstance(p.get("code"), str)}
    concepts = {
        code: Concept(
            code=code,
            display=text(item.get("display")),
            definition=text(item.get("definition")),
            parents=tuple(parents.get(code, ())),
            children=tuple(c for c in children.get(code, ()) if c in raw),
            properties=tuple(
                (p["code"], _property_value(p))
                for p in objects(item.get("property"))
                if isinstance(p.get("code"), str) and p["code"] not in ("parent", "child")
            ),
            designations=tuple(d for d in map(_designation, objects(item.get("designation"))) if d is not None),
            abstract=any(p.get("code") in abstract_codes and _property_value(p) is True for p in objects(item.get("property"))),
            standards_status=standards_status(item),
            extensions=tuple(e for e in item.get("extension") or () if isinstance(e, Mapping)),
        )
        for code, item in raw.items()
    }
    roots = tuple(c for c in order if not any(p in raw for p in parents.get(c, ())))
    folded = {code.casefold(): code for code in order}
    return CodeSystemIndex(
        resource=MappingProxyType(dict(resource)),
        concepts=MappingProxyType(concepts),
        roots=roots,
        folded=MappingProxyType(folded),
    )


def standards_status(element: Mapping[str, Any]) -> str | None:
    """The structuredefinition-standards-status extension's value on a resource, concept or designation."""
    for ext in element.get("extension") or ():
        if isinstance(ext, Mapping) and ext.get("url") == STANDARDS_STATUS:
            return ext.get("valueCode")
    return None


def _link(parents: dict[str, list[str]], children: dict[str, list[str]], parent: str, child: str) -> None:
    if parent not in parents.get(child, []):
        parents.setdefault(child, []).append(parent)
        children.setdefault(parent, []).append(child)
