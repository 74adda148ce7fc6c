"""Concept properties asked for by $expand's `property` parameter: their declarations and values per code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from . import messages
from .codesystem import CodeSystemIndex
from .results import ExpansionItem, PropertyDef

DEFINITION = "definition"
DEFINITION_DEF = PropertyDef(DEFINITION, messages.DEFINITION_PROPERTY_URI, "string")


def declared_properties(systems: Iterable[CodeSystemIndex], wanted: Sequence[str]) -> list[PropertyDef]:
    """The requested properties, in request order, that the code systems declare (`definition` always)."""
    found: dict[str, PropertyDef] = {}
    declarations = [p for cs in systems for p in cs.resource.get("property") or () if isinstance(p, dict)]
    for code in wanted:
        if code in found:
            continue
        if code == DEFINITION:
            found[code] = DEFINITION_DEF
            continue
        decl = next((p for p in declarations if p.get("code") == code), None)
        if decl is not None:
            found[code] = PropertyDef(code, decl.get("uri"), str(decl.get("type") or "string"))
    return list(found.values())


def property_values(item: ExpansionItem, defs: Sequence[PropertyDef]) -> list[tuple[PropertyDef, Any]]:
    """The values `item` has for each declared property, in declaration order."""
    out: list[tuple[PropertyDef, Any]] = []
    for d in defs:
        if d.code == DEFINITION:
            if item.definition:
                out.append((d, item.definition))
            continue
        out += [(d, value) for name, value in item.properties if name == d.code and value is not None]
    return out


def value_key(type_: str) -> str:
    """The JSON key of a property value of FHIR type `type_` (`code` -> valueCode)."""
    return "value" + type_[:1].upper() + type_[1:]
